#!/usr/bin/env bash
# Headless Chromium for the report tests (they render drill.html as a person would see it).
#   chromium.sh install
#       apt-get installs the Debian package chromium when /usr/bin/chromium is missing (apt-get
#       update first when the install fails, as on a fresh CI image); prints the binary's path.
#   chromium.sh run <chromium arguments...>
#       installs if needed, then runs chromium with the arguments (add --headless yourself).
# A lock, so that test files starting in parallel install once; apt's own lock is waited for too.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
bin="${CHROMIUM:-/usr/bin/chromium}"
lockdir="${LAB_OUT:-$repo/out/lab}"

die() { echo "chromium.sh: $*" >&2; exit 1; }

install() {
    [ -x "$bin" ] && return 0
    command -v apt-get >/dev/null || die "$bin is missing and apt-get is not available: install Chromium and set CHROMIUM to its path"
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || die "$bin is missing: run 'apt-get install -y chromium' as root"
        sudo="sudo -n"
    fi
    mkdir -p "$lockdir"
    (
        flock 9
        if [ ! -x "$bin" ]; then
            local apt=(env DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 -y -q)
            if ! "${apt[@]}" install --no-install-recommends chromium >&2; then
                "${apt[@]}" update >&2 || die "apt-get update failed"
                "${apt[@]}" install --no-install-recommends chromium >&2 || die "apt-get install chromium failed"
            fi
            [ -x "$bin" ] || die "apt-get installed chromium but $bin is missing"
        fi
    ) 9>"$lockdir/.chromium.install.lock"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
    install) install; echo "$bin" ;;
    run) install; exec "$bin" "$@" ;;
    *) die "usage: chromium.sh install | run <chromium arguments...>" ;;
esac
