"""Provides StepLog: every step cdebug-tui took for a session, as commands a learner could type."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import ListItem, ListView, Static

from cdebug_tui.engine.models import Step
from cdebug_tui.engine.sidecar import SUPERVISOR_SCRIPT, scripts_hint

if TYPE_CHECKING:
    from cdebug_tui.engine.session import DebugSession

__all__ = ["StepLog", "format_ms"]

_LEDE = (
    "Every step cdebug-tui took for this session, in order, written as the commands you could "
    "type to do it by hand. Enter, c or a click copies the selected command."
)


def format_ms(seconds: float) -> str:
    """A duration in milliseconds, e.g. `0.4 ms`, `86 ms`, `1,204 ms`."""
    ms = seconds * 1000
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:,.0f} ms"


def _command(text: str) -> Content:
    """A step's command, shell comments muted."""
    parts: list[str | tuple[str, str]] = []
    for i, line in enumerate(text.splitlines() or [""]):
        if i:
            parts.append("\n")
        parts.append((line, "$text-muted italic") if line.startswith("#") else (line, "$accent"))
    return Content.assemble(*parts)


class StepItem(ListItem):
    """One step: its number, title and timings, its command, what came of it."""

    def __init__(self, index: int, step: Step, origin: float) -> None:
        super().__init__()
        self.index = index
        self.step = step
        self.origin = origin

    def compose(self) -> ComposeResult:
        step = self.step
        number = Content.styled(f"{self.index:>2}. ", "$text-muted")
        title = Content.styled(step.title, "bold")
        time = Content.assemble(
            (f"at +{format_ms(step.started - self.origin)}, took ", "$text-muted"),
            (format_ms(step.duration), "bold"),
        )
        #: Columns the number, title and time need on one line (2 between the last two).
        self._head_width = number.cell_length + title.cell_length + 2 + time.cell_length
        with Horizontal(classes="step-head"):
            # The number in a column of its own: a title that wraps goes on under itself.
            with Horizontal(classes="step-name"):
                yield Static(number, classes="step-number")
                yield Static(title, classes="step-title")
            yield Static(time, classes="step-time")
        yield Static(_command(step.command), classes="step-command")
        if step.detail:
            yield Static(Content.styled(f"→ {step.detail}", "$text-muted"), classes="step-detail")
        if self.has_script:
            name = step.command.split("--name ", 1)[-1].split(" ", 1)[0]
            yield Static(
                Content.assemble(
                    ("→ supervisor.sh, the sidecar's script: ", "$text-muted"),
                    ("o", "bold"),
                    (" shows it here; while the session runs, ", "$text-muted"),
                    (scripts_hint(name), "$accent"),
                    (" saves it, and reaper.sh, the reapers' script", "$text-muted"),
                ),
                classes="step-detail",
            )
            script = Static(_command(SUPERVISOR_SCRIPT.rstrip()), classes="step-script")
            script.display = False
            yield script

    def on_resize(self) -> None:
        # Too narrow for both on a line (side panels at 80 columns): the time goes under the
        # title, which had wrapped a word per line beside it.
        self.set_class(self.content_size.width < self._head_width, "-stacked")

    @property
    def has_script(self) -> bool:
        """Whether the step's command reads the supervisor's script from supervisor.sh."""
        return "supervisor.sh" in self.step.command

    def toggle_script(self) -> bool:
        """Shows or hides the supervisor's script under the step; returns whether it shows."""
        scripts = self.query(".step-script")
        if not scripts:
            return False
        script = scripts.first()
        script.display = not script.display
        return bool(script.display)


class StepLog(Widget):
    """The steps of a session, in order, with timings; the selected step's command copies.

    Args:
        steps: The steps to show at first.
        session: A session whose steps to follow: steps it adds later (the shell starts after
            the sidecar) appear within half a second. Reading its step list never waits on
            the engine.
        name: The widget's name.
        id: The widget's id.
        classes: The widget's classes.
    """

    DEFAULT_CSS = """
    StepLog {
        height: 1fr;
        width: 1fr;
    }
    StepLog > .step-lede {
        color: $text-muted;
        text-style: italic;
        padding: 0 1;
        height: auto;
    }
    StepLog > .step-total {
        color: $text-muted;
        padding: 0 1;
        height: auto;
    }
    StepLog > ListView {
        height: 1fr;
        background: transparent;
    }
    StepLog StepItem {
        padding: 0 1;
        margin-bottom: 1;
        height: auto;
        background: transparent;
    }
    /* A quiet highlight: the commands keep their colour and stay readable on it. */
    StepLog ListView > StepItem.-highlight, StepLog ListView:focus > StepItem.-highlight {
        background: $primary 20%;
        color: $text;
        text-style: none;
        border-left: outer $primary;
    }
    StepLog StepItem {
        border-left: outer transparent;
    }
    /* The title wraps in what the time leaves it: the two never run into each other. */
    StepLog StepItem .step-head {
        height: auto;
    }
    StepLog StepItem .step-name {
        width: 1fr;
        height: auto;
    }
    StepLog StepItem .step-number {
        width: 4;
        height: 1;
    }
    StepLog StepItem .step-title {
        width: 1fr;
        height: auto;
    }
    StepLog StepItem .step-time {
        width: auto;
        height: 1;
        margin-left: 2;
    }
    StepLog StepItem.-stacked .step-head {
        layout: vertical;
    }
    StepLog StepItem.-stacked .step-name {
        width: 100%;
    }
    StepLog StepItem.-stacked .step-time {
        margin-left: 4;
    }
    StepLog StepItem .step-script {
        padding-left: 4;
        height: auto;
        border-left: solid $primary 50%;
    }
    StepLog StepItem .step-command {
        padding-left: 4;
        height: auto;
    }
    StepLog StepItem .step-detail {
        padding-left: 4;
        height: auto;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "Copy command"),
        Binding("y", "copy", "Copy command", show=False),
        Binding("o", "toggle_script", "Script"),
    ]

    class CommandCopied(Message):
        """A step's command was copied to the clipboard."""

        def __init__(self, step: Step) -> None:
            super().__init__()
            self.step = step

        @property
        def command(self) -> str:
            return self.step.command

    def __init__(
        self,
        steps: Sequence[Step] = (),
        *,
        session: DebugSession | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.session = session
        self._steps: list[Step] = list(session.steps if session is not None else steps)

    def compose(self) -> ComposeResult:
        yield Static(_LEDE, classes="step-lede")
        yield ListView(*self._items(self._steps, 0))
        yield Static("", classes="step-total")

    def on_mount(self) -> None:
        if not self.children:
            # Removed while it was being mounted (its tab closed as its panels were built):
            # Textual composes nothing for a widget on its way out, and mounts it all the same.
            return
        self._show_total()
        if self.session is not None:
            # The session's list only grows, from the engine's thread; reading it is cheap.
            self.set_interval(0.5, self._follow)

    @property
    def steps(self) -> tuple[Step, ...]:
        """The steps shown, in order."""
        return tuple(self._steps)

    @property
    def selected(self) -> Step | None:
        """The highlighted step, None when there is none."""
        item = self.query_one(ListView).highlighted_child
        return item.step if isinstance(item, StepItem) else None

    def set_steps(self, steps: Sequence[Step]) -> None:
        """Shows these steps instead of the ones shown."""
        self._steps = []
        self.query_one(ListView).clear()
        for step in steps:
            self.add_step(step)

    def add_step(self, step: Step) -> None:
        """Appends a step (for an `on_step` callback, called on the UI thread)."""
        origin = self._steps[0].started if self._steps else step.started
        self._steps.append(step)
        self.query_one(ListView).append(StepItem(len(self._steps), step, origin))
        self._show_total()

    def copy_selected(self) -> str | None:
        """Copies the highlighted step's command to the clipboard.

        Returns:
            The command copied, None when no step is highlighted.
        """
        step = self.selected
        if step is None:
            return None
        self.app.copy_to_clipboard(step.command)
        first = step.command.splitlines()[0] if step.command else ""
        self.notify(first if len(first) <= 60 else first[:59] + "…", title="Copied", timeout=3)
        self.post_message(self.CommandCopied(step))
        return step.command

    def action_copy(self) -> None:
        self.copy_selected()

    def action_toggle_script(self) -> None:
        """Shows or hides the sidecar's script under the step that has it, and goes there."""
        view = self.query_one(ListView)
        items = [item for item in self.query(StepItem) if item.has_script]
        if not items:
            self.notify("no step has a script to show", timeout=3)
            return
        item = items[0]
        if item.toggle_script():
            view.index = list(self.query(StepItem)).index(item)
            item.scroll_visible()

    @on(ListView.Selected)
    def _selected(self, event: ListView.Selected) -> None:
        event.stop()
        self.copy_selected()

    def _items(self, steps: Sequence[Step], start: int) -> list[StepItem]:
        origin = self._steps[0].started if self._steps else 0.0
        return [StepItem(start + i + 1, step, origin) for i, step in enumerate(steps)]

    def _follow(self) -> None:
        if self.session is None:
            return
        for step in self.session.steps[len(self._steps) :]:
            self.add_step(step)

    def _show_total(self) -> None:
        total = self.query_one(".step-total", Static)
        if not self._steps:
            total.update("No steps yet.")
            return
        first, last = self._steps[0], self._steps[-1]
        total.update(
            f"{len(self._steps)} steps, {format_ms(last.started + last.duration - first.started)}"
            " from the first to the end of the last"
        )
