"""Provides what the explorer and the panels read of a container, as frozen dataclasses."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from cdebug_tui.engine.models import SIDECAR_LABEL, Mount

# Apart from models.py: a session needs none of these, and building a dataclass costs about a
# millisecond; `cdebug-tui exec` builds only what it uses.


@dataclass(frozen=True)
class ContainerRef:
    """Identifies one container: the engine it runs on and its full id."""

    engine: str
    id: str

    @property
    def short_id(self) -> str:
        return self.id[:12]


@dataclass(frozen=True)
class PublishedPort:
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
    ports: tuple[PublishedPort, ...] = ()
    #: "healthy", "unhealthy" or "starting" when the container has a healthcheck, else None.
    health: str | None = None
    #: The exit code of an exited container (or of a restarting one's last run), else None.
    exit_code: int | None = None
    #: How often the engine restarted it by its restart policy since it was last started by
    #: hand (inspect's RestartCount): a crash loop. 0 when not read (see list_containers).
    restarts: int = 0
    #: Whether the kernel killed its last run for memory (inspect's State.OOMKilled): read
    #: with the restart count.
    oom_killed: bool = False
    #: When its last run ended (inspect's State.FinishedAt), read with the restart count;
    #: None while it has never ended.
    finished_at: datetime | None = None

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
    #: What it is when it is cdebug-tui's own ("supervisor", "panel reader", "debug shell").
    own: str = ""


@dataclass(frozen=True)
class OpenFile:
    """One open file descriptor of a process, sockets described from the process's /proc/net."""

    fd: int
    target: str  # what /proc/PID/fd/N links to: a path, pipe:[N], socket:[N], anon_inode:...
    #: For a socket found in /proc/PID/net: "tcp 0.0.0.0:8080 LISTEN", "unix /run/x.sock".
    socket: str = ""


@dataclass(frozen=True)
class ProcessDetails:
    """What `Enter` on a process shows, read from /proc/PID through the sidecar."""

    pid: int
    argv: tuple[str, ...]
    environ: tuple[str, ...]
    cwd: str
    exe: str
    #: /proc/PID/status as (field, value), in its order.
    status: tuple[tuple[str, str], ...]
    #: /proc/PID/limits as its lines (a header, then one line per limit).
    limits: tuple[str, ...]
    cgroup: tuple[str, ...]
    files: tuple[OpenFile, ...]
    #: Why a part could not be read (another user's process without CAP_SYS_PTRACE, ...).
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class PathStat:
    """What the engine says of a path in a container (`docker cp`'s stat), links resolved by
    the engine within the container's root."""

    name: str
    size: int
    #: "dir", "file", "link" or "other" (a device, a fifo, a socket).
    kind: str
    #: A link's target, fully resolved, as an absolute path in the container; else "".
    link_target: str = ""


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
    #: A device file's major and minor numbers (what `ls -l` shows in place of its size).
    device: tuple[int, int] | None = None

    @property
    def is_dir(self) -> bool:
        return self.kind == "dir"


@dataclass(frozen=True)
class Change:
    """One line of `docker diff`."""

    path: str
    kind: str  # "A", "C", "D"


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a container's log, as the engine stored it.

    Slots keep a million loaded lines small: each is an object the log view holds.
    """

    #: "stdout" or "stderr".
    stream: str
    #: When the engine received it, in nanoseconds since the epoch (0 when unknown).
    timestamp_ns: int
    text: str

    @property
    def is_stderr(self) -> bool:
        return self.stream == "stderr"


@dataclass(frozen=True)
class ListeningSocket:
    """A socket the target listens on (TCP) or is bound to (UDP), in its network namespace."""

    protocol: str  # "tcp", "tcp6", "udp", "udp6"
    address: str
    port: int
    inode: int
    #: The process that holds it, as the target's PID namespace numbers it (0: not found).
    pid: int = 0
    command: str = ""

    @property
    def family(self) -> str:
        return "IPv6" if self.protocol.endswith("6") else "IPv4"

    @property
    def transport(self) -> str:
        return self.protocol.rstrip("6")


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
    mounts: tuple[Mount, ...]
    networks: tuple[NetworkInfo, ...]
    network_mode: str
    ports: tuple[PublishedPort, ...]
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
    #: Whether the container ran when read: a stopped one's answer is all zeros (no cores,
    #: no memory), which read as "host 0B".
    running: bool = True
