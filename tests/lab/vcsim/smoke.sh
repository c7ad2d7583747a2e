#!/usr/bin/env bash
# One-command check of the lab's vCenter simulator: build, Go tests (unit + end-to-end through
# govmomi's SOAP client against the real binary), then lab.sh start/stop of two instances at once.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
out="${LAB_OUT:-$repo/out/lab}"

"$here/build.sh"

export GO111MODULE=off GOPATH="$out/gopath:/usr/share/gocode" GOFLAGS=
if [ -z "${GOCACHE:-}" ] && [ -z "${HOME:-}" ] && [ -z "${XDG_CACHE_HOME:-}" ]; then
    export GOCACHE="$out/gocache"
fi
(cd "$here" && DRVCSIM_BIN="$out/bin/drvcsim" go test -count=1 -v .)

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
"$here/../lab.sh" stop "$state/a"
"$here/../lab.sh" stop "$state/b"
for pid in "$pid_a" "$pid_b"; do
    # A zombie waiting for init to reap it counts as stopped.
    if kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then echo "smoke: pid $pid still running after stop" >&2; exit 1; fi
done
grep -q "terminated: shutting down" "$state/a/vcsim.log" || { echo "smoke: no clean shutdown in log" >&2; exit 1; }
echo "smoke: lab.sh ran $url_a and $url_b side by side and stopped both"
echo "smoke: PASS"
