"""Provides ProcessScreen: one process of the target in full, with signals and a trace."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static

from cdebug_tui.ui.secrets import mask_env

if TYPE_CHECKING:
    from cdebug_tui.engine.readings import ProcessDetails

__all__ = ["SIGNALS", "ProcessScreen"]

#: The signals offered, with what each usually does.
SIGNALS: list[tuple[str, str]] = [
    ("TERM", "ask it to end (what docker stop sends first)"),
    ("INT", "interrupt, as ctrl+c does"),
    ("HUP", "hang up: many daemons read their configuration again"),
    ("USR1", "the program's own meaning (node: start the inspector)"),
    ("USR2", "the program's own meaning"),
    ("STOP", "freeze it (it cannot refuse)"),
    ("CONT", "let a stopped process go on"),
    ("KILL", "end it at once (it cannot refuse or clean up)"),
]


class ProcessScreen(ModalScreen["int | None"]):
    """What /proc says about one process: command line, environment, working directory, open
    files and sockets, limits, cgroup. `s` sends a signal (after a confirmation), `t` traces it
    in a new tab when the toolkit has strace (the screen returns the PID), `r` reads again,
    Esc closes (returning None).

    Args:
        session: The running session whose sidecar reads /proc.
        pid: The process, as the target numbers it.
        command: Its command line as the list showed it (for the title).
    """

    DEFAULT_CSS = """
    ProcessScreen {
        align: center middle;
        background: $background 60%;
    }
    ProcessScreen > Vertical {
        width: 92%;
        height: 90%;
        border: thick $primary;
        border-title-color: $primary;
        border-subtitle-color: $text-muted;
        background: $surface;
        padding: 0 1;
    }
    ProcessScreen VerticalScroll {
        height: 1fr;
    }
    ProcessScreen .process-section {
        height: auto;
        margin-bottom: 1;
    }
    ProcessScreen OptionList {
        height: auto;
        max-height: 12;
        border: round $accent;
    }
    """

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("s", "signal", "Send a signal"),
        Binding("t", "trace", "Trace (strace)"),
        Binding("r", "reload", "Read again"),
        Binding("v", "reveal", "Show secrets"),
    ]

    class DetailsLoaded(Message):
        def __init__(self, details: ProcessDetails | None, error: str, strace: bool) -> None:
            super().__init__()
            self.details = details
            self.error = error
            self.strace = strace

    def __init__(self, session: Any, pid: int, command: str = "") -> None:
        super().__init__()
        self.session = session
        self.pid = pid
        self.command = command
        self.details: ProcessDetails | None = None
        #: Whether the toolkit has strace (None until read).
        self.strace: bool | None = None
        #: Whether environment values that look secret are shown (v), as in inspect.
        self.revealed = False

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"process {self.pid}  {self.command[:60]}"
            box.border_subtitle = "s signal · t trace · r read again · v secrets · Esc closes"
            with VerticalScroll():
                yield Static(Text(f"reading /proc/{self.pid}…", style="dim"), id="process-body")
            signals = OptionList(
                *(f"SIG{name:<5} {what}" for name, what in SIGNALS), id="process-signals"
            )
            signals.display = False
            yield signals

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        from cdebug_tui.engine.panels import process_details, toolkit_has
        from cdebug_tui.errors import CdebugError

        strace = self.strace if self.strace is not None else toolkit_has(self.session, "strace")
        try:
            details = process_details(self.session, self.pid)
        except CdebugError as exc:
            self.post_message(self.DetailsLoaded(None, str(exc), strace))
            return
        self.post_message(self.DetailsLoaded(details, "", strace))

    def on_process_screen_details_loaded(self, message: ProcessScreen.DetailsLoaded) -> None:
        self.strace = message.strace
        body = self.query_one("#process-body", Static)
        if message.details is None:
            body.update(Text(message.error, style="bold red"))
            return
        self.details = message.details
        body.update(render_details(message.details, message.strace, self.revealed))

    def action_reload(self) -> None:
        self.load()

    def describe_binding(self, binding: Binding) -> str | None:
        """The footer's v says what it does next: show the secrets, or hide them again."""
        return "Hide secrets" if binding.action == "reveal" and self.revealed else None

    def action_reveal(self) -> None:
        self.revealed = not self.revealed
        self.refresh_bindings()  # the footer's v: Show or Hide
        if self.details is not None and self.strace is not None:
            body = self.query_one("#process-body", Static)
            body.update(render_details(self.details, self.strace, self.revealed))

    def action_close(self) -> None:
        signals = self.query_one("#process-signals", OptionList)
        if signals.display:
            signals.display = False
            return
        self.dismiss(None)

    def action_signal(self) -> None:
        signals = self.query_one("#process-signals", OptionList)
        signals.display = True
        signals.highlighted = 0
        signals.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        from cdebug_tui.ui.screens.confirm import ConfirmScreen

        event.stop()
        self.query_one("#process-signals", OptionList).display = False
        name = SIGNALS[event.option_index][0]

        def answered(yes: bool | None) -> None:
            if yes:
                self.send(name)

        self.app.push_screen(
            ConfirmScreen(
                f"Send SIG{name} to process {self.pid}?\n{self.command[:120]}",
                yes=f"Send SIG{name}",
                no="Cancel",
            ),
            answered,
        )

    @work(thread=True, exit_on_error=False, group="signal")
    def send(self, name: str) -> None:
        from cdebug_tui.engine.panels import send_signal
        from cdebug_tui.errors import CdebugError

        try:
            send_signal(self.session, self.pid, name)
        except CdebugError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(
            self.notify, f"sent SIG{name} to {self.pid}", title="signal", timeout=4
        )
        self.app.call_from_thread(self.load)

    def action_trace(self) -> None:
        if not self.strace:
            self.notify(
                "the toolkit has no strace: pick a toolkit that has it (nixery.dev/shell/strace, "
                "nicolaka/netshoot) for a new session",
                severity="warning",
                timeout=6,
            )
            return
        self.dismiss(self.pid)  # the session tab opens the trace


def render_details(d: ProcessDetails, strace: bool, revealed: bool = False) -> Table:
    """The details as sections, each a heading and its lines; values of the environment that
    look secret masked unless `revealed`."""
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(style="bold cyan", no_wrap=True, width=14)
    # Folded, never cut: a long word (an argument, an environment value, a path) would end
    # in an ellipsis by default, and the details are there to show it whole.
    grid.add_column(ratio=1, overflow="fold")
    status = dict(d.status)
    grid.add_row(
        "command line",
        Text(" ".join(_quote(a) for a in d.argv) or "(none: a kernel thread, or a zombie)"),
    )
    grid.add_row("executable", d.exe or "-")
    grid.add_row("working dir", d.cwd or "-")
    who = f"uid {status.get('Uid', '?').split()[0]}, gid {status.get('Gid', '?').split()[0]}"
    grid.add_row(
        "state",
        f"{status.get('State', '?')} · {who} · parent {status.get('PPid', '?')} "
        f"· threads {status.get('Threads', '?')} · memory {status.get('VmRSS', '-')}",
    )
    environ = d.environ if revealed else mask_env(d.environ)
    grid.add_row("environment", Text("\n".join(environ) or "(empty, or not readable)"))
    files = Text()
    for f in d.files:
        files.append(f"{f.fd:>3} ", style="bold")
        files.append(f.target)
        if f.socket:
            files.append(f"  {f.socket}", style="green")
        files.append("\n")
    grid.add_row("open files", files if d.files else Text("(none, or not readable)", style="dim"))
    grid.add_row("limits", Text("\n".join(d.limits) or "-"))
    grid.add_row("cgroup", Text("\n".join(d.cgroup) or "-"))
    caps = status.get("CapEff", "")
    if caps:
        grid.add_row("capabilities", f"effective {caps} (the Internals view decodes them)")
    if d.errors:
        grid.add_row("not read", Text("\n".join(d.errors), style="yellow"))
    grid.add_row(
        "trace",
        Text("t traces it with strace in a new tab", style="green")
        if strace
        else Text("the toolkit has no strace", style="dim"),
    )
    return grid


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg) if arg else "''"
