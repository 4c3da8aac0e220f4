"""Tests hidden terminals: a budget per frame, backpressure, catching up, activity and titles."""

from __future__ import annotations

import asyncio
import base64

from textual.app import App, ComposeResult

from cdebug_tui.terminal.widget import BackgroundFeeder, TerminalView


class _Views(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[object] = []

    def compose(self) -> ComposeResult:
        yield TerminalView(id="front")
        yield TerminalView(id="back", scrollback=1000)

    def on_terminal_view_activity(self, event: TerminalView.Activity) -> None:
        self.events.append(("activity", event.bell))

    def on_terminal_view_title_changed(self, event: TerminalView.TitleChanged) -> None:
        self.events.append(("title", event.title))

    def on_terminal_view_clipboard_written(self, event: TerminalView.ClipboardWritten) -> None:
        self.events.append(("clipboard", event.text))


def test_a_hidden_flood_is_held_back_then_caught_up_whole() -> None:
    """A hidden view parses within the budget and asks its reader to wait (a future), so its
    memory is its backlog limit; shown, it catches up: every line arrives, none dropped."""

    async def body() -> None:
        app = _Views()
        async with app.run_test(size=(80, 30)) as pilot:
            back = app.query_one("#back", TerminalView)
            back.set_background(True)
            lines = b"".join(b"line %06d\r\n" % i for i in range(20_000))
            waited = 0
            for start in range(0, len(lines), 65536):
                future = back.feed(lines[start : start + 65536])
                if future is not None:
                    waited += 1
                    assert len(back._backlog) <= back.HIGH_WATER + 65536
                    await asyncio.wait_for(future, 30)
            assert waited > 0  # the reader was held back
            back.set_background(False)
            for _ in range(2000):
                if not back._backlog:
                    break
                await pilot.pause(0.01)
            history = back.terminal.history_text()
            shown = [line for line in back.terminal.display() if line.strip()]
            assert (history + shown)[-1].strip() == "line 019999"
            assert len(history) == 1000  # the scrollback cap, not the backlog

    asyncio.run(body())


def test_the_budget_per_frame_bounds_hidden_work() -> None:
    assert BackgroundFeeder.BUDGET <= BackgroundFeeder.FRAME / 4


def test_activity_bell_title_and_clipboard_are_reported() -> None:
    """Output in a hidden view is reported once, a bell each time; OSC 0/2 titles and OSC 52
    clipboard writes (even split across reads) are announced."""

    async def body() -> None:
        app = _Views()
        async with app.run_test(size=(80, 30)) as pilot:
            back = app.query_one("#back", TerminalView)
            back.set_background(True)
            back.feed(b"one\r\n")
            back.feed(b"two\r\n")
            back.feed(b"\x07")
            back.feed(b"\x1b]2;vim main.c\x07")
            payload = base64.b64encode(b"copied text").decode().encode()
            back.feed(b"\x1b]52;c;" + payload[:5])
            back.feed(payload[5:] + b"\x1b\\")
            for _ in range(500):
                if ("clipboard", "copied text") in app.events and (
                    "title",
                    "vim main.c",
                ) in app.events:
                    break
                await pilot.pause(0.01)
            assert [e for e in app.events if e[0] == "activity"] == [("activity", True)]
            # More output: no new mark until the view has been shown.
            back.feed(b"three\r\n")
            await pilot.pause(0.2)
            assert len([e for e in app.events if e[0] == "activity"]) == 1
            back.set_background(False)
            back.set_background(True)
            back.feed(b"four\r\n")
            for _ in range(500):
                if ("activity", False) in app.events:
                    break
                await pilot.pause(0.01)
            assert ("activity", False) in app.events
            assert ("title", "vim main.c") in app.events
            assert ("clipboard", "copied text") in app.events

    asyncio.run(body())


def test_five_background_floods_do_not_starve_the_front_terminal() -> None:
    """Five hidden terminals running ``yes`` in real PTYs beside one running ``cat``: keys
    typed in the front one echo on its emulated screen promptly (generous bounds for a shared
    machine: the goals and figures are benchmarks/terminal.py's), and the hidden ones hold
    at most their backlog limit (the rest waits in the kernel)."""
    from benchmarks.terminal import echo_beside_floods, percentile

    values, largest = asyncio.run(echo_beside_floods(5, 30))
    assert percentile(values, 50) < 0.5, sorted(values)
    assert max(values) < 3.0, sorted(values)
    assert largest <= TerminalView.HIGH_WATER + 65536
