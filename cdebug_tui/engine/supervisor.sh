# cdebug-tui's sidecar supervisor. It runs as the sidecar's main process, in the toolkit's root,
# inside the target's PID (and network) namespace, so /proc/$T is the target's main process and
# /proc/$T/root is the target's root filesystem. It links the toolkit into the target, reports
# what it did on stdout, then waits for its stdin to close: cdebug-tui holds that stdin open, so
# when cdebug-tui ends, however it ends, the supervisor removes its links and exits, and the
# engine removes the sidecar (AutoRemove).
#
# Protocol (one line each): it prints "CDEBUG-PROBE key=value...", reads a plan line
# ("root ANCHOR_PID NIX" or "toolkit REASON..."), prints "+ command" for every change it makes,
# then "CDEBUG-MODE mode root-path reason..." and "CDEBUG-READY". Every later stdin line is
# "anchor PID UID" (link the toolkit for a non-root user), "init SIZE PATH" (SIZE bytes of the
# reapers' init follow) or ignored; EOF ends it: it ends the session's processes (through
# engine/reaper.sh, in CDEBUG_REAPER), then removes its links.
#
# Direct (CDEBUG_DIRECT=1, `cdebug-tui exec -it`): the sidecar has a TTY, which carries the
# protocol raw and unechoed, then the shell itself: "shell SIZE" (SIZE bytes of a sh script
# follow) is answered with "CDEBUG-SHELL" and the script runs as this process's child on the
# TTY, in its cooked mode again; one process start fewer than an exec. When it ends, the
# supervisor ends the session and exits with its code. "end" ends it before that.

T=${CDEBUG_TARGET_PID:-1}
# Direct: raw, unechoed, so that nothing we are sent is echoed back, cooked or cut at 4 KB.
raw=0
if [ -n "$CDEBUG_DIRECT" ] && tty_mode=$(stty -g 2>/dev/null) && stty raw -echo 2>/dev/null; then
    raw=1
fi
ID=$CDEBUG_SESSION
TROOT=/proc/$T/root
LINKS=""

say() { printf '%s\n' "$*"; }
# `command -v` names a busybox applet without its directory; the exec needs a path. Sets
# $found (no command substitution: each is a fork, and the probe's forks are the session's
# wait).
find_tool() {
    found=""
    IFS=:
    for d in $PATH; do
        if [ -x "$d/$1" ] && [ ! -d "$d/$1" ]; then found="$d/$1"; break; fi
    done
    unset IFS
}

# The shell and the panels' commands run under reapers tagged with the session: end them (they
# kill and reap what they started) before the links their tools run through go.
end_session() {
    [ -n "$CDEBUG_REAPER" ] && sh -c 'eval "$CDEBUG_REAPER"' cdebug-end end "$PATH" "$ID"
}

cleanup() {
    for l in $LINKS; do
        # Remove only our own links: never a file that was there before us.
        if [ -L "$l" ]; then say "+ rm $l"; rm -f "$l"; fi
    done
    LINKS=""
}
trap 'end_session; cleanup; exit 0' TERM INT HUP

# Links left by a session whose sidecar was killed with the target (a PID namespace dies as a
# whole, so its supervisor had no chance to clean up): their anchor process is gone.
for l in "$TROOT"/.cdebug-* "$TROOT/nix"; do
    [ -L "$l" ] || continue
    dest=$(readlink "$l" 2>/dev/null) || continue
    case $dest in /proc/*/root|/proc/*/root/nix) ;; *) continue ;; esac
    pid=${dest#/proc/}; pid=${pid%%/*}
    case $pid in ''|*[!0-9]*) continue ;; esac
    # Its session's own process, not any: a restarted target's PIDs start again, and another
    # session's supervisor (this one) can hold the PID the link's anchor had.
    sid=${l##*/.cdebug-}; sid=${sid%%-u*}
    case $l in */nix) sid='[0-9a-f]*' ;; esac
    if ! tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -q "^CDEBUG_SESSION=$sid\$"; then
        say "+ rm $l  # left by a session that died with its target"
        rm -f "$l"
    fi
done

troot_ok=1
ls "$TROOT/" >/dev/null 2>&1 || troot_ok=0
# chroot needs CAP_SYS_CHROOT, which a target that drops capabilities takes from us too.
canchroot=0
chroot / sh -c : 2>/dev/null && canchroot=1
tnix=0
{ [ -e "$TROOT/nix" ] || [ -L "$TROOT/nix" ]; } && tnix=1
tsh=0
# A link for /bin (usr-merge, or into /nix/store) may resolve against our root here, not the
# target's: taken as there, as nothing warns then.
{ [ -e "$TROOT/bin/sh" ] || [ -L "$TROOT/bin/sh" ] || [ -L "$TROOT/bin" ]; } && tsh=1
find_tool chroot; CHROOT=$found
find_tool nsenter; NSENTER=$found
find_tool sh; SH=$found
find_tool head; HEAD=$found
knix=0
[ -d /nix ] && knix=1
say "CDEBUG-PROBE pid=$$ chroot=$CHROOT nsenter=$NSENTER sh=$SH head=$HEAD troot=$troot_ok canchroot=$canchroot tnix=$tnix tsh=$tsh knix=$knix raw=$raw"

read -r plan anchor nix rest || exit 0
[ "$plan" = end ] && exit 0

# `entrypoint` for the session's shell, in the sidecar's own root (never the target's); its #!
# line is the toolkit's shell as that shell sees it ($1).
write_entrypoint() {
    [ -n "$CDEBUG_ENTRYPOINT" ] || return 0
    mkdir -p /.cdebug-tui/bin 2>/dev/null &&
        { printf '#!%s\n' "$1"; printf '%s\n' "$CDEBUG_ENTRYPOINT"; } >/.cdebug-tui/bin/entrypoint &&
        chmod 755 /.cdebug-tui/bin/entrypoint &&
        say "+ cat > /.cdebug-tui/bin/entrypoint  # in the sidecar, #!$1"
}

toolkit_mode() {
    reason="$*"
    write_entrypoint "$SH"
    if [ ! -e /target ] && [ ! -L /target ] && ln -s "$TROOT" /target 2>/dev/null; then
        say "+ ln -s $TROOT /target"
        say "CDEBUG-MODE toolkit /target $reason"
    else
        say "CDEBUG-MODE toolkit $TROOT $reason"
    fi
}

# Prints the first of the shell and the toolkit's PATH directories that does not resolve through
# the link inside the target's root (an absolute link such as nixery's /bin -> /nix/store/...
# resolves against the target's root there): the shell would fail with exit 127.
unreachable() {
    [ -n "$CHROOT" ] || return 0  # -u without chroot: nothing to check with
    dirs=""
    IFS=:
    for d in $PATH; do [ -d "$d" ] && dirs="$dirs $d"; done
    unset IFS
    # One chroot for both: the shell (when it cannot start, the chroot fails), then each
    # directory (the script exits 0 either way).
    # shellcheck disable=SC2086
    if out=$("$CHROOT" "$TROOT" "/.cdebug-$ID$SH" -c \
        'for d; do [ -d "$0$d" ] || { echo "$d"; exit; }; done' "/.cdebug-$ID" $dirs 2>/dev/null); then
        [ -z "$out" ] || echo "$out"
    else
        echo "$SH"
    fi
}

link_nix() {
    if err=$(ln -s "/proc/$anchor/root/nix" "$TROOT/nix" 2>&1); then
        say "+ ln -s /proc/$anchor/root/nix $TROOT/nix"
        LINKS="$LINKS $TROOT/nix"
        return 0
    fi
    return 1
}

if [ "$plan" = root ]; then
    link="$TROOT/.cdebug-$ID"
    if err=$(ln -s "/proc/$anchor/root" "$link" 2>&1); then
        say "+ ln -s /proc/$anchor/root $link"
        LINKS="$link"
        why="the toolkit is linked at /.cdebug-$ID"
        fail=""
        if [ "$nix" = 1 ]; then
            if [ "$tnix" = 1 ]; then
                fail="the target has a /nix of its own, which the toolkit's /nix would hide"
            elif link_nix; then
                why="the toolkit's /nix store is linked at /nix"
            else
                fail="cannot link /nix into the target: ${err##*: }"
            fi
        fi
        if [ -z "$fail" ]; then
            bad=$(unreachable)
            if [ -n "$bad" ] && [ "$nix" != 1 ] && [ -d /nix ] && [ "$tnix" = 0 ] && link_nix; then
                # Static binaries behind links into the toolkit's /nix (nixery): link /nix too.
                why="the toolkit's links point into its /nix store, linked at /nix"
                bad=$(unreachable)
            fi
            if [ -n "$bad" ]; then
                fail="the toolkit's $bad does not resolve through the link inside the target's root"
            fi
        fi
        if [ -n "$fail" ]; then
            cleanup
            toolkit_mode "$fail"
        else
            write_entrypoint "/.cdebug-$ID$SH"
            say "CDEBUG-MODE root / $why"
        fi
    else
        toolkit_mode "cannot write to the target's root filesystem: ${err##*: }"
    fi
else
    toolkit_mode "$anchor $nix $rest"
fi
say "CDEBUG-READY"

shell_script=""
while read -r cmd a b rest; do
    case $cmd in
        init)
            # The reapers' init (the engine's tini): $a bytes follow on stdin, for $b in the
            # sidecar's own root. Nothing else comes until we answer: head reads ahead.
            if head -c "$a" > "$b.part" 2>/dev/null && chmod 755 "$b.part" && mv "$b.part" "$b"; then
                say "CDEBUG-INIT $b"
            else
                rm -f "$b.part"
                say "CDEBUG-INIT -"
            fi
            ;;
        anchor)
            # A non-root shell cannot follow /proc/<root process>/root, so it gets a link to a
            # process of its own uid (the anchor), which it may follow.
            l="$TROOT/.cdebug-$ID-u$b"
            if ln -s "/proc/$a/root" "$l" 2>/dev/null; then
                say "+ ln -s /proc/$a/root $l"
                LINKS="$LINKS $l"
                write_entrypoint "/.cdebug-$ID-u$b$SH"
                say "CDEBUG-ANCHORED $l"
            else
                say "CDEBUG-ANCHORED -"
            fi
            ;;
        shell)
            # Direct: the shell's script ($a bytes), run below. Nothing else comes until we
            # answer: head reads ahead.
            shell_script=$(head -c "$a" 2>/dev/null)
            [ -n "$shell_script" ] && break
            say "CDEBUG-SHELL -"
            ;;
        end) break ;;
    esac
done
if [ -n "$shell_script" ]; then
    stty "$tty_mode" 2>/dev/null
    say "CDEBUG-SHELL"
    # Caught, not ignored: an ignored signal stays ignored in the shell and what it runs (a
    # subshell sets caught ones back). A subshell, not `sh -c`: one exec fewer.
    trap ':' INT QUIT
    (eval "$shell_script")
    code=$?
    # The shell's output has ended: nothing of ours may follow it on the user's terminal.
    exec >/dev/null 2>&1
    end_session
    cleanup
    exit "$code"
fi
end_session
cleanup
say "CDEBUG-DONE"
