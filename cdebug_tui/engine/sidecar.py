"""Provides the sidecar's configuration: namespaces, privileges, labels and supervisor script."""

from __future__ import annotations

import os
import posixpath
import shlex
import socket
from dataclasses import dataclass
from typing import Any

from cdebug_tui.engine import profiles
from cdebug_tui.engine.basics import (
    ADDED_CAPS,
    SUPERVISOR_ENTRYPOINT,
    script,
    sidecar_caps,
    sidecar_ipc_mode,
    sidecar_name,
)
from cdebug_tui.engine.entrypoint import home_of, parse_passwd, resolve_user
from cdebug_tui.engine.models import (
    OWNER_LABEL,
    SESSION_LABEL,
    SIDECAR_LABEL,
    TARGET_LABEL,
    Mode,
    SessionSpec,
    TargetInfo,
    limit_flags,
)
from cdebug_tui.errors import TargetNotRunningError

__all__ = [
    "ADDED_CAPS",
    "REAPER_SCRIPT",
    "SUPERVISOR_SCRIPT",
    "SidecarConfig",
    "check_target",
    "home_of",
    "merge_path",
    "parse_passwd",
    "reaped",
    "resolve_user",
    "shell_command",
    "shell_env",
    "sidecar_config",
]


SUPERVISOR_SCRIPT = script("supervisor.sh")
REAPER_SCRIPT = script("reaper.sh")


@dataclass(frozen=True)
class SidecarConfig:
    """Everything the engine needs to create one sidecar, in engine-neutral terms."""

    session_id: str
    name: str
    image: str
    entrypoint: tuple[str, ...]
    env: tuple[str, ...]
    labels: tuple[tuple[str, str], ...]
    pid_mode: str
    network_mode: str
    ipc_mode: str | None
    cap_add: tuple[str, ...]
    cap_drop: tuple[str, ...]
    privileged: bool
    #: The target's main process as the sidecar sees it: 1, or its host PID for --pid host.
    target_pid: int = 1
    #: Resource limits (models.LIMIT_KEYS): a debug copy's original's memory limit.
    limits: tuple[tuple[str, Any], ...] = ()
    #: A direct session's (see DebugSession): a TTY, and this host's tini bound in read-only:
    #: (the file on this host, where it shows in the sidecar).
    tty: bool = False
    bind: tuple[str, str] | None = None

    def docker_create_command(self) -> str:
        """The `docker create` command that would create the same sidecar, for a learner to
        type: the script comes from a file, `supervisor.sh` (see SUPERVISOR_HINT)."""
        args = ["docker", "create", "-it" if self.tty else "-i", "--rm", "--name", self.name]
        args += ["--pid", self.pid_mode, "--network", self.network_mode]
        if self.ipc_mode:
            args += ["--ipc", self.ipc_mode]
        if self.privileged:
            args.append("--privileged")
        for cap in self.cap_add:
            args += ["--cap-add", cap]
        for cap in self.cap_drop:
            args += ["--cap-drop", cap]
        for key, value in self.labels:
            args += ["--label", f"{key}={value}"]
        for item in self.env:
            if not item.startswith(("CDEBUG_SUPERVISOR=", "CDEBUG_REAPER=", "CDEBUG_ENTRYPOINT=")):
                args += ["-e", item]
        args += limit_flags(self.limits)
        if self.bind is not None:
            # --mount, not -v: a missing source is refused, not made an empty directory.
            args += ["--mount", f"type=bind,src={self.bind[0]},dst={self.bind[1]},readonly"]
        tail = ["--user", "0", "--entrypoint", self.entrypoint[0], self.image]
        tail += list(self.entrypoint[1:])
        # Left unquoted so that the shell reads the files: `"$(cat supervisor.sh)"`. The
        # reaper's too: the shell's `docker exec ... eval "$CDEBUG_REAPER"` runs it.
        script = '-e CDEBUG_SUPERVISOR="$(cat supervisor.sh)" -e CDEBUG_REAPER="$(cat reaper.sh)"'
        if any(item.startswith("CDEBUG_ENTRYPOINT=") for item in self.env):
            script += ' -e CDEBUG_ENTRYPOINT="<the entrypoint script>"'
        return f"{shlex.join(args)} {script} {shlex.join(tail)}"

    def docker_start_command(self) -> str:
        """The `docker start` that starts it as cdebug-tui does: attached, its stdin open (the
        supervisor ends, removing its links, when its stdin closes; a direct session's TTY
        never closes: its watchdog's does)."""
        return shlex.join(["docker", "start", "-a", "-i", self.name])

    def supervisor_hint(self) -> str:
        """How a learner gets supervisor.sh and reaper.sh, the sidecar's scripts, while the
        session runs."""
        return scripts_hint(self.name)


def scripts_hint(name: str) -> str:
    """The commands that save sidecar `name`'s scripts, supervisor.sh and reaper.sh, from its
    environment, for `docker create` as --explain writes it."""
    quoted = shlex.quote(name)
    return (
        f"docker exec {quoted} printenv CDEBUG_SUPERVISOR > supervisor.sh; "
        f"docker exec {quoted} printenv CDEBUG_REAPER > reaper.sh"
    )


def check_target(target: TargetInfo) -> None:
    """Refuses targets that cannot be debugged as they run (stopped, paused, restarting).

    Raises:
        TargetNotRunningError: When the target is stopped, paused or restarting.
    """
    if target.paused:
        raise TargetNotRunningError(
            f"container {target.name} is paused", hint=f"docker unpause {target.name}"
        )
    if target.restarting:
        raise TargetNotRunningError(
            f"container {target.name} is restarting; try again when it runs"
        )
    if not target.running:
        raise TargetNotRunningError(
            f"container {target.name} is not running ({target.state})",
            hint=f"start it first: docker start {target.name}",
        )


def sidecar_config(
    spec: SessionSpec, target: TargetInfo, image: str, session_id: str | None = None
) -> SidecarConfig:
    """The sidecar for one session: it joins the target's PID and network namespaces (and IPC
    when the target's is shareable), keeps the target's capabilities and adds CAP_SYS_PTRACE.

    Args:
        session_id: The session's id when it has one already (exec's quick start made its
            sidecar); a new one otherwise.
    """
    # Not uuid, which imports platform (5-8 ms).
    session_id = session_id or os.urandom(5).hex()
    name = spec.name or sidecar_name(target.name, session_id)
    chosen = profiles.profile(spec.profile)
    cap_add, cap_drop = sidecar_caps(
        target.cap_add, target.cap_drop, chosen.cap_add, chosen.drop_all
    )
    # A target in the host's PID namespace (a monitoring agent, --pid host): the sidecar joins
    # that namespace too, where the target's main process is its host PID, not 1.
    host_pid = target.pid_mode == "host"
    target_pid = target.pid if host_pid else 1
    labels = (
        (SIDECAR_LABEL, "1"),
        (TARGET_LABEL, target.id),
        (OWNER_LABEL, f"{socket.gethostname()}:{os.getpid()}"),
        (SESSION_LABEL, session_id),
    )
    return SidecarConfig(
        session_id=session_id,
        name=name,
        image=image,
        # The script travels in the environment so that `ps` shows one short line for it.
        entrypoint=SUPERVISOR_ENTRYPOINT,
        env=(
            f"CDEBUG_SESSION={session_id}",
            f"CDEBUG_TARGET_PID={target_pid}",
            f"CDEBUG_SUPERVISOR={SUPERVISOR_SCRIPT}",
            f"CDEBUG_REAPER={REAPER_SCRIPT}",
        ),
        labels=labels,
        pid_mode="host" if host_pid else f"container:{target.id}",
        network_mode=f"container:{target.id}",
        ipc_mode=sidecar_ipc_mode(target.id, target.ipc_mode),
        cap_add=cap_add,
        cap_drop=cap_drop,
        privileged=spec.privileged or target.privileged or chosen.privileged,
        target_pid=target_pid,
    )


def merge_path(target_path: str | None, toolkit_path: str, prefix: str) -> str:
    """The shell's PATH in root mode: the target's own first, then the toolkit's under `prefix`."""
    own = [p for p in (target_path or "").split(":") if p]
    tools = [posixpath.join(prefix, p.lstrip("/")) for p in toolkit_path.split(":") if p]
    return ":".join(dict.fromkeys(own + tools))


def shell_env(
    target: TargetInfo,
    *,
    mode: Mode,
    toolkit_path: str,
    link: str,
    target_root: str,
    session_id: str,
    tty: bool,
    term: str = "xterm-256color",
    home: str | None = None,
    sh: str = "/bin/sh",
    extra: tuple[str, ...] = (),
    workdir: str | None = None,
) -> list[str]:
    """The environment of the debug shell: the target's, with PATH merged and CDEBUG_* added.

    `sh` is the toolkit's shell, by its path in the sidecar: SHELL names it, as the debug
    shell sees it, for programs that start a shell (less's `!`, vi's `:sh`); in root mode
    unless the target names one (its path is in the target's root, the shell's `/`).
    """
    env = {k: v for k, _, v in (item.partition("=") for item in target.env)}
    # The user's own (`exec -e`), over the target's; PATH too, as docker exec -e does.
    env.update((k, v) for k, _, v in (item.partition("=") for item in extra))
    if mode == Mode.ROOT:
        env["PATH"] = merge_path(env.get("PATH"), toolkit_path, link)
        env.setdefault("SHELL", posixpath.join(link, sh.lstrip("/")))
    else:
        env["PATH"] = toolkit_path
        env["SHELL"] = sh  # the target's would name a file of the target's root, not ours
    if home:
        env["HOME"] = home if mode == Mode.ROOT else target_root.rstrip("/") + home
    env.setdefault("HOME", "/root" if mode == Mode.TOOLKIT else "/")
    if tty:
        env["TERM"] = term
    env["CDEBUG_TARGET_ROOT"] = target_root
    env["CDEBUG_WORKDIR"] = workdir or target.workdir or "/"
    if workdir:
        env["CDEBUG_WORKDIR_ASKED"] = "1"  # a directory the user named: missing, it fails
    env["CDEBUG_SESSION"] = session_id
    env["CDEBUG_TARGET"] = target.name
    # In toolkit mode the working directory is reached through /proc/1/root, outside the shell's
    # root, where getcwd() fails: `\w` printed "sh: getcwd: No such file or directory" and
    # "(unknown)". $PWD is the path the shell went through (/target/...), kept by the shell.
    where = "\\w" if mode == Mode.ROOT else "$PWD"
    env["PS1"] = f"({target.name}) {where} \\$ "
    # The user's own last, as docker exec -e has them win (TERM, HOME, PS1...); PATH was
    # merged above, and cdebug-tui's own variables stay ours.
    env.update(
        (k, v)
        for k, _, v in (item.partition("=") for item in extra)
        if k != "PATH" and not k.startswith("CDEBUG_")
    )
    return [f"{k}={v}" for k, v in env.items()]


#: Changes to the target's working directory, then runs the command; the shell is the default.
#: A command named like an option (`cdebug-tui exec T -v`) goes through env: the shell's exec
#: took it for its own option ("exec: illegal option -v", 2); dash's exec takes no `--`.
_CD_THEN_EXEC = (
    "unset CDEBUG_SUPERVISOR CDEBUG_REAPER CDEBUG_TARGET_PID CDEBUG_ENTRYPOINT CDEBUG_DIRECT; "
    'cd -- "$CDEBUG_TARGET_ROOT_PREFIX$CDEBUG_WORKDIR" 2>/dev/null || { '
    # As docker exec -w fails, with the shell's code for a command that cannot run.
    '[ -n "$CDEBUG_WORKDIR_ASKED" ] && '
    '{ printf "cdebug-tui: cannot change to %s\\n" "$CDEBUG_WORKDIR" >&2; exit 126; }; '
    "cd /; }; "
    # Ours, and the wrapper shells': what `docker exec` gives has neither (`cd -` went to /).
    "unset CDEBUG_WORKDIR_ASKED CDEBUG_WORKDIR OLDPWD SHLVL; "
    'case $1 in -*) exec env -- "$@" ;; esac; '
    # ash said "cdebug: exec: line 0: CMD: not found": the shell's words, not the user's.
    'command -v "$1" >/dev/null 2>&1 || { echo "$1: command not found" >&2; exit 127; }; '
    'exec "$@"'
)


def shell_command(
    *,
    mode: Mode,
    link: str,
    sh: str,
    chroot: str,
    nsenter: str,
    target_root: str,
    command: tuple[str, ...],
    uid_gid: tuple[int, int] | None,
    target_pid: int = 1,
) -> list[str]:
    """The debug shell's command line, as the sidecar runs it.

    In root mode the toolkit's `chroot` (or `nsenter -S -G` for another user) makes the target's
    root the shell's `/` and the toolkit's shell runs from its link; in toolkit mode the shell
    runs in the toolkit's root and changes into the target's working directory under /target.
    """
    prefix = "" if mode == Mode.ROOT else target_root.rstrip("/")
    wrapper = _CD_THEN_EXEC.replace("$CDEBUG_TARGET_ROOT_PREFIX", prefix)
    if mode == Mode.ROOT:
        shell = posixpath.join(link, sh.lstrip("/"))
        cmd = list(command) or [shell]
        if uid_gid is not None:
            uid, gid = uid_gid
            enter = [nsenter, "-t", str(target_pid), "-r", "-S", str(uid), "-G", str(gid), "--"]
            return [*enter, shell, "-c", wrapper, "cdebug", *cmd]
        return [chroot, f"/proc/{target_pid}/root", shell, "-c", wrapper, "cdebug", *cmd]
    cmd = list(command) or [sh]
    return [sh, "-c", wrapper, "cdebug", *cmd]


def reaped(argv: list[str], *, init: str, sh: str, tag: str, toolkit_path: str) -> list[str]:
    """A command line run under a reaper (engine/reaper.sh), under tini as a child subreaper
    when the sidecar has it: what the command leaves behind is killed and reaped when it ends.

    Args:
        init: tini's path in the sidecar ("" without it: then only the command's own
            descendants can be swept, and its orphans go to the target's PID 1).
        sh: The toolkit's shell, by its path in the sidecar.
        tag: Names the reaper (`cdebug-reaper-TAG`), for the supervisor to end it.
        toolkit_path: The toolkit's PATH, where the reaper finds `sleep`.
    """
    head = [init, "-s", "--"] if init else []
    reaper = [sh, "-c", 'eval "$CDEBUG_REAPER"', f"cdebug-reaper-{tag}", "run", toolkit_path]
    return [*head, *reaper, *argv]
