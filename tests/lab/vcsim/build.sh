#!/usr/bin/env bash
# Builds the lab's vCenter simulator (drvcsim) from Debian's govmomi into a cached binary.
# Usage: tests/lab/vcsim/build.sh      -> prints nothing on success; the binary is
#        $LAB_OUT/bin/drvcsim (LAB_OUT defaults to <repo>/out/lab).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../go.sh
. "$here/../go.sh"
go_build "$here" drvcsim
