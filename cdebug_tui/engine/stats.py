"""Provides StatsPoint and StatsHistory: rates from pairs of stats samples, kept for minutes."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from cdebug_tui.engine.readings import StatsSample

#: How many points a history keeps: 5 minutes at one point every 2 s.
HISTORY_POINTS = 150


@dataclass(frozen=True)
class StatsPoint:
    """A container's resource use over the interval between two samples."""

    taken: float
    #: Percent of one core, as `docker stats` shows it (200 = two cores busy).
    cpu_percent: float
    memory_usage: int
    memory_limit: int
    #: Bytes per second over the interval.
    net_rx_rate: float
    net_tx_rate: float
    block_read_rate: float
    block_write_rate: float
    pids: int = 0

    @property
    def memory_percent(self) -> float:
        return 100.0 * self.memory_usage / self.memory_limit if self.memory_limit else 0.0


def cpu_percent(prev: StatsSample, cur: StatsSample) -> float:
    """CPU use between two samples in percent of one core, as `docker stats` computes it.

    With the host's CPU time (Linux): the container's share of all the host's CPU time,
    times the number of CPUs. Without it (the engine does not say): by the wall clock.
    """
    cpu_delta = cur.cpu_total_ns - prev.cpu_total_ns
    if cpu_delta <= 0:
        return 0.0
    system_delta = cur.system_ns - prev.system_ns
    if system_delta > 0 and cur.online_cpus:
        return 100.0 * cpu_delta / system_delta * cur.online_cpus
    wall = cur.taken - prev.taken
    return 100.0 * cpu_delta / (wall * 1e9) if wall > 0 else 0.0


def point(prev: StatsSample | None, cur: StatsSample) -> StatsPoint:
    """The use between two samples (rates 0 when there is no previous one)."""
    if prev is None or cur.taken <= prev.taken:
        return StatsPoint(cur.taken, 0.0, cur.memory_usage, cur.memory_limit, 0, 0, 0, 0, cur.pids)
    wall = cur.taken - prev.taken

    def rate(a: int, b: int) -> float:
        # A counter that went back (the container restarted) starts again from zero.
        return max(0, b - a) / wall

    return StatsPoint(
        taken=cur.taken,
        cpu_percent=cpu_percent(prev, cur),
        memory_usage=cur.memory_usage,
        memory_limit=cur.memory_limit,
        net_rx_rate=rate(prev.net_rx, cur.net_rx),
        net_tx_rate=rate(prev.net_tx, cur.net_tx),
        block_read_rate=rate(prev.block_read, cur.block_read),
        block_write_rate=rate(prev.block_write, cur.block_write),
        pids=cur.pids,
    )


class StatsHistory:
    """The last minutes of one container's resource use: a point per pair of samples."""

    def __init__(self, size: int = HISTORY_POINTS) -> None:
        self.points: deque[StatsPoint] = deque(maxlen=size)
        self.last: StatsSample | None = None
        #: Whether the last reading found the container stopped (no live readings).
        self.stopped = False

    def add(self, sample: StatsSample) -> StatsPoint | None:
        """Adds a sample; returns the new point, or None for the first sample (no rate yet)
        and for a stopped container's (its zeros are no reading: the points so far stay)."""
        self.stopped = not sample.running
        if self.stopped:
            self.last = None  # rates begin again with its next run
            return None
        prev, self.last = self.last, sample
        if prev is None:
            return None
        p = point(prev, sample)
        self.points.append(p)
        return p

    @property
    def latest(self) -> StatsPoint | None:
        return self.points[-1] if self.points else None


def format_bytes(n: float) -> str:
    """A size as `docker stats` writes it: 1.5MiB, 64MiB, 512KiB, 12B (a limit of 64MiB read
    64.0MiB beside 128MiB)."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            shown = f"{value:.1f}" if value < 100 else f"{value:.0f}"
            return f"{shown.removesuffix('.0')}{unit}"
    return f"{int(n)}B"


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`1 line`, `2 lines`, `1,204 lines`: a count with its noun in the right number."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
