"""Provides ContainerListPanel: every container of the engine, live, filterable as you type."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.cache import LRUCache
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.widgets import DataTable, Input, Static
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowDoesNotExist

from cdebug_tui.engine.stats import counted, format_bytes
from cdebug_tui.ui.widgets.burst import OrderedInput, forward_burst
from cdebug_tui.ui.widgets.rows import RowTable

if TYPE_CHECKING:
    from textual.widgets._data_table import SegmentLines

    from cdebug_tui.engine.readings import Container
    from cdebug_tui.ui.stats_poller import Key, StatsPoller

#: The columns after the marker (and ENGINE, with several engines), in order.
COLUMNS = (
    ("name", "NAME"),
    ("state", "STATE"),
    ("up", "UP"),
    ("shell", "SHELL"),
    ("image", "IMAGE"),
    ("cpu", "CPU"),
    ("mem", "MEM"),
    ("health", "HEALTH"),
    ("ports", "PORTS"),
)
#: The columns that give up width when the rows are wider than the list, in this order, down
#: to these widths (their cells then end in …): a registry path or a long name pushed MEM,
#: HEALTH and PORTS off a 100-column window, with no sign of them.
SHRINK = (("image", 14), ("name", 21), ("ports", 11))
#: The columns `o` steps through; None is the default order (running first, then by name).
SORTABLE: tuple[str, ...] = tuple(k for k, _ in COLUMNS)
#: Extra rows above and below the screen whose stats are read too, so that a short scroll
#: shows figures at once.
STATS_MARGIN = 2


#: The columns whose long cells are cut in the middle, not at the end: names that differ in
#: their last characters (compose's `-1`/`-2`, a hash) and images' tags stay told apart.
MIDDLE_CUT = ("name", "image")
#: The number in a name's session mark (`▶ 2 sessions`), which a narrow column shortens.
_SESSIONS = re.compile(r"▶ (\d+) sessions?$")


def middle_cut(text: Text, room: int) -> Text:
    """`text` cut to `room` cells with `…` in its middle; what was appended to it in another
    style (a name's `▶ 1 session`) stays whole at its end, when it fits, and short (`▶1`)
    when the name would be cut for it."""
    if text.cell_len <= room or room < 5:
        return text
    plain = text.plain
    end = min((span.start for span in text.spans), default=len(plain))
    head, suffix = text[:end], text[end:]
    if head.cell_len > room - suffix.cell_len and (count := _SESSIONS.search(suffix.plain)):
        # At 80 columns `tri…-app  ▶ 1 session`: the name is what the row is read by.
        suffix = Text(f" ▶{count.group(1)}", style=suffix.spans[0].style if suffix.spans else "")
        if head.cell_len + suffix.cell_len <= room:
            return Text.assemble(head, suffix, no_wrap=True)
    left_room = room - suffix.cell_len - 1
    if left_room < 4:
        return text  # the suffix alone fills it: cut at the end as usual
    left = left_room // 2
    cut = head[:left]
    cut.append("…")
    cut.append_text(head[len(head) - (left_room - left) :])
    cut.append_text(suffix)
    cut.no_wrap, cut.overflow = True, "ellipsis"
    return cut


def edges_text(hidden: list[str], counts: bool = False) -> str:
    """The columns past the list's edges as the status line says them: `← NAME · PORTS →`,
    or with `counts`, `← 1 column · 4 columns →` (a narrow line cut the names mid-list)."""
    left = [h[2:] for h in hidden if h.startswith("←")]
    right = [h[2:] for h in hidden if h.startswith("→")]
    if counts:
        said = [counted(len(left), "column"), counted(len(right), "column")]
    else:
        said = [", ".join(left), ", ".join(right)]
    sides = ["← " + said[0] if left else "", said[1] + " →" if right else ""]
    return " · ".join(side for side in sides if side)


def _health_cell(health: str | None) -> Text:
    style = {"healthy": "green", "unhealthy": "bold red", "starting": "yellow"}
    return Text(health or "-", style=style.get(health or "", "dim"))


_UNITS = {
    "second": 1,
    "minute": 60,
    "hour": 3600,
    "day": 86400,
    "week": 7 * 86400,
    "month": 30 * 86400,
    "year": 365 * 86400,
}


def parse_docker_age(status: str) -> float | None:
    """Seconds in docker's "Up 2 hours" status text; None when it does not say "Up".

    The list row has no start time, but its status does, at the moment it was read.
    """
    m = re.match(r"Up (Less than a second|About an? (\w+)|(\d+) (\w+?)s?\b)", status)
    if not m:
        return None
    if m.group(1) == "Less than a second":
        return 0.0
    if m.group(2):
        return float(_UNITS.get(m.group(2), 0))
    return float(int(m.group(3)) * _UNITS.get(m.group(4), 0))


def format_age(seconds: float) -> str:
    """A short age, as k9s shows them: 45s, 12m, 3h, 5d."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _set_cell(table: DataTable[Text], row: str, column: str, text: Text) -> None:
    """Updates a cell only when its text changed, and its column's width only when the text
    grew: each update makes DataTable lay the whole table out again, and a width check
    measures every cell of the column."""
    try:
        old = table.get_cell(row, column)
    except (CellDoesNotExist, RowDoesNotExist):  # the row went away in between
        return
    if isinstance(old, Text) and old.plain == text.plain and old.spans == text.spans:
        if old.style == text.style:
            return
    grew = not isinstance(old, Text) or text.cell_len > old.cell_len
    table.update_cell(row, column, text, update_width=grew)


class ContainerTableView(RowTable):
    """The container rows, with vim-style keys.

    Cells are rendered once per content: DataTable renders every visible cell again after
    any change (a new age, a stats reading, a list rebuilt for one event), which cost 80-160
    ms of CPU for 50 rows, each time; here only the cells whose text changed are rendered.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cells: LRUCache[tuple[Any, ...], SegmentLines] = LRUCache(4096)
        #: The columns past the edges of a narrow window, even with SHRINK's applied, each
        #: with its side: "→ PORTS" (→ scrolls to it), "← NAME".
        self.hidden: list[str] = []
        #: The MIDDLE_CUT columns cut at their end instead: where a cut in the middle would
        #: make the rows' texts look alike and one at the end would not.
        self.end_cut: set[str] = set()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cells.clear()  # a theme or dark/light change: the same texts, other colours

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        if row_index < 0 or column_index < 0:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        row = self._data.get(row_key) if row_key is not None else None
        value = row.get(column_key) if row is not None and column_key is not None else None
        if not isinstance(value, Text):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        # What the rendering depends on: the text, where it is (its click meta), its style.
        key = (
            value.plain,
            value.style,
            tuple(value.spans),
            value.justify,
            value.overflow,
            row_index,
            column_index,
            base_style,
            width,
            cursor,
            hover,
            self._show_hover_cursor,
            self._pseudo_class_state,
            column_key is not None and column_key.value in self.end_cut,  # cut at its end?
        )
        lines = self._cells.get(key)
        if lines is None:
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
            self._cells[key] = lines
        return lines

    def _compute_row_renderables(self, row_index: int) -> Any:
        # What a row shows: its long names and images cut in the middle to their column's
        # width (the row keeps the whole text; a wider column shows more of it).
        shown = super()._compute_row_renderables(row_index)
        if row_index < 0:
            return shown
        cells = list(shown.cells)
        for i, column in enumerate(self.ordered_columns[: len(cells)]):
            key, cell = column.key.value, cells[i]
            if key in MIDDLE_CUT and key not in self.end_cut and isinstance(cell, Text):
                cells[i] = middle_cut(cell, column.get_render_width(self) - 2 * self.cell_padding)
        return type(shown)(shown.label, cells)

    def _update_dimensions(self, new_rows: Any) -> None:
        super()._update_dimensions(new_rows)
        self.fit_columns()

    def on_resize(self, event: events.Resize) -> None:
        self.fit_columns()

    def fit_columns(self) -> None:
        """Narrows the SHRINK columns, in order, as far as the rows need to fit the width;
        `hidden` then names the columns still past its edges (→ scrolls to them)."""
        width = self.scrollable_content_region.width
        if width <= 0:
            return
        pad = 2 * self.cell_padding
        columns = self.columns
        wanted = {k: columns[ColumnKey(k)].content_width for k, _ in SHRINK if k in columns}
        widths = dict(wanted)
        natural = sum(
            wanted[k] + pad if (k := str(key.value)) in wanted else c.get_render_width(self)
            for key, c in columns.items()
        )
        excess = natural + self._row_label_column_width - width
        for key, floor in SHRINK:
            if excess > 0 and key in widths:
                cut = min(excess, max(0, widths[key] - floor))
                widths[key] -= cut
                excess -= cut
        changed = False
        for key, w in widths.items():
            column = columns[ColumnKey(key)]
            auto = w >= wanted[key]
            if column.auto_width != auto or (not auto and column.width != w):
                column.auto_width, column.width = auto, w
                changed = True
        end_cut = self._end_cut_columns()
        if end_cut != self.end_cut:
            self.end_cut = end_cut
            changed = True
        if changed:
            total = sum(c.get_render_width(self) for c in columns.values())
            self.virtual_size = Size(total + self._row_label_column_width, self.virtual_size.height)
            self._clear_caches()
            self.refresh()
        self._say_hidden()

    def _end_cut_columns(self) -> set[str]:
        """The MIDDLE_CUT columns better cut at their end at their width: those whose rows
        would look alike cut in the middle (`payments-w…t-1-canary` three times) and not cut
        at the end. Names that differ at their end (`...-001`, `...-002`) keep the middle cut;
        images keep it only where their tags tell more of them apart."""
        found = set()
        for key in MIDDLE_CUT:
            column = self.columns.get(ColumnKey(key))
            if column is None:
                continue
            room = column.get_render_width(self) - 2 * self.cell_padding
            plains = [
                v.plain for row in self._data.values() if isinstance(v := row.get(column.key), Text)
            ]
            if room < 5 or all(len(p) <= room for p in plains):
                continue
            # On the plain texts (a stats round may come here for 300 rows): what each cut keeps.
            left = (room - 1) // 2
            middle = {
                p if len(p) <= room else p[:left] + p[len(p) - (room - 1 - left) :] for p in plains
            }
            end = {p[: room - 1] for p in plains}
            # A name's end tells replicas apart (-1, -2, a hash): the middle cut, unless the
            # end cut tells more rows apart. An image's start is its repository and its end
            # often ":latest" alike: the end cut, unless the tags tell more apart.
            if len(end) > len(middle) or (key == "image" and len(end) == len(middle)):
                found.add(key)
        return found

    def _say_hidden(self) -> None:
        """Names, under the list, the columns past its left and right edges as scrolled."""
        width = self.scrollable_content_region.width
        left, right = int(self.scroll_x), int(self.scroll_x) + width
        hidden: list[str] = []
        for column, (start, x) in zip(self.ordered_columns, self._column_edges(), strict=True):
            label = str(column.label).strip()
            if label and (start < left or x > right):  # the marker column has no name
                hidden.append(("← " if start < left else "→ ") + label)
        if hidden != self.hidden:
            self.hidden = hidden
            parent = self.parent
            if isinstance(parent, ContainerListPanel):
                parent.columns_hidden(hidden)

    def _column_edges(self) -> list[tuple[int, int]]:
        """Where each column starts and ends, in the table's scrolled content."""
        edges = []
        x = self._row_label_column_width
        for column in self.ordered_columns:
            start, x = x, x + column.get_render_width(self)
            edges.append((start, x))
        return edges

    def action_cursor_right(self) -> None:
        # → brings the next column past the right edge into view, whole (it scrolled a cell).
        if self.cursor_type != "row":
            return super().action_cursor_right()
        width = self.scrollable_content_region.width
        left = int(self.scroll_target_x)  # a press before the last one's scroll is drawn
        edges = self._column_edges()
        for start, end in edges:
            if end > left + width:
                # Its start at the left edge when it is wider than the view and not there
                # yet; else its end at the right edge (what is left of it, once at its start),
                # with the view starting at a column's start: scrolled by the 2 cells the
                # column lacked, the names read `ebug-demo`, like other containers' names.
                x = start if end - start > width and start > left else end - width
                if x < start:
                    x = min((s for s, _ in edges if s >= x), default=x)
                self.scroll_to(x=min(x, self.max_scroll_x), animate=False, immediate=True)
                return

    def action_cursor_left(self) -> None:
        # ← brings the column past the left edge back into view, from its start.
        if self.cursor_type != "row":
            return super().action_cursor_left()
        left = int(self.scroll_target_x)
        for start, _end in reversed(self._column_edges()):
            if start < left:
                self.scroll_to(x=start, animate=False, immediate=True)
                return

    def watch_scroll_x(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_x(old_value, new_value)
        self._say_hidden()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # The rows on screen changed: their stats are read, those scrolled away no longer.
        parent = self.parent
        if isinstance(parent, ContainerListPanel) and int(old_value) != int(new_value):
            parent.stats_scrolled()

    def on_key(self, event: events.Key) -> None:
        # A burst (a fast typist, ssh, a paste) is queued here whole before the app's `/`
        # binding would run, which it does only once the key has bubbled up: `/web` filtered
        # nothing, its `s` toggled the sidecars and a last Enter opened the row under the
        # cursor. So `/` opens the filter here, at once, and what follows goes to the filter.
        parent = self.parent
        if event.key == "slash" and isinstance(parent, ContainerListPanel):
            event.stop()
            parent.action_filter()
            return
        if event.key.isdigit() and len(event.key) == 1 and isinstance(parent, ContainerListPanel):
            # A tab's digit, here and at once as `/`: `Escape 1 s` in one burst had `s` (the
            # session's Steps) toggle the list's sidecars before the app's binding switched.
            switch = getattr(self.app, "action_tab", None)
            if (
                switch is not None
                and self.screen.focused is self
                and self.app.screen is self.screen
            ):
                event.stop()
                event.prevent_default()
                switch(int(event.key))
                return
        if event.key == "escape" and isinstance(parent, ContainerListPanel) and parent.filter_text:
            # Here too, in order: `Escape /web` in one burst ran the binding's clear after
            # the `/` had opened the filter, hid it, and `web` was lost.
            event.stop()
            parent.action_clear_filter()
            return
        forward_burst(self, event)


class FilterInput(OrderedInput):
    """The list's filter, whose Escape clears it in the order typed."""

    async def _on_key(self, event: events.Key) -> None:
        if forward_burst(self, event):
            return  # typed after a key that moved the focus (Escape, below): the new focus's
        parent = self.parent
        if event.key == "escape" and isinstance(parent, ContainerListPanel):
            # Here, not as the panel's binding, which ran once the key had bubbled up: the keys
            # typed after it in one burst (`Escape 1 s`) went into the filter, then cleared.
            event.stop()
            event.prevent_default()
            parent.action_clear_filter()
            return
        if event.key == "enter" and isinstance(parent, ContainerListPanel):
            # In order too: the focus went to the list when Input.Submitted came round, after
            # the keys behind the Enter (`/name Enter j j`) had been typed into the filter.
            event.stop()
            event.prevent_default()
            parent.filter_done()
            return
        await super()._on_key(event)


class ContainerListPanel(Vertical):
    """The container list: running first, then by name; stopped ones dimmed; sidecars hidden."""

    BINDINGS = [
        Binding("slash", "filter", "Filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("s", "toggle_sidecars", "Sidecars"),
        Binding("l", "logs", "Logs"),
        # The explorer (issue 11): inspect, stats, sort and actions on the selected container.
        Binding("i", "inspect", "Inspect", show=False),
        Binding("S", "stats", "Stats", show=False),
        Binding("E", "events", "Events", show=False),
        Binding("o", "sort_next", "Sort", show=False),
        Binding("O", "sort_reverse", "Reverse sort", show=False),
        Binding("U", "container_action('start')", "Start", show=False),
        Binding("X", "container_action('stop')", "Stop", show=False),
        Binding("R", "container_action('restart')", "Restart", show=False),
        Binding("P", "container_action('pause')", "Pause/unpause", show=False),
        Binding("K", "container_action('kill')", "Kill", show=False),
        Binding("D", "container_action('remove')", "Remove", show=False),
        Binding("e", "explain", "What is this?", show=False),
    ]

    def action_explain(self) -> None:
        from cdebug_tui.ui.screens.explain import ExplainScreen

        self.app.push_screen(ExplainScreen("containers"))

    class LogsRequested(Message):
        """The user pressed `l` on a container: its log is wanted."""

        def __init__(self, container: Container) -> None:
            super().__init__()
            self.container = container

    class ContainerChosen(Message):
        """The user pressed Enter (or clicked twice) on a container."""

        def __init__(self, container: Container) -> None:
            super().__init__()
            self.container = container

    class NothingChosen(Message):
        """Enter came on a row whose container is gone (the list changed under the cursor)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        #: Rows by "ENGINE/ID": ids are unique per engine only.
        self.containers: dict[str, Container] = {}
        #: The engines in the order they are grouped (the current one first), with their
        #: status: None while they answer, else why they do not.
        self.engines: dict[str, str | None] = {}
        #: When each running container started, estimated from its status text.
        self.started: dict[str, float] = {}
        #: When an event last changed each row (time.monotonic()), by key.
        self._changed_at: dict[str, float] = {}
        self.filter_text = ""
        self.show_sidecars = False
        self.loaded = False
        #: The column the rows are sorted by (None: running first, then by name), and whether
        #: the order is reversed; rows stay grouped by engine.
        self.sort_column: str | None = None
        self.sort_reverse = False
        #: Row keys in the order shown, for the rows on screen (whose stats are read).
        self._order: list[str] = []
        #: How many open sessions each container has, by "ENGINE/ID" (see set_sessions).
        self.sessions: dict[str, int] = {}
        #: The columns past the table's edges (ContainerTableView.hidden).
        self._hidden_columns: list[str] = []
        #: How many rows the status line last counted.
        self._shown = 0
        #: The widest cell each shown row has had in each column, by row key (see rebuild).
        self._widest: dict[str, list[int]] = {}

    def compose(self) -> ComposeResult:
        yield FilterInput(placeholder="filter: name, image or id  (Esc clears)", id="filter")
        table = ContainerTableView(id="containers", cursor_type="row", zebra_stripes=False)
        self._add_columns(table)
        yield table
        yield Static("connecting to the engine…", id="list-status")

    @staticmethod
    def _add_columns(table: DataTable[Text], with_engine: bool = False) -> None:
        table.add_column(" ", key="marker", width=1)
        if with_engine:
            table.add_column("ENGINE", key="engine")
        # Name, state, uptime and shell first: on a narrow screen they matter most to a
        # debugger; the explorer's columns (CPU, MEM, HEALTH, PORTS) follow the image.
        for key, label in COLUMNS:
            table.add_column(label, key=key)

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.set_interval(10, self._refresh_ages)
        # Ages in seconds change every second: every 10 s, `5s` jumped to `15s`.
        self.set_interval(1, self._refresh_young_ages)
        poller = self._poller()
        if poller is not None:
            poller.watch(self, self.rows_on_screen, self._stats_updated)

    def on_unmount(self) -> None:
        poller = self._poller()
        if poller is not None:
            poller.unwatch(self)

    # -- data ------------------------------------------------------------------------------

    def set_engine_status(self, engine: str, problem: str | None) -> None:
        """Records whether an engine answers (problem None) or why not; its group follows."""
        self.engines[engine] = problem
        if self.loaded:
            self.rebuild()
        else:
            self._update_status(0)

    def set_sessions(self, targets: list[tuple[str, str]]) -> None:
        """Marks the containers that have an open session.

        Args:
            targets: (engine, container id or name) of each open session.
        """
        counts: dict[str, int] = {}
        for engine, ref in targets:
            c = self.containers.get(f"{engine}/{ref}") or next(
                (c for c in self.containers.values() if c.engine == engine and c.name == ref),
                None,
            )
            if c is not None:
                counts[_key(c)] = counts.get(_key(c), 0) + 1
        if counts != self.sessions:
            self.sessions = counts
            if self.loaded:
                self.rebuild()

    def row(self, container_id: str, engine: str | None = None) -> Container | None:
        """The row of a container by its full id (on `engine`, or on any engine)."""
        if engine is not None:
            return self.containers.get(f"{engine}/{container_id}")
        return next((c for c in self.containers.values() if c.id == container_id), None)

    @property
    def multi_engine(self) -> bool:
        return len(self.engines) > 1

    def set_containers(self, containers: list[Container], engine: str | None = None) -> None:
        """Replaces the rows of one engine (or, with engine None, every row)."""
        if engine is None:
            self.containers = {}
            self.started = {}
        else:
            for key in [k for k, c in self.containers.items() if c.engine == engine]:
                del self.containers[key]
                self.started.pop(key, None)
        for c in containers:
            self.containers[_key(c)] = c
            self._note_start(c)
        self.loaded = True
        self.rebuild()

    def set_details(
        self, containers: list[Container], read_at: float = 0.0, *, runs: bool = True
    ) -> None:
        """Takes only whether each shown container's image has a shell (when it is known),
        and with `runs` the details of its runs: its restart count, an OOM kill, its start
        and end, the code of a start that failed (see ContainersLoaded); but for the rows an
        event changed since `read_at`: theirs is newer (a start by hand set the count to 0
        again)."""
        changed = False
        for c in containers:
            row = self.containers.get(_key(c))
            if row is None:
                continue
            if c.has_shell is None:
                c = replace(c, has_shell=row.has_shell)  # not probed in this pass
            newer = runs and self._changed_at.get(_key(c), 0.0) < read_at
            restarts = c.restarts if newer else row.restarts
            oom = c.oom_killed if newer else row.oom_killed
            code = c.exit_code if newer and row.state == c.state == "created" else row.exit_code
            started = c.started_at if newer and c.started_at else row.started_at
            finished = c.finished_at if newer and c.finished_at else row.finished_at
            was = (row.has_shell, row.restarts, row.exit_code, row.oom_killed)
            times = (row.started_at, row.finished_at)
            if was != (c.has_shell, restarts, code, oom) or times != (started, finished):
                self.containers[_key(c)] = replace(
                    row,
                    has_shell=c.has_shell,
                    restarts=restarts,
                    exit_code=code,
                    oom_killed=oom,
                    started_at=started,
                    finished_at=finished,
                )
                self._note_start(self.containers[_key(c)])
                changed = True
        if changed:
            self.rebuild()

    def update_container(
        self, container_id: str, container: Container | None, engine: str | None = None
    ) -> None:
        """Applies one event: a new, changed or (None) removed container of an engine."""
        key = f"{engine}/{container_id}" if engine else None
        if key is None:
            key = next((k for k, c in self.containers.items() if c.id == container_id), "")
        if container is None:
            self.containers.pop(key, None)
            self.started.pop(key, None)
        else:
            self.containers[_key(container)] = container
            self._note_start(container)
            self._changed_at[_key(container)] = time.monotonic()
        self.rebuild()

    def _note_start(self, c: Container) -> None:
        key = _key(c)
        if c.started_at is not None:
            self.started[key] = c.started_at.timestamp()
            return
        age = parse_docker_age(c.status)
        if age is None:
            self.started.pop(key, None)
        elif key not in self.started:
            self.started[key] = time.time() - age

    def visible_rows(self) -> list[Container]:
        """The rows shown, in order: running first, then by name; filtered; sidecars hidden."""
        needle = self.filter_text.lower()
        rows = [
            c
            for c in self.containers.values()
            if (self.show_sidecars or not c.is_sidecar)
            and (
                not needle
                or needle in c.name.lower()
                or needle in c.image.lower()
                or c.id.startswith(needle)
                or (self.multi_engine and needle in c.engine.lower())
            )
        ]
        order = {name: i for i, name in enumerate(self.engines)}
        # Grouped by engine (the current one first), then running first, then by name.
        rows.sort(key=lambda c: (order.get(c.engine, len(order)), not c.running, c.name.lower()))
        if self.sort_column is not None:
            column = self.sort_column
            # Stable sorts: within equal values the default order stays. Rows without a value
            # (no stats yet, no ports) go last whichever way the order goes.
            values = {id(c): self._sort_value(c, column) for c in rows}
            known = [c for c in rows if values[id(c)] is not None]
            known.sort(key=lambda c: values[id(c)], reverse=self.sort_reverse)
            rows = known + [c for c in rows if values[id(c)] is None]
            rows.sort(key=lambda c: order.get(c.engine, len(order)))
        return rows

    def _cells(
        self, c: Container, first_of_group: bool = True, columns: list[Any] | None = None
    ) -> list[Text]:
        dim = "" if c.running else "dim"
        marker = Text("●", style="bold green") if c.running else Text("○", style="dim")
        if c.state == "paused":
            marker = Text("‖", style="yellow")
        name = Text(c.name, style=dim, no_wrap=True, overflow="ellipsis")
        if c.is_sidecar:
            name.append(" [sidecar]", style="italic magenta")
        if n := self.sessions.get(_key(c)):
            name.append(f"  ▶ {counted(n, 'session')}", style="bold magenta")
        if c.has_shell is False:
            shell = Text("no shell", style="bold yellow" if c.running else "dim yellow")
        elif c.has_shell:
            shell = Text("sh", style="dim")
        else:
            shell = Text("?", style="dim")
        state = c.state if c.exit_code is None else f"{c.state} ({c.exit_code})"
        state_style = dim or "green"
        if c.exit_code:
            state_style = "red"
        elif c.state == "paused":
            state_style = "yellow"
        state_text = Text(state, style=state_style)
        if c.oom_killed and not c.running:
            # Why it died, as k9s says it: its exit code alone (137) is any SIGKILL.
            state_text.append(" OOMKilled", style="bold red")
        if c.restarts:
            # A crash loop, whatever the state it is caught in (k9s' RESTARTS).
            state_text.append(f" ↻{c.restarts}", style="bold yellow")
        cells = {
            "marker": marker,
            "name": name,
            "state": state_text,
            "up": self._up(c, time.time()),
            **self._stats_cells(c),
            "health": _health_cell(c.health),
            "ports": Text(
                ", ".join(str(p) for p in c.ports) or "-",
                style=dim or "",
                no_wrap=True,
                overflow="ellipsis",
            ),
            "shell": shell,
            "image": Text(c.image, style=dim or "cyan", no_wrap=True, overflow="ellipsis"),
        }
        if self.multi_engine:
            cells["engine"] = Text(c.engine, style="bold" if first_of_group else "dim")
        # The columns are passed in by rebuild: a DOM query per row made a rebuild of 300 rows
        # take seconds.
        return [cells[str(key.value)] for key in columns or self._table_columns()]

    def _table_columns(self) -> list[Any]:
        tables = self.query(ContainerTableView)
        if tables:
            return list(tables.first().columns)
        return [ColumnKey(k) for k in ("marker", *(["engine"] if self.multi_engine else []))] + [
            ColumnKey(k) for k, _ in COLUMNS
        ]

    def rebuild(self) -> None:
        """Redraws the rows, keeping the cursor on the container it was on."""
        tables = self.query(ContainerTableView)
        if not tables:
            return  # not built yet, or being torn down while a worker's rows arrive
        table = tables.first()
        current: str | None = None
        if table.row_count and table.cursor_row >= 0:
            try:
                current = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            except CellDoesNotExist:  # an empty or stale table has no cursor key
                current = None
        old_index = table.cursor_row
        rows = self.visible_rows()
        if self.multi_engine != ("engine" in table.columns):
            # A second engine: the list gains its ENGINE column and groups by engine.
            table.clear(columns=True)
            self._add_columns(table, with_engine=self.multi_engine)
        table.clear()
        # Column widths only ever grow: shrink them back so that a long name, once gone, or
        # filtered out, no longer pushes the other columns off a narrow screen. They are
        # measured here, not left to the table's idle: a frame drawn between the two showed
        # every cell cut to its header's width ("runni"), behind a dialog for longer.
        # A crash loop's row counts with the widest cell it has had while shown: its
        # `restarting (3) ↻13` and `running ↻13` in turn moved every column at each restart.
        columns = list(table.columns)
        widths = [table.columns[key].label.cell_len for key in columns]
        widest: dict[str, list[int]] = {}
        previous = None
        for c in rows:
            cells = self._cells(c, c.engine != previous, columns)
            row_key = _key(c)
            # Only a crash loop's: a container that simply stopped gives back the width its
            # ports took (IMAGE stayed cut while the row was there).
            looping = c.restarts > 0 or c.state == "restarting"
            had = self._widest.get(row_key) if looping else None
            row = [cell.cell_len for cell in cells]
            if had is not None and len(had) == len(row):
                row = [max(a, b) for a, b in zip(had, row, strict=True)]
            widest[row_key] = row
            widths = [max(a, b) for a, b in zip(widths, row, strict=True)]
            table.add_row(*cells, key=row_key)
            previous = c.engine
        self._widest = widest
        for key, width in zip(columns, widths, strict=True):
            column = table.columns[key]
            if column.auto_width or key.value in dict(SHRINK):
                column.content_width = width
        table.fit_columns()
        ids = [_key(c) for c in rows]
        self._order = ids
        self._label_sort_column(table)
        if current in ids:
            table.move_cursor(row=ids.index(current), animate=False)
        elif rows:
            # The container under the cursor went away: stay at the same height.
            table.move_cursor(row=min(max(old_index, 0), len(rows) - 1), animate=False)
        self._update_status(len(rows))

    def _refresh_ages(self) -> None:
        table = self.query_one(ContainerTableView)
        if self.sort_column == "up":
            self.rebuild()
            return
        now = time.time()
        for c in self.visible_rows():
            if (c.state in ("running", "paused") and _key(c) in self.started) or c.finished_at:
                _set_cell(table, _key(c), "up", self._up(c, now))

    def _refresh_young_ages(self) -> None:
        """Updates the ages still counted in seconds (the order by UP waits for the 10 s)."""
        now = time.time()
        young = [key for key, started in self.started.items() if now - started < 61]
        # And the stopped ones' "ago" (it said "2s ago" for five seconds, then "6s ago").
        young += [
            _key(c)
            for c in self.containers.values()
            if c.finished_at is not None and not c.running and now - c.finished_at.timestamp() < 61
        ]
        if not young:
            return
        table = self.query_one(ContainerTableView)
        for key in young:
            c = self.containers.get(key)
            if c is not None and (c.state in ("running", "paused") or c.finished_at):
                _set_cell(table, key, "up", self._up(c, now))

    def _up(self, c: Container, now: float) -> Text:
        """How long it has been up: paused too, as `docker ps` says "Up 2 hours (Paused)";
        for one that stopped, how long ago (`docker ps`'s "Exited (3) 18 minutes ago")."""
        if c.state not in ("running", "paused"):
            if c.finished_at is not None and c.state in ("exited", "dead"):
                return Text(f"{format_age(now - c.finished_at.timestamp())} ago", style="dim")
            return Text("-", style="dim")
        started = self.started.get(_key(c))
        if started is None:
            return Text("-")
        return Text(format_age(now - started), style="yellow" if c.state == "paused" else "")

    def columns_hidden(self, hidden: list[str]) -> None:
        """The table's columns past its edges changed: the status line names them."""
        self._hidden_columns = hidden
        self._update_status(self._shown)

    def _update_status(self, shown: int) -> None:
        self._shown = shown
        if not self.query("#list-status"):
            return
        status = self.query_one("#list-status", Static)
        padding = status.styles.padding
        room = self.size.width - padding.left - padding.right if self.size.width else 10**4
        total = [c for c in self.containers.values() if not c.is_sidecar]
        running = sum(1 for c in total if c.running)
        sidecars = len(self.containers) - len(total)
        parts = [f"{counted(len(total), 'container')}, {running} running"]
        if self.filter_text:
            parts.append(f"{shown} {'match' if shown == 1 else 'matches'} “{self.filter_text}”")
        if sidecars:
            parts.append(
                f"{counted(sidecars, 'sidecar')} {'shown' if self.show_sidecars else 'hidden'}"
            )
        for engine, problem in self.engines.items():
            if problem:
                parts.append(f"✗ {engine} unreachable: {problem} (r retries)")
        if self._hidden_columns:
            edges = edges_text(self._hidden_columns)
            if len(" · ".join([*parts, edges])) > room:
                # Too long to say whole: how many columns each side, still with its arrow.
                edges = edges_text(self._hidden_columns, counts=True)
            parts.append(edges)
        if self.sort_column is not None:
            arrow = "↓" if self.sort_reverse else "↑"
            parts.append(f"sorted by {self.sort_column} {arrow} (o/O)")
        # The facts first; of the key hints, those that fit (they are in the footer too).
        for hint in ("Enter debugs", "i inspects", "S stats", "ctrl+p actions", "? help"):
            if len(" · ".join([*parts, hint])) > room:
                break
            parts.append(hint)
        status.update(" · ".join(parts))

    def on_resize(self, event: events.Resize) -> None:
        self._update_status(self._shown)

    def selected(self) -> Container | None:
        """The container under the cursor."""
        table = self.query_one(ContainerTableView)
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except CellDoesNotExist:  # no cursor
            return None
        return self.containers.get(key or "")

    # -- keys ------------------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        # At once, not after a refresh as focus() does: keys typed right after `/` in one burst
        # (a fast typist, ssh, a paste) went to the table (`s` toggled the sidecars).
        self.screen.set_focus(box)

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self.filter_text = ""
        self.rebuild()
        # At once, as `/` takes it: `Escape /web` in one burst had the table take the focus
        # back after the `/` gave it to the filter, and `web` went to the table. Only from
        # within the list: a second Escape's binding, run after `1` had shown a session
        # (`Escape Escape 1 s`), put the focus back into the hidden list.
        focused = self.screen.focused
        if focused is not None and self in focused.ancestors_with_self:
            self.screen.set_focus(self.query_one(ContainerTableView))

    def action_logs(self) -> None:
        container = self.selected()
        if container is not None:
            self.post_message(self.LogsRequested(container))

    def action_toggle_sidecars(self) -> None:
        self.show_sidecars = not self.show_sidecars
        self.rebuild()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self.rebuild()
        # The cursor goes to the first match by name, as a list filtered is read: it stayed on
        # the row it was on, which `busy` kept for its busybox image, and l, Enter or D then
        # acted on that one, not on the container named trial-busy.
        needle = self.filter_text.lower()
        if needle and self._order:
            names = [self.containers[key].name.lower() for key in self._order]
            first = next((i for i, name in enumerate(names) if needle in name), 0)
            self.query_one(ContainerTableView).move_cursor(row=first, animate=False)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.filter_done()

    def filter_done(self) -> None:
        """The filter's Enter: the list takes the focus, the filter stays shown if it filters."""
        table = self.query_one(ContainerTableView)
        if self.screen.focused is table:
            # A second Enter typed before the first had moved the focus (keys that arrive
            # together all go to the input): it was meant for the list.
            table.action_select_cursor()
            return
        self.screen.set_focus(table)
        if not self.filter_text:
            self.query_one("#filter", Input).display = False

    @on(DataTable.HeaderSelected, "#containers")
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        column = str(event.column_key.value)
        if column in SORTABLE:
            self.sort_by(
                column, reverse=not self.sort_reverse if self.sort_column == column else None
            )

    @on(DataTable.RowSelected, "#containers")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        container = self.containers.get(event.row_key.value or "")
        if container is not None:
            self.post_message(self.ContainerChosen(container))
        else:
            self.post_message(self.NothingChosen())

    # -- the explorer (issue 11): stats columns, sorting, inspect, stats, actions -----------

    def _poller(self) -> StatsPoller | None:
        return getattr(self.app, "stats", None)

    def _stats_cells(self, c: Container) -> dict[str, Text]:
        poller = self._poller()
        history = poller.history((c.engine, c.id)) if poller is not None and c.running else None
        latest = history.latest if history is not None else None
        if latest is None:
            return {"cpu": Text("-", style="dim"), "mem": Text("-", style="dim")}
        cpu = Text(f"{latest.cpu_percent:.1f}%", style="bold" if latest.cpu_percent >= 50 else "")
        mem = Text(format_bytes(latest.memory_usage))
        last = history.last if history is not None else None
        if last is not None and last.memory_limited:
            pct = latest.memory_percent
            mem.append(f" {pct:.0f}%", style="bold red" if pct >= 90 else "dim")
        return {"cpu": cpu, "mem": mem}

    def rows_on_screen(self) -> list[Key]:
        """The running containers whose rows are on screen (and a few around them); none
        while the list is hidden (another tab or screen in front)."""
        tables = self.query(ContainerTableView)
        if not tables or not self._order or not self.is_on_screen:
            return []
        front = self.app.screen
        if front is not self.screen and not front.is_modal:
            return []  # a full screen (inspect, stats) hides the list
        table = tables.first()
        top = int(table.scroll_offset.y)
        height = max(1, table.size.height - (1 if table.show_header else 0))
        keys = self._order[max(0, top - STATS_MARGIN) : top + height + STATS_MARGIN]
        out = []
        for key in keys:
            c = self.containers.get(key)
            if c is not None and c.running:
                out.append((c.engine, c.id))
        return out

    def _stats_updated(self) -> None:
        if self.sort_column in ("cpu", "mem"):
            self.rebuild()
            return
        tables = self.query(ContainerTableView)
        if not tables:
            return
        table = tables.first()
        poller = self._poller()
        for engine, container_id in poller.wanted if poller is not None else ():
            c = self.containers.get(f"{engine}/{container_id}")
            if c is None or f"{engine}/{container_id}" not in table.rows:
                continue
            for column, text in self._stats_cells(c).items():
                _set_cell(table, _key(c), column, text)

    def stats_scrolled(self) -> None:
        """The table scrolled: the rows on screen changed; stats follow them."""
        poller = self._poller()
        if poller is not None:
            poller.refresh_wanted()

    def _sort_value(self, c: Container, column: str) -> Any:
        if column == "name":
            return c.name.lower()
        if column == "state":
            return (c.state, c.restarts, c.exit_code or 0)
        if column == "up":
            started = self.started.get(_key(c))
            return None if not c.running or started is None else time.time() - started
        if column in ("cpu", "mem"):
            poller = self._poller()
            history = poller.history((c.engine, c.id)) if poller is not None else None
            latest = history.latest if history is not None and c.running else None
            if latest is None:
                return None
            return latest.cpu_percent if column == "cpu" else latest.memory_usage
        if column == "health":
            order = {"unhealthy": 0, "starting": 1, "healthy": 2}
            return order.get(c.health) if c.health else None
        if column == "ports":
            return c.ports[0].public_port or 0 if c.ports else None
        if column == "shell":
            return None if c.has_shell is None else c.has_shell
        if column == "image":
            return c.image.lower()
        return c.name.lower()

    def sort_by(self, column: str | None, reverse: bool | None = None) -> None:
        """Sorts by a column (None: the default order); `reverse` None keeps the direction,
        except that numbers (CPU, MEM, UP) start from the largest, as top does."""
        self.sort_column = column
        if reverse is None:
            reverse = column in ("cpu", "mem", "up")
        self.sort_reverse = reverse
        self.rebuild()

    def _label_sort_column(self, table: DataTable[Text]) -> None:
        for key, column in table.columns.items():
            base = dict(COLUMNS).get(str(key.value))
            if base is None:
                continue
            if key.value == self.sort_column:
                label = Text(f"{base} {'↓' if self.sort_reverse else '↑'}", style="bold")
            else:
                label = Text(base)
            if column.label != label:
                column.label = label
                column.content_width = max(column.content_width, label.cell_len)
                table.refresh()

    def action_sort_next(self) -> None:
        order: list[str | None] = [None, *SORTABLE]
        self.sort_by(order[(order.index(self.sort_column) + 1) % len(order)])

    def action_sort_reverse(self) -> None:
        self.sort_by(self.sort_column or "name", reverse=not self.sort_reverse)

    def action_inspect(self) -> None:
        c = self.selected()
        if c is not None:
            from cdebug_tui.ui.screens.inspect import InspectScreen

            self.app.push_screen(InspectScreen(c.engine, c.id, c.name))

    def action_stats(self) -> None:
        c = self.selected()
        if c is not None:
            from cdebug_tui.ui.screens.stats import StatsScreen

            self.app.push_screen(StatsScreen(c.engine, c.id, c.name))

    def action_events(self) -> None:
        c = self.selected()
        if c is not None:
            from cdebug_tui.ui.screens.events import EventsScreen

            self.app.push_screen(EventsScreen(c.engine, c.id, c.name))

    def action_container_action(self, action: str) -> None:
        from cdebug_tui.engine.readings import ContainerAction
        from cdebug_tui.ui.container_actions import request_action

        c = self.selected()
        if c is None:
            return
        what = ContainerAction(action)
        if what is ContainerAction.PAUSE and c.state == "paused":
            what = ContainerAction.UNPAUSE
        request_action(self.app, c, what)


def _key(c: Container) -> str:
    return f"{c.engine}/{c.id}"
