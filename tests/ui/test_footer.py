"""Tests the footer as a person reads and clicks it: the focused widget's keys, help at the end."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static

from cdebug_tui.ui.widgets.footer import AppFooter
from tests.ui.helpers import run, wait_for


class _Box(Static, can_focus=True):
    BINDINGS = [
        Binding("s", "mark('stats')", "Stats"),
        Binding("l", "mark('logs')", "Logs"),
        Binding("z", "mark('hidden')", "Hidden", show=False),
    ]

    def action_mark(self, what: str) -> None:
        self.app.marks.append(what)  # type: ignore[attr-defined]


class _Dialog(ModalScreen[None]):
    BINDINGS = [Binding("y", "dismiss", "Yes"), Binding("escape", "app.pop_screen", "Cancel")]

    def compose(self) -> ComposeResult:
        yield Static("sure?")


class _FooterApp(App[None]):
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("ctrl+g", "mark('too-long')", "A key with a description far too long to fit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[str] = []

    def compose(self) -> ComposeResult:
        yield _Box("one", id="one")
        yield Static("two", id="two")
        yield AppFooter()

    def action_help(self) -> None:
        self.marks.append("help")


async def _focused_one(pilot: Any, app: _FooterApp) -> AppFooter:
    """The footer, once it shows the keys of the focused #one."""
    footer = app.query_one(AppFooter)
    app.query_one("#one").focus()
    await wait_for(pilot, lambda: " s Stats " in footer.text(), "the focused keys")
    return footer


def test_the_footer_shows_the_focused_keys_help_last_and_runs_a_clicked_key() -> None:
    """The focused widget's keys come first, then the app's; `? Help` ends the line at every
    width; a key that does not fit is left out whole, never cut; hidden keys are not shown;
    a click on a key runs it."""

    async def body() -> None:
        app = _FooterApp()
        async with app.run_test(size=(120, 10)) as pilot:
            footer = await _focused_one(pilot, app)
            line = footer.text()
            assert line.index("Stats") < line.index("Logs") < line.index("Quit")
            assert "Hidden" not in line
            assert line.rstrip().endswith("? Help") and len(line) == 120
            # Narrow: the long key goes whole, help stays at the end.
            await pilot.resize_terminal(60, 10)
            await wait_for(pilot, lambda: len(footer.text()) == 60, "the narrow footer")
            line = footer.text()
            assert "A key" not in line and "far too long" not in line
            assert line.rstrip().endswith("? Help")
            # A click on a key runs it: on Logs, then on Help.
            await pilot.click(AppFooter, offset=(line.index("Logs"), 0))
            await pilot.click(AppFooter, offset=(line.rindex("Help"), 0))
            await wait_for(pilot, lambda: app.marks == ["logs", "help"], "the clicked keys")
            # The focus moves on: the keys follow it.
            app.query_one("#one").blur()
            await wait_for(pilot, lambda: "Stats" not in footer.text(), "the app's keys only")

    run(body())


def test_the_footer_shows_a_dialogs_keys_while_it_is_up() -> None:
    """Under a dialog the footer shows the dialog's keys, not those of the screen it covers
    (which do nothing there); closed, the screen's keys come back."""

    async def body() -> None:
        app = _FooterApp()
        async with app.run_test(size=(100, 10)) as pilot:
            footer = await _focused_one(pilot, app)
            app.push_screen(_Dialog())
            await wait_for(
                pilot,
                lambda: "Yes" in (t := footer.text()) and "Cancel" in t and "Stats" not in t,
                "the dialog's keys",
                detail=footer.text,
            )
            await pilot.press("y")
            await wait_for(pilot, lambda: " s Stats " in footer.text(), "the screen's keys again")

    run(body())


def test_a_confirmations_keys_are_named_as_its_buttons() -> None:
    """A question whose buttons say Quit (y) and Stay (n) has a footer that says the same."""
    from cdebug_tui.ui.screens.confirm import ConfirmScreen

    async def body() -> None:
        app = _FooterApp()
        async with app.run_test(size=(100, 10)) as pilot:
            footer = await _focused_one(pilot, app)
            app.push_screen(ConfirmScreen("2 sessions are open. Quit?", "Quit", "Stay"))
            await wait_for(
                pilot,
                lambda: " y Quit " in (t := footer.text()) and " n Stay " in t,
                "the buttons' words",
                detail=footer.text,
            )
            assert "Yes" not in footer.text()

    run(body())
