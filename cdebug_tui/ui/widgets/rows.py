"""Provides RowTable: a DataTable read down its rows, with the keys of a list."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable


class RowTable(DataTable[Text]):
    """A table of rows: Home/End and g/G go to the first and last row, j/k move down and up;
    Home also scrolls back to the first column (→ scrolls a narrow table right).

    DataTable's own Home and End move along the columns, which a row cursor does not use:
    Home did nothing, and Enter then opened the row the cursor was still on.
    """

    BINDINGS = [
        Binding("home", "scroll_top", "Top", show=False),
        Binding("end", "scroll_bottom", "Bottom", show=False),
        Binding("g", "scroll_top", "Top", show=False),
        Binding("G", "scroll_bottom", "Bottom", show=False),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def action_scroll_top(self) -> None:
        super().action_scroll_top()
        self.scroll_to(x=0, animate=False)
