"""Provides SessionPane: one debug session's tab: its terminal, the target's processes and files."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import ProgressBar, Static, TabbedContent, TabPane

from cdebug_tui.ui.messages import (
    FilePreviewed,
    PullProgressed,
    SessionEnded,
    SessionFailed,
    SessionNoticed,
    SessionStarted,
    SessionStepTaken,
)
from cdebug_tui.ui.widgets.internals import InternalsView
from cdebug_tui.ui.widgets.processes import ProcessesPanel
from cdebug_tui.ui.widgets.rootfs import RootfsPanel
from cdebug_tui.ui.widgets.step_log import StepLog
from cdebug_tui.ui.widgets.tabs import SteadyTabs
from cdebug_tui.ui.widgets.terminal import TerminalView

if TYPE_CHECKING:
    from cdebug_tui.engine.models import PullProgress, Step
    from cdebug_tui.engine.recording import CastRecorder
    from cdebug_tui.engine.session import DebugSession

_counter = itertools.count(1)


class SessionHeaderView(Static, can_focus=True):
    """The session's one-line summary; focusable, so that the tab's keys work with no panels."""


class SessionPane(TabPane):
    """A tab that starts a debug session, then shows it; closing the tab ends the session.

    States: "starting" (steps and pull progress), "running", "ended" or "failed".
    """

    BINDINGS = [
        # The terminal keeps ctrl+] for itself (it posts EscapeRequested); this binding shows
        # the key in the footer and, from the panels, goes back into the terminal.
        Binding(
            "ctrl+right_square_bracket", "focus_terminal", "Terminal ⇄ panels", key_display="^]"
        ),
        Binding("t", "focus_terminal", "Terminal", show=False),
        Binding("p", "focus_processes", "Processes", show=False),
        Binding("f", "focus_files", "Files", show=False),
        Binding("x", "close_session", "Close tab"),
        Binding("b", "toggle_side", "Panels"),
        Binding("R", "toggle_recording", "Record"),
        Binding("e", "explain", "What is this?"),
    ]

    def __init__(
        self,
        engine: Any,
        target: str,
        target_name: str,
        image: str,
        prepared: DebugSession | None = None,
        profile: str = "general",
    ) -> None:
        self.number = next(_counter)
        #: A session whose sidecar was started while the user picked: the shell is an exec.
        self.prepared = prepared
        super().__init__(f"{self.number} {target_name[:20]}", id=f"session-{self.number}")
        self.engine = engine
        self.target = target
        self.target_name = target_name
        self.image = image
        self.profile = profile
        self.session: DebugSession | None = None
        self.state = "starting"
        self.exit_code: int | None = None
        self._layers: dict[str, tuple[int, int]] = {}
        self._steps_text = Text()
        #: The asciicast being written while the session is recorded (R), else None.
        self.recorder: CastRecorder | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="session-main"):
            yield SessionHeaderView(
                Text.assemble(
                    ("starting a session on ", ""), (self.target_name, "bold"), " with ", self.image
                ),
                classes="session-header",
            )
            with Horizontal(classes="session-body"):
                with Vertical(classes="terminal-column"):
                    with Vertical(classes="session-steps"):
                        yield Static("", classes="steps-log")
                        yield ProgressBar(total=None, show_eta=False, classes="pull-progress")
                    yield TerminalView(classes="terminal")
                n = self.number
                with SteadyTabs(classes="side-panels", id=f"side-{n}"):
                    with TabPane("Target", id=f"side-target-{n}"):
                        yield ProcessesPanel(id=f"processes-{n}")
                        yield RootfsPanel(id=f"rootfs-{n}")
                    with TabPane("Steps", id=f"side-steps-{n}"):
                        yield StepLog(classes="step-log")
                    with TabPane("Internals", id=f"side-internals-{n}"):
                        yield Static(
                            Text("read once the session runs", style="dim italic"),
                            classes="internals-placeholder",
                        )

    @property
    def view(self) -> TerminalView:
        return self.query_one(TerminalView)

    @property
    def processes(self) -> ProcessesPanel:
        return self.query_one(ProcessesPanel)

    @property
    def rootfs(self) -> RootfsPanel:
        return self.query_one(RootfsPanel)

    @property
    def alive(self) -> bool:
        """Whether this tab has (or is about to have) a sidecar."""
        return self.state in ("starting", "running")

    def on_mount(self) -> None:
        from textual.css.query import NoMatches

        try:
            self.query_one(".pull-progress", ProgressBar).display = False
            self.view.display = False
        except NoMatches:
            # Closed (the app quitting, say) before it was ever shown: start nothing.
            self.state = "ended"
            return
        self.start()

    # -- starting --------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="start")
    def start(self) -> None:
        """Starts the session in the sidecar, reporting each step; then reads the shell."""
        from cdebug_tui.engine.models import SessionSpec
        from cdebug_tui.engine.session import start_session
        from cdebug_tui.errors import CdebugError

        # Read without waiting for the UI thread, which is busy building this very tab: the
        # terminal sends its exact size (TerminalView.Resized) as soon as it is laid out.
        try:
            rows, cols = self._terminal_size()
        except Exception:  # noqa: BLE001 - the tab is being built: the view's resize follows
            rows, cols = 24, 80
        spec = SessionSpec(
            target=self.target, image=self.image, rows=rows, cols=cols, profile=self.profile
        )

        def on_step(step: Step) -> None:
            self.post_message(SessionStepTaken(step))

        def on_progress(p: PullProgress) -> None:
            self.post_message(PullProgressed(p))

        def notice(text: str) -> None:
            self.post_message(SessionNoticed(text))

        try:
            session = self._start_prepared(rows, cols, on_step) or start_session(
                self.engine, spec, on_step=on_step, on_progress=on_progress, notice=notice
            )
        except CdebugError as exc:
            self.post_message(SessionFailed(str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - a bug must not take the app down
            self.post_message(SessionFailed(f"{type(exc).__name__}: {exc}"))
            return
        self.session = session
        # Checked before SessionStarted is posted: its handler sets "running" on the UI
        # thread, and a check after the post could read that as "the tab was closed" and
        # close a session that had just started (its sidecar gone, its tab silent). A tab
        # closed after this check ends the session through self.session.
        if self.state != "starting":
            # The tab was closed while the session started: end it at once.
            session.close()
            return
        self.post_message(SessionStarted(session))
        self._read(session)

    def _start_prepared(
        self, rows: int, cols: int, on_step: Callable[[Step], None]
    ) -> DebugSession | None:
        """Gives the prepared sidecar its shell; None when there is none or it has gone."""
        from dataclasses import replace

        from cdebug_tui.errors import CdebugError

        session, self.prepared = self.prepared, None
        if session is None:
            return None
        for step in session.steps:
            on_step(step)
        session.spec = replace(session.spec, rows=rows, cols=cols)
        try:
            session.start_shell()
        except CdebugError:
            session.close()
            return None  # the sidecar went (its target stopped, say): start anew
        on_step(session.steps[-1])
        return session

    def _terminal_size(self) -> tuple[int, int]:
        body = self.query_one(".terminal-column")
        return max(5, body.size.height or 24), max(20, body.size.width or 80)

    def _read(self, session: DebugSession) -> None:
        """Copies the shell's output into the view until it ends, then ends the session."""
        try:
            while True:
                _, data = session.read()
                if not data:
                    break
                recorder = self.recorder
                if recorder is not None:
                    recorder.output(data)
                self.app.call_from_thread(self.view.feed, data)
        except (OSError, RuntimeError):
            pass  # The connection broke, or the app is closing: end the session all the same.
        except Exception as exc:  # noqa: BLE001 - a dead reader would freeze the tab silently
            self.post_message(SessionNoticed(f"the terminal stopped: {type(exc).__name__}: {exc}"))
        code = session.exit_code(wait=5.0)
        session.close()
        self.post_message(SessionEnded(code))

    def on_session_step_taken(self, message: SessionStepTaken) -> None:
        message.stop()
        log = self.query_one(".steps-log", Static)
        step = message.step
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
        self.query_one(StepLog).add_step(step)

    def on_session_noticed(self, message: SessionNoticed) -> None:
        message.stop()
        self.notify(message.text, title="toolkit")

    def on_pull_progressed(self, message: PullProgressed) -> None:
        message.stop()
        p = message.progress
        bar = self.query_one(".pull-progress", ProgressBar)
        bar.display = True
        if p.layer and p.total:
            self._layers[p.layer] = (p.current, p.total)
        total = sum(t for _, t in self._layers.values())
        if total:
            bar.update(total=total, progress=sum(c for c, _ in self._layers.values()))

    def on_session_started(self, message: SessionStarted) -> None:
        message.stop()
        if self.state != "starting":
            return
        session = message.session
        self.state = "running"
        self.query_one(".session-steps").display = False
        view = self.view
        view.display = True
        view.set_transport(session)
        if self.display:
            # A tab in the background leaves the focus where the user is.
            view.focus()
        self._set_header()
        self.processes.start(session)
        self.rootfs.start(session)
        self._app_title()

    def on_session_failed(self, message: SessionFailed) -> None:
        message.stop()
        self.state = "failed"
        self.query_one(".pull-progress", ProgressBar).display = False
        self.query_one(".session-header", Static).update(
            Text.assemble(("✗ cannot debug ", "bold red"), (self.target_name, "bold"), ": ")
            + Text(message.error)
            + Text("  (x closes this tab)", style="dim")
        )
        self.app.notify(message.error, title="session failed", severity="error", timeout=8)
        self.set_title(f"✗ {self.target_name[:20]}")
        self._app_title()

    def on_session_ended(self, message: SessionEnded) -> None:
        message.stop()
        self.state = "ended"
        self._stop_recording()
        self.exit_code = message.exit_code
        self.processes.stop()
        for view in self.query(InternalsView):
            view.stop()
        self.view.set_transport(None)
        # The screen's focus, not has_focus: that follows a Focus event which may be pending.
        if self.screen.focused is self.view:
            # Keys typed into a finished shell would go nowhere: let x, q and the rest work.
            self.query_one(SessionHeaderView).focus()
        self._set_header()
        self.set_title(f"✗ {self.number} {self.target_name[:20]}")
        self._app_title()
        code = "?" if message.exit_code is None else message.exit_code
        why = self.session.ended_reason if self.session is not None else None
        self.app.notify(
            f"{self.target_name}: session ended (exit code {code})" + (f": {why}" if why else ""),
            severity="warning" if why else "information",
        )

    def _app_title(self) -> None:
        refresh = getattr(self.app, "refresh_title", None)
        if callable(refresh):
            refresh()

    def set_title(self, title: str) -> None:
        """Renames the tab."""
        from textual.widgets import TabbedContent

        for tabs in self.ancestors:
            if isinstance(tabs, TabbedContent):
                tabs.get_tab(self).label = Text(title)
                break

    def _set_header(self) -> None:
        session = self.session
        if session is None:
            return
        header = Text()
        header.append(f" {session.target.name} ", style="bold reverse")
        header.append(f" {session.target.short_id}  ", style="dim")
        header.append(f"{session.mode} mode", style="bold magenta")
        header.append(f": {session.mode_reason}", style="")
        header.append(f"  toolkit {self.image}", style="dim")
        if session.config.privileged:
            header.append("  PRIVILEGED sidecar", style="bold red")
        if session.spec.profile != "general":
            header.append(f"  profile {session.spec.profile}", style="bold yellow")
        if session.copy is not None:
            header.append("\n")
            header.append(" COPY ", style="bold reverse yellow")
            header.append(" " + session.copy.banner(), style="yellow")
        if self.recorder is not None:
            header.append("  ● REC", style="bold red")
        if self.state == "ended":
            code = "?" if self.exit_code is None else self.exit_code
            why = f": {session.ended_reason}" if session.ended_reason else ""
            header = Text.assemble(
                (f"session ended (exit code {code}){why}", "bold red"),
                ("  sidecar removed · x closes the tab  ", "dim"),
                header,
            )
        self.query_one(".session-header", Static).update(header)

    @on(TabbedContent.TabActivated, ".side-panels")
    def _side_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        # The internals are read (every 2 s) only once someone looks at them.
        event.stop()
        if event.pane.id == f"side-internals-{self.number}":
            self._mount_internals()

    def _mount_internals(self) -> None:
        if self.state != "running" or self.query(InternalsView):
            return
        pane = self.query_one(f"#side-internals-{self.number}", TabPane)
        pane.query(".internals-placeholder").remove()
        pane.mount(InternalsView(self.session))

    def action_explain(self) -> None:
        """Explains the panel that has the focus, for someone new to containers."""
        from cdebug_tui.ui.screens.explain import ExplainScreen

        focused = self.app.focused
        topic = "terminal"
        for node in focused.ancestors_with_self if focused is not None else ():
            if isinstance(node, ProcessesPanel):
                topic = "processes"
            elif isinstance(node, RootfsPanel):
                topic = "rootfs"
            elif isinstance(node, StepLog):
                topic = "steps"
            elif isinstance(node, InternalsView):
                topic = "internals"
            else:
                continue
            break
        self.app.push_screen(ExplainScreen(topic))

    @on(InternalsView.ExplainRequested)
    def _explain(self, event: InternalsView.ExplainRequested) -> None:
        from cdebug_tui.ui.screens.explain import ExplainScreen

        event.stop()
        self.app.push_screen(ExplainScreen(event.topic))

    # -- ending ----------------------------------------------------------------------------

    def end(self) -> None:
        """Ends the session (blocking: call it from a thread, or at exit)."""
        session = self.session
        self.state = "ended" if self.state != "failed" else self.state
        if session is not None:
            session.close()

    # -- keys ------------------------------------------------------------------------------

    @on(TerminalView.EscapeRequested)
    def _escape(self, event: Any) -> None:
        event.stop()
        side = self.query_one(".side-panels", TabbedContent)
        target: Widget | None = None
        if side.display and side.active_pane is not None:
            if side.active_pane.id == f"side-target-{self.number}":
                target = self.processes
            elif views := side.active_pane.query(InternalsView):
                target = views.first()
            else:
                target = next((w for w in side.active_pane.query("*") if w.focusable), None)
        (target or self.query_one(SessionHeaderView)).focus()

    @on(TerminalView.Resized)
    def _resized(self, event: Any) -> None:
        event.stop()
        if self.recorder is not None:
            self.recorder.resize(event.rows, event.cols)

    def action_toggle_recording(self) -> None:
        """Starts recording the session to an asciicast v2 file in the working directory, with
        the steps taken as markers; pressed again (or when the session ends), stops."""
        if self.recorder is not None:
            self._stop_recording()
            return
        if self.session is None or self.state != "running":
            self.notify("only a running session can be recorded", severity="warning")
            return
        import time
        from pathlib import Path

        from cdebug_tui.engine.recording import CastRecorder

        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = Path.cwd() / f"cdebug-{self.target_name}-{stamp}.cast"
        self.recorder = CastRecorder(
            str(path), self.view.rows, self.view.cols, self.target_name, self.session.steps
        )
        self._set_header()
        self.notify(f"recording to {path} (R stops)", title="recording")

    def _stop_recording(self) -> None:
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            recorder.close()
            self._set_header()
            self.notify(f"saved {recorder.path}: asciinema play {recorder.path}", title="recording")

    @on(RootfsPanel.PreviewRequested)
    def _preview(self, event: RootfsPanel.PreviewRequested) -> None:
        event.stop()
        self.rootfs.preview(event.path)

    def on_file_previewed(self, message: FilePreviewed) -> None:
        message.stop()
        from cdebug_tui.ui.screens.preview import FilePreviewScreen

        self.app.push_screen(FilePreviewScreen(message.path, message.data))

    def action_focus_terminal(self) -> None:
        if self.state == "running":
            self.view.focus()

    def _show_target_tab(self) -> None:
        self.query_one(".side-panels", TabbedContent).active = f"side-target-{self.number}"

    def action_focus_processes(self) -> None:
        self._show_target_tab()
        self.processes.focus()

    def action_focus_files(self) -> None:
        self._show_target_tab()
        self.rootfs.focus()

    def action_toggle_side(self) -> None:
        # Classes rather than `display`, so that the narrow-screen default still applies.
        shown = self.query_one(".side-panels").display
        self.set_class(shown, "-hide-side")
        self.set_class(not shown, "-show-side")

    def action_close_session(self) -> None:
        self.post_message(SessionPane.CloseRequested(self))

    class CloseRequested(Message):
        """The user asked to close this tab (and end its session)."""

        def __init__(self, pane: SessionPane) -> None:
            super().__init__()
            self.pane = pane
