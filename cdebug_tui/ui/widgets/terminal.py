"""Provides TerminalView: the real one from branch `terminal` when present, else a stand-in."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cdebug_tui.ui.widgets.temp_terminal import TerminalView
else:
    try:
        TerminalView = importlib.import_module("cdebug_tui.terminal.widget").TerminalView
    except ImportError:  # The terminal branch has not been merged yet.
        from cdebug_tui.ui.widgets.temp_terminal import TerminalView

__all__ = ["TerminalView", "screen_lines"]


def screen_lines(view: object) -> list[str]:
    """The text of the emulated screen, one string per row (for tests and screenshots)."""
    terminal = getattr(view, "terminal", None)
    display = getattr(terminal, "display", None)
    if display is None:
        display = getattr(view, "display_lines", None)
    if callable(display):
        display = display()
    return [str(line) for line in display or ()]
