"""Provides forward_burst: the keys of a burst queued on a widget after its key moved the focus."""

from __future__ import annotations

from textual import events
from textual.widget import Widget


def forward_burst(widget: Widget, event: events.Key) -> bool:
    """Forwards a key queued on `widget` to the widget that has the focus now.

    Textual queues a burst's keys (a fast typist, ssh, a paste) on the focused widget before
    any of them runs; when one of them moved the focus (`/` opening a search box), the rest
    belong to the new focus. Returns whether the key was forwarded.
    """
    focused = widget.screen.focused
    if focused is None or focused is widget:
        return False
    event.stop()
    event.prevent_default()
    focused.post_message(events.Key(event.key, event.character))
    return True
