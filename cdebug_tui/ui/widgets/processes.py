"""Provides ProcessesPanel: the target's processes as a tree, refreshed about once a second."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from cdebug_tui.engine.stats import counted
from cdebug_tui.ui.messages import ProcessesLoaded
from cdebug_tui.ui.widgets.rows import RowTable

if TYPE_CHECKING:
    from cdebug_tui.engine.readings import Process

#: Seconds between the end of one refresh and the start of the next.
REFRESH_EVERY = 1.0
#: cdebug-tui's machinery in the target's PID namespace (panels.own_role): hidden unless `o`.
#: The debug shell and a copy's placeholder stay: the user's commands hang from them.
MACHINERY = frozenset(
    {"supervisor", "supervisor's helper", "panel reader", "reaper (tini)", "reaper", "anchor"}
)


def format_bytes(n: int) -> str:
    """A size as ls -h shows it: 512, 4.0K, 12M."""
    size = float(n)
    for unit in ("", "K", "M", "G", "T"):
        if size < 1024 or unit == "T":
            if not unit:
                return str(int(size))
            return f"{size:.1f}{unit}" if size < 10 else f"{size:.0f}{unit}"
        size /= 1024
    return str(n)


class ProcessesPanel(RowTable):
    """The target's processes, PIDs as the target sees them; the tree shows in the command.

    The refresh never overlaps itself: the worker reads once, and the panel schedules the next
    read only when the result has arrived.
    """

    BINDINGS = [
        Binding("right", "details", "Details", show=False),
        Binding("o", "toggle_own", "cdebug-tui's own"),
    ]

    class DetailsRequested(Message):
        """Enter (or →) on a process: show it in full."""

        def __init__(self, process: Process) -> None:
            super().__init__()
            self.process = process

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.session: Any = None
        self.processes: list[Process] = []
        self.stopped = False
        self.refreshes = 0
        #: Why the last reading failed, None when it did not; shown under the panel.
        self.error: str | None = None
        #: When the rows shown were read (time.time()), 0 before the first reading.
        self.read_at = 0.0
        #: Whether cdebug-tui's machinery (MACHINERY) is listed: six of a session's nine
        #: processes, which pushed the target's own out of a short panel.
        self.show_own = False
        self._stopped_why = ""

    def on_mount(self) -> None:
        self.border_title = "processes"
        self.add_column("PID", key="pid")
        self.add_column("USER", key="user")
        self.add_column("S", key="state")
        self.add_column("CPU%", key="cpu")
        self.add_column("MEM", key="mem")
        self.add_column("COMMAND", key="command")

    def start(self, session: Any) -> None:
        """Starts the refreshes for a running session."""
        self.session = session
        self.stopped = False
        self.load()

    def stop(self, why: str = "") -> None:
        """Stops the refreshes (the session ended); the table stays, marked as the last reading.

        Args:
            why: Why the readings stopped, shown under the panel ("the target stopped").
        """
        self.stopped = True
        self._stopped_why = why
        self.workers.cancel_node(self)
        self.last_reading(why)

    def last_reading(self, why: str) -> None:
        """Marks the table as the last reading, not a live one."""
        import time

        self.border_title = "processes · last reading"
        when = time.strftime("%H:%M:%S", time.localtime(self.read_at)) if self.read_at else "-"
        self.border_subtitle = Text.assemble(
            (f"as at {when}", "bold yellow"), (f" · {why}" if why else "", "yellow")
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="processes")
    def load(self) -> None:
        """Reads the process table in the sidecar."""
        from cdebug_tui.engine.panels import list_processes
        from cdebug_tui.errors import CdebugError

        session = self.session
        if session is None or self.stopped:
            return
        try:
            self.post_message(ProcessesLoaded(list_processes(session, self.processes or None)))
        except CdebugError as exc:  # the session may be ending; try again later
            self.post_message(ProcessesLoaded(self.processes, str(exc)))

    def on_processes_loaded(self, message: ProcessesLoaded) -> None:
        message.stop()
        self.error = message.error
        if self.stopped:
            return  # a reading that ended after the session: the last one stays marked
        self.show(message.processes)
        if not message.error:
            import time

            self.read_at = time.time()
        if message.error:
            # The last table stays; what went wrong shows where the count does.
            self.border_subtitle = Text.assemble(("cannot read: ", "bold red"), message.error[:80])
        if not self.stopped:
            self.set_timer(REFRESH_EVERY, self._tick)

    def selected(self) -> Process | None:
        """The process under the cursor."""
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - no cursor
            return None
        return next((p for p in self.processes if str(p.pid) == key), None)

    def action_details(self) -> None:
        process = self.selected()
        if process is not None:
            self.post_message(self.DetailsRequested(process))

    def action_toggle_own(self) -> None:
        """Lists cdebug-tui's machinery (supervisor, reapers, panel reader), or hides it."""
        self.show_own = not self.show_own
        self.show(self.processes)
        if self.stopped:
            self.last_reading(self._stopped_why)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_details()

    def _tick(self) -> None:
        # A panel nobody sees (another tab, panels hidden) skips its reading: twenty open
        # sessions would otherwise run twenty execs a second for nothing.
        if self.stopped:
            return
        if self._tab_active():
            self.load()
        else:
            self.set_timer(REFRESH_EVERY, self._tick)

    def _tab_active(self) -> bool:
        """Whether this panel's session tab is the app's active tab (by the DOM, not by what
        the last frame drew, which a headless or busy app may not have drawn yet)."""
        from textual.widgets import TabbedContent, TabPane

        pane = next(
            (
                a
                for a in self.ancestors
                if isinstance(a, TabPane) and (a.id or "").startswith("session-")
            ),
            None,
        )
        tabs = next(
            (a for a in self.ancestors if isinstance(a, TabbedContent) and a.id == "tabs"), None
        )
        return pane is None or tabs is None or tabs.active == pane.id

    def show(self, processes: list[Process]) -> None:
        """Redraws the rows, keeping the cursor on the same PID."""
        from cdebug_tui.engine.panels import process_tree

        self.refreshes += 1
        self.processes = processes
        current: str | None = None
        if self.row_count:
            try:
                current = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
            except CellDoesNotExist:  # no cursor yet
                current = None
        self.clear()
        keys = []
        shown = processes
        if not self.show_own:
            shown = [p for p in processes if p.own not in MACHINERY]
        for depth, p in process_tree(shown):
            indent = "  " * max(0, depth - 1) + ("└ " if depth else "")
            command = Text(indent, style="dim")
            # cdebug-tui's own processes (the supervisor, the reader, the shells) are shown,
            # quietly, and say what they are: a learner must not take them for the target's.
            # What they are comes first: their command lines are long, and the column cut the
            # role off.
            if p.own:
                command.append(f"cdebug-tui's {p.own}: ", style="magenta")
            command.append(p.command, style="bold" if p.pid == 1 else "dim italic" if p.own else "")
            cpu_style = "red" if p.cpu_percent >= 50 else "yellow" if p.cpu_percent >= 5 else ""
            self.add_row(
                Text(str(p.pid), style="bold cyan" if p.pid == 1 else "cyan"),
                Text(p.user, style="yellow" if p.uid == 0 else ""),
                Text(p.state, style="green" if p.state == "R" else "dim"),
                Text(f"{p.cpu_percent:.1f}", style=cpu_style, justify="right"),
                Text(format_bytes(p.rss_bytes) if p.rss_bytes else "-", justify="right"),
                command,
                key=str(p.pid),
            )
            keys.append(str(p.pid))
        if current in keys:
            self.move_cursor(row=keys.index(current), animate=False)
        self.border_subtitle = counted(len(shown), "process", "processes")
        hidden = len(processes) - len(shown)
        if hidden:
            self.border_subtitle += f" · {hidden} of cdebug-tui's hidden (o)"
        pid = getattr(self.session, "target_pid", 1)
        if pid != 1:
            # --pid host: the shell sees the host's processes; this panel only the target's.
            self.border_subtitle += f" · host PID namespace: the target's tree from PID {pid}"
