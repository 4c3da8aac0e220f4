"""Provides RecordScreen: where a session's recording goes, asked before it starts."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from cdebug_tui.ui.widgets.burst import OrderedInput

__all__ = ["RecordScreen"]


class RecordScreen(ModalScreen["str | None"]):
    """Asks for the asciicast file's path (the last directory used, else the working one);
    Enter starts the recording there, Esc cancels. Returns the path, or None.

    Args:
        default: The path offered.
    """

    DEFAULT_CSS = """
    RecordScreen {
        align: center middle;
        background: $background 60%;
    }
    RecordScreen > Vertical {
        width: 90%;
        max-width: 100;
        height: auto;
        border: thick $primary;
        border-title-color: $primary;
        background: $surface;
        padding: 0 1;
    }
    RecordScreen #record-error {
        height: auto;
        color: $error;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, default: str) -> None:
        super().__init__()
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Record this session"
            yield Static(
                Text(
                    "An asciicast v2 file (asciinema play FILE replays it), starting with the "
                    "screen as it is now, with the steps taken as markers. R again stops.",
                    style="dim",
                )
            )
            yield OrderedInput(value=self.default, id="record-path")
            yield Static("", id="record-error")
            yield Static(Text("Enter records there · Esc cancels", style="dim"))

    def on_mount(self) -> None:
        box = self.query_one("#record-path", Input)
        box.focus()
        box.cursor_position = len(box.value)

    @on(Input.Submitted, "#record-path")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        path = Path(event.value.strip()).expanduser()
        if not event.value.strip():
            problem = "a file name, please"
        elif path.is_dir():
            problem = f"{path} is a directory: add a file name"
        elif not path.parent.is_dir():
            problem = f"no such directory: {path.parent}"
        elif path.exists():
            problem = f"{path} exists: choose another name"
        else:
            self.dismiss(str(path.resolve()))
            return
        self.query_one("#record-error", Static).update(problem)

    def action_cancel(self) -> None:
        self.dismiss(None)
