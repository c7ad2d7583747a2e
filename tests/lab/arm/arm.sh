#!/usr/bin/env bash
# The lab's Azure Resource Manager (tests/lab/arm/README.md): shells, Pester and C# fixtures.
#   arm.sh start <statedir> [armlab flags]
#       builds armlab into $LAB_OUT/arm if a source is newer, starts it on https://127.0.0.1:<free port>/,
#       prints that URL. Files in <statedir>: arm.pid, arm.url, arm.thumbprint (SHA-256 hex of its
#       self-signed certificate), arm.key (token signing key), arm.log, requests.jsonl, arm-state.json.
#   arm.sh start-identity <statedir> [flags, e.g. --user-assigned <clientId>]
#       the managed-identity endpoint (its own process, plain http on 127.0.0.1:<free port>), prints
#       IDENTITY_ENDPOINT; the header secret (IDENTITY_HEADER) is in <statedir>/identity.header.
#       Tokens it mints are accepted by the ARM of the same <statedir> (shared arm.key).
#   arm.sh stop <statedir>
#       SIGTERM to the ARM and the identity endpoint of <statedir> (by their PID files), waits (SIGKILL after 15 s).
#   arm.sh probe-identity <statedir> [clientId]
#       in a process of its own, Azure.Identity's ManagedIdentityCredential against the identity endpoint of
#       <statedir> (IDENTITY_ENDPOINT/IDENTITY_HEADER), then GET the subscription from its ARM; prints it.
#   arm.sh build
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
out="${LAB_OUT:-$repo/out/lab}/arm"
dll="$out/armlab.dll"

die() { echo "arm.sh: $*" >&2; exit 1; }

# shellcheck source=../processes.sh
. "$here/../processes.sh"

build() {
    mkdir -p "$out"
    (
        flock 9
        if [ -f "$dll" ] && [ -z "$(find "$here" -maxdepth 1 \( -name '*.cs' -o -name '*.csproj' \) -newer "$dll" -print -quit)" ]; then
            exit 0
        fi
        log="$(mktemp)"
        if ! dotnet build "$here/ArmLab.csproj" -c Release -o "$out" -nologo -v q -clp:ErrorsOnly >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            die "dotnet build tests/lab/arm/ArmLab.csproj failed"
        fi
        rm -f "$log"
        touch "$dll"
    ) 9>"$out/.build.lock"
}

# The HMAC key both processes sign and check tokens with: one per statedir, owner-only.
ensure_key() {
    local dir="$1"
    if [ ! -s "$dir/arm.key" ]; then
        ( umask 077; head -c 32 /dev/urandom | base64 >"$dir/arm.key.$$" && mv -n "$dir/arm.key.$$" "$dir/arm.key"; rm -f "$dir/arm.key.$$" )
    fi
}

# wait_url PID URLFILE LOG NAME: prints the URL once the process wrote it.
wait_url() {
    local pid="$1" file="$2" log="$3" name="$4" i
    for i in $(seq $(( ${LAB_START_TIMEOUT:-60} * 10 ))); do
        if [ -s "$file" ]; then
            cat "$file"
            return 0
        fi
        if ! alive "$pid"; then
            cat "$log" >&2
            die "$name exited before listening"
        fi
        sleep 0.1
    done
    kill -TERM "$pid" 2>/dev/null || true
    cat "$log" >&2
    die "$name wrote no URL within ${LAB_START_TIMEOUT:-60} s"
}

start() {
    [ $# -ge 1 ] || die "usage: arm.sh start <statedir> [flags]"
    local dir="$1"; shift
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    refuse_second "$dir/arm.pid" armlab.dll
    build
    ensure_key "$dir"
    rm -f "$dir/arm.url" "$dir/arm.pid" "$dir/arm.thumbprint"
    dotnet "$dll" --state "$dir" --specs "$here/specs" "$@" </dev/null >>"$dir/arm.log" 2>&1 &
    local pid=$!
    echo "$pid" >"$dir/arm.pid"
    wait_url "$pid" "$dir/arm.url" "$dir/arm.log" armlab || { rm -f "$dir/arm.pid"; exit 1; }
}

start_identity() {
    [ $# -ge 1 ] || die "usage: arm.sh start-identity <statedir> [flags]"
    local dir="$1"; shift
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    refuse_second "$dir/identity.pid" armlab.dll
    build
    ensure_key "$dir"
    if [ ! -s "$dir/identity.header" ]; then
        ( umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$dir/identity.header" )
    fi
    rm -f "$dir/identity.url" "$dir/identity.pid"
    dotnet "$dll" --identity --state "$dir" "$@" </dev/null >>"$dir/identity.log" 2>&1 &
    local pid=$!
    echo "$pid" >"$dir/identity.pid"
    wait_url "$pid" "$dir/identity.url" "$dir/identity.log" "armlab identity" || { rm -f "$dir/identity.pid"; exit 1; }
}

stop() {
    [ $# -eq 1 ] || die "usage: arm.sh stop <statedir>"
    local dir="$1"
    stop_pidfile "$dir/arm.pid" armlab.dll
    stop_pidfile "$dir/identity.pid" armlab.dll
    rm -f "$dir/arm.url" "$dir/identity.url"
}

probe_identity() {
    [ $# -ge 1 ] || die "usage: arm.sh probe-identity <statedir> [clientId]"
    local dir="$1"; shift
    build
    local sub
    sub="$(grep -o 'subscription [0-9a-f-]*' "$dir/arm.log" | tail -1 | cut -d' ' -f2)"
    IDENTITY_ENDPOINT="$(cat "$dir/identity.url")" IDENTITY_HEADER="$(cat "$dir/identity.header")" \
        dotnet "$dll" probe-identity "$(cat "$dir/arm.url")" "$(cat "$dir/arm.thumbprint")" "$sub" "$@"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
    start) start "$@" ;;
    start-identity) start_identity "$@" ;;
    stop) stop "$@" ;;
    probe-identity) probe_identity "$@" ;;
    build) build ;;
    *) die "usage: arm.sh start <statedir> [flags] | start-identity <statedir> [flags] | stop <statedir> | probe-identity <statedir> [clientId] | build" ;;
esac
