"""Provides the frozen dataclasses that the engine hands upward instead of docker-py objects."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from datetime import datetime

#: The label every sidecar carries, so that it can always be found and removed.
SIDECAR_LABEL = "io.cdebug-tui.sidecar"
#: Labels that say whose sidecar it is: the target's id, the owner's pid and host, the session id.
TARGET_LABEL = "io.cdebug-tui.target"
OWNER_LABEL = "io.cdebug-tui.owner"
SESSION_LABEL = "io.cdebug-tui.session"
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
class ContainerRef:
    """Identifies one container: the engine it runs on and its full id."""

    engine: str
    id: str

    @property
    def short_id(self) -> str:
        return self.id[:12]


@dataclass(frozen=True)
class Container:
    """One row of the container list."""

    engine: str
    id: str
    name: str
    image: str
    state: str
    status: str
    created: datetime
    started_at: datetime | None = None
    #: Whether the image has a shell at a usual path; None when it is not known (yet).
    has_shell: bool | None = None
    is_sidecar: bool = False
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def ref(self) -> ContainerRef:
        return ContainerRef(self.engine, self.id)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def running(self) -> bool:
        return self.state == "running"

    def label(self, key: str) -> str | None:
        return dict(self.labels).get(key)

    def uptime(self, now: datetime | None = None) -> float | None:
        """Seconds since the container started, or None when it is not running."""
        if not self.running or self.started_at is None:
            return None
        now = now or datetime.now(self.started_at.tzinfo)
        return max(0.0, (now - self.started_at).total_seconds())


@dataclass(frozen=True)
class ContainerEvent:
    """A change to one container, from the engine's event stream."""

    engine: str
    id: str
    action: str
    time: float
    name: str = ""


@dataclass(frozen=True)
class Mount:
    """A volume or bind mount of a container, as `docker inspect` lists it under Mounts."""

    kind: str  # "volume", "bind", "tmpfs"
    source: str  # the volume's name, or the host path of a bind mount
    destination: str
    writable: bool

    def describe(self) -> str:
        """One phrase: `volume data at /data (writable)`."""
        what = f"volume {self.source}" if self.kind == "volume" else f"{self.kind} {self.source}"
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

    @property
    def ref(self) -> ContainerRef:
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
class ImageInfo:
    """A local image, by its tags."""

    id: str
    tags: tuple[str, ...]
    size: int
    created: datetime | None = None
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PullProgress:
    """One progress line of an image pull, per layer as `docker pull` shows them."""

    image: str
    layer: str
    status: str
    current: int = 0
    total: int = 0


@dataclass(frozen=True)
class Process:
    """A process of the target, as the target's PID namespace numbers it."""

    pid: int
    ppid: int
    uid: int
    user: str
    state: str
    cpu_percent: float
    rss_bytes: int
    command: str
    #: Cumulative CPU ticks (utime + stime), kept so that the next sample can compute a rate.
    cpu_ticks: int = 0


@dataclass(frozen=True)
class RootfsEntry:
    """One entry of a directory of the target's root filesystem."""

    path: str
    name: str
    kind: str  # "dir", "file", "link", "char", "block", "fifo", "socket"
    size: int
    mode: str  # as ls shows it: drwxr-xr-x
    uid: int
    gid: int
    owner: str
    link_target: str | None = None
    #: "A", "C" or "D" when `docker diff` reports the path as added, changed or deleted.
    change: str | None = None

    @property
    def is_dir(self) -> bool:
        return self.kind == "dir"


@dataclass(frozen=True)
class Change:
    """One line of `docker diff`."""

    path: str
    kind: str  # "A", "C", "D"


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


@dataclass(frozen=True)
class Step:
    """One thing cdebug-tui did for a session, written as a command a learner could type."""

    title: str
    command: str
    started: float = field(default_factory=time.monotonic)
    duration: float = 0.0
    detail: str = ""
