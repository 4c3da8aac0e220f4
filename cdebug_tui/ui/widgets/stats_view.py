"""Provides StatsView: a container's CPU, memory, network and block I/O over the last minutes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from cdebug_tui.engine.stats import HISTORY_POINTS, counted, format_bytes

_BLOCKS = " ▁▂▃▄▅▆▇█"
#: The least top of a rate's scale (bytes/s): a few hundred bytes a second of background
#: chatter are a sliver, not a full bar (a scale from zero to the largest value made them so).
RATE_FLOOR = 16 * 1024
#: Without a limit, the scale's top is the largest value times this: a steady value is a
#: bar, not a full block.
HEADROOM = 1.25


def plot_lines(
    values: Sequence[float],
    width: int,
    height: int,
    limit: float | None,
    floor: float = 1e-9,
    color: str = "green",
) -> list[Text]:
    """Bars of the last `width` values, `height` rows high, with the limit as a dashed line.

    The scale's top is the larger of the limit and the largest value, so that the limit is
    always drawn and a value above it shows as a bar through the line; never below `floor`.
    """
    values = list(values)[-width:] if width > 0 else []
    top = max([limit or 0.0, *(v * (1.0 if limit else HEADROOM) for v in values), floor])
    limit_row = None
    if limit:
        # The row whose band holds the limit, counted from the top.
        limit_row = min(height - 1, max(0, height - int(round(limit / top * height))))
    lines = []
    pad = width - len(values)
    for row in range(height):
        base = (height - 1 - row) * 8
        line = Text()
        if pad > 0:
            line.append(
                ("┈" if row == limit_row else " ") * pad, style="red" if row == limit_row else ""
            )
        for v in values:
            eighths = max(0, min(8, int(round(v / top * height * 8)) - base))
            if eighths == 0 and row == limit_row:
                line.append("┈", style="red")
            else:
                over = limit is not None and v > limit
                line.append(_BLOCKS[eighths], style="bold red" if over else color)
        lines.append(line)
    return lines


class LimitPlot(Widget):
    """A bar plot of one measure over time, several rows high, with its limit drawn.

    Args:
        floor: The least top of its scale.
        color: The bars' colour.
    """

    DEFAULT_CSS = """
    LimitPlot {
        height: 4;
    }
    """

    values: reactive[tuple[float, ...]] = reactive(())
    limit: reactive[float | None] = reactive(None)

    def __init__(self, *, floor: float = 1e-9, color: str = "green", classes: str = "") -> None:
        super().__init__(classes=classes)
        self.floor = floor
        self.color = color

    def render(self) -> Text:
        height, width = self.size.height, self.size.width
        lines = plot_lines(self.values, width, height, self.limit, self.floor, self.color)
        return Text("\n").join(lines)


class StatsView(VerticalScroll, can_focus=True):
    """The stats of one container from the app's StatsPoller: a reading every 2 s while it
    is on screen, the last 5 minutes kept.

    Args:
        engine: The engine's name.
        container_id: The container's full id.
        name: Its name, for the title.
    """

    def __init__(self, engine: str, container_id: str, name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.engine_name = engine
        self.container_id = container_id
        self.container_name = name
        #: The CPU limit in cores, from inspect (None: no limit, the host's cores are the top).
        self.cpu_limit: float | None = None
        self.gone = False
        #: Whether the engine said it does not run when the view opened (until a reading).
        self.stopped_at_open = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.engine_name, self.container_id)

    def compose(self) -> ComposeResult:
        yield Static(Text("reading the first samples…", style="dim italic"), classes="stats-status")
        yield Static("", classes="stats-cpu-title")
        yield LimitPlot(classes="stats-cpu")
        yield Static("", classes="stats-mem-title")
        yield LimitPlot(classes="stats-mem")
        yield Static("", classes="stats-net-title")
        yield LimitPlot(floor=RATE_FLOOR, color="cyan", classes="stats-rate stats-net-rx")
        yield LimitPlot(floor=RATE_FLOOR, color="magenta", classes="stats-rate stats-net-tx")
        yield Static("", classes="stats-io-title")
        yield LimitPlot(floor=RATE_FLOOR, color="cyan", classes="stats-rate stats-io-read")
        yield LimitPlot(floor=RATE_FLOOR, color="magenta", classes="stats-rate stats-io-write")
        yield Static(
            Text(
                f"a column every 2 s, newest on the right (up to {HISTORY_POINTS * 2 // 60} "
                "minutes); ┈ the limit",
                style="dim",
            ),
            classes="stats-legend",
        )

    def _poller(self) -> Any:
        return getattr(self.app, "stats", None)

    def on_mount(self) -> None:
        poller = self._poller()
        if poller is not None:
            poller.watch(self, self._keys, self.refresh_stats)
        self.load_limits()
        self.refresh_stats()

    def on_unmount(self) -> None:
        poller = self._poller()
        if poller is not None:
            poller.unwatch(self)

    def _keys(self) -> list[tuple[str, str]]:
        if self.gone or not self.is_on_screen:
            return []
        front = self.app.screen
        if front is not self.screen and not front.is_modal:
            return []  # another full screen (stats of another container, inspect) hides it
        return [self.key]

    @work(thread=True, exclusive=True, exit_on_error=False, group="stats-limits")
    def load_limits(self) -> None:
        """Reads the CPU limit once (memory's comes with every sample)."""
        from cdebug_tui.errors import CdebugError

        engine = getattr(self.app, "engines", {}).get(self.engine_name)
        if engine is None:
            return
        try:
            details = engine.details(self.container_id)
        except CdebugError:
            return  # the samples say whether the container is gone
        self.app.call_from_thread(self._limits_loaded, details.cpu_limit, details.status)

    def _limits_loaded(self, cpu_limit: float | None, status: str) -> None:
        self.cpu_limit = cpu_limit
        # Said at once: the first round took 1.4 s to find an exited container not running.
        self.stopped_at_open = status not in ("running", "paused", "restarting")
        self.refresh_stats()

    def container_removed(self) -> None:
        """The container is gone: the figures stop, what was read stays."""
        if self.gone:
            return
        self.gone = True
        self.query_one(".stats-status", Static).update(
            Text.assemble(
                ("✗ ", "bold red"),
                (self.container_name, "bold"),
                " was removed: no more readings (what was read stays)",
            )
        )

    def refresh_stats(self) -> None:
        """Redraws from the poller's history (after each round)."""
        poller = self._poller()
        if poller is None or not self.is_attached:
            return
        if self.key in poller.gone:
            self.container_removed()
        history = poller.history(self.key)
        stopped = history.stopped if history is not None else self.stopped_at_open
        if stopped and not self.gone:
            self.query_one(".stats-status", Static).update(
                Text.assemble(
                    (f" {self.container_name} ", "bold reverse"),
                    ("  not running: no live readings", "yellow"),
                    (
                        "  (what was read while it ran stays)"
                        if history is not None and history.points
                        else "",
                        "dim",
                    ),
                )
            )
            return
        points = list(history.points) if history is not None else []
        if not points:
            return
        latest = points[-1]
        last = history.last if history is not None else None
        cpus = (last.online_cpus if last is not None else 0) or 1
        if not self.gone:
            self.query_one(".stats-status", Static).update(
                Text.assemble(
                    (f" {self.container_name} ", "bold reverse"),
                    (f"  {counted(len(points), 'point')} · pids {latest.pids}", "dim"),
                )
            )
        cpu_limit = self.cpu_limit * 100 if self.cpu_limit else None
        top_note = (
            f"limit {self.cpu_limit:g} CPU = {cpu_limit:.0f}%"
            if cpu_limit
            else f"no limit (host {cpus} cores = {cpus * 100}%)"
        )
        self.query_one(".stats-cpu-title", Static).update(
            Text.assemble(
                ("CPU ", "bold"),
                (f"{latest.cpu_percent:.1f}%", "bold cyan"),
                (f"  max {max(p.cpu_percent for p in points):.1f}%  ·  {top_note}", "dim"),
            )
        )
        cpu_plot = self.query_one(".stats-cpu", LimitPlot)
        cpu_plot.limit = cpu_limit if cpu_limit else float(cpus * 100)
        cpu_plot.values = tuple(p.cpu_percent for p in points)
        limited = last is not None and last.memory_limited
        mem_plot = self.query_one(".stats-mem", LimitPlot)
        # The readings the plot draws: one a column, the last ones (a spike older than that
        # is off the plot, and off its scale).
        drawn = points[-mem_plot.size.width :] if mem_plot.size.width > 0 else points
        mem_note = (
            f"of limit {format_bytes(latest.memory_limit)} ({latest.memory_percent:.0f}%)"
            if limited
            # Without a limit the bars' top is the most it used, and some: say so, as a full
            # plot of 312KiB read as memory maxed out.
            else f"no limit (host {format_bytes(latest.memory_limit)}) · the plot's top "
            f"{format_bytes(int(max(p.memory_usage for p in drawn) * HEADROOM))}"
        )
        self.query_one(".stats-mem-title", Static).update(
            Text.assemble(
                ("MEM ", "bold"),
                (format_bytes(latest.memory_usage), "bold cyan"),
                (f"  {mem_note}", "dim"),
            )
        )
        mem_plot.limit = float(latest.memory_limit) if limited else None
        mem_plot.values = tuple(float(p.memory_usage) for p in points)
        self.query_one(".stats-net-title", Static).update(
            Text.assemble(
                ("NET ", "bold"),
                ("rx ", "dim"),
                (f"{format_bytes(latest.net_rx_rate)}/s", "cyan"),
                ("  tx ", "dim"),
                (f"{format_bytes(latest.net_tx_rate)}/s", "magenta"),
            )
        )
        self._spark(".stats-net-rx", [p.net_rx_rate for p in points])
        self._spark(".stats-net-tx", [p.net_tx_rate for p in points])
        self.query_one(".stats-io-title", Static).update(
            Text.assemble(
                ("BLOCK I/O ", "bold"),
                ("read ", "dim"),
                (f"{format_bytes(latest.block_read_rate)}/s", "cyan"),
                ("  write ", "dim"),
                (f"{format_bytes(latest.block_write_rate)}/s", "magenta"),
            )
        )
        self._spark(".stats-io-read", [p.block_read_rate for p in points])
        self._spark(".stats-io-write", [p.block_write_rate for p in points])

    def _spark(self, selector: str, values: list[float]) -> None:
        self.query_one(selector, LimitPlot).values = tuple(values)
