"""Provides AppFooter: the footer, with `? Help` kept at its right end at every width."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

__all__ = ["AppFooter"]


class AppFooter(Footer):
    """Textual's footer, its help key docked right where the command palette's would be.

    At 80 columns the footer ended at `^PgDn N`: the keys it had no room for were cut, help
    among them, last in line as an app binding. Docked right, help is shown at every width.
    """

    HELP_ACTION = "help"

    def compose(self) -> ComposeResult:
        held: FooterKey | None = None
        for widget in super().compose():
            if isinstance(widget, FooterKey) and widget.action == self.HELP_ACTION:
                held = widget
                continue
            yield widget
        if held is not None:
            # The class that docks the command palette's key right, with its separator.
            held.add_class("-command-palette")
            yield held
