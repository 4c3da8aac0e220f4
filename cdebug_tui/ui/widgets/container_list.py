"""Provides ContainerListPanel: every container of the engine, live, filterable as you type."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static

if TYPE_CHECKING:
    from cdebug_tui.engine.models import Container

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


class ContainerTableView(DataTable[Text]):
    """The container rows, with vim-style keys."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "Top", show=False),
        Binding("G", "scroll_bottom", "Bottom", show=False),
    ]


class ContainerListPanel(Vertical):
    """The container list: running first, then by name; stopped ones dimmed; sidecars hidden."""

    BINDINGS = [
        Binding("slash", "filter", "Filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("s", "toggle_sidecars", "Sidecars"),
    ]

    class ContainerChosen(Message):
        """The user pressed Enter (or clicked twice) on a container."""

        def __init__(self, container: Container) -> None:
            super().__init__()
            self.container = container

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        #: Rows by "ENGINE/ID": ids are unique per engine only.
        self.containers: dict[str, Container] = {}
        #: The engines in the order they are grouped (the current one first), with their
        #: status: None while they answer, else why they do not.
        self.engines: dict[str, str | None] = {}
        #: When each running container started, estimated from its status text.
        self.started: dict[str, float] = {}
        self.filter_text = ""
        self.show_sidecars = False
        self.loaded = False
        #: How many open sessions each container has, by "ENGINE/ID" (see set_sessions).
        self.sessions: dict[str, int] = {}

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter: name, image or id  (Esc clears)", id="filter")
        table = ContainerTableView(id="containers", cursor_type="row", zebra_stripes=False)
        self._add_columns(table)
        yield table
        yield Static("connecting to the engine…", id="list-status")

    @staticmethod
    def _add_columns(table: DataTable[Text], with_engine: bool = False) -> None:
        table.add_column(" ", key="marker", width=1)
        if with_engine:
            table.add_column("ENGINE", key="engine")
        # The image goes last: it is the longest and the least needed on a narrow screen.
        table.add_column("NAME", key="name")
        table.add_column("STATE", key="state")
        table.add_column("UP", key="up")
        table.add_column("SHELL", key="shell")
        table.add_column("IMAGE", key="image")

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.set_interval(10, self._refresh_ages)

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
        return sorted(
            rows, key=lambda c: (order.get(c.engine, len(order)), not c.running, c.name.lower())
        )

    def _cells(self, c: Container, first_of_group: bool = True) -> list[Text]:
        dim = "" if c.running else "dim"
        marker = Text("●", style="bold green") if c.running else Text("○", style="dim")
        if c.state == "paused":
            marker = Text("‖", style="yellow")
        name = Text(c.name, style=dim)
        if c.is_sidecar:
            name.append(" [sidecar]", style="italic magenta")
        if n := self.sessions.get(_key(c)):
            name.append(f"  ▶ {n} session{'s' if n > 1 else ''}", style="bold magenta")
        started = self.started.get(_key(c))
        up = format_age(time.time() - started) if c.running and started else "-"
        if c.has_shell is False:
            shell = Text("no shell", style="bold yellow" if c.running else "dim yellow")
        elif c.has_shell:
            shell = Text("sh", style="dim")
        else:
            shell = Text("?", style="dim")
        cells = [
            marker,
            name,
            Text(c.state, style=dim or "green"),
            Text(up, style=dim),
            shell,
            Text(c.image, style=dim or "cyan"),
        ]
        if self.multi_engine:
            cells.insert(1, Text(c.engine, style="bold" if first_of_group else "dim"))
        return cells

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
            except Exception:  # noqa: BLE001 - an empty or stale table has no cursor key
                current = None
        old_index = table.cursor_row
        rows = self.visible_rows()
        if self.multi_engine != ("engine" in table.columns):
            # A second engine: the list gains its ENGINE column and groups by engine.
            table.clear(columns=True)
            self._add_columns(table, with_engine=self.multi_engine)
        table.clear()
        # Column widths only ever grow: shrink them back so that a long name, once gone, or
        # filtered out, no longer pushes the other columns off a narrow screen.
        for column in table.columns.values():
            if column.auto_width:
                column.content_width = column.label.cell_len
        previous = None
        for c in rows:
            table.add_row(*self._cells(c, c.engine != previous), key=_key(c))
            previous = c.engine
        ids = [_key(c) for c in rows]
        if current in ids:
            table.move_cursor(row=ids.index(current), animate=False)
        elif rows:
            # The container under the cursor went away: stay at the same height.
            table.move_cursor(row=min(max(old_index, 0), len(rows) - 1), animate=False)
        self._update_status(len(rows))

    def _refresh_ages(self) -> None:
        table = self.query_one(ContainerTableView)
        for c in self.visible_rows():
            if c.running and _key(c) in self.started:
                try:
                    table.update_cell(_key(c), "up", self._cells(c)[4 if self.multi_engine else 3])
                except Exception:  # noqa: BLE001 - the row went away in between
                    pass

    def _update_status(self, shown: int) -> None:
        if not self.query("#list-status"):
            return
        total = [c for c in self.containers.values() if not c.is_sidecar]
        running = sum(1 for c in total if c.running)
        sidecars = len(self.containers) - len(total)
        parts = [f"{len(total)} containers, {running} running"]
        if self.filter_text:
            parts.append(f"{shown} match “{self.filter_text}”")
        if sidecars:
            parts.append(f"{sidecars} sidecar(s) {'shown' if self.show_sidecars else 'hidden'}")
        for engine, problem in self.engines.items():
            if problem:
                parts.append(f"✗ {engine} unreachable: {problem} (r retries)")
        parts.append("Enter debugs · / filters · ? help")
        self.query_one("#list-status", Static).update(" · ".join(parts))

    def selected(self) -> Container | None:
        """The container under the cursor."""
        table = self.query_one(ContainerTableView)
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - no cursor
            return None
        return self.containers.get(key or "")

    # -- keys ------------------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self.filter_text = ""
        self.rebuild()
        self.query_one(ContainerTableView).focus()

    def action_toggle_sidecars(self) -> None:
        self.show_sidecars = not self.show_sidecars
        self.rebuild()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self.rebuild()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        table = self.query_one(ContainerTableView)
        if self.screen.focused is table:
            # A second Enter typed before the first had moved the focus (keys that arrive
            # together all go to the input): it was meant for the list.
            table.action_select_cursor()
            return
        self.screen.set_focus(table)
        if not self.filter_text:
            self.query_one("#filter", Input).display = False

    @on(DataTable.RowSelected, "#containers")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        container = self.containers.get(event.row_key.value or "")
        if container is not None:
            self.post_message(self.ContainerChosen(container))


def _key(c: Container) -> str:
    return f"{c.engine}/{c.id}"
