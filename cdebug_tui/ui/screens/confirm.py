"""Provides ConfirmScreen: a yes/no question asked once."""

from __future__ import annotations

from textual import events
from textual._context import active_app
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from cdebug_tui.terminal.widget import key_again


class ConfirmScreen(ModalScreen[bool]):
    """Asks a question; y or Enter on Yes answers True, n, Esc or any other letter False;
    keys typed in the burst that asked it, before it showed, answer nothing."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.no = no
        self._answered = False
        #: Keys queued behind the answer, replayed once the question has gone.
        self._held: list[events.Key] = []
        #: The last read of the user's terminal when the question was asked (made, as the
        #: key that asks it is handled): its keys were typed before it showed (see on_key).
        #: Not at its mount, by when a key typed after it may have been read.
        self._asked_after: int | None = getattr(
            getattr(active_app.get(None), "input_router", None), "reads", None
        )

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self.question, id="confirm-question")
            with Horizontal(id="confirm-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="yes")
                yield Button(f"{self.no} (n)", variant="primary", id="no")

    def describe_binding(self, binding: Binding) -> str | None:
        """The footer names y and n as the buttons do ("y Quit", not "y Yes")."""
        return {"answer(True)": self.yes, "answer(False)": self.no}.get(binding.action)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_key(self, event: events.Key) -> None:
        read = getattr(event, "read_id", None)
        if read is not None and self._asked_after is not None and read <= self._asked_after:
            # Typed in the burst that asked it, before it showed (`qwerty` into the panels:
            # its q asked to quit, its y, queued before the question was drawn, said yes):
            # no answer. The question waits for one.
            event.stop()
            event.prevent_default()
            return
        if self._answered:
            # The rest of a burst that answered (Textual queues a read's keys here before any
            # runs): never a second answer, which closed the screen under this one too, or
            # over the main screen ended the app (ScreenStackError); they act where the
            # answer led (`Escape q`: the question goes, q quits).
            event.stop()
            event.prevent_default()
            self._held.append(key_again(event))
            return
        # Answered here, in the order typed: a binding runs once its key has bubbled up to
        # the app, after the keys queued behind it (`Escape q`: the q came first).
        # A letter that is no answer is a no: a word meant for the shell, typed into the
        # panels ("qwerty"), opened the quit question with its q and answered it with its y.
        if event.key == "escape" or (event.is_printable and event.character != " "):
            event.stop()
            event.prevent_default()
            self._answer(event.character == "y")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self._answer(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        """Nothing: y, n and Esc answer in on_key, in the order typed. The bindings name
        them in the footer; one that runs reached the app from where it was typed before
        the question showed (a word typed into the panels: its y, queued there, ran the
        question's binding once it had bubbled up to the app), which answers nothing."""

    def _answer(self, answer: bool) -> None:
        if not self._answered:
            self._answered = True
            self.dismiss(answer)
            self.app.call_after_refresh(self._replay)

    def _replay(self, tries: int = 20) -> None:
        """The keys held behind the answer, to the app once this screen has gone (dismiss
        pops it a moment later), as if typed now."""
        if self.app.screen is self and tries:
            self.app.call_after_refresh(self._replay, tries - 1)
            return
        held, self._held = self._held, []
        for key in held:
            self.app.post_message(key)
