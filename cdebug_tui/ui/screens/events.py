"""Provides EventsScreen: one container's engine events, those kept and those to come (E)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from cdebug_tui.ui.widgets.footer import AppFooter

if TYPE_CHECKING:
    from cdebug_tui.engine.client import EventStream
    from cdebug_tui.engine.models import ContainerEvent

#: How each action reads: starts green, ends and signals yellow or red.
_STYLES = {
    "oom": "bold red",
    "kill": "yellow",
    "stop": "yellow",
    "pause": "yellow",
    "start": "green",
    "restart": "green",
    "unpause": "green",
    "create": "cyan",
    "destroy": "cyan",
    "rename": "cyan",
}
#: Exit codes above 128 are a signal's number plus 128, as shells report them.
_SIGNALLED = {137: "SIGKILL: killed, often by the OOM killer", 143: "SIGTERM: asked to stop"}


def event_row(event: ContainerEvent, today: str | None = None) -> tuple[Text, Text, Text]:
    """The TIME, EVENT and DETAIL cells of one event."""
    when = datetime.fromtimestamp(event.time)
    stamp = when.strftime("%H:%M:%S.%f")[:12]
    if when.strftime("%Y-%m-%d") != (today or datetime.now().strftime("%Y-%m-%d")):
        stamp = when.strftime("%Y-%m-%d ") + stamp
    style = _STYLES.get(event.action, "")
    detail = event.detail
    if event.action == "die":
        code = event.exit_code
        style = "red" if code else "dim"
        detail = f"exit {code}" if code is not None else "exited"
        if code in _SIGNALLED:
            detail += f" ({_SIGNALLED[code]})"
    elif event.action == "health_status":
        style = {"healthy": "green", "unhealthy": "bold red"}.get(detail, "yellow")
    elif event.action.startswith("exec_"):
        style = "dim"
    return (
        Text(stamp, style="dim"),
        Text(event.action, style=style),
        Text(detail, style=style if event.action == "die" else ""),
    )


class EventsScreen(Screen[None]):
    """What the engine told of a container (started, died with its code, killed by a signal,
    OOM, health changes, execs), oldest first, new ones as they come; Esc goes back."""

    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("q", "close", "Back", show=False),
        Binding("e", "explain", "What is this?"),
    ]

    def __init__(self, engine: str, container_id: str, name: str) -> None:
        super().__init__()
        self.engine_name = engine
        self.container_id = container_id
        self.container_name = name
        self.events: list[ContainerEvent] = []
        self._stream: EventStream | None = None
        self._closed = False
        self._kept = 0  # the events the engine still had when the screen opened

    def compose(self) -> ComposeResult:
        yield Static(
            Text.assemble(
                (" events ", "bold reverse"),
                (f"  {self.container_name}", "bold"),
                (f"  {self.container_id[:12]} on {self.engine_name}", "dim"),
            ),
            id="events-title",
        )
        yield DataTable(id="events-table", cursor_type="row", zebra_stripes=True)
        yield Static("reading the events the engine kept…", id="events-status")
        yield AppFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("TIME", key="time")
        table.add_column("EVENT", key="event")
        table.add_column("DETAIL", key="detail")
        table.focus()
        self.follow()

    def follow(self) -> None:
        self.run_worker(self._follow, thread=True, exit_on_error=False, group="events-view")

    def _follow(self) -> None:
        from cdebug_tui.errors import CdebugError

        engine = getattr(self.app, "engines", {}).get(self.engine_name)
        if engine is None:
            self.app.call_from_thread(self._status, f"engine {self.engine_name} does not answer")
            return
        now = time.time()
        try:
            # Those kept (Docker keeps its latest 256, of all containers, in memory), then a
            # stream from the same instant for those to come.
            kept = list(engine.events(since=1, until=now, container=self.container_id))
            self.app.call_from_thread(self._add, kept, True)
            stream = engine.events(since=now, container=self.container_id)
        except CdebugError as exc:
            self.app.call_from_thread(self._status, f"cannot read the events: {exc}")
            return
        self._stream = stream
        if self._closed:  # closed while the stream was opened
            stream.close()
            return
        seen = {(e.time, e.action) for e in kept}
        try:
            for event in stream:
                if (event.time, event.action) not in seen:
                    self.app.call_from_thread(self._add, [event], False)
        except CdebugError as exc:
            if not self._closed:
                self.app.call_from_thread(self._status, f"the event stream broke: {exc}")

    def _add(self, events: list[ContainerEvent], kept: bool) -> None:
        if not self.is_attached:
            return
        table = self.query_one(DataTable)
        at_end = table.cursor_row >= table.row_count - 1
        today = datetime.now().strftime("%Y-%m-%d")
        for event in events:
            self.events.append(event)
            table.add_row(*event_row(event, today))
        if kept:
            self._kept = len(events)
        if at_end and table.row_count:
            # Following the newest, as a log does, unless the user moved up to read.
            table.move_cursor(row=table.row_count - 1, animate=False)
        self._status()

    def _status(self, problem: str | None = None) -> None:
        status = self.query_one("#events-status", Static)
        if problem:
            status.update(Text(problem, style="bold red"))
            return
        kept = f"{self._kept} kept by the engine" if self._kept else "none kept by the engine"
        new = len(self.events) - self._kept
        status.update(
            Text.assemble(
                (f"{kept} · {new} since · following", ""),
                ("  (Docker keeps only its latest 256 events in memory, of all containers)", "dim"),
            )
        )

    def action_explain(self) -> None:
        from cdebug_tui.ui.screens.explain import ExplainScreen

        self.app.push_screen(ExplainScreen("events"))

    def on_unmount(self) -> None:
        self._closed = True
        if self._stream is not None:
            self._stream.close()

    def action_close(self) -> None:
        self.dismiss(None)

    def rows_text(self) -> list[str]:
        """Each row as plain text, for a reader (and a test) to check what is shown."""
        table = self.query_one(DataTable)
        return [
            "  ".join(str(getattr(cell, "plain", cell)) for cell in table.get_row_at(i))
            for i in range(table.row_count)
        ]
