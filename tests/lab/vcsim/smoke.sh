#!/usr/bin/env bash
# One-command check of the lab's vCenter simulator: build, Go tests (unit + end-to-end through
# govmomi's SOAP client against the real binary) and of the fault proxy, then lab.sh start/stop of two
# instances at once and a proxy.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
out="${LAB_OUT:-$repo/out/lab}"

"$here/build.sh"

# shellcheck source=../go.sh
. "$here/../go.sh"
go_env
(cd "$here" && DRVCSIM_BIN="$out/bin/drvcsim" go test -count=1 -v .)
"$here/../faultproxy/build.sh"
(cd "$here/../faultproxy" && go test -count=1 -v .)

# Two instances side by side through lab.sh, each on its own free port.
state="$(mktemp -d)"
trap '"$here/../lab.sh" stop "$state/a" || true; "$here/../lab.sh" stop "$state/b" || true; rm -rf "$state"' EXIT
url_a="$("$here/../lab.sh" start-vcsim "$state/a" -vm 1)"
url_b="$("$here/../lab.sh" start-vcsim "$state/b" -cbt=false)"
pid_a="$(cat "$state/a/vcsim.pid")"
pid_b="$(cat "$state/b/vcsim.pid")"
[[ "$url_a" =~ ^https://127\.0\.0\.1:[0-9]+/sdk$ ]] || { echo "smoke: bad url $url_a" >&2; exit 1; }
[ "$url_a" != "$url_b" ] || { echo "smoke: both instances on $url_a" >&2; exit 1; }
ls "$state/a/tmp"/govcsim-* >/dev/null || { echo "smoke: no datastore dir under $state/a/tmp" >&2; exit 1; }
# The fault proxy in front of instance a, in the same state dir; its control answers, and stop ends it too.
vcsim_a="${url_a#https://}"
proxy="$("$here/../lab.sh" start-proxy "$state/a" -upstream "${vcsim_a%/sdk}" -mode https -cut 0.1)"
[[ "$proxy" =~ ^127\.0\.0\.1:[0-9]+$ ]] || { echo "smoke: bad proxy address $proxy" >&2; exit 1; }
[[ "$(cat "$state/a/proxy.thumbprint")" =~ ^[0-9A-F]{64}$ ]] || { echo "smoke: no proxy thumbprint" >&2; exit 1; }
control="$(cat "$state/a/proxy.control")"; control="${control#http://}"
exec 8<>"/dev/tcp/${control%:*}/${control#*:}"
printf 'GET /faults HTTP/1.0\r\nHost: lab\r\n\r\n' >&8
grep -q '"cut":0.1' <&8 || { echo "smoke: the proxy's control did not report cut 0.1" >&2; exit 1; }
exec 8<&-
pid_proxy="$(cat "$state/a/proxy.pid")"
"$here/../lab.sh" stop "$state/a"
"$here/../lab.sh" stop "$state/b"
for pid in "$pid_a" "$pid_b" "$pid_proxy"; do
    # A zombie waiting for init to reap it counts as stopped.
    if kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then echo "smoke: pid $pid still running after stop" >&2; exit 1; fi
done
grep -q "terminated: shutting down" "$state/a/vcsim.log" || { echo "smoke: no clean shutdown in log" >&2; exit 1; }
echo "smoke: lab.sh ran $url_a and $url_b side by side, a fault proxy at $proxy, and stopped them all"
echo "smoke: PASS"
