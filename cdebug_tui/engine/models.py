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
    #: Published ports, as `docker ps` lists them.
    ports: tuple[PortBinding, ...] = ()
    #: "healthy", "unhealthy" or "starting" when the container has a healthcheck, else None.
    health: str | None = None
    #: The exit code of an exited container, else None.
    exit_code: int | None = None

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


@dataclass(frozen=True)
class Step:
    """One thing cdebug-tui did for a session, written as a command a learner could type."""

    title: str
    command: str
    started: float = field(default_factory=time.monotonic)
    duration: float = 0.0
    detail: str = ""


# -- the container explorer (issue 11): list columns, inspect, stats, actions ---------------


@dataclass(frozen=True)
class PortBinding:
    """A published port, as `docker ps` shows it: host address and port -> container port."""

    private_port: int
    protocol: str = "tcp"
    host_ip: str = ""
    public_port: int | None = None

    def __str__(self) -> str:
        inner = f"{self.private_port}/{self.protocol}"
        if self.public_port is None:
            return inner
        host = self.host_ip if self.host_ip not in ("", "0.0.0.0", "::") else ""
        return f"{host + ':' if host else ''}{self.public_port}->{inner}"


class ContainerAction(enum.StrEnum):
    """What the explorer can do to a container, as `docker <action>` names it."""

    START = "start"
    STOP = "stop"
    RESTART = "restart"
    PAUSE = "pause"
    UNPAUSE = "unpause"
    KILL = "kill"
    REMOVE = "remove"

    @property
    def past(self) -> str:
        """The action done, for a notification: stopped, removed, ..."""
        return {"stop": "stopped", "kill": "killed", "remove": "removed"}.get(
            self.value, self.value.rstrip("e") + "ed"
        )

    @property
    def progressive(self) -> str:
        """The action under way: stopping, removing, ..."""
        base = self.value[:-1] if self.value.endswith("e") else self.value
        return base + ("ping" if self.value == "stop" else "ing")


@dataclass(frozen=True)
class MountInfo:
    """One mount of a container: where it comes from, where it is, how."""

    kind: str  # bind, volume, tmpfs, ...
    source: str
    destination: str
    read_only: bool
    name: str = ""


@dataclass(frozen=True)
class NetworkInfo:
    """One network a container is attached to."""

    name: str
    ip: str
    ipv6: str
    gateway: str
    mac: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class HealthProbe:
    """One run of a container's healthcheck."""

    exit_code: int
    output: str
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class ContainerDetails:
    """What `docker inspect` says about a container, in the groups a person reads it in."""

    engine: str
    id: str
    name: str
    image: str
    image_id: str
    created: datetime | None
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    user: str
    workdir: str
    env: tuple[tuple[str, str], ...]
    mounts: tuple[MountInfo, ...]
    networks: tuple[NetworkInfo, ...]
    network_mode: str
    ports: tuple[PortBinding, ...]
    exposed: tuple[str, ...]
    labels: tuple[tuple[str, str], ...]
    restart_policy: str
    restart_max: int
    restart_count: int
    health_status: str | None
    health_failing_streak: int
    health_test: tuple[str, ...]
    health_probes: tuple[HealthProbe, ...]
    status: str
    exit_code: int
    oom_killed: bool
    error: str
    pid: int
    started_at: datetime | None
    finished_at: datetime | None
    memory_limit: int
    memory_reservation: int
    memory_swap: int
    nano_cpus: int
    cpu_shares: int
    cpu_quota: int
    cpu_period: int
    cpuset_cpus: str
    pids_limit: int
    privileged: bool
    cap_add: tuple[str, ...]
    cap_drop: tuple[str, ...]
    seccomp: str
    apparmor: str
    no_new_privileges: bool
    readonly_rootfs: bool
    security_opt: tuple[str, ...]

    @property
    def is_sidecar(self) -> bool:
        return SIDECAR_LABEL in dict(self.labels)

    @property
    def cpu_limit(self) -> float | None:
        """The CPU limit in cores (--cpus, or quota/period), None when there is none."""
        if self.nano_cpus:
            return self.nano_cpus / 1e9
        if self.cpu_quota > 0 and self.cpu_period > 0:
            return self.cpu_quota / self.cpu_period
        return None


@dataclass(frozen=True)
class StatsSample:
    """One reading of a container's resource use from the engine's stats API.

    The counters are cumulative, as the kernel keeps them; rates need two samples
    (cdebug_tui.engine.stats turns a pair into StatsPoint).
    """

    engine: str
    id: str
    #: time.monotonic() when it was read.
    taken: float
    #: Cumulative CPU time of the container, in nanoseconds.
    cpu_total_ns: int
    #: Cumulative CPU time of the host, in nanoseconds (0 when the engine does not say).
    system_ns: int
    online_cpus: int
    memory_usage: int
    #: The memory limit; the host's memory when there is none (as the engine reports it).
    memory_limit: int
    net_rx: int
    net_tx: int
    block_read: int
    block_write: int
    pids: int = 0
    #: Whether memory_limit is the container's own limit (not the host's memory).
    memory_limited: bool = False
