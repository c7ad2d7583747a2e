#!/usr/bin/env bash
# Azurite (Azure Storage emulator, blob and table services) for the lab: shells, Pester and C# fixtures.
#   azurite.sh start <statedir>
#       npm-installs Azurite into $LAB_OUT/azurite (default out/lab/azurite) if missing, starts
#       azurite-blob on 127.0.0.1 with a port the OS picks (--blobPort 0), waits until it answers,
#       prints the blob endpoint (http://127.0.0.1:<port>/devstoreaccount1).
#       Files in <statedir>: azurite.pid, azurite.url, azurite.log, data/ (the blobs).
#   azurite.sh stop <statedir>
#       SIGTERM to the PID in <statedir>/azurite.pid, waits for it to exit (SIGKILL after 15 s).
#       data/ is kept (a restart on the same statedir sees the same blobs).
#   azurite.sh start-table <statedir> | stop-table <statedir>
#       The same for azurite-table (the Table vault): --tablePort 0, prints the table endpoint
#       (http://127.0.0.1:<port>/devstoreaccount1). Files: azurite-table.pid, azurite-table.url,
#       azurite-table.log, data-table/. Independent of the blob service: one statedir may hold both.
# Account: devstoreaccount1 with Azurite's published development key (see README.md).
# More accounts (e.g. one named like a real storage account for the lab ARM): AZURITE_ACCOUNTS=
# "name:base64key[;name2:key2]" (Azurite's own variable); devstoreaccount1 stays available.
# Each account's blob endpoint is http://127.0.0.1:<port>/<name>.
# AZURITE_BLOB_PORT=<port> / AZURITE_TABLE_PORT=<port>: listen there instead of a free port the OS picks (a restart that keeps the endpoint).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
version="3.37.0"
prefix="${LAB_OUT:-$repo/out/lab}/azurite"
bin="$prefix/node_modules/.bin/azurite-blob"
# Azurite's published development key of devstoreaccount1 (not a secret).
devkey="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

die() { echo "azurite.sh: $*" >&2; exit 1; }

# shellcheck source=../processes.sh
. "$here/../processes.sh"

install() {
    if [ -x "$bin" ] && [ -f "$prefix/.version" ] && [ "$(cat "$prefix/.version")" = "$version" ]; then
        return 0
    fi
    command -v npm >/dev/null || die "npm is not installed (apt-get install nodejs npm)"
    mkdir -p "$prefix"
    # A lock, so that test fixtures starting in parallel install once.
    (
        flock 9
        if [ ! -x "$bin" ] || [ "$(cat "$prefix/.version" 2>/dev/null)" != "$version" ]; then
            npm install --prefix "$prefix" --no-audit --no-fund --silent "azurite@$version" >&2 \
                || die "npm install azurite@$version failed"
            echo "$version" >"$prefix/.version"
        fi
    ) 9>"$prefix/.install.lock"
}

# listening_port PID: the TCP port PID listens on (from /proc), empty while it listens on none.
listening_port() {
    local inodes
    inodes="$(find "/proc/$1/fd" -maxdepth 1 -lname 'socket:*' -printf '%l\n' 2>/dev/null | sed 's/socket:\[\([0-9]*\)\]/\1/' | tr '\n' ' ')"
    [ -n "$inodes" ] || return 0
    local hex
    hex="$(awk -v inodes=" $inodes" '$4 == "0A" && index(inodes, " " $10 " ") { split($2, a, ":"); print a[2]; exit }' /proc/net/tcp 2>/dev/null || true)"
    [ -z "$hex" ] || echo $((16#$hex))
}

# start_service <statedir> <program> <name> <data> <args...>: starts one Azurite service whose files are
# <statedir>/<name>.pid, .url, .log and <statedir>/<data>/; prints its endpoint once it answers.
start_service() {
    local dir="$1" program="$2" name="$3" data="$4"
    shift 4
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    refuse_second "$dir/$name.pid" "$program"
    install
    rm -f "$dir/$name.url" "$dir/$name.pid"
    mkdir -p "$dir/$data"
    # Azurite drops devstoreaccount1 when AZURITE_ACCOUNTS names others: keep it (the tests' default account).
    local accounts="${AZURITE_ACCOUNTS:-}"
    if [ -n "$accounts" ] && ! printf '%s' "$accounts" | grep -q '\(^\|;\)devstoreaccount1:'; then
        export AZURITE_ACCOUNTS="devstoreaccount1:$devkey;$accounts"
    fi
    # Port 0: the OS picks a free port and Azurite logs it, so instances never collide.
    "$prefix/node_modules/.bin/$program" "$@" --skipApiVersionCheck --disableTelemetry --loose \
        --location "$dir/$data" </dev/null >"$dir/$name.log" 2>&1 &
    local pid=$!
    echo "$pid" >"$dir/$name.pid"
    local i port
    for i in $(seq 300); do
        port="$(sed -n 's|.*successfully listens on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$dir/$name.log" | head -1)"
        # azurite-table logs the port it was given (0), not the one it got: read its listening socket.
        [ -n "$port" ] || port="$(listening_port "$pid")"
        if [ -n "$port" ]; then
            local url="http://127.0.0.1:$port/devstoreaccount1"
            # Listening is logged before the first request is served; wait for an answer (any HTTP status).
            if curl -s -o /dev/null --max-time 2 "$url?comp=list" 2>/dev/null \
                || (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
                echo "$url" >"$dir/$name.url"
                echo "$url"
                return 0
            fi
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
    die "$program did not answer within 30 s"
}

start() {
    [ $# -eq 1 ] || die "usage: azurite.sh start <statedir>"
    start_service "$1" azurite-blob azurite data --blobHost 127.0.0.1 --blobPort "${AZURITE_BLOB_PORT:-0}"
}

start_table() {
    [ $# -eq 1 ] || die "usage: azurite.sh start-table <statedir>"
    start_service "$1" azurite-table azurite-table data-table --tableHost 127.0.0.1 --tablePort "${AZURITE_TABLE_PORT:-0}"
}

stop() {
    [ $# -eq 1 ] || die "usage: azurite.sh stop <statedir>"
    local dir="$1"
    stop_pidfile "$dir/azurite.pid" azurite-blob
    rm -f "$dir/azurite.url"
}

stop_table() {
    [ $# -eq 1 ] || die "usage: azurite.sh stop-table <statedir>"
    local dir="$1"
    stop_pidfile "$dir/azurite-table.pid" azurite-table
    rm -f "$dir/azurite-table.url"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
    start) start "$@" ;;
    stop) stop "$@" ;;
    start-table) start_table "$@" ;;
    stop-table) stop_table "$@" ;;
    install) install ;;
    *) die "usage: azurite.sh start <statedir> | stop <statedir> | start-table <statedir> | stop-table <statedir> | install" ;;
esac
