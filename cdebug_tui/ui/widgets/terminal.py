"""Provides TerminalView for the session tabs, and screen_lines to read what it shows."""

from __future__ import annotations

from cdebug_tui.terminal.widget import TerminalView

__all__ = ["TerminalView", "screen_lines"]


def screen_lines(view: TerminalView) -> list[str]:
    """The text of the emulated screen, one string per row (for tests and screenshots)."""
    return [str(line) for line in view.terminal.display()]
