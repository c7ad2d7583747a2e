#!/usr/bin/env bash
# Builds the lab's vCenter simulator (drvcsim) from Debian's govmomi into a cached binary.
# Usage: tests/lab/vcsim/build.sh      -> prints nothing on success; the binary is
#        $LAB_OUT/bin/drvcsim (LAB_OUT defaults to <repo>/out/lab).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
out="${LAB_OUT:-$repo/out/lab}"
bin="$out/bin/drvcsim"

# Test fixtures start several labs at once: one install and build at a time, the others wait.
mkdir -p "$out"
exec 9>"$out/build.lock"
flock 9

need=()
command -v go >/dev/null 2>&1 || need+=(golang-go)
[ -d /usr/share/gocode/src/github.com/vmware/govmomi/simulator ] || need+=(golang-github-vmware-govmomi-dev)
if [ "${#need[@]}" -gt 0 ]; then
    # apt output goes to a log, shown only when it fails.
    log="$(mktemp)"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
           DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"; } >"$log" 2>&1; then
        cat "$log" >&2
        echo "build.sh: apt-get install ${need[*]} failed" >&2
        exit 1
    fi
    rm -f "$log"
fi

# Rebuild only when a Go source (or this script) is newer than the binary.
if [ -x "$bin" ] && [ -z "$(find "$here" -maxdepth 1 \( -name '*.go' ! -name '*_test.go' -o -name build.sh \) -newer "$bin" -print -quit)" ]; then
    exit 0
fi

mkdir -p "$out/bin" "$out/gopath"
export GO111MODULE=off GOPATH="$out/gopath:/usr/share/gocode" GOFLAGS=
# go needs a cache dir; HOME may be unset under CI.
if [ -z "${GOCACHE:-}" ] && [ -z "${HOME:-}" ] && [ -z "${XDG_CACHE_HOME:-}" ]; then
    export GOCACHE="$out/gocache"
fi
cd "$here"
go build -o "$bin.tmp" . || { echo "build.sh: go build failed" >&2; exit 1; }
mv -f "$bin.tmp" "$bin"
