"""Tests the app's text fields in bursts: editing keys act in the order they were typed."""

from __future__ import annotations

from textual import events
from textual.app import App, ComposeResult

from cdebug_tui.ui.widgets.burst import OrderedInput
from tests.ui.helpers import run, wait_for


class _FieldApp(App[None]):
    def compose(self) -> ComposeResult:
        yield OrderedInput(value="hello world")


def test_editing_keys_in_a_burst_act_in_order() -> None:
    """`ctrl+w zz`, `ctrl+u tri`, `Left Left X` and `Home >` each in one burst (tmux, ssh):
    the keys after an editing key were typed in before it acted, so ctrl+w deleted `zz` and
    ctrl+u cleared `tri` (the filter and the recording's file name lost what was typed)."""

    async def body() -> None:
        app = _FieldApp()
        async with app.run_test() as pilot:
            field = app.query_one(OrderedInput)
            field.focus()
            field.cursor_position = len(field.value)
            await pilot.pause()

            async def burst(*keys: str, want: str) -> None:
                for key in keys:
                    app.post_message(events.Key(key, key if len(key) == 1 else None))
                await wait_for(pilot, lambda: field.value == want, want, detail=lambda: field.value)

            await burst("ctrl+w", "z", "z", want="hello zz")
            await burst("ctrl+u", "t", "r", "i", want="tri")
            await burst("left", "left", "X", want="tXri")
            await burst("home", ">", want=">tXri")

    run(body())
