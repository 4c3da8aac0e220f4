"""Provides PortsPanel: the sockets a session's target listens on; Enter forwards one."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from cdebug_tui.engine.ports import loopback, publish_problems
from cdebug_tui.engine.stats import counted
from cdebug_tui.ui.widgets.rows import RowTable

if TYPE_CHECKING:
    from cdebug_tui.engine.ports import PortForward
    from cdebug_tui.engine.readings import ListeningSocket, PublishedPort

#: Seconds between the end of one reading and the start of the next, while the panel shows.
REFRESH_EVERY = 3.0


class PortsTable(RowTable):
    """The sockets, one row each."""


def _host(ip: str) -> str:
    """A published port's host address as `docker port` writes it: `*` for any, IPv6 in
    brackets (`[::1]:32768`)."""
    if ip in ("", "0.0.0.0", "::"):
        return "*"
    return f"[{ip}]" if ":" in ip else ip


class PortsPanel(Vertical):
    """The target's listening TCP and bound UDP sockets, IPv4 and IPv6, with their processes
    and whether the engine publishes them; Enter forwards a TCP port to localhost (the same
    port number when it is free, else any free one), Enter again stops it. Forwards end with
    the panel (the tab closed) or the session."""

    DEFAULT_CSS = """
    PortsPanel {
        height: 1fr;
    }
    PortsPanel > PortsTable {
        height: 1fr;
    }
    PortsPanel > .ports-status {
        /* Above the table: "nothing listens" sat at the bottom of an empty one. */
        dock: top;
        height: auto;
        background: $boost;
        padding: 0 1;
    }
    """

    class Loaded(Message):
        """A reading of the sockets (error set when it failed)."""

        def __init__(
            self,
            sockets: list[ListeningSocket],
            published: list[PublishedPort],
            error: str | None = None,
        ) -> None:
            super().__init__()
            self.sockets = sockets
            self.published = published
            self.error = error

    class ForwardStarted(Message):
        def __init__(self, forward: PortForward) -> None:
            super().__init__()
            self.forward = forward

    class ForwardFailed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(self, session: Any, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.sockets: list[ListeningSocket] = []
        self.published: list[PublishedPort] = []
        #: Open forwards, by the target's port.
        self.forwards: dict[int, PortForward] = {}
        self.stopped = False
        self._stopped_why = ""
        self.loads = 0
        #: When the sockets shown were read (time.time()), 0 before the first reading.
        self.read_at = 0.0

    def compose(self) -> ComposeResult:
        yield PortsTable(cursor_type="row", zebra_stripes=False, classes="ports-table")
        yield Static("reading the target's sockets…", classes="ports-status")

    @property
    def table(self) -> PortsTable:
        return self.query_one(PortsTable)

    def on_mount(self) -> None:
        self._columns()
        self.load()

    def _columns(self) -> None:
        """The table's columns, FORWARD only while a port is forwarded (it stayed, wide and
        empty, after the forward ended, and pushed PUBLISHED out of a narrow view)."""
        for label, key in (
            ("PROTO", "proto"),
            ("ADDRESS", "address"),
            ("PORT", "port"),
            # Beside its port: in a narrow side view the last columns are cut, and the local
            # address is what the user needs to read ("→ 127." said nothing).
            *((("FORWARD", "forward"),) if self.forwards else ()),
            ("PID", "pid"),
            # Before the process, whose command line can be long: it was cut off at 160 columns.
            ("PUBLISHED", "published"),
            ("PROCESS", "process"),
        ):
            self.table.add_column(label, key=key)

    def on_unmount(self) -> None:
        self.stopped = True
        self._close_forwards()

    def _close_forwards(self) -> None:
        for forward in self.forwards.values():
            forward.close()
        self.forwards.clear()

    def stop(self, why: str = "") -> None:
        """Stops reading and ends every forward (the session ended, or the tab closed); what
        it shows stays, marked as the last reading, with no forward left in it.

        Args:
            why: Why the readings stopped ("the target stopped").
        """
        self.stopped = True
        self._stopped_why = why
        self._close_forwards()
        if self.is_attached and self.query(PortsTable):
            # The forwards went with the sidecar: the view said "1 forwarded", "→ 127.0.0.1"
            # and "Enter ... (again: stops)" after the session had ended.
            self._show()

    # -- reading ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="ports")
    def load(self) -> None:
        """Reads the sockets in the sidecar and the published ports from the engine."""
        from cdebug_tui.engine.ports import list_sockets
        from cdebug_tui.errors import CdebugError

        session = self.session
        if self.stopped:
            return
        try:
            sockets = list_sockets(session)
            published = session.engine.port_bindings(session.target.id)
        except CdebugError as exc:
            self.post_message(self.Loaded(self.sockets, self.published, str(exc)))
            return
        self.post_message(self.Loaded(sockets, published))

    def on_ports_panel_loaded(self, message: PortsPanel.Loaded) -> None:
        message.stop()
        self.loads += 1
        if not message.error:
            self.read_at = time.time()
        self.sockets, self.published = message.sockets, message.published
        self._show(message.error)
        if not self.stopped:
            self.set_timer(REFRESH_EVERY, self._tick)

    def _tick(self) -> None:
        if self.stopped:
            return
        if self._shown():
            self.load()
        else:
            self.set_timer(REFRESH_EVERY, self._tick)

    def _shown(self) -> bool:
        """Whether anyone sees the panel: its side tab and its session tab are the active ones."""
        from textual.widgets import TabbedContent, TabPane

        node: Any = self
        while node is not None and node.parent is not None:
            parent = node.parent
            if isinstance(node, TabPane):
                tabs = next((a for a in node.ancestors if isinstance(a, TabbedContent)), None)
                if tabs is not None and tabs.active != node.id:
                    return False
            node = parent
        return True

    def _published(self, s: ListeningSocket) -> str:
        # Every address, IPv4's and IPv6's alike, as `*`: Docker publishes a port on both,
        # and "0.0.0.0:32768, :::32768" did not fit a side view (its end was cut).
        out = [
            f"{_host(b.host_ip)}:{b.public_port}"
            for b in self.published
            if b.private_port == s.port and b.protocol == s.transport
        ]
        return ", ".join(dict.fromkeys(out))

    def _show(self, error: str | None = None) -> None:
        table = self.table
        current = None
        if table.row_count:
            try:
                current = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            except Exception:  # noqa: BLE001 - no cursor yet
                current = None
        # Where the user scrolled to (→ in a narrow view), kept: each reading reset it.
        scroll = (table.scroll_x, table.scroll_y)
        table.clear(columns=True)
        self._columns()
        keys = []
        for s in self.sockets:
            key = f"{s.protocol}/{s.address}/{s.port}"
            forward = self.forwards.get(s.port) if s.transport == "tcp" else None
            published = self._published(s)
            # Published, but the engine's proxy connects to the container's address: a socket
            # on the loopback only does not answer it.
            unreachable = bool(published) and loopback(s.address)
            table.add_row(
                Text(s.protocol, style="cyan" if s.transport == "tcp" else "magenta"),
                Text(s.address),
                Text(str(s.port), style="bold", justify="right"),
                *(
                    (Text(f"→ {forward.address}", style="bold green") if forward else Text(""),)
                    if self.forwards
                    else ()
                ),
                Text(str(s.pid) if s.pid else "-", justify="right"),
                Text(
                    f"{published} ✗" if unreachable else published or "no",
                    style="bold yellow" if unreachable else "green" if published else "dim",
                ),
                Text(s.command or "?", style="" if s.command else "dim"),
                key=key,
            )
            keys.append(key)
        if current in keys:
            table.move_cursor(row=keys.index(current), animate=False)
        table.call_after_refresh(table.scroll_to, *scroll, animate=False)
        status = Text()
        if self.stopped:
            when = time.strftime("%H:%M:%S", time.localtime(self.read_at)) if self.read_at else "-"
            status.append(f"last reading, as at {when}", style="bold yellow")
            if self._stopped_why:
                status.append(f" · {self._stopped_why}", style="yellow")
            status.append(f" · {counted(len(self.sockets), 'socket')}", style="dim")
        elif error:
            status.append("cannot read: ", style="bold red")
            status.append(error[:120])
        elif not self.sockets:
            # Said, not left to an empty table under its header.
            status.append("nothing listens", style="bold")
            status.append(
                ": no TCP or UDP socket is bound in the target's network namespace", style="dim"
            )
        else:
            status.append(counted(len(self.sockets), "socket"), style="bold")
            if self.forwards:
                status.append(f" · {len(self.forwards)} forwarded", style="bold green")
            status.append(" · Enter forwards a TCP port to localhost (again: stops)", style="dim")
        if not error:
            for problem in publish_problems(self.sockets, self.published):
                status.append("\n⚠ ", style="bold yellow")
                status.append(problem, style="yellow")
        self.query_one(".ports-status", Static).update(status)

    # -- forwarding ------------------------------------------------------------------------

    @on(DataTable.RowSelected, ".ports-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        proto, _, rest = (event.row_key.value or "").partition("/")
        port = int(rest.rpartition("/")[2] or 0)
        if not port:
            return
        if self.stopped:
            self.app.notify("the session has ended: nothing to forward through", title="ports")
            return
        if not proto.startswith("tcp"):
            self.app.notify(f"UDP port {port}: only TCP ports can be forwarded", severity="warning")
            return
        if port in self.forwards:
            forward = self.forwards.pop(port)
            forward.close()
            self.app.notify(f"stopped forwarding {forward.address} → {port}", title="ports")
            self._show()
            return
        self.forward(port)

    @work(thread=True, exit_on_error=False, group="forward")
    def forward(self, port: int) -> None:
        """Starts a forward from localhost to the target's `port`, through the sidecar."""
        from cdebug_tui.engine.ports import PortForward, check_listening, list_sockets
        from cdebug_tui.errors import CdebugError, PortForwardError

        session = self.session
        try:
            code, _, _ = session.run(["sh", "-c", "command -v nc"], timeout=10)
            if code != 0:
                raise PortForwardError(
                    f"the toolkit {session.spec.image} has no nc to forward with",
                    hint="open the session with a busybox toolkit",
                )
            check_listening(list_sockets(session), port, session.target.name)

            def failed(text: str) -> None:
                self.post_message(self.ForwardFailed(text))

            try:
                fwd = PortForward(session.engine, session.sidecar_id, port, port, on_error=failed)
                fwd.start()
            except PortForwardError:
                # The same number is taken here (often by the app's own publish): any port.
                fwd = PortForward(session.engine, session.sidecar_id, port, 0, on_error=failed)
                fwd.start()
        except CdebugError as exc:
            self.post_message(self.ForwardFailed(str(exc)))
            return
        self.post_message(self.ForwardStarted(fwd))

    def on_ports_panel_forward_started(self, message: PortsPanel.ForwardStarted) -> None:
        message.stop()
        fwd = message.forward
        if self.stopped:
            fwd.close()
            return
        self.forwards[fwd.remote_port] = fwd
        note = (
            "" if fwd.local_port == fwd.remote_port else f" (port {fwd.remote_port} is taken here)"
        )
        self.app.notify(
            f"forwarding {fwd.address} → {self.session.target.name}:{fwd.remote_port}{note}",
            title="ports",
        )
        self._show()

    def on_ports_panel_forward_failed(self, message: PortsPanel.ForwardFailed) -> None:
        message.stop()
        self.app.notify(message.error, title="cannot forward", severity="error", timeout=8)
