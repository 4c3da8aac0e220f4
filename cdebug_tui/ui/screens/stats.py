"""Provides StatsScreen: one container's stats at full size, from the list (S)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from cdebug_tui.ui.widgets.footer import AppFooter
from cdebug_tui.ui.widgets.stats_view import StatsView


class StatsScreen(Screen[None]):
    """CPU, memory, network and block I/O of a container over the last minutes; Esc goes back."""

    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("q", "close", "Back", show=False),
        Binding("e", "explain", "What is this?"),
    ]

    def action_explain(self) -> None:
        from cdebug_tui.ui.screens.explain import ExplainScreen

        self.app.push_screen(ExplainScreen("stats"))

    def __init__(self, engine: str, container_id: str, name: str) -> None:
        super().__init__()
        self.engine_name = engine
        self.container_id = container_id
        self.container_name = name

    def compose(self) -> ComposeResult:
        yield Static(
            Text.assemble(
                (" stats ", "bold reverse"),
                (f"  {self.container_name}", "bold"),
                (f"  {self.container_id[:12]} on {self.engine_name}", "dim"),
            ),
            id="stats-title",
        )
        yield StatsView(self.engine_name, self.container_id, self.container_name, id="stats-view")
        yield AppFooter()

    def on_mount(self) -> None:
        self.query_one(StatsView).focus()

    def container_removed(self, engine: str, container_id: str) -> None:
        """The app heard that a container was removed; this screen may be showing it."""
        if (engine, container_id) == (self.engine_name, self.container_id):
            self.query_one(StatsView).container_removed()
            self.notify(f"{self.container_name} was removed", severity="warning")

    def action_close(self) -> None:
        self.dismiss(None)
