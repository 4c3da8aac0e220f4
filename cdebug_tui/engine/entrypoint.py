"""Provides `entrypoint`: a command in every session that shows, or runs again, the target's."""

from __future__ import annotations

import json
import shlex

from cdebug_tui.errors import UserNotFoundError

TYPE_CHECKING = False  # without typing's import: see cli.py

if TYPE_CHECKING:
    from typing import Protocol

    class ScriptTarget(Protocol):
        """What script() reads of a target: models.TargetInfo's, or exec's quick start's own
        (it writes the script before the models load)."""

        @property
        def name(self) -> str: ...
        @property
        def user(self) -> str: ...
        @property
        def workdir(self) -> str: ...
        @property
        def env(self) -> tuple[str, ...]: ...
        @property
        def entrypoint(self) -> tuple[str, ...]: ...
        @property
        def cmd(self) -> tuple[str, ...]: ...


#: Where the script lives in the sidecar's own filesystem (never in the target's).
BIN_DIR = "/.cdebug-tui/bin"


def parse_passwd(text: str) -> dict[str, tuple[int, int, str]]:
    """Maps user names to (uid, gid, home) from an /etc/passwd."""
    users: dict[str, tuple[int, int, str]] = {}
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) >= 6 and parts[2].isdigit() and parts[3].isdigit():
            users.setdefault(parts[0], (int(parts[2]), int(parts[3]), parts[5]))
    return users


def home_of(uid: int, passwd: str | None) -> str | None:
    """The home directory of a uid in an /etc/passwd, if it has an entry."""
    return next((h for u, _, h in parse_passwd(passwd or "").values() if u == uid), None)


def resolve_user(user: str, passwd: str | None) -> tuple[int, int]:
    """Resolves `-u USER`: a name from the target's /etc/passwd, or uid[:gid].

    Raises:
        UserNotFoundError: When a name is not in the target's /etc/passwd.
    """
    name, _, group = user.partition(":")
    users = parse_passwd(passwd or "")
    if name.isdigit():
        uid = int(name)
        # A uid the target's /etc/passwd does not know gets group 0, as docker exec -u gives.
        gid = next((g for u, g, _ in users.values() if u == uid), 0)
    elif name in users:
        uid, gid, _ = users[name]
    else:
        where = "the target's /etc/passwd" if passwd is not None else "the target (no /etc/passwd)"
        raise UserNotFoundError(f"no user {name!r} in {where}", hint="give a numeric uid[:gid]")
    if group:
        if not group.isdigit():
            raise UserNotFoundError(f"group {group!r} must be numeric", hint="use uid:gid")
        gid = int(group)
    return uid, gid


def describe_user(user: str, uid_gid: tuple[int, int] | None) -> str:
    """`nonroot (uid 65532, gid 65532)`, or `root` for an image that names none."""
    if not user:
        return "root (the image names no user)"
    if uid_gid is None:
        return f"{user} (not in the target's /etc/passwd: --run runs it as root)"
    return f"{user} (uid {uid_gid[0]}, gid {uid_gid[1]})"


def script(
    target: ScriptTarget,
    *,
    uid_gid: tuple[int, int] | None,
    target_pid: int = 1,
    title: str = "",
) -> str:
    """The `entrypoint` script for one session, without its #! line (the supervisor writes
    that: the toolkit's shell as the session's shell sees it, which depends on the mode).

    `entrypoint` prints the target's entrypoint and command, user, workdir and environment as
    the engine ran them; `entrypoint --run` runs them again in the foreground, as that user, in
    that directory, with that environment only, and exits with their exit code. It enters the
    target's root with the toolkit's `nsenter -r -w -S -G` (which needs no shell in the target)
    from either mode; a shell that is not root (-u) is in the target's root already and runs
    them as itself.

    Args:
        target: The target (for a copy: the original's command and user).
        uid_gid: The target's user, resolved in its /etc/passwd; None when it cannot be.
        target_pid: The target's main process, as the sidecar sees it.
        title: What the target is, for the first line (`container api`).
    """
    argv = list(target.entrypoint) + list(target.cmd)
    uid, gid = uid_gid if uid_gid is not None else (0, 0)
    workdir = target.workdir or "/"
    shown = [
        f"# what the engine ran as the main process of {title or target.name}",
        f"entrypoint  {json.dumps(list(target.entrypoint))}",
        f"cmd         {json.dumps(list(target.cmd))}",
        f"runs        {shlex.join(argv) if argv else '(nothing: the image names no command)'}",
        f"user        {describe_user(target.user, uid_gid)}",
        f"workdir     {workdir}",
        "env",
        *(f"  {item}" for item in target.env),
        "",
        "entrypoint --run  runs it again in the foreground (its exit code is the command's);",
        "                  strace -f entrypoint --run traces it, with a toolkit that has strace",
    ]
    env_args = " ".join(shlex.quote(item) for item in target.env)
    return f"""# entrypoint: prints (--run: runs again) what the engine ran as the main process.
case "${{1:-}}" in
    ""|--print|-p)
        cat <<'CDEBUG_EOF'
{chr(10).join(shown)}
CDEBUG_EOF
        ;;
    --run|-r)
        set -- {shlex.join(argv) if argv else ""}
        if [ "$#" = 0 ]; then echo "entrypoint: the target has no command to run" >&2; exit 127; fi
        root=${{CDEBUG_TARGET_ROOT:-/}}; root=${{root%/}}
        if [ "$(id -u)" != 0 ]; then
            # A -u shell may not change user or root: in root mode it is in the target's root
            # already and runs the command as itself.
            if [ -n "$root" ]; then
                echo "entrypoint: --run needs root in toolkit mode (a session without -u)" >&2
                exit 125
            fi
            cd {shlex.quote(workdir)} || exit 125
            exec env -i {env_args} "$@"
        fi
        if ! nsenter=$(command -v nsenter); then
            echo "entrypoint: the toolkit has no nsenter to enter the target's root" >&2
            exit 125
        fi
        exec env -i {env_args} "$nsenter" -t {target_pid} -r -w"$root"{shlex.quote(workdir)} \\
            -S {uid} -G {gid} -- "$@"
        ;;
    -h|--help)
        echo "usage: entrypoint [--run]: print (or run again) the target's entrypoint and command"
        ;;
    *)
        echo "usage: entrypoint [--run]" >&2
        exit 2
        ;;
esac
"""
