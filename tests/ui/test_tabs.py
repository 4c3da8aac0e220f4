"""Tests SteadyTabs: a switch of tabs holds when the focus had been in the tab left."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Input, TabPane

from cdebug_tui.ui.widgets.tabs import SteadyTabs
from tests.ui.helpers import run


class _Two(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.refocused = 0

    def compose(self) -> ComposeResult:
        with SteadyTabs(id="tabs", refocus=self._refocus):
            with TabPane("List", id="list"):
                yield Input(id="filter")
                yield Input(id="table")
            with TabPane("Session", id="session"):
                yield Input(id="terminal", disabled=True)

    def _refocus(self) -> None:
        self.refocused += 1


def test_a_switch_holds_when_the_focus_was_in_the_tab_left() -> None:
    """Stock TabbedContent moves the focus to the hidden sibling and switches back; here the
    new tab stays shown, no hidden widget keeps the keys, and the app is asked to refocus."""

    async def body() -> None:
        app = _Two()
        async with app.run_test() as pilot:
            tabs = app.query_one(SteadyTabs)
            app.query_one("#table", Input).focus()
            await pilot.pause()
            tabs.active = "session"
            for _ in range(5):
                await pilot.pause()
            assert tabs.active == "session"
            assert app.focused is None
            assert app.refocused >= 1
            await pilot.press("x")
            assert app.query_one("#filter", Input).value == ""

    run(body())


def test_a_focus_in_the_active_tab_is_left_alone() -> None:
    """Focusing inside the tab that shows changes nothing and asks for no refocus."""

    async def body() -> None:
        app = _Two()
        async with app.run_test() as pilot:
            app.query_one("#filter", Input).focus()
            await pilot.pause()
            await pilot.press("a")
            assert app.query_one(SteadyTabs).active == "list"
            assert app.query_one("#filter", Input).value == "a"
            assert app.refocused == 0

    run(body())
