"""Provides SessionPane: one debug session's tab: its terminal, the target's processes and files."""

from __future__ import annotations

import asyncio
import enum
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.css.scalar import Unit
from textual.dom import DOMNode
from textual.message import Message
from textual.widget import MountError, Widget
from textual.widgets import ProgressBar, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from cdebug_tui.engine.models import SIDECAR_GONE
from cdebug_tui.ui.messages import (
    FilePreviewed,
    PullProgressed,
    SessionEnded,
    SessionFailed,
    SessionNoticed,
    SessionStarted,
    SessionStepTaken,
)
from cdebug_tui.ui.widgets.container_list import middle_cut
from cdebug_tui.ui.widgets.internals import InternalsView
from cdebug_tui.ui.widgets.processes import ProcessesPanel
from cdebug_tui.ui.widgets.rootfs import RootfsPanel
from cdebug_tui.ui.widgets.step_log import StepLog
from cdebug_tui.ui.widgets.tabs import SteadyTabs
from cdebug_tui.ui.widgets.terminal import TerminalView, screen_lines

if TYPE_CHECKING:
    from cdebug_tui.engine.models import Step
    from cdebug_tui.engine.readings import PullProgress
    from cdebug_tui.engine.recording import CastRecorder
    from cdebug_tui.engine.session import DebugSession

_counter = itertools.count(1)
#: The side panels are built once the shell has printed and then been quiet this long (its
#: prompt drawn)...
PROMPT_QUIET = 0.05
#: ...or this long after the tab (or its session) started, whichever comes first.
PANELS_AT_THE_LATEST = 1.0
#: The terminal's least width in columns, as .terminal-column's min-width in app.tcss says:
#: `+` widens the side panels no further.
TERMINAL_MIN_WIDTH = 40
#: The side panels' least width, as .side-slot's min-width in app.tcss says. A tab narrower
#: than both (and the terminal's border) shows the panels in the terminal's place.
SIDE_MIN_WIDTH = 30


class PaneState(enum.StrEnum):
    """Where a session tab is in its life."""

    #: Its steps and pull progress show; the sidecar and the shell start.
    STARTING = "starting"
    RUNNING = "running"
    #: The shell ended or the tab was closed: the sidecar is gone (or going).
    ENDED = "ended"
    #: The session could not start; the header says why.
    FAILED = "failed"


def _target_view(pane: SessionPane) -> list[Widget]:
    return [ProcessesPanel(id=f"processes-{pane.number}"), RootfsPanel(id=f"rootfs-{pane.number}")]


def _steps_view(pane: SessionPane) -> list[Widget]:
    return [StepLog(pane.steps_taken, classes="step-log")]


def _placeholder_view(pane: SessionPane) -> list[Widget]:
    # Internals, Logs, Ports and Stats read the session (some every 2 s): each is mounted in
    # place of this the first time it is shown (SessionPane._mount_side).
    return [
        Static(Text("read once the session runs", style="dim italic"), classes="side-placeholder")
    ]


@dataclass(frozen=True)
class SideView:
    """A view beside the terminal, in the side panels' tabs.

    Attributes:
        name: Its id (`side-<name>-<n>`) and the topic `e` explains (see screens/explain.py).
        label: Its tab's label.
        key: The key that shows it (outside the terminal).
        build: Its widgets, when the tab builds its panels (after the shell's prompt).
    """

    name: str
    label: str
    key: str
    build: Callable[[SessionPane], list[Widget]]


#: The side views, in tab order: one line adds one (its key, its tab, its `e` topic).
SIDE_VIEWS: list[SideView] = [
    SideView("target", "Target", "p", _target_view),
    SideView("steps", "Steps", "s", _steps_view),
    SideView("internals", "Internals", "i", _placeholder_view),
    SideView("logs", "Logs", "l", _placeholder_view),
    SideView("ports", "Ports", "P", _placeholder_view),
    SideView("stats", "Stats", "S", _placeholder_view),
]


#: Keys that may come between ctrl+] and `t` in one burst (`ctrl+] p t ls`): they keep the
#: focus in the tab, where `t` still enters the terminal (the Logs' own `t` does not).
KEYS_BEFORE_T = "".join(v.key for v in SIDE_VIEWS if v.name != "logs") + "fb+-"


#: How a session ends with its target, told with the target's exit code.
_TARGET_ENDINGS = ("the target stopped", "the target was removed", "the target restarted")


def _start_shell_early(session: DebugSession) -> Future[None]:
    """Starts a prepared session's shell in a thread of its own; the tab's start waits for it.

    At the default size (the terminal's own follows when it is laid out): the exec then runs
    while the UI thread builds the tab, not after it.
    """
    future: Future[None] = Future()

    def run() -> None:
        try:
            session.start_shell()
        except BaseException as exc:  # noqa: BLE001 - the tab's start raises it again
            future.set_exception(exc)
        else:
            future.set_result(None)

    threading.Thread(target=run, name="early-shell", daemon=True).start()
    return future


#: The side views `e` explains when something in them has the focus.
SIDE_TOPICS = frozenset({"logs", "ports", "stats"})


def _cut(name: str, room: int) -> str:
    """A tab label's part cut in its middle with `…`: names differ at their ends (`api-7f…`)."""
    return middle_cut(Text(name), room).plain


def _side_name(pane_id: str) -> str:
    """The side view's name in its tab's id (`side-<name>-<n>`)."""
    return pane_id.removeprefix("side-").rsplit("-", 1)[0]


#: A piece of the header: its text, its style, and when it gives way to a narrow window (0
#: never; the highest first: cut to an ellipsis while 12 cells of it fit, then dropped;
#: NAME_RANK: never dropped, but cut when the rest still does not fit).
HeaderPart = tuple[str, str, int]
NAME_RANK = -1


def fit_parts(parts: list[HeaderPart], width: int) -> Text:
    """The parts as one line of at most `width` cells, what matters least given up first: the
    PRIVILEGED and REC marks stay in view, not past an ellipsis behind a long reason."""
    kept = list(parts)
    for rank in sorted({r for _, _, r in parts if r > 0}, reverse=True):
        over = sum(cell_len(t) for t, _, _ in kept) - width
        if over <= 0:
            break
        fitted: list[HeaderPart] = []
        for text, style, r in kept:
            if r != rank or over <= 0:
                fitted.append((text, style, r))
            elif cell_len(text) - over - 1 >= 12:
                fitted.append((set_cell_size(text, cell_len(text) - over - 1) + "…", style, r))
                over = 0
            else:
                over -= cell_len(text)  # dropped
        kept = fitted
    over = sum(cell_len(t) for t, _, _ in kept) - width
    for i, (text, style, rank) in enumerate(kept):
        if rank == NAME_RANK and over > 0 and cell_len(text) - over >= 8:
            # Still too wide (a long compose name, PRIVILEGED and REC): the name gives way,
            # not the marks after it, cut in its middle as the list cuts it, so that
            # `…-service-1` and `…-service-2` stay apart.
            room = cell_len(text) - over
            inner = text.strip(" ")
            pad = cell_len(text) - cell_len(inner)
            kept[i] = (
                text[: pad // 2]
                + middle_cut(Text(inner), room - pad).plain
                + " " * (pad - pad // 2),
                style,
                rank,
            )
            break
    return Text.assemble(*((t, s) for t, s, _ in kept), no_wrap=True, overflow="ellipsis")


class SessionHeaderView(Static, can_focus=True):
    """The session's one-line summary; focusable, so that the tab's keys work with no panels."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._parts: list[HeaderPart] = []
        self._more: list[HeaderPart] | None = None

    def show_parts(self, parts: list[HeaderPart], more: list[HeaderPart] | None = None) -> None:
        """Shows the parts, fitted to the width whatever it becomes, then `more` as a second
        line, fitted too."""
        self._parts, self._more = parts, more
        self.refresh(layout=True)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._parts, self._more = [], None
        super().update(*args, **kwargs)

    def render(self) -> Any:
        if not self._parts:
            return super().render()
        width = self.content_size.width or 10**4
        line = fit_parts(self._parts, width)
        if self._more is not None:
            line = Text.assemble(line, "\n", fit_parts(self._more, width), no_wrap=True)
        return line


class SessionPane(TabPane):
    """A tab that starts a debug session, then shows it; closing the tab ends the session.

    Its state is a PaneState.
    """

    BINDINGS = [
        # ctrl+] only ever leaves the terminal (the terminal takes it, see _escape): a key
        # that toggled sent "ctrl+] q y" into the shell when the focus was already out.
        Binding("t", "focus_terminal", "Terminal", key_display="t"),
        Binding("enter", "focus_terminal", "Terminal", show=False),
        Binding("p", "focus_processes", "Processes", show=False),
        Binding("f", "focus_files", "Files", show=False),
        *(
            Binding(v.key, f"show_side({v.name!r})", v.label, show=False)
            for v in SIDE_VIEWS
            if v.key not in ("p", "f", "t")
        ),
        Binding("x", "close_session", "Close tab"),
        Binding("n", "reopen", "New session"),
        Binding("b", "toggle_side", "Panels"),
        Binding("plus", "side_wider(1)", "Wider panels", show=False, key_display="+"),
        Binding("minus", "side_wider(-1)", "Narrower panels", show=False, key_display="-"),
        Binding("R", "toggle_recording", "Record"),
        Binding("e", "explain", "What is this?"),
        # The panels' Tab order leaves the terminal out: its Tab is the shell's completion.
        Binding("tab", "focus_panel(1)", show=False),
        Binding("shift+tab", "focus_panel(-1)", show=False),
    ]

    def __init__(
        self,
        engine: Any,
        target: str,
        target_name: str,
        image: str,
        prepared: DebugSession | None = None,
        command: tuple[str, ...] = (),
        profile: str = "general",
        pending: Future[DebugSession | None] | None = None,
        copy: Any = None,
    ) -> None:
        self.number = next(_counter)
        #: The debug copy this tab's session joins (another tab's, by `n`), or None.
        self._join_copy = copy
        #: Whether the target was removed since the session ended (see target_removed).
        self._removed_since = False
        #: A preparation still under way when this tab was picked: its session (None if it
        #: failed) is this tab's, the start waits for it.
        self._pending = pending
        #: A session whose sidecar was started while the user picked: the shell is an exec.
        self.prepared = prepared
        #: That exec, started at once (the Enter that made this tab), beside building the tab.
        self._early_shell: Future[None] | None = None
        #: A prepared session whose shell runs already (started while the user picked): the
        #: tab shows it from its first frame, without a start of its own.
        self._ready = prepared if prepared is not None and prepared.started else None
        if prepared is not None and not prepared.started:
            self._early_shell = _start_shell_early(prepared)
        super().__init__(f"{self.number} {_cut(target_name, 20)}", id=f"session-{self.number}")
        self.engine = engine
        self.target = target
        self.target_name = target_name
        self.image = image
        #: What the tab runs instead of the toolkit's shell (strace -p PID, say).
        self.command = command
        self.profile = profile
        self.session: DebugSession | None = None
        self.state = PaneState.STARTING
        self.exit_code: int | None = None
        #: The target's own exit code once it has stopped (read after the session ended).
        self.target_exit_code: int | None = None
        self._layers: dict[str, tuple[int, int]] = {}
        #: The image pull's progress, shown from its first report.
        self._pull_bar: ProgressBar | None = None
        self._steps_text = Text()
        #: The asciicast being written while the session is recorded (R), else None.
        self.recorder: CastRecorder | None = None
        #: What had the focus when this tab was last shown: a switch back restores it.
        self.last_focus: Widget | None = None
        #: The side panel that had the focus when the panels were hidden (see _set_side_shown).
        self._focus_hidden: Widget | None = None
        #: The window title the program set (OSC 0/2), shown in the tab.
        self.window_title = ""
        #: "output" or "bell" while the tab is in the background and something happened.
        self.activity: str | None = None
        self._place = self.number
        #: Whether the panels' readings have started (after the shell's first output).
        self._panels_started = False
        #: Set once the side panels' building has ended (build_panels): after the prompt.
        self._panels_done: asyncio.Event | None = None
        #: Whether they were built whole (not cut short by the tab's closing).
        self._panels_whole = False
        #: What `e` explains while a key's side view comes forward, before it has the focus.
        self._coming_topic: str | None = None
        #: When the shell last printed, while the panels wait for its prompt to be drawn.
        self._last_output = 0.0
        #: The session's steps so far: the Steps view, built later, starts with them.
        self.steps_taken: list[Step] = []
        #: Whether `b` showed (True) or hid (False) the side panels; None: the size decides.
        self.side_override: bool | None = None
        #: The app's width at the last layout (0: none yet).
        self._width = 0
        #: Built behind the picker, its tab hidden, for the sidecar prepared there: not a
        #: session of the app's until the pick claims it (claim), and gone if it does not.
        self.staged = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="session-main"):
            yield SessionHeaderView(
                Text.assemble(
                    ("starting a session on ", ""), (self.target_name, "bold"), " with ", self.image
                ),
                classes="session-header",
            )
            n = self.number
            with Horizontal(classes="session-body"):
                with Vertical(classes="terminal-column"):
                    with Vertical(classes="session-steps"):
                        # The pull's progress bar comes with the first progress: composed
                        # with the tab, its animation, hidden or not, redrew the picker over
                        # the tab built behind it, 15 ms a frame.
                        yield Static("", classes="steps-log")
                    size = (
                        (self._ready.spec.rows, self._ready.spec.cols) if self._ready else (24, 80)
                    )
                    yield TerminalView(
                        rows=size[0],
                        cols=size[1],
                        classes="terminal",
                        escape_key=self._leave_key(),
                        id=f"terminal-{n}",
                    )
                # The side panels come after the shell's prompt is drawn (build_panels): built
                # with the tab, they made its first frame 2x slower here (about 150 ms more).
                # Their place is kept, so the terminal's size stays when they come.
                yield Vertical(classes="side-slot", id=f"side-slot-{n}")

    @property
    def view(self) -> TerminalView:
        return self.query_one(TerminalView)

    @property
    def panels_built(self) -> bool:
        """Whether the side panels are there (they are built after the shell's prompt)."""
        return self._panels_whole

    @property
    def panels_shown(self) -> bool:
        """Whether the side panels' place is shown (by the width, or by `b`)."""
        return bool(self.query_one(".side-slot").display)

    async def build_panels(self) -> SteadyTabs | None:
        """The side panels, built first when they are not yet (once, however many ask); None
        when the tab closed (or the app ended) first."""
        if self._panels_done is None:
            self._panels_done = asyncio.Event()
            try:
                await self._mount_panels()
            except (MountError, NoMatches):
                pass  # the tab went while they were built
            finally:
                self._panels_done.set()
        else:
            await self._panels_done.wait()
        return self.query_one(SteadyTabs) if self._panels_whole else None

    async def _mount_panels(self) -> None:
        n = self.number
        tabs = SteadyTabs(classes="side-panels", id=f"side-{n}")
        for side in SIDE_VIEWS:
            tabs.compose_add_child(
                TabPane(side.label, *side.build(self), id=f"side-{side.name}-{n}")
            )
        await self.query_one(".side-slot").mount(tabs)
        log = self.query_one(StepLog)
        for step in self.steps_taken[len(log.steps) :]:
            log.add_step(step)  # taken while the panels were being built
        if self.state == PaneState.ENDED:
            self._mark_last_reading()
        self._panels_whole = True

    def _build_panels_later(self) -> None:
        """Builds the panels of a tab still starting (a pull, say): the steps are in them."""
        if self._panels_done is None and not self.staged:
            self.run_worker(self._build_quietly(), group="panels", exit_on_error=False)

    async def _build_quietly(self) -> bool:
        """build_panels for a timer or the shell's output; False when the tab closed first."""
        return await self.build_panels() is not None

    @property
    def processes(self) -> ProcessesPanel:
        return self.query_one(ProcessesPanel)

    @property
    def rootfs(self) -> RootfsPanel:
        return self.query_one(RootfsPanel)

    @property
    def alive(self) -> bool:
        """Whether this tab has (or is about to have) a sidecar."""
        return self.state in (PaneState.STARTING, PaneState.RUNNING)

    def on_mount(self) -> None:
        if self.state == PaneState.ENDED:
            return  # ended before it was shown (a tab staged behind a picker that went)
        try:
            self.view.display = False
        except NoMatches:
            # Closed (the app quitting, say) before it was ever shown: start nothing.
            self.state = PaneState.ENDED
            return
        self.view.leave_to = self.query_one(SessionHeaderView)
        self.apply_layout(self.app.size.width, self.app.size.height)
        self.set_timer(PANELS_AT_THE_LATEST, self._build_panels_later)
        if self._ready is not None:
            self._show_ready(self._ready)
            return
        # The size is read here, on the UI thread: read from the start's thread it could lay
        # the tab out there, and Textual's layout caches are not for two threads at once.
        try:
            rows, cols = self._terminal_size()
        except NoMatches:
            rows, cols = 24, 80
        self.start(rows, cols)

    # -- layout ----------------------------------------------------------------------------

    @property
    def side(self) -> TabbedContent:
        """The side panels' tabs."""
        return self.query_one(".side-panels", TabbedContent)

    @staticmethod
    def expected_terminal_size(width: int, height: int, narrow: int) -> tuple[int, int]:
        """The rows and columns a new tab's terminal gets in an app of `width` x `height`
        (below `narrow` columns, without side panels): a shell started before its tab is built
        starts at its size. The rules of app.tcss and apply_layout: the title, tab and footer
        rows, the header and the border; the side panels take 38% (30 to 90 columns)."""
        side = 0 if width < narrow else min(90, max(30, width * 38 // 100))
        return max(5, height - 7), max(20, width - side - 2)

    def apply_layout(self, width: int, height: int) -> None:
        """The size rules for this tab: side panels hidden below the app's NARROW columns
        unless `b` showed them here (or shown above it unless `b` hid them); below SHORT rows
        the Target view shows one of processes and files in full, the other as its title."""
        narrow = width < getattr(self.app, "NARROW", 110)
        self._width = width
        if self.side_override and self._too_narrow() and self.is_attached:
            if self.screen.focused is self.view:
                # Narrowed while the user types: the terminal stays, the panels go (the
                # width decides again; b shows them in its place).
                self.side_override = None
        shown = self.side_override if self.side_override is not None else not narrow
        self._set_side_shown(shown)
        self.set_class(narrow, "-narrow")
        self.set_class(height < getattr(self.app, "SHORT", 32), "-short")

    def on_descendant_focus(self, event: Any) -> None:
        # On a short screen the Target view gives its rows to whichever of the two has the focus.
        self.set_class(isinstance(event.widget, RootfsPanel), "-files-focused")
        if event.widget is self.view:
            self._terminal_back()  # focused however (a tab switch, a click): it shows
        self._coming_topic = None  # the focus says what `e` explains again
        if event.widget is not self.view and self.view.border_title:
            self.view.border_title = self._terminal_title(focused=False)

    # -- starting --------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="start")
    def start(self, rows: int = 24, cols: int = 80) -> None:
        """Starts the session in the sidecar, reporting each step; then reads the shell.
        `rows` x `cols` is the first size; the terminal's exact one (TerminalView.Resized)
        follows as soon as it is laid out."""
        from cdebug_tui.engine.models import SessionSpec
        from cdebug_tui.engine.session import start_session
        from cdebug_tui.errors import CdebugError

        spec = SessionSpec(
            target=self.target,
            image=self.image,
            rows=rows,
            cols=cols,
            command=self.command,
            profile=self.profile,
        )

        def on_step(step: Step) -> None:
            self.post_message(SessionStepTaken(step))

        def on_progress(p: PullProgress) -> None:
            self.post_message(PullProgressed(p))

        def notice(text: str) -> None:
            self.post_message(SessionNoticed(text))

        if self._pending is not None:
            pending, self._pending = self._pending, None
            try:
                # Its preparation always answers (app.prepare_warm), within the engine's own
                # timeouts; the bound is for a worker that never ran (the app ending).
                self.prepared = pending.result(timeout=120)
            except TimeoutError:
                self.prepared = None
            if self.prepared is not None and self.prepared.started:
                # Started at the size this tab was expected to have: asked again, it is free.
                rows, cols = self.prepared.spec.rows, self.prepared.spec.cols
            if get_current_worker().is_cancelled:
                # The app is ending: what was handed over goes with it.
                prepared, self.prepared = self.prepared, None
                if prepared is not None:
                    prepared.close()
                return
        try:
            if self._join_copy is not None:
                from cdebug_tui.engine.session import start_session_in_copy

                session = start_session_in_copy(
                    self.engine, spec, self._join_copy, on_step=on_step, notice=notice
                )
            else:
                session = self._start_prepared(rows, cols, on_step) or start_session(
                    self.engine, spec, on_step=on_step, on_progress=on_progress, notice=notice
                )
        except CdebugError as exc:
            self.post_message(SessionFailed(str(exc)))
            return
        self.session = session
        # Checked before SessionStarted is posted: its handler sets RUNNING on the UI
        # thread, and a check after the post could read that as "the tab was closed" and
        # close a session that had just started (its sidecar gone, its tab silent). A tab
        # closed after this check ends the session through self.session.
        if self.state != PaneState.STARTING:
            # The tab was closed while the session started: end it at once.
            session.close()
            return
        self.post_message(SessionStarted(session))
        self._read(session)

    def _show_ready(self, session: DebugSession) -> None:
        """Shows a session whose shell started while the user picked: its steps, then its
        terminal with what the shell printed so far, all in the tab's first frame."""
        self._ready = self.prepared = None
        if session.closed:
            # Its target stopped (or went) while the user picked: start anew, as `r` would.
            rows, cols = self._terminal_size()
            self.start(rows, cols)
            return
        self.session = session
        for step in session.steps:
            self._add_step(step)
        # The transport first: the prompt's queries (ash asks where the cursor is) are
        # answered to the shell.
        self._started(session)
        ahead = session.take_ahead()
        if ahead:
            self.view.feed(ahead)
            self._shell_printed()
        self._read_ready(session)

    @work(thread=True, exclusive=True, exit_on_error=False, group="start")
    def _read_ready(self, session: DebugSession) -> None:
        self._read(session)

    def _start_prepared(
        self, rows: int, cols: int, on_step: Callable[[Step], None]
    ) -> DebugSession | None:
        """Gives the prepared sidecar its shell; None when there is none or it has gone."""
        from dataclasses import replace

        from cdebug_tui.errors import CdebugError, SessionError

        session, self.prepared = self.prepared, None
        if session is None:
            return None
        early, self._early_shell = self._early_shell, None
        try:
            if early is not None:
                early.result()
                session.resize(rows, cols)
            elif session.started:
                # Started while the user picked, at the size this tab was expected to have.
                if session.closed:
                    raise SessionError(session.ended_reason or "the session has ended")
                session.resize(rows, cols)
            else:
                session.spec = replace(session.spec, rows=rows, cols=cols)
                session.start_shell()
        except CdebugError:
            session.close()
            return None  # the sidecar went (its target stopped, say): start anew
        for step in session.steps:
            on_step(step)
        return session

    def _terminal_size(self) -> tuple[int, int]:
        body = self.query_one(".terminal-column")
        return max(5, body.size.height or 24), max(20, body.size.width or 80)

    def _read(self, session: DebugSession) -> None:
        """Copies the shell's output into the view until it ends, then ends the session.

        The session ends however the reading ends; an unexpected error then reaches the
        worker, which the app reports (on_worker_state_changed).
        """
        try:
            while True:
                _, data = session.read()
                if not data:
                    break
                recorder = self.recorder
                if recorder is not None:
                    recorder.output(data)
                self.app.call_from_thread(self.view.feed, data)
                if not self._panels_started:
                    self.app.call_from_thread(self._shell_printed)
        except (OSError, RuntimeError):
            pass  # The connection broke, or the app is closing: end the session all the same.
        finally:
            code = session.exit_code(wait=5.0)
            session.close()
            self.post_message(SessionEnded(code))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # A bug in the start worker (not a CdebugError) must not leave the tab "starting"
        # forever: the tab says it failed, the app's handler shows the error.
        if (
            event.worker.group == "start"
            and event.state == WorkerState.ERROR
            and self.state == PaneState.STARTING
        ):
            error = event.worker.error
            self.post_message(SessionFailed(f"{type(error).__name__}: {error}"))

    def on_session_step_taken(self, message: SessionStepTaken) -> None:
        message.stop()
        self._add_step(message.step)

    def _add_step(self, step: Step) -> None:
        log = self.query_one(".steps-log", Static)
        line = Text.assemble(
            ("✓ ", "green"),
            (step.title, "bold"),
            (f"  {step.duration:.2f}s", "dim"),
            ("  " + step.detail if step.detail else "", "dim"),
            "\n",
            ("  $ " + step.command.splitlines()[0][:200], "dim italic"),
            "\n",
        )
        self._steps_text.append_text(line)
        log.update(self._steps_text)
        self.steps_taken.append(step)
        if self.panels_built:
            self.query_one(StepLog).add_step(step)

    def on_session_noticed(self, message: SessionNoticed) -> None:
        message.stop()
        self.notify(message.text, title="toolkit")

    def on_pull_progressed(self, message: PullProgressed) -> None:
        message.stop()
        if getattr(self.app, "typeahead_pane", None) is self:
            # A pull takes its time, shown here: the keys are the app's again meanwhile.
            self.app.end_typeahead()
        p = message.progress
        bar = self._pull_bar
        if bar is None:
            bar = self._pull_bar = ProgressBar(total=None, show_eta=False, classes="pull-progress")
            self.query_one(".session-steps").mount(bar)
        if p.layer and p.total:
            self._layers[p.layer] = (p.current, p.total)
        total = sum(t for _, t in self._layers.values())
        if total:
            bar.update(total=total, progress=sum(c for c, _ in self._layers.values()))

    def on_session_started(self, message: SessionStarted) -> None:
        message.stop()
        if self.state != PaneState.STARTING:
            return
        self._started(message.session)

    def _started(self, session: DebugSession) -> None:
        from cdebug_tui.ui.settings import last_toolkit, save_setting

        self.state = PaneState.RUNNING
        self.refresh_bindings()  # t takes the keys there now
        if last_toolkit() != self.image:
            # Remembered once a session has run with it, not when picked: a toolkit without
            # a shell was offered first the next time.
            save_setting("last_toolkit", self.image)
        self.query_one(".session-steps").display = False
        view = self.view
        view.display = True
        view.set_transport(session)
        active = self._is_active_tab()
        # Titled now, not when its FocusChanged arrives: the first frames had none.
        view.border_title = self._terminal_title(focused=active)
        if active:
            # A tab in the background leaves the focus where the user is. (The active tab,
            # not `display`: that lags behind a switch that has just made this tab active.)
            self.last_focus = view
            self.focus_terminal_soon()
        self._set_header()
        self._app_title()
        # The panels and their readings come once the shell's prompt is drawn (it has printed
        # and gone quiet), or a second after the start at the latest: built or started at once,
        # they competed with the shell's own start for the UI thread, the engine and the CPU.
        self.set_timer(PANELS_AT_THE_LATEST, self._start_panels)

    def claim(self) -> None:
        """Makes a staged tab (built behind the picker) the app's, now that it is shown: its
        panels come once its prompt is drawn, as in a tab built on the pick."""
        self.staged = False
        if self.state == PaneState.RUNNING and self.last_focus is None:
            # Its terminal takes the focus (app._focus_active): titled so in the first frame,
            # which comes before the focus's own messages.
            self.view.border_title = self._terminal_title(focused=True)
        self._last_output = 0.0
        self._shell_printed()
        self.set_timer(PANELS_AT_THE_LATEST, self._start_panels)

    def _shell_printed(self) -> None:
        """The shell printed, before the panels came: they wait until it has gone quiet."""
        if self._last_output == 0.0:
            self.set_timer(PROMPT_QUIET, self._start_panels_when_quiet)
        self._last_output = time.monotonic()

    def _start_panels_when_quiet(self) -> None:
        quiet = time.monotonic() - self._last_output
        if quiet < PROMPT_QUIET:
            self.set_timer(PROMPT_QUIET - quiet, self._start_panels_when_quiet)
        else:
            # After the frame that draws the prompt (a new tab's first one may still be due).
            self.call_after_refresh(self._start_panels)

    def _start_panels(self) -> None:
        if self._panels_started or self.state != PaneState.RUNNING or self.session is None:
            return
        if self.staged:
            return  # built behind the picker: its panels wait until it is shown (claim)
        self._panels_started = True
        self.run_worker(self._start_readings(self.session), group="panels", exit_on_error=False)

    async def _start_readings(self, session: DebugSession) -> None:
        if not await self._build_quietly() or self.state != PaneState.RUNNING:
            return  # closed, or ended meanwhile: build_panels or on_session_ended marked them
        self.processes.start(session)
        self.rootfs.start(session)
        # The tab is built and drawn: its widgets live as long as it does.
        freeze = getattr(self.app, "freeze_heap", None)
        if freeze is not None:
            self.call_after_refresh(freeze)

    def on_session_failed(self, message: SessionFailed) -> None:
        message.stop()
        self.state = PaneState.FAILED
        if self._pull_bar is not None:
            self._pull_bar.display = False
        self.query_one(".session-header", Static).update(
            Text.assemble(("✗ cannot debug ", "bold red"), (self.target_name, "bold"), ": ")
            + Text(message.error)
            + Text("  (x closes this tab)", style="dim")
        )
        self.app.notify(message.error, title="session failed", severity="error", timeout=8)
        self._relabel()
        self._app_title()
        focused = self.screen.focused
        if self._is_active_tab() and (focused is None or self not in focused.ancestors):
            # Nothing in the tab had the focus (its terminal never came): x must close it.
            self.focus_panels()

    def on_session_ended(self, message: SessionEnded) -> None:
        message.stop()
        self.state = PaneState.ENDED
        self.stop_recording()
        self.exit_code = message.exit_code
        why = self.session.ended_reason if self.session is not None else None
        if self.panels_built:
            self._mark_last_reading()
        self.view.set_transport(None)
        # The screen's focus, not has_focus: that follows a Focus event which may be pending.
        if self.screen.focused is self.view:
            # Keys typed into a finished shell would go nowhere: let x, q and the rest work.
            self.query_one(SessionHeaderView).focus()
        self.view.border_title = self._terminal_title(focused=False)
        self.refresh_bindings()  # t goes from the footer
        self._set_header()
        self._relabel()
        self._app_title()
        session = self.session
        if why in ("the target stopped", "the target restarted", SIDECAR_GONE) and session:
            # The supervisor went (with the target's PID namespace, or with its sidecar)
            # before it removed its link from the target's root: the app removes it.
            links_left = getattr(self.app, "links_left", None)
            if session.copy is None and callable(links_left):
                links_left(self.engine.name, session.target.id, session.target.name, self.image)
        if why in _TARGET_ENDINGS and self.session is not None:
            self._read_target_exit(self.session)
        else:
            self._notify_end()

    def _mark_last_reading(self) -> None:
        """The panels keep what they showed, marked as the last reading."""
        why = (self.session.ended_reason if self.session is not None else None) or (
            "the session ended"
        )
        self.processes.stop(why)
        self.rootfs.stop(why)
        for view in self.query(InternalsView):
            view.stop()
        from cdebug_tui.ui.widgets.ports import PortsPanel

        for ports in self.query(PortsPanel):
            ports.stop(why)  # its forwards went with the sidecar

    def ended_summary(self) -> str:
        """How the session ended, in a few words: "the target stopped (exit code 137)"."""
        why = self.session.ended_reason if self.session is not None else None
        if why in _TARGET_ENDINGS:
            code = "?" if self.target_exit_code is None else self.target_exit_code
            return f"{why} (exit code {code})"
        if why == SIDECAR_GONE:
            return why  # the shell went with it: it has no exit code to tell
        code = "?" if self.exit_code is None else self.exit_code
        return (
            f"{why} (the shell's exit code {code})" if why else f"session ended (exit code {code})"
        )

    def _notify_end(self) -> None:
        why = self.session.ended_reason if self.session is not None else None
        self.app.notify(
            f"{self.target_name}: {self.ended_summary()}",
            severity="warning" if why else "information",
        )

    @work(thread=True, exit_on_error=False, group="target-exit")
    def _read_target_exit(self, session: DebugSession) -> None:
        """Reads how the target ended the session, and its exit code, for the header."""
        self.app.call_from_thread(self._target_exited, session.target_end())

    def _target_exited(self, code: int | None) -> None:
        self.target_exit_code = code
        self._set_header()
        # The reason settled meanwhile (removed, after the die event said stopped): its
        # title and keys follow (no n for a target that is gone).
        self.view.border_title = self._terminal_title(focused=False)
        self.refresh_bindings()
        if self.panels_built:
            # The reason settled meanwhile ("the target restarted", once the engine ran it
            # again): the panels said "the target stopped" under the header that said so.
            self._mark_last_reading()
        self._notify_end()

    def _app_title(self) -> None:
        refresh = getattr(self.app, "refresh_title", None)
        if callable(refresh):
            refresh()

    @property
    def place(self) -> int:
        """The tab's place among the session tabs: the digit that shows it, in its label."""
        return self._place

    @place.setter
    def place(self, place: int) -> None:
        if place != self._place:
            self._place = place
            self._relabel()

    def _relabel(self) -> None:
        label = f"{self._place} {_cut(self.target_name, 20)}"
        if not self.alive:
            label = "✗ " + label  # it says so, and stays
        else:
            if self.window_title:
                label += f" · {_cut(self.window_title, 24)}"
            if self.activity == "bell":
                label = "🔔 " + label
            elif self.activity:
                label = "• " + label
        self.set_title(label)

    def set_title(self, title: str) -> None:
        """Renames the tab."""
        for tabs in self.ancestors:
            if isinstance(tabs, TabbedContent):
                try:
                    tabs.get_tab(self).label = Text(title)
                except NoMatches:
                    pass  # the app is tearing its tabs down
                break

    def _set_header(self) -> None:
        session = self.session
        if session is None:
            return
        parts: list[HeaderPart] = [
            (f" {session.target.name} ", "bold reverse", NAME_RANK),
            (f" {session.target.short_id}", "dim", 1),
            (f"  {session.mode} mode", "bold magenta", 0),
        ]
        if self.state != PaneState.ENDED:
            # Ended, the line says how first; why this mode was chosen no longer fits after it.
            parts.append((f": {session.mode_reason}", "", 2))
            # The mode's warnings (no /bin/sh in the target, the host's PID namespace) stay
            # when the reason gives way: rank 1, cut (with …) before the PRIVILEGED and REC
            # marks after them, never before the reason.
            parts += [(f"; {warning}", "yellow", 1) for warning in session.mode_warnings]
        parts.append((f"  toolkit {self.image}", "dim", 3))
        if session.config.privileged:
            parts.append(("  PRIVILEGED sidecar", "bold red", 0))
        if session.spec.profile != "general":
            parts.append((f"  profile {session.spec.profile}", "bold yellow", 0))
        if self.recorder is not None:
            parts.append(("  ● REC", "bold red", 0))
        if self.state == PaneState.ENDED:
            parts[:0] = [
                (self.ended_summary(), "bold red", 0),
                (
                    # The keys first, and short: at 160 columns the line was cut (the panels'
                    # titles say "last reading" themselves).
                    "  x closes · sidecar removed  "
                    if self._target_gone()
                    else "  n new session · x closes · sidecar removed  ",
                    "dim",
                    4,
                ),
            ]
        more: list[HeaderPart] | None = None
        if session.copy is not None:
            # What it is, then what it shares (writes there are real) stay longest.
            first, *rest = session.copy.banner_parts()
            more = [(" COPY ", "bold reverse yellow", 0), (" " + first, "yellow", 0)]
            more += [("; " + part, "yellow", i + 1) for i, part in enumerate(rest)]
        view = self.query_one(".session-header", SessionHeaderView)
        # A copy's second line says what it is: a copy, what it shares, that it is discarded.
        view.set_class(session.copy is not None, "-copy")
        view.show_parts(parts, more)

    @on(TabbedContent.TabActivated, ".side-panels")
    def _side_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        event.stop()
        self._mount_side(_side_name(event.pane.id or ""))

    def _mount_side(self, name: str) -> None:
        """Mounts a side view that reads the running session in place of its placeholder, the
        first time it is shown: nothing is read for a view nobody looks at."""
        from cdebug_tui.ui.widgets.log_view import LogsPanel
        from cdebug_tui.ui.widgets.ports import PortsPanel
        from cdebug_tui.ui.widgets.stats_view import StatsView

        session = self.session
        if session is None:
            return
        pane = self.side.get_pane(f"side-{name}-{self.number}")
        # Only the placeholder: a placeholder being removed still counts as a child, next to
        # the view mounted a moment ago (both TabActivated and show_side come here).
        placeholders = pane.query(".side-placeholder")
        if len(pane.children) != 1 or not placeholders:
            return
        if self.state != PaneState.RUNNING and name != "logs":
            # Nothing to read any more; a log still is (a stopped target's last words).
            for placeholder in placeholders.results(Static):
                placeholder.update(
                    Text("the session has ended: nothing more to read here", style="dim italic")
                )
            return
        target = session.target
        view: Widget
        if name == "internals":
            view = InternalsView(session)
        elif name == "logs":
            original = session.copy.source.original if session.copy is not None else None
            if original is not None:
                # A debug copy's own log is empty (it holds the shell); the original's has
                # what the user came for: the crash's last words.
                view = LogsPanel(session.engine, original.id, f"{original.name} (original)")
            else:
                view = LogsPanel(session.engine, target.id, target.name)
        elif name == "ports":
            view = PortsPanel(session)
        else:  # stats, the target's (issue 11)
            view = StatsView(self.engine.name, target.id, target.name)
        placeholders.remove()
        pane.mount(view)

    @property
    def shown_side(self) -> str | None:
        """The name of the side view shown (see SIDE_VIEWS), None when the panels are hidden
        (or not built yet)."""
        if not self.panels_shown or not self.panels_built or not self.side.active:
            return None
        return _side_name(self.side.active)

    def _show_panels(self) -> None:
        """Shows the panels' place if `b` or the width hid it, until the next b."""
        self._focus_hidden = None  # a view is asked for: it takes the focus, not the old one
        slot = self.query_one(".side-slot")
        if not slot.display:
            self.side_override = True
            slot.display = True
            self._fit_side()

    async def _bring_side(self, name: str) -> bool:
        """Builds the panels if they are not yet, shows them (if `b` or the width hid them)
        and brings a side view forward; False when the tab closed first."""
        side = await self.build_panels()
        if side is None:
            return False
        self._show_panels()
        side.active = f"side-{name}-{self.number}"
        return True

    async def action_show_side(self, name: str) -> None:
        """Shows a side view (showing the panels if `b` or the width hid them) and focuses it."""
        self._coming_topic = "processes" if name == "target" else name
        if not await self._bring_side(name):
            return
        self._mount_side(name)
        self.call_after_refresh(self._focus_side, False, self.screen.focused is self.view)

    def _focus_side(self, at_once: bool = False, from_terminal: bool = True) -> None:
        """Focuses the side view shown. Asked from outside the terminal (`from_terminal`
        False), not once the terminal has the focus since: a `t` typed after the view's key
        (`ctrl+] s t echo`) took it while this waited for the view's layout, and this one
        landed after it."""
        if not from_terminal and self.screen.focused is self.view:
            return
        pane = self.side.active_pane
        if pane is None:
            return
        if pane.id == f"side-target-{self.number}":
            target: Widget | None = self.processes
        elif views := pane.query(InternalsView):
            target = views.first()
        else:
            target = next((w for w in pane.query("*") if w.focusable), None)
        widget = target or self.query_one(SessionHeaderView)
        if at_once and widget.focusable:
            # Not with Widget.focus, which lands a turn later: after ctrl+] a `t` read on its
            # own asks for the terminal's focus that way too, and this one, asked first once
            # the panels were built, landed after it (`ctrl+] t echo` ran the echo in the
            # shell, then left the focus in the processes).
            self.screen.set_focus(widget)
        else:
            widget.focus()  # a side view just brought forward takes it once it is laid out

    def explain_topic(self) -> str:
        """What `e` explains: the panel a key just brought (its focus comes a frame later:
        `P e` typed at once explained the view before); the focused panel; else the side view
        shown; else the shell."""
        if self._coming_topic is not None:
            return self._coming_topic
        focused = self.app.focused
        for node in focused.ancestors_with_self if focused is not None else ():
            if isinstance(node, TerminalView):
                return "terminal"
            if isinstance(node, ProcessesPanel):
                return "processes"
            if isinstance(node, RootfsPanel):
                return "rootfs"
            if isinstance(node, StepLog):
                return "steps"
            if isinstance(node, InternalsView):
                return "internals"
            side = getattr(node, "id", None) or ""
            if side.startswith("side-") and (name := _side_name(side)) in SIDE_TOPICS:
                return name
        from cdebug_tui.ui.screens.explain import EXPLANATIONS

        shown = self.shown_side
        if shown == "target":
            return "processes"
        if shown in EXPLANATIONS:
            return shown
        return "terminal"

    def action_explain(self) -> None:
        """Explains the view shown, for someone new to containers."""
        from cdebug_tui.ui.screens.explain import ExplainScreen

        self.app.push_screen(ExplainScreen(self.explain_topic()))

    @on(InternalsView.ExplainRequested)
    def _explain(self, event: InternalsView.ExplainRequested) -> None:
        from cdebug_tui.ui.screens.explain import ExplainScreen

        event.stop()
        self.app.push_screen(ExplainScreen(event.topic))

    # -- ending ----------------------------------------------------------------------------

    def end(self) -> None:
        """Ends the session (blocking: call it from a thread, or at exit)."""
        prepared, self.prepared = self.prepared, None
        if prepared is not None:  # closed before its start ran: the sidecar is still ours
            prepared.close()
        session = self.session
        if self.state != PaneState.FAILED:
            self.state = PaneState.ENDED
        if session is not None:
            from cdebug_tui.engine.panels import close_reader

            session.close()
            close_reader(session)

    # -- keys ------------------------------------------------------------------------------

    @on(TerminalView.EscapeRequested)
    async def _escape(self, event: Any) -> None:
        event.stop()
        # Out of the terminal at once, to the header (the view moved it already, on the key's
        # own turn: see TerminalView.leave_to). Waiting for panels still being built on a busy
        # machine, it gave `ctrl+] q`'s q to the shell.
        header = self.query_one(SessionHeaderView)
        if not event.moved and self.screen.focused in (None, self.view):
            # Not from where a key typed after ctrl+] took it (`ctrl+] 0`: the list, shown).
            self.screen.set_focus(header)
        if self.panels_shown and await self.build_panels() is not None:
            # Not if t (or a click) went back meanwhile, nor when a `t` typed with ctrl+] is on
            # its way (`ctrl+] t ls`): the header takes it as the terminal's key, where the
            # Logs' own `t` would toggle timestamps and leave `ls` to the panels.
            if self.screen.focused is header and not self._coming_back():
                self._focus_side(at_once=True)

    def _coming_back(self) -> bool:
        """Whether keys typed after ctrl+] are held for this terminal behind a `t`."""
        app = self.app
        router = getattr(app, "input_router", None)
        return (
            router is not None
            and router.typing_ahead
            and getattr(app, "typeahead_pane", None) is None
            and getattr(app, "typeahead_key_pane", None) is self
        )

    def leave_logs(self) -> None:
        """Esc in the Logs view: back to the Target view, as in the app's other views, never
        into the terminal, which only t, Enter or a click enter (keys there are the shell's).
        At once: its processes take the keys typed after it (`Escape s` showed the processes,
        not the Steps)."""
        if not self.panels_built:
            return
        self._coming_topic = "processes"
        self._show_panels()
        self.side.active = f"side-target-{self.number}"
        self.screen.set_focus(self.processes)

    @on(TerminalView.Resized)
    def _resized(self, event: Any) -> None:
        event.stop()
        if self.recorder is not None:
            self.recorder.resize(event.rows, event.cols)

    def action_toggle_recording(self) -> None:
        """Asks where to record the session (an asciicast v2 file that starts with the screen
        as it is, the steps taken as markers), then records; pressed again (or when the
        session ends), stops."""
        if self.recorder is not None:
            self.stop_recording()
            return
        if self.session is None or self.state != PaneState.RUNNING:
            self.notify("only a running session can be recorded", severity="warning")
            return
        import time
        from pathlib import Path

        from cdebug_tui.ui.screens.record import RecordScreen
        from cdebug_tui.ui.settings import load_settings

        folder = Path(load_settings().get("record_dir") or Path.cwd())
        stamp = time.strftime("%Y%m%d-%H%M%S")
        default = folder / f"cdebug-{self.target_name}-{stamp}.cast"
        self.app.push_screen(RecordScreen(str(default)), self._record_to)

    def _record_to(self, path: str | None) -> None:
        from pathlib import Path

        from cdebug_tui.engine.recording import CastRecorder
        from cdebug_tui.ui.settings import save_setting

        if path is None or self.session is None or self.state != PaneState.RUNNING:
            return
        view = self.view
        cursor = view.terminal.screen.cursor
        screen = (screen_lines(view), (cursor.y, cursor.x))
        try:
            self.recorder = CastRecorder(
                path, view.rows, view.cols, self.target_name, self.session.steps, screen
            )
        except OSError as exc:
            self.notify(f"cannot record to {path}: {exc.strerror}", severity="error")
            return
        save_setting("record_dir", str(Path(path).parent))
        self._set_header()
        self.notify(f"recording to {path} (R stops)", title="recording")

    def stop_recording(self) -> None:
        """Finishes the recording, if one runs, and says where it is."""
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            recorder.close()
            self._set_header()
            self.notify(f"saved {recorder.path}: asciinema play {recorder.path}", title="recording")

    @on(ProcessesPanel.DetailsRequested)
    def _process_details(self, event: ProcessesPanel.DetailsRequested) -> None:
        from cdebug_tui.ui.screens.process import ProcessScreen

        event.stop()
        if self.session is None or self.state != PaneState.RUNNING:
            self.notify("the session has ended: nothing more can be read", severity="warning")
            return
        p = event.process

        def closed(pid: int | None) -> None:
            if pid is not None:
                self.trace(pid)

        self.app.push_screen(ProcessScreen(self.session, p.pid, p.command), closed)

    def trace(self, pid: int) -> None:
        """Opens a new tab that runs strace on a process of the target (toolkit's strace)."""
        self._open_beside(("strace", "-f", "-p", str(pid)))

    def _open_beside(self, command: tuple[str, ...]) -> None:
        """A new tab on this tab's target, with its toolkit and profile, running `command`
        (the toolkit's shell when empty)."""
        open_session = getattr(self.app, "open_session", None)
        copy = self.session.copy if self.session is not None else None
        if callable(open_session):
            open_session(
                self.target,
                self.target_name,
                self.image,
                self.engine,
                command=command,
                profile=self.profile,
                # Running on a debug copy: another shell in the same copy, which sees this
                # one's writes (a second copy saw none). Ended, a new copy, as it stopped now.
                copy=copy if copy is not None and not copy.removed else None,
            )

    @on(RootfsPanel.PreviewRequested)
    def _preview(self, event: RootfsPanel.PreviewRequested) -> None:
        event.stop()
        self.rootfs.preview(event.path)

    def on_file_previewed(self, message: FilePreviewed) -> None:
        message.stop()
        from cdebug_tui.ui.screens.preview import FilePreviewScreen

        self.app.push_screen(FilePreviewScreen(message.path, message.data))

    def _leave_key(self) -> str:
        keys = getattr(self.app, "app_keys", None)
        return keys["leave_terminal"] if isinstance(keys, dict) else "ctrl+right_square_bracket"

    @on(TerminalView.FocusChanged)
    def _terminal_focus_changed(self, event: TerminalView.FocusChanged) -> None:
        event.stop()
        self.view.border_title = self._terminal_title(event.focused)

    def _terminal_title(self, focused: bool) -> str:
        """The terminal's border title: where keys go, and how to change that."""
        if self.state == PaneState.ENDED:
            if self._target_gone():
                return "the shell ended: its target is gone"
            return "the shell ended: n opens a new session"
        if not focused:
            # The Logs panel's `t` is its timestamps: Esc leaves it for the Target view first.
            from cdebug_tui.ui.widgets.log_view import LogsPanel

            where = self.screen.focused
            if where is not None and any(
                isinstance(n, LogsPanel) for n in (where, *where.ancestors)
            ):
                return "Esc t: type in the terminal"
            return "t: type in the terminal"
        key = self.app.get_key_display(Binding(self.view.escape_key, ""))
        return f"keys go to the shell · {key} leaves"

    @on(TerminalView.TitleChanged)
    def _window_title(self, event: TerminalView.TitleChanged) -> None:
        event.stop()
        self.window_title = event.title
        self._relabel()

    @on(TerminalView.Activity)
    def _activity(self, event: TerminalView.Activity) -> None:
        # Marks the tab until it is shown (tmux's activity and bell flags).
        event.stop()
        self.activity = "bell" if event.bell else (self.activity or "output")
        self._relabel()

    @on(TerminalView.ClipboardWritten)
    def _clipboard(self, event: TerminalView.ClipboardWritten) -> None:
        from cdebug_tui.ui.settings import clipboard_writes_allowed

        event.stop()
        if clipboard_writes_allowed():
            self.app.copy_to_clipboard(event.text)
            self.notify(f"{self.target_name}: the program copied {len(event.text)} characters")

    def shown(self) -> None:
        """The tab is shown: its activity mark goes."""
        if self.activity:
            self.activity = None
            self._relabel()

    def _is_active_tab(self) -> bool:
        for tabs in self.ancestors:
            if isinstance(tabs, TabbedContent):
                return bool(tabs.active == self.id)
        return False

    def restore_focus(self) -> bool:
        """Focuses what had the focus when this tab was last shown; False when nothing can."""
        widget = self.last_focus
        if widget is None or not widget.is_attached or not widget.focusable:
            return False
        if isinstance(widget, TerminalView) and self.state != PaneState.RUNNING:
            return False
        if not self._shown(widget):
            # Hidden since (the window narrowed below NARROW columns while this tab was in
            # the background): it took the keys, and the footer offered its own.
            return False
        # At once, not with Widget.focus, which waits for the app's next turn: the keys typed
        # after a tab switch (`1 s`) went to the tab left behind, and a ctrl+] typed ahead
        # with the pick (`Enter ctrl+] f`) that left the terminal meanwhile had the focus taken
        # back into it (f went to the shell).
        self.screen.set_focus(widget)
        return True

    def focus_panels(self) -> None:
        """Focuses the processes panel, or the header when the panels are hidden (or not built
        yet: a tab shown before its shell's prompt)."""
        # At once, as restore_focus.
        if self.panels_built and self.panels_shown and self.processes.focusable:
            self.screen.set_focus(self.processes)
        else:
            self.screen.set_focus(self.query_one(SessionHeaderView))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hides the tab's letters from the footer while the keys go to the terminal, and n
        while the session starts."""
        if isinstance(self.app.focused, TerminalView):
            return False
        if action == "reopen":
            # A running tab's n is another shell beside it: it did nothing, and said nothing.
            # Not once the target (or a copy's original) was removed: n then tried to pull
            # its id as an image.
            return self.state in (PaneState.RUNNING, PaneState.ENDED) and not self._target_gone()
        if action == "focus_terminal":
            # Only a running shell takes keys: the footer offered t in an ended tab. Or the
            # panels are in the terminal's place (below 72 columns): t brings it back.
            return self.state == PaneState.RUNNING or self.has_class("-side-only")
        return True

    def _target_gone(self) -> bool:
        """Whether the target, or a copy's original, was removed: the session's end, or
        since it ended (target_removed)."""
        reason = self.session.ended_reason if self.session is not None else None
        return self._removed_since or bool(reason and reason.endswith("was removed"))

    def is_on(self, container_id: str) -> bool:
        """Whether this tab debugs that container (by the id or name it was opened with, or
        the one its session found; for a copy, its original)."""
        session = self.session
        ids = {self.target}
        if session is not None:
            ids.add(session.target.id)
            if session.copy is not None and session.copy.source.original is not None:
                ids.add(session.copy.source.original.id)
        return container_id in ids

    def target_removed(self) -> None:
        """The target was removed (an engine event): an ended tab no longer offers n."""
        self._removed_since = True
        if self.state == PaneState.ENDED:
            self.view.border_title = self._terminal_title(focused=False)
            self._set_header()
            self.refresh_bindings()

    def action_reopen(self) -> None:
        """A new session on the same target, toolkit and profile, in a tab of its own (this
        one stays, running or to read how it ended): another shell beside this one, or one
        after a restart, or on the copy of a target that stopped. Its shell, not this tab's
        command: a trace's PID means another process once the target restarted."""
        self._open_beside(())

    async def action_focus_panel(self, step: int) -> None:
        """Moves the focus along the panels, leaving the terminal out."""
        if await self.build_panels() is None:
            return
        chain = [
            w
            for w in self.screen.focus_chain
            if self in w.ancestors and not isinstance(w, TerminalView)
        ]
        if not chain:
            return
        focused = self.screen.focused
        index = chain.index(focused) if focused in chain else (-1 if step > 0 else 0)
        chain[(index + step) % len(chain)].focus()

    def focus_terminal_soon(self) -> None:
        """Focuses the terminal on the app's next turn, unless the focus is in this tab by
        then: a ctrl+] typed ahead with the pick (`Enter Enter ctrl+] s`) had left it, and the
        focus asked for as the session started took it back (s went to the shell)."""

        def focus() -> None:
            if not self.is_attached or self.state != PaneState.RUNNING:
                return
            focused = self.screen.focused
            if focused is None or self not in focused.ancestors:
                self.screen.set_focus(self.view)

        self.app.call_later(focus)

    def action_focus_terminal(self) -> None:
        # Whatever the session's state: an ended shell's last lines, a start's steps are
        # read there.
        self._terminal_back()
        if self.state == PaneState.RUNNING:
            self.view.focus()

    def _terminal_back(self) -> None:
        """Brings the terminal back where the panels took its place (below 72 columns); the
        panels go, and the width decides again."""
        if self.has_class("-side-only"):
            self.side_override = None
            self._set_side_shown(False)

    async def action_focus_processes(self) -> None:
        self._coming_topic = "processes"
        if await self._bring_side("target"):
            self.processes.focus()

    async def action_focus_files(self) -> None:
        self._coming_topic = "rootfs"
        if await self._bring_side("target"):
            self.rootfs.focus()

    async def action_toggle_side(self) -> None:
        """Shows or hides the side panels of this tab, whatever the width, until the next b."""
        self.side_override = not self.query_one(".side-slot").display
        self._set_side_shown(self.side_override)
        if self.side_override:
            await self.build_panels()

    #: The widths `+` and `-` step through, in % of the tab; `-` from the first hides them.
    SIDE_SHARES = (25, 38, 50, 62, 75)

    async def action_side_wider(self, step: int) -> None:
        """Widens (step 1) or narrows (-1) the side panels of this tab; narrowed past the
        least width they hide, widened from hidden they come back at it. The terminal takes
        the rest, and its programs the new size."""
        slot = self.query_one(".side-slot")
        width = slot.styles.width
        percent = (Unit.PERCENT, Unit.WIDTH)  # "38%" in the CSS, "25w" once set here
        share = int(width.value) if width is not None and width.unit in percent else 38
        shares = self.SIDE_SHARES
        if not slot.display:
            if step < 0:
                return
            share = shares[0]
        else:
            bigger = [s for s in shares if s > share]
            smaller = [s for s in shares if s < share]
            if step > 0 and not bigger:
                self.app.bell()
                return
            if step < 0 and not smaller:
                await self.action_toggle_side()  # hidden, as b does
                return
            share = bigger[0] if step > 0 else smaller[-1]
        total = self.size.width
        if step > 0 and total and total * share // 100 > total - TERMINAL_MIN_WIDTH:
            # The terminal keeps its least width (app.tcss): at 80 columns a 62% side pushed
            # the panels off the screen's right edge, their text cut mid-word.
            self.app.bell()
            return
        # The user's width, not the app's cap of 90 columns that suits the default.
        slot.styles.width = f"{share}%"
        slot.styles.max_width = "100%"
        if not slot.display:
            await self.action_toggle_side()  # shown, as b does

    def _set_side_shown(self, shown: bool) -> None:
        """Shows or hides the side panels; the focus in them, hidden, goes to the header, and
        back to them when they show again (unless it has moved on)."""
        slot = self.query_one(".side-slot")
        slot.display = shown
        self._fit_side()
        focused = self.screen.focused if self.is_attached else None
        header = self.query_one(SessionHeaderView)
        if not shown and focused is not None and slot in focused.ancestors:
            # Outside the terminal still, so that the next b (or t, x, ...) works: left on a
            # hidden view, the focus took every key of the tab and did nothing with them (a
            # window narrowed below NARROW columns while the Ports view had it).
            self._focus_hidden = focused
            header.focus()
        elif shown and self._focus_hidden is not None:
            # `b` after a narrowing: the files the user was in, not the header's keys only.
            was, self._focus_hidden = self._focus_hidden, None
            if focused is header and was.is_attached and was.focusable and self._shown(was):
                self.screen.set_focus(was)

    def _fit_side(self) -> None:
        """Shows the panels in the terminal's place while they are shown on a tab too narrow
        for both (below 72 columns): side by side they ran off the screen's right edge."""
        slot = self.query_one(".side-slot")
        self.set_class(bool(slot.display) and self._too_narrow(), "-side-only")

    def _too_narrow(self) -> bool:
        """Whether the tab is too narrow for the terminal and the panels side by side."""
        width = self._width or self.app.size.width
        return width < TERMINAL_MIN_WIDTH + 2 + SIDE_MIN_WIDTH

    def _shown(self, widget: Widget) -> bool:
        """Whether nothing between `widget` and this tab hides it (a side view not active, the
        panels hidden): `focusable` does not say."""
        node: DOMNode | None = widget
        while node is not None and node is not self:
            if isinstance(node, Widget) and not node.display:
                return False
            node = node.parent
        return True

    def action_close_session(self) -> None:
        """Closes the tab; a running shell's only once the user says so (tmux's kill-pane
        asks too): what runs in it, an editor or a capture, ends with it."""
        if self.state != PaneState.RUNNING:
            self.post_message(SessionPane.CloseRequested(self))
            return
        from cdebug_tui.ui.screens.confirm import ConfirmScreen
        from cdebug_tui.ui.widgets.ports import PortsPanel

        def answered(yes: bool | None) -> None:
            if yes and self.is_attached:
                self.post_message(SessionPane.CloseRequested(self))

        forwards = sorted(port for ports in self.query(PortsPanel) for port in ports.forwards)
        also = ""
        copy = self.session.copy if self.session is not None else None
        if copy is not None:
            # What the session wrote there goes too: said before it is lost.
            also = f"; the debug copy {copy.name} is removed, and what was written in it"
        if len(forwards) == 1:
            also += f"; the forward of port {forwards[0]} stops"
        elif forwards:
            also += f"; the forwards of ports {', '.join(map(str, forwards))} stop"
        self.app.push_screen(
            ConfirmScreen(
                f"End the debug session on {self.target_name}?\n"
                f"Its shell and what runs in it end; its sidecar is removed{also}.",
                yes="End it",
                no="Keep it",
            ),
            answered,
        )

    class CloseRequested(Message):
        """The user asked to close this tab (and end its session)."""

        def __init__(self, pane: SessionPane) -> None:
            super().__init__()
            self.pane = pane
