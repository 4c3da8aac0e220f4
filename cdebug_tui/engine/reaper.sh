# cdebug-tui's reaper: what a session's shell (and every command the panels run) runs under, in
# the sidecar, in the target's PID namespace. Its parent is an init that is a child subreaper
# (Docker's tini, `docker-init -s`), so every process a command leaves behind (`sleep 300 &`
# in a shell that then exits) becomes the init's child, not the target's PID 1's, which may reap
# nothing (busybox sleep, node, Go binaries): left to it, each would stay a zombie, holding a PID
# against the target's pids limit. When the command ends, the reaper kills what it left and waits
# until the init has reaped it all, so that nothing of the session stays in the target.
#
# Usage: sh -c "$CDEBUG_REAPER" cdebug-reaper-TAG run TOOLKIT_PATH COMMAND...
#        sh -c "$CDEBUG_REAPER" cdebug-end end TOOLKIT_PATH TAG
#        sh -c "$CDEBUG_REAPER" cdebug-watchdog stop TOOLKIT_PATH TAG
# `run` runs COMMAND (its exit code is the reaper's); `end` ends the commands of every reaper
# tagged TAG or TAG-*, as the supervisor does when its session closes (the reapers then sweep),
# and waits until the reapers are gone; `stop` ends them and returns at once: a direct
# session's watchdog, which nothing waits for, must start no process (`sleep`) that the
# sidecar's end could leave to the target's PID 1, a zombie.
# Only shell builtins, `sleep` and `stty` from TOOLKIT_PATH are used: in root mode the command's PATH
# names the target's directories, which the sidecar's root does not have.

what=$1 tools=$2
shift 2

# Prints the PID of every process below $1 (not $1, not this shell nor the subshell that runs
# this function), zombies included.
below() {
    top=$1
    { read -r me < /proc/self/stat; } 2>/dev/null
    me=${me%% *}
    procs=""
    for d in /proc/[0-9]*; do
        { read -r s < "$d/stat"; } 2>/dev/null || continue
        s=${s##*) }
        set -- $s
        procs="$procs${d#/proc/} $2
"
    done
    found=" $top "
    more=1
    while [ "$more" = 1 ]; do
        more=0
        while read -r p pp; do
            [ -n "$p" ] || continue
            case $found in *" $p "*) continue ;; esac
            case $found in *" $pp "*) found="$found$p "; more=1 ;; esac
        done <<PROCS
$procs
PROCS
    done
    for p in $found; do
        [ "$p" = "$top" ] || [ "$p" = "$$" ] || [ "$p" = "$me" ] || echo "$p"
    done
}

# Kills everything below $1 and waits (at most about 5 s) until it is gone: reaped by the init.
sweep() {
    n=0
    while [ $n -lt 100 ]; do
        left=$(below "$1")
        [ -n "$left" ] || return 0
        # shellcheck disable=SC2086
        kill -9 $left 2>/dev/null
        PATH=$tools sleep 0.05
        n=$((n + 1))
    done
}

case $what in
run)
    # Signals that reach the reaper (tini passes them on) must not end it before it has swept:
    # a handler, not an ignore, so that the command still gets them as usual.
    trap ':' HUP INT QUIT TERM
    # A terminal with no keyboard (exec -t without -i): its size, set before the command runs,
    # as nothing typed waits for the engine's resize. Not the command's to see.
    if [ -n "$CDEBUG_TTY_SIZE" ]; then
        PATH=$tools stty rows "${CDEBUG_TTY_SIZE% *}" cols "${CDEBUG_TTY_SIZE#* }" 2>/dev/null
        unset CDEBUG_TTY_SIZE
    fi
    "$@"
    code=$?
    # Below the init when there is one (orphans were reparented to it), else below ourselves.
    root=$PPID
    [ "$root" -gt 1 ] 2>/dev/null || root=$$
    # Nearly always nothing is left: the init's only child is this shell (the panels run
    # every second; a scan of /proc each time would cost). No children file: scan anyway.
    kids=unknown
    { read -r kids < "/proc/$root/task/$root/children"; } 2>/dev/null
    if [ "$root" = "$$" ]; then [ -z "$kids" ] && exit "$code"; fi
    [ "$kids" = "$$" ] && exit "$code"
    sweep "$root"
    exit "$code"
    ;;
end | stop)
    tag=$1
    reapers=""
    for d in /proc/[0-9]*; do
        # A reaper's command line is: sh -c <eval> cdebug-reaper-TAG ...; its init's names the
        # tag too, further on, and must stay: it reaps what the reaper kills.
        n=0
        while IFS= read -r arg; do
            n=$((n + 1))
            [ $n = 2 ] && [ "$arg" != "-c" ] && break
            if [ $n = 4 ]; then
                case $arg in "cdebug-reaper-$tag" | "cdebug-reaper-$tag"-*) reapers="$reapers ${d#/proc/}" ;; esac
                break
            fi
        done <<ARGS
$(tr '\0' '\n' 2>/dev/null < "$d/cmdline")
ARGS
    done
    for r in $reapers; do
        # The reaper's command and everything below it; the reaper then sweeps and exits.
        # shellcheck disable=SC2046
        kill -9 $(below "$r") 2>/dev/null
    done
    [ "$what" = stop ] && exit 0
    n=0
    while [ $n -lt 100 ]; do
        alive=""
        for r in $reapers; do [ -d "/proc/$r" ] && alive="$alive $r"; done
        [ -n "$alive" ] || exit 0
        PATH=$tools sleep 0.05
        n=$((n + 1))
    done
    ;;
esac
