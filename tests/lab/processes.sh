# Process control shared by the lab scripts (lab.sh, azurite/azurite.sh); sourced, not run.
# Every service is stopped by its own PID, and only while that PID is still the service's.

# alive PID: running and not a zombie.
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    local state
    state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
    [ "$state" != Z ]
}

# owned_by PID PROGRAM: the PID still runs PROGRAM (PIDs get reused).
owned_by() {
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q "$2"
}

# refuse_second PIDFILE PROGRAM: fails when the PID file names a PROGRAM that still runs.
refuse_second() {
    [ -f "$1" ] || return 0
    local old; old="$(cat "$1")"
    if alive "$old" && owned_by "$old" "$2"; then
        die "$2 already running in $(dirname "$1") (pid $old)"
    fi
}

# stop_pidfile PIDFILE PROGRAM: SIGTERM, wait up to 15 s, then SIGKILL; removes the PID file.
stop_pidfile() {
    [ -f "$1" ] || return 0
    local pid; pid="$(cat "$1")"
    if alive "$pid" && owned_by "$pid" "$2"; then
        kill -TERM "$pid"
        local i
        for i in $(seq 150); do
            alive "$pid" || break
            sleep 0.1
        done
        if alive "$pid"; then
            kill -KILL "$pid" 2>/dev/null || true
            echo "$2 (pid $pid) ignored SIGTERM for 15 s, killed" >&2
        fi
    fi
    rm -f "$1"
}
