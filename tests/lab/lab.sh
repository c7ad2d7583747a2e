#!/usr/bin/env bash
# The test lab's process control, for shells, Pester and C# fixtures.
#   lab.sh start-vcsim <statedir> [drvcsim flags, e.g. -vm 3 -disk-mb 64]
#       builds drvcsim if needed, starts it on 127.0.0.1:<free port>, prints the SDK URL.
#       Files in <statedir>: vcsim.pid, vcsim.url, vcsim.log, tmp/ (datastore directories).
#   lab.sh stop <statedir>
#       SIGTERM to the PID in <statedir>/vcsim.pid, waits for it to exit (SIGKILL after 15 s).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin="${LAB_OUT:-$repo/out/lab}/bin/drvcsim"

die() { echo "lab.sh: $*" >&2; exit 1; }

# shellcheck source=processes.sh
. "$here/processes.sh"

start_vcsim() {
    [ $# -ge 1 ] || die "usage: lab.sh start-vcsim <statedir> [drvcsim flags]"
    local dir="$1"; shift
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    refuse_second "$dir/vcsim.pid" drvcsim
    "$here/vcsim/build.sh"
    rm -f "$dir/vcsim.url" "$dir/vcsim.pid"
    mkdir -p "$dir/tmp"
    # TMPDIR: the simulator puts each datastore in a temp dir; keep them inside the state dir.
    TMPDIR="$dir/tmp" "$bin" -l 127.0.0.1:0 -url-file "$dir/vcsim.url" "$@" \
        </dev/null >"$dir/vcsim.log" 2>&1 &
    local pid=$!
    echo "$pid" >"$dir/vcsim.pid"
    local i
    # A large inventory (the 10,000-VM benchmark) takes minutes to build: LAB_START_TIMEOUT seconds.
    for i in $(seq $(( ${LAB_START_TIMEOUT:-30} * 10 ))); do
        if [ -s "$dir/vcsim.url" ]; then
            cat "$dir/vcsim.url"
            return 0
        fi
        if ! alive "$pid"; then
            cat "$dir/vcsim.log" >&2
            rm -f "$dir/vcsim.pid"
            die "drvcsim exited before listening"
        fi
        sleep 0.1
    done
    kill -TERM "$pid" 2>/dev/null || true
    cat "$dir/vcsim.log" >&2
    die "drvcsim wrote no URL within ${LAB_START_TIMEOUT:-30} s"
}

stop() {
    [ $# -eq 1 ] || die "usage: lab.sh stop <statedir>"
    local dir="$1"
    stop_pidfile "$dir/vcsim.pid" drvcsim
    rm -f "$dir/vcsim.url"
    # A clean exit removes its datastore dirs already; this covers a killed one.
    rm -rf "$dir/tmp"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
    start-vcsim) start_vcsim "$@" ;;
    stop) stop "$@" ;;
    *) die "usage: lab.sh start-vcsim <statedir> [flags] | stop <statedir>" ;;
esac
