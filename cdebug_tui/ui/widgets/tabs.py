"""Provides SteadyTabs: tabbed content that stays on the tab it was switched to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import TabbedContent, TabPane

__all__ = ["SteadyTabs"]


class SteadyTabs(TabbedContent):
    """TabbedContent that a focus landing in a hidden tab does not switch back.

    When a tab is hidden, Textual moves the focus of the widget that had it to a sibling,
    which is hidden with it (the list's filter, beside the list), and stock TabbedContent
    then shows that sibling's tab again: a new session's tab flashed and the list came back.
    A session starting in a background tab, focusing its terminal, would also pull its tab
    forward while the user works in another. Here a focus in a tab that is not the active
    one is taken back, and `refocus` puts it where the active tab wants it.

    Args:
        refocus: Called (after a refresh) when a stray focus was taken back.
    """

    def __init__(self, *args: Any, refocus: Callable[[], None] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._refocus = refocus

    def on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        if event.tab_pane.id == self.active:
            return  # TabbedContent's own handling: nothing to switch
        event.prevent_default()
        event.stop()
        focused = self.screen.focused
        if focused is not None and event.tab_pane in focused.ancestors:
            self.screen.set_focus(None)
        if self._refocus is not None:
            self.call_after_refresh(self._refocus)
