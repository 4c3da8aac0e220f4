"""Provides the frozen dataclasses the engine hands upward for a session, not docker-py objects."""

from __future__ import annotations

import enum
import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# Re-exported: the labels are the models' too; basics has them for exec's quick start.
from cdebug_tui.engine.basics import DETACH_KEYS as DETACH_KEYS
from cdebug_tui.engine.basics import OWNER_LABEL as OWNER_LABEL
from cdebug_tui.engine.basics import SESSION_LABEL as SESSION_LABEL
from cdebug_tui.engine.basics import SIDECAR_LABEL as SIDECAR_LABEL
from cdebug_tui.engine.basics import TARGET_LABEL as TARGET_LABEL
from cdebug_tui.errors import (
    AmbiguousTargetError,
    CdebugError,
    ImageUnavailableError,
    TargetNotFoundError,
)

if TYPE_CHECKING:
    # The explorer's: apart (see readings.py), as a session needs none of them.
    from cdebug_tui.engine.readings import Container, ContainerRef

#: Why a session ended whose sidecar went from outside (`docker kill`, `docker rm -f`, an
#: OOM kill) while its target runs on.
SIDECAR_GONE = "its sidecar was stopped from outside"
#: On a debug copy (a container) and on the image committed for it: what it is a copy of.
COPY_LABEL = "io.cdebug-tui.copy"


class Mode(enum.StrEnum):
    """How the debug shell sees the target's filesystem."""

    AUTO = "auto"
    #: The target's root is the shell's `/`; the toolkit is linked in at a private path.
    ROOT = "root"
    #: The shell runs in the toolkit's root; the target's root is at `/target`.
    TOOLKIT = "toolkit"


@dataclass(frozen=True)
class ContainerEvent:
    """A change to one container, from the engine's event stream."""

    engine: str
    id: str
    action: str
    time: float
    name: str = ""
    #: What follows the action's colon: the new health of a health_status event, say.
    detail: str = ""
    #: The container's exit code, which a die event carries.
    exit_code: int | None = None

    def shown_by(self, row: Container | None) -> bool:
        """Whether a list row read after this event already shows it.

        Docker sends some events (pause, for one) before its list, a copy it updates apart
        from the container, has the change: a row read at once can still show the old state.
        """
        if self.action == "destroy":
            return row is None
        if row is None:
            return True  # gone since: a destroy event follows
        if self.action == "pause":
            return row.state == "paused"
        if self.action in ("start", "unpause", "restart"):
            return row.state == "running"
        if self.action in ("die", "stop"):
            return row.state not in ("running", "paused")
        if self.action == "health_status" and self.detail:
            return row.health == self.detail
        return True


@dataclass(frozen=True)
class Mount:
    """A volume or bind mount of a container, as `docker inspect` lists it under Mounts."""

    kind: str  # "volume", "bind", "tmpfs"
    source: str  # the host path (a volume's directory); a volume's name when the engine has none
    destination: str
    writable: bool
    name: str = ""  # a volume's name

    def describe(self) -> str:
        """One phrase: `volume data at /data (writable)`."""
        what = f"volume {self.name or self.source}" if self.kind == "volume" else self.kind
        if self.kind != "volume":
            what = f"{what} {self.source}"
        return f"{what} at {self.destination} ({'writable' if self.writable else 'read-only'})"


@dataclass(frozen=True)
class TargetInfo:
    """What the engine says about a container, as much as a debug session needs."""

    engine: str
    id: str
    name: str
    image: str
    image_id: str
    state: str
    running: bool
    paused: bool
    restarting: bool
    pid: int
    user: str
    workdir: str
    env: tuple[str, ...]
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    privileged: bool
    cap_add: tuple[str, ...]
    cap_drop: tuple[str, ...]
    readonly_rootfs: bool
    pid_mode: str
    ipc_mode: str
    network_mode: str
    security_opt: tuple[str, ...]
    labels: tuple[tuple[str, str], ...] = ()
    mounts: tuple[Mount, ...] = ()
    exit_code: int = 0
    #: The resource limits it was created with: (name as in --ulimit, soft, hard). Podman
    #: reports the ones it applied by default too (nofile, nproc); Docker only explicit ones.
    ulimits: tuple[tuple[str, int, int], ...] = ()
    #: Its memory, CPU and pids limits, as HostConfig keys and values (LIMIT_KEYS), the
    #: ones set only.
    limits: tuple[tuple[str, Any], ...] = ()
    #: Whether the kernel killed its last run for memory.
    oom_killed: bool = False
    #: Why the engine could not start it (State.Error: its entrypoint missing, say), or "".
    error: str = ""

    @property
    def ref(self) -> ContainerRef:
        from cdebug_tui.engine.readings import ContainerRef

        return ContainerRef(self.engine, self.id)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    def env_value(self, key: str) -> str | None:
        for item in self.env:
            k, _, v = item.partition("=")
            if k == key:
                return v
        return None


@dataclass(frozen=True)
class SessionSpec:
    """What the user asked for when starting a debug session."""

    target: str
    image: str = "busybox:musl"
    mode: Mode = Mode.AUTO
    user: str | None = None
    privileged: bool = False
    tty: bool = True
    interactive: bool = True
    command: tuple[str, ...] = ()
    name: str | None = None
    rows: int = 24
    cols: int = 80
    #: The TERM the shell gets with a TTY: the user's own terminal for `exec -it`, ours in the app.
    term: str = "xterm-256color"
    #: The sidecar's privileges: general, netadmin, sysadmin or restricted (kubectl debug's).
    profile: str = "general"
    #: KEY=VALUE entries set in the shell's environment over the target's (`exec -e`).
    env: tuple[str, ...] = ()
    #: The shell's working directory in the target (`exec -w`); None: the target's own.
    workdir: str | None = None


@dataclass(frozen=True)
class Step:
    """One thing cdebug-tui did for a session, written as a command a learner could type."""

    title: str
    command: str
    started: float = field(default_factory=time.monotonic)
    duration: float = 0.0
    detail: str = ""


@dataclass(frozen=True)
class ExecState:
    """What the engine says about one exec: whether it still runs, and how it ended."""

    id: str
    running: bool
    exit_code: int | None
    #: The exec's PID as the host sees it (0 once it has ended).
    pid: int = 0


def familiar_ref(ref: str) -> str:
    """An image reference as `docker images` shows it: without the default registry prefixes.

    Podman stores fully qualified names (`docker.io/library/x`, `docker.io/org/x`, and
    `localhost/x` for images made locally); Docker shows `x` and `org/x`. Rows from both engines
    read alike this way, and Podman still finds the image by the short name.
    """
    for prefix in ("docker.io/library/", "docker.io/", "localhost/"):
        if ref.startswith(prefix) and len(ref) > len(prefix):
            return ref[len(prefix) :]
    return ref


#: The HostConfig keys of a container's memory, CPU and pids limits (`docker run --memory
#: --memory-swap --memory-reservation --cpus --cpu-shares --cpu-quota --cpu-period --cpuset-cpus
#: --cpuset-mems --pids-limit --shm-size`): a debug copy keeps them, so that a crash they caused
#: (an OOM kill) happens again in it.
LIMIT_KEYS = (
    "Memory",
    "MemorySwap",
    "MemoryReservation",
    "NanoCpus",
    "CpuShares",
    "CpuQuota",
    "CpuPeriod",
    "CpusetCpus",
    "CpusetMems",
    "PidsLimit",
    "ShmSize",
)
#: Those a debug copy's sidecar takes too, so that `entrypoint --run` runs under them (an OOM
#: kill happens again): its memory. Not the pids limit, which the sidecar's own few processes
#: would take a share of, nor the CPU ones, under which the whole session crawled (`--cpus
#: 0.05`) for a crash they rarely cause.
SIDECAR_LIMIT_KEYS = ("Memory", "MemorySwap")


#: `docker create` flags for LIMIT_KEYS (bytes and nano-CPUs as the flags take them:
#: --memory 16777216b, --cpus 0.5).
_LIMIT_FLAGS = {
    "Memory": "--memory",
    "MemorySwap": "--memory-swap",
    "MemoryReservation": "--memory-reservation",
    "CpuShares": "--cpu-shares",
    "CpuQuota": "--cpu-quota",
    "CpuPeriod": "--cpu-period",
    "CpusetCpus": "--cpuset-cpus",
    "CpusetMems": "--cpuset-mems",
    "PidsLimit": "--pids-limit",
    "ShmSize": "--shm-size",
}
#: `docker diff`'s kinds, as the engine numbers them.
CHANGE_KINDS = {0: "C", 1: "A", 2: "D"}


def limit_flags(
    limits: Iterable[tuple[str, Any]], ulimits: Iterable[tuple[str, int, int]] = ()
) -> list[str]:
    """Limits (LIMIT_KEYS) and ulimits as the `docker create` flags that set them."""
    flags = []
    for key, value in limits:
        if key == "NanoCpus":
            flags += ["--cpus", f"{value / 1e9:g}"]
        elif key in _LIMIT_FLAGS:
            unit = "b" if key in ("Memory", "MemorySwap", "MemoryReservation", "ShmSize") else ""
            flags += [_LIMIT_FLAGS[key], f"{value}{unit}" if value != -1 else "-1"]
    for name, soft, hard in ulimits:
        flags += ["--ulimit", f"{name}={soft}:{hard}"]
    return flags


def ulimit_entries(ulimits: Iterable[tuple[str, int, int]]) -> list[dict[str, Any]]:
    """(name, soft, hard) ulimits as the engine's HostConfig.Ulimits takes them."""
    return [{"Name": n, "Soft": s, "Hard": h} for n, s, h in ulimits]


def _limits(host: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The limits set in an inspect's HostConfig (LIMIT_KEYS), as `docker create` takes them."""
    # 0 (and -1 for the pids limit, "" for the cpusets) mean none; a swap of -1 with a memory
    # limit means unlimited swap, which a copy without it would get as twice the memory.
    found = {
        k: host[k]
        for k in LIMIT_KEYS
        if host.get(k) not in (None, 0, -1, "") or (k == "MemorySwap" and host.get("Memory"))
    }
    if found.get("MemorySwap") in (None, 0):
        found.pop("MemorySwap", None)
    if "NanoCpus" in found:
        # Podman reports --cpus as the quota and period too; Docker refuses them together.
        found.pop("CpuQuota", None)
        found.pop("CpuPeriod", None)
    return tuple(found.items())


def target_info(raw: Mapping[str, Any], engine: str) -> TargetInfo:
    """A TargetInfo from what the engine's container inspect answers (GET /containers/ID/json)."""
    cfg = raw.get("Config") or {}
    host = raw.get("HostConfig") or {}
    state = raw.get("State") or {}
    return TargetInfo(
        engine=engine,
        id=raw["Id"],
        name=(raw.get("Name") or "").lstrip("/"),
        image=familiar_ref(cfg.get("Image") or ""),
        image_id=raw.get("Image") or "",
        state=state.get("Status") or "",
        running=bool(state.get("Running")) and not state.get("Paused"),
        paused=bool(state.get("Paused")),
        restarting=bool(state.get("Restarting")),
        pid=int(state.get("Pid") or 0),
        user=cfg.get("User") or "",
        workdir=cfg.get("WorkingDir") or "/",
        env=tuple(cfg.get("Env") or ()),
        entrypoint=tuple(cfg.get("Entrypoint") or ()),
        cmd=tuple(cfg.get("Cmd") or ()),
        privileged=bool(host.get("Privileged")),
        cap_add=tuple(host.get("CapAdd") or ()),
        cap_drop=tuple(host.get("CapDrop") or ()),
        readonly_rootfs=bool(host.get("ReadonlyRootfs")),
        pid_mode=host.get("PidMode") or "",
        ipc_mode=host.get("IpcMode") or "",
        network_mode=host.get("NetworkMode") or "",
        security_opt=tuple(host.get("SecurityOpt") or ()),
        labels=tuple(sorted((cfg.get("Labels") or {}).items())),
        mounts=tuple(
            Mount(
                kind=str(m.get("Type") or ""),
                source=str(m.get("Source") or m.get("Name") or ""),
                destination=str(m.get("Destination") or ""),
                writable=bool(m.get("RW")),
                name=str(m.get("Name") or ""),
            )
            for m in raw.get("Mounts") or ()
        ),
        exit_code=int(state.get("ExitCode") or 0),
        ulimits=tuple(
            (name, int(u.get("Soft") or 0), int(u.get("Hard") or 0))
            for u in host.get("Ulimits") or ()
            if (name := str(u.get("Name") or "").lower().removeprefix("rlimit_"))
        ),
        limits=_limits(host),
        oom_killed=bool(state.get("OOMKilled")),
        error=str(state.get("Error") or ""),
    )


def unresolved_target(target: str, rows: Iterable[Mapping[str, Any]]) -> CdebugError:
    """Why a target the engine's inspect did not find resolves to nothing, as the docker CLI
    says it: several containers whose id starts with it (listed), or none.

    Args:
        target: What the user named.
        rows: The engine's container list (GET /containers/json?all=1).
    """
    prefix = target.lstrip("/")
    candidates = [c for c in rows if str(c.get("Id", "")).startswith(prefix)]
    if len(candidates) > 1:
        listed = ", ".join(
            f"{c['Id'][:12]} ({(c.get('Names') or ['?'])[0].lstrip('/')})" for c in candidates[:8]
        )
        return AmbiguousTargetError(f"{target!r} matches {len(candidates)} containers: {listed}")
    return TargetNotFoundError(f"no such container: {target}")


#: Linux's signal numbers (x86 and arm alike), whatever this host's are: the engine's
#: containers run on Linux, also under Docker Desktop on a Mac, whose SIGUSR1 is 30, not 10.
LINUX_SIGNALS = {
    1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
    7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2",
    13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD",
    18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG",
    24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO",
    30: "SIGPWR", 31: "SIGSYS",
}  # fmt: skip


def signal_name(number: str | int) -> str:
    """SIGKILL for "9" (Linux's numbers); the text itself when it is no signal's number."""
    try:
        n = int(number)
    except ValueError:
        return str(number)
    if 34 <= n <= 64:
        return f"SIGRTMIN+{n - 34}"  # the real-time signals (glibc's SIGRTMIN is 34)
    return LINUX_SIGNALS.get(n, str(number))


def container_event(raw: Mapping[str, Any], engine: str) -> ContainerEvent | None:
    """A ContainerEvent from one decoded line of the engine's /events; None for an event that
    is not about a container."""
    if raw.get("Type") != "container":
        return None
    actor = raw.get("Actor") or {}
    attributes = actor.get("Attributes") or {}
    action, _, detail = (raw.get("Action") or raw.get("status") or "").partition(":")
    code = str(attributes.get("exitCode") or "")
    if action == "kill" and not detail:
        detail = signal_name(str(attributes.get("signal") or ""))
    elif action == "commit" and not detail:
        detail = str(attributes.get("comment") or "")
    elif action == "rename" and not detail:
        old = str(attributes.get("oldName") or "").lstrip("/")
        detail = f"{old} → {attributes.get('name', '')}" if old else ""
    return ContainerEvent(
        engine=engine,
        id=actor.get("ID") or raw.get("id", ""),
        action=action,
        detail=detail.strip(),
        time=raw.get("timeNano", 0) / 1e9 or float(raw.get("time", 0)),
        name=attributes.get("name", ""),
        exit_code=int(code) if code.lstrip("-").isdigit() else None,
    )


# A reference as `docker pull` accepts it: [host[:port]/]path[:tag][@digest], lower-case path.
_IMAGE_REF = re.compile(
    r"^(?:(?P<host>[a-zA-Z0-9.-]+(?::[0-9]+)?)/)?"
    r"(?P<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$"
)


#: The comment (`docker commit -m`) on a debug copy's image: the target's events show the
#: commit with it, saying whose it is.
COPY_COMMENT = "cdebug-tui: the image of a debug copy, removed with the copy"


def commit_changes(labels: Mapping[str, str]) -> list[str]:
    """`docker commit --change` instructions that label the committed image."""
    return [f"LABEL {key}={json.dumps(value)}" for key, value in labels.items()]


def split_image_ref(ref: str) -> tuple[str, str | None]:
    """Splits a reference into repository and tag (or digest); the tag is None when absent."""
    if "@" in ref:
        repo, _, digest = ref.partition("@")
        return repo, digest
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        repo, _, tag = ref.rpartition(":")
        return repo, tag
    return ref, None


def validate_image_ref(ref: str) -> None:
    """Checks that an image reference is well formed.

    Raises:
        ImageUnavailableError: When it is not, with the reason.
    """
    if not ref or not _IMAGE_REF.match(ref):
        raise ImageUnavailableError(f"invalid image reference {ref!r}")
