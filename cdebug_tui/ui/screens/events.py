"""Provides EventsScreen: one container's engine events, those kept and those to come (E)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from cdebug_tui.engine.stats import counted
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


def exit_meaning(code: int) -> str:
    """`exit 137 (SIGKILL)`: a code above 128 is a signal's number plus 128, as shells say."""
    from cdebug_tui.engine.models import LINUX_SIGNALS, signal_name

    if code - 128 in LINUX_SIGNALS:
        return f"exit {code} ({signal_name(code - 128)})"
    return f"exit {code}"


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
        detail = exit_meaning(code) if code is not None else "exited"
    elif event.action == "exec_die" and event.exit_code is not None:
        # A failing healthcheck or someone's `docker exec`: how it ended says which went wrong.
        style = "dim" if event.exit_code == 0 else "yellow"
        detail = exit_meaning(event.exit_code)
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
        #: Events shown, to skip those the engine sends again; and whether the rows wait for
        #: a sort (an event older than the last row came: the engine's kept ones, below).
        self._shown: set[ContainerEvent] = set()
        self._resort = False
        #: Since when the app has heard of every event: before, only what the engine kept.
        self._heard_since: float | None = None

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
        # What the app heard while it ran first: Docker keeps only its latest 256 events, of
        # all containers, so a crash loop's older restarts were gone from the engine's answer.
        heard = getattr(self.app, "event_history", {}).get((self.engine_name, self.container_id))
        heard = list(heard or ())
        if heard:
            self._heard_since = heard[0].time
        for event in heard:
            self._add(event)
        self.follow()

    def follow(self) -> None:
        self.run_worker(self._follow, thread=True, exit_on_error=False, group="events-view")

    def _follow(self) -> None:
        from cdebug_tui.errors import CdebugError

        engine = getattr(self.app, "engines", {}).get(self.engine_name)
        if engine is None:
            self._tell(f"engine {self.engine_name} does not answer")
            return
        try:
            # One stream: those the engine kept first (Docker keeps its latest 256, of all
            # containers, in memory), then those to come. No `until`: an engine whose clock is
            # behind this host's would hold the answer until its clock got there.
            stream = engine.events(since=1, container=self.container_id)
        except CdebugError as exc:
            self._tell(f"cannot read the events: {exc}")
            return
        self._stream = stream
        if self._closed:  # closed while the stream was opened
            stream.close()
            return
        self.app.call_from_thread(self._opened)
        ended = "the engine ended the event stream"
        try:
            for event in stream:
                self.app.call_from_thread(self._add, event)
        except CdebugError as exc:
            ended = f"the event stream broke: {exc}"
        if not self._closed:
            self._tell(ended, ended=True)

    def _opened(self) -> None:
        """The stream is open: what the engine kept comes at once. When nothing has come a
        moment later it kept nothing (the line said "reading" for good)."""
        self.set_timer(0.5, lambda: None if self.events else self._status())

    def _tell(self, problem: str, ended: bool = False) -> None:
        """From the worker: the status line says what went wrong (if the screen still shows)."""
        if not self._closed:
            self.app.call_from_thread(self._status, problem, ended)

    def _add(self, event: ContainerEvent) -> None:
        if not self.is_attached or event in self._shown:
            return
        self._shown.add(event)
        table = self.query_one(DataTable)
        at_end = table.cursor_row >= table.row_count - 1
        if self.events and event.time < self.events[-1].time:
            # Kept by the engine from before what the app heard: in its place, once the
            # burst of them has come (one sort, not one per row).
            self.events.append(event)
            if not self._resort:
                self._resort = True
                self.call_after_refresh(self._sort_rows)
            return
        self.events.append(event)
        table.add_row(*event_row(event))
        if at_end:
            # Following the newest, as a log does, unless the user moved up to read.
            table.move_cursor(row=table.row_count - 1, animate=False)
        if event.action == "destroy":
            self._status(f"{self.container_name} was removed: no more events", ended=True)
            return
        self._status()

    def _sort_rows(self) -> None:
        self._resort = False
        if not self.is_attached:
            return
        table = self.query_one(DataTable)
        at_end = table.cursor_row >= table.row_count - 1
        self.events.sort(key=lambda e: e.time)
        table.clear()
        for event in self.events:
            table.add_row(*event_row(event))
        if at_end:
            table.move_cursor(row=table.row_count - 1, animate=False)
        self._status()

    def _status(self, problem: str | None = None, ended: bool = False) -> None:
        if not self.is_attached:
            return
        status = self.query_one("#events-status", Static)
        if problem:
            status.update(Text(problem, style="yellow" if ended else "bold red"))
            return
        if not self.events:
            said = "no events kept by the engine · following"
        else:
            said = f"{counted(len(self.events), 'event')} · following"
        if self._heard_since is not None:
            since = datetime.fromtimestamp(self._heard_since).strftime("%H:%M:%S")
            note = f"  (all since {since}, as this app heard them; before, what the engine kept)"
        else:
            note = "  (Docker keeps only its latest 256 events in memory, of all containers)"
        status.update(Text.assemble((said, ""), (note, "dim")))

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
