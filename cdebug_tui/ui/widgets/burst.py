"""Provides forward_burst and OrderedInput: the keys of a burst act where and as they were typed."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Input

from cdebug_tui.terminal.widget import key_again


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
    focused.post_message(key_again(event))
    return True


def _own_keys() -> dict[str, str]:
    """Input's own editing keys and their actions (not those it inherits)."""
    keys: dict[str, str] = {}
    for binding in Input.BINDINGS:
        if isinstance(binding, Binding):
            for key in binding.key.split(","):
                keys.setdefault(key.strip(), binding.action)
    return keys


class OrderedInput(Input):
    """An Input whose editing keys act in the order they were typed.

    Textual runs a binding once its key has bubbled up to the app, after the keys queued
    behind it were typed in: `ctrl+u tri` in one burst (tmux, ssh) typed `tri`, then cleared
    the field; `ctrl+w zz` deleted the `zz`; `Left X` put the X at the end.
    """

    EDIT_KEYS = _own_keys()

    async def _on_key(self, event: events.Key) -> None:
        action = self.EDIT_KEYS.get(event.key)
        if action is None:
            await super()._on_key(event)
            return
        event.stop()
        event.prevent_default()
        await self.run_action(action)
