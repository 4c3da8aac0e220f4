"""Provides LogsScreen: a container's log at full size, opened with `l` in the list."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from cdebug_tui.ui.widgets.footer import AppFooter
from cdebug_tui.ui.widgets.log_view import LogsPanel


class LogsScreen(Screen[None]):
    """One container's log; Esc goes back to the list (and stops reading it)."""

    # Focused once it exists: the panel composes its children after the screen mounts.
    AUTO_FOCUS = "LogView"
    BINDINGS = [Binding("e", "explain", "What is this?")]

    def __init__(self, engine: Any, container_id: str, name: str) -> None:
        super().__init__()
        self.engine = engine
        self.container_id = container_id
        self.container_name = name

    def compose(self) -> ComposeResult:
        yield LogsPanel(self.engine, self.container_id, self.container_name, id="logs")
        yield AppFooter()

    @property
    def panel(self) -> LogsPanel:
        return self.query_one(LogsPanel)

    def action_explain(self) -> None:
        from cdebug_tui.ui.screens.explain import ExplainScreen

        self.app.push_screen(ExplainScreen("logs"))

    def leave_logs(self) -> None:
        """Esc in the log: back to the list, at once (the screen goes off the stack now)."""
        if self.is_current:
            self.dismiss(None)
