#!/usr/bin/env bash
# Builds the lab's fault-injecting proxy (drfaultproxy; Go standard library only) into a cached binary.
# Usage: tests/lab/faultproxy/build.sh -> prints nothing on success; the binary is $LAB_OUT/bin/drfaultproxy.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../go.sh
. "$here/../go.sh"
go_build "$here" drfaultproxy
