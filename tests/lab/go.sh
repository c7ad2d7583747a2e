# The lab's Go programs (vcsim/ -> drvcsim, faultproxy/ -> drfaultproxy): toolchain and builds; sourced, not run.
# LAB_OUT (default <repo>/out/lab) holds the binaries (bin/), GOPATH and build lock.

lab_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
lab_out="${LAB_OUT:-$lab_repo/out/lab}"

# go_env: GOPATH mode against Debian's govmomi; go needs a cache dir and HOME may be unset under CI.
go_env() {
    export GO111MODULE=off GOPATH="$lab_out/gopath:/usr/share/gocode" GOFLAGS=
    if [ -z "${GOCACHE:-}" ] && [ -z "${HOME:-}" ] && [ -z "${XDG_CACHE_HOME:-}" ]; then
        export GOCACHE="$lab_out/gocache"
    fi
}

# go_build SRCDIR NAME: installs Go and govmomi from Debian when missing, then builds SRCDIR into $lab_out/bin/NAME
# when a Go source there (or the build scripts) is newer than the binary. Prints nothing on success.
go_build() {
    local src="$1" bin="$lab_out/bin/$2"
    # Test fixtures start several labs at once: one install and build at a time, the others wait.
    mkdir -p "$lab_out"
    exec 9>"$lab_out/build.lock"
    flock 9

    local need=()
    command -v go >/dev/null 2>&1 || need+=(golang-go)
    [ -d /usr/share/gocode/src/github.com/vmware/govmomi/simulator ] || need+=(golang-github-vmware-govmomi-dev)
    if [ "${#need[@]}" -gt 0 ]; then
        # apt output goes to a log, shown only when it fails.
        local log; log="$(mktemp)"
        if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
               DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"; } >"$log" 2>&1; then
            cat "$log" >&2
            echo "go.sh: apt-get install ${need[*]} failed" >&2
            exec 9>&-
            return 1
        fi
        rm -f "$log"
    fi

    local here; here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    if [ -x "$bin" ] && [ -z "$(find "$src" -maxdepth 1 \( -name '*.go' ! -name '*_test.go' -o -name build.sh \) -newer "$bin" -print -quit)" ] &&
       [ ! "$here/go.sh" -nt "$bin" ]; then
        exec 9>&-
        return 0
    fi
    mkdir -p "$lab_out/bin" "$lab_out/gopath"
    go_env
    if ! (cd "$src" && go build -o "$bin.tmp" .); then
        echo "go.sh: go build of $src failed" >&2
        exec 9>&-
        return 1
    fi
    mv -f "$bin.tmp" "$bin"
    exec 9>&-
}
