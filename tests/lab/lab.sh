#!/usr/bin/env bash
# The test lab's process control, for shells, Pester and C# fixtures.
#   lab.sh start-vcsim <statedir> [drvcsim flags, e.g. -vm 3 -disk-mb 64]
#       builds drvcsim if needed, starts it on 127.0.0.1:<free port>, prints the SDK URL.
#       Files in <statedir>: vcsim.pid, vcsim.url, vcsim.log, tmp/ (datastore directories).
#   lab.sh start-proxy <statedir> -upstream 127.0.0.1:<port> [drfaultproxy flags, e.g. -mode https -cut 0.1]
#       builds drfaultproxy if needed, starts it on 127.0.0.1:<free port>, prints host:port.
#       Files in <statedir>: proxy.pid, proxy.addr, proxy.control (URL of GET/PUT /faults, GET /stats),
#       proxy.thumbprint (-mode https), proxy.log.
#   lab.sh stop <statedir>
#       SIGTERM to the PIDs in <statedir>/vcsim.pid and proxy.pid, waits for them to exit (SIGKILL after 15 s).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bindir="${LAB_OUT:-$repo/out/lab}/bin"

die() { echo "lab.sh: $*" >&2; exit 1; }

# shellcheck source=processes.sh
. "$here/processes.sh"

# launch DIR NAME PROGRAM READYFILE [args]: starts PROGRAM in the background with its pid in DIR/NAME.pid and its
# output in DIR/NAME.log, waits until it writes READYFILE, prints that file.
launch() {
    local dir="$1" name="$2" program="$3" ready="$4"; shift 4
    rm -f "$ready" "$dir/$name.pid"
    "$bindir/$program" "$@" </dev/null >"$dir/$name.log" 2>&1 &
    local pid=$!
    echo "$pid" >"$dir/$name.pid"
    local i
    # A large inventory (the 10,000-VM benchmark) takes minutes to build: LAB_START_TIMEOUT seconds.
    for i in $(seq $(( ${LAB_START_TIMEOUT:-30} * 10 ))); do
        if [ -s "$ready" ]; then
            cat "$ready"
            return 0
        fi
        if ! alive "$pid"; then
            cat "$dir/$name.log" >&2
            rm -f "$dir/$name.pid"
            die "$program exited before listening"
        fi
        sleep 0.1
    done
    kill -TERM "$pid" 2>/dev/null || true
    cat "$dir/$name.log" >&2
    die "$program wrote no $(basename "$ready") within ${LAB_START_TIMEOUT:-30} s"
}

state_dir() {
    mkdir -p "$1"
    (cd "$1" && pwd)
}

start_vcsim() {
    [ $# -ge 1 ] || die "usage: lab.sh start-vcsim <statedir> [drvcsim flags]"
    local dir; dir="$(state_dir "$1")"; shift
    refuse_second "$dir/vcsim.pid" drvcsim
    "$here/vcsim/build.sh"
    mkdir -p "$dir/tmp"
    # TMPDIR: the simulator puts each datastore in a temp dir; keep them inside the state dir.
    TMPDIR="$dir/tmp" launch "$dir" vcsim drvcsim "$dir/vcsim.url" -l 127.0.0.1:0 -url-file "$dir/vcsim.url" "$@"
}

start_proxy() {
    [ $# -ge 1 ] || die "usage: lab.sh start-proxy <statedir> -upstream 127.0.0.1:<port> [drfaultproxy flags]"
    local dir; dir="$(state_dir "$1")"; shift
    refuse_second "$dir/proxy.pid" drfaultproxy
    "$here/faultproxy/build.sh"
    rm -f "$dir/proxy.control" "$dir/proxy.thumbprint"
    launch "$dir" proxy drfaultproxy "$dir/proxy.addr" -l 127.0.0.1:0 -addr-file "$dir/proxy.addr" \
        -control-file "$dir/proxy.control" -thumbprint-file "$dir/proxy.thumbprint" "$@"
}

stop() {
    [ $# -eq 1 ] || die "usage: lab.sh stop <statedir>"
    local dir="$1"
    stop_pidfile "$dir/proxy.pid" drfaultproxy
    rm -f "$dir/proxy.addr" "$dir/proxy.control" "$dir/proxy.thumbprint"
    stop_pidfile "$dir/vcsim.pid" drvcsim
    rm -f "$dir/vcsim.url"
    # A clean exit removes its datastore dirs already; this covers a killed one.
    rm -rf "$dir/tmp"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
    start-vcsim) start_vcsim "$@" ;;
    start-proxy) start_proxy "$@" ;;
    stop) stop "$@" ;;
    *) die "usage: lab.sh start-vcsim <statedir> [flags] | start-proxy <statedir> -upstream <host:port> [flags] | stop <statedir>" ;;
esac
