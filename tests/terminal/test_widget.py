"""Provides pilot tests of TerminalView: keys, resize, scrollback, mouse, rendering."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual import events
from textual.app import App, ComposeResult

from cdebug_tui.terminal.localpty import LocalPty
from cdebug_tui.terminal.widget import TerminalView
from tests.waiting import wait_for_app

from .conftest import load_stream


class Recorder:
    """A transport that remembers what it was sent."""

    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.sizes: list[tuple[int, int]] = []

    def write(self, data: bytes) -> None:
        self.data.append(data)

    def resize(self, rows: int, cols: int) -> None:
        self.sizes.append((rows, cols))


class TermApp(App[None]):
    """An app with a terminal view and a counter of the view's messages."""

    def __init__(self, transport: Recorder | None = None) -> None:
        super().__init__()
        self.transport = transport or Recorder()
        self.escapes = 0
        self.resized: list[tuple[int, int]] = []

    def compose(self) -> ComposeResult:
        yield TerminalView(self.transport, id="term")

    def on_terminal_view_escape_requested(self, message: TerminalView.EscapeRequested) -> None:
        self.escapes += 1

    def on_terminal_view_resized(self, message: TerminalView.Resized) -> None:
        self.resized.append((message.rows, message.cols))


def line_text(view: TerminalView, y: int) -> str:
    return view.render_line(y).text.rstrip()


async def test_keys_reach_the_program_including_ones_textual_binds() -> None:
    app = TermApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.focused, TerminalView)
        keys = ["a", "up", "ctrl+c", "tab", "shift+tab", "ctrl+p", "ctrl+q", "f1", "f12"]
        await pilot.press(*keys, "escape", "enter", "backspace", "ctrl+d")
        await pilot.pause()
        assert app.transport.data == [
            b"a",
            b"\x1b[A",
            b"\x03",
            b"\t",
            b"\x1b[Z",
            b"\x10",
            b"\x11",
            b"\x1bOP",
            b"\x1b[24~",
            b"\x1b",
            b"\r",
            b"\x7f",
            b"\x04",
        ]
        # ctrl+q did not quit and tab did not move focus.
        assert app.is_running and isinstance(app.focused, TerminalView)


async def test_arrows_follow_application_cursor_mode() -> None:
    app = TermApp()
    async with app.run_test() as pilot:
        view = app.query_one(TerminalView)
        view.feed(b"\x1b[?1h")
        await pilot.press("up", "left")
        view.feed(b"\x1b[?1l")
        await pilot.press("up")
        assert app.transport.data == [b"\x1bOA", b"\x1bOD", b"\x1b[A"]


async def test_escape_key_posts_message_and_is_not_forwarded() -> None:
    app = TermApp()
    async with app.run_test() as pilot:
        await pilot.press("x", "ctrl+right_square_bracket")
        await pilot.pause()
        assert app.escapes == 1
        assert app.transport.data == [b"x"]


async def test_size_drives_emulator_and_transport() -> None:
    app = TermApp()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(TerminalView)
        await pilot.pause()
        assert app.transport.sizes[-1] == (20, 60)
        assert (view.rows, view.cols) == (20, 60)
        await pilot.resize_terminal(100, 30)
        await wait_for_app(
            pilot,
            lambda: app.transport.sizes[-1] == (30, 100),
            5,
            "app.transport.sizes[-1] == (30, 100)",
        )
        assert (view.terminal.rows, view.terminal.cols) == (30, 100)
        assert app.resized[-1] == (30, 100)


async def test_stty_size_follows_the_widget_through_a_real_pty() -> None:
    app = TermApp()
    async with app.run_test(size=(70, 20)) as pilot:
        view = app.query_one(TerminalView)
        pty = LocalPty(
            ["/bin/busybox", "sh", "-i"],
            lambda data: app.call_from_thread(view.feed, data) if data else None,
            env={"PS1": "$ "},
        )
        try:
            view.set_transport(pty)
            await pilot.resize_terminal(90, 27)
            await wait_for_app(pilot, lambda: view.cols == 90, 5, "view.cols == 90")
            await pilot.press(*"stty size", "enter")

            def shows_size() -> bool:
                return any(line_text(view, y) == "27 90" for y in range(view.rows))

            await wait_for_app(pilot, shows_size, 5, "shows_size")
        finally:
            pty.close()


async def test_cursor_position_query_is_answered_to_the_transport() -> None:
    app = TermApp()
    async with app.run_test() as pilot:
        view = app.query_one(TerminalView)
        view.feed(b"\x1b[3;7H\x1b[6n\x1b[c")
        await pilot.pause()
        assert app.transport.data == [b"\x1b[3;7R", b"\x1b[?62;22c"]


def wheel(app: App[None], up: bool, shift: bool = False) -> None:
    cls = events.MouseScrollUp if up else events.MouseScrollDown
    app.screen._forward_event(cls(None, 5, 5, 0, 0, 0, shift, False, False, screen_x=5, screen_y=5))


async def test_scrollback_with_wheel_and_shift_pageup_then_input_returns_live() -> None:
    app = TermApp()
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(TerminalView)
        view.feed(b"".join(b"line %d\r\n" % i for i in range(100)))
        await pilot.pause()
        assert line_text(view, 0) == "line 91"
        wheel(app, up=True)
        await pilot.pause()
        assert view.scroll_back == 3
        assert line_text(view, 0) == "line 88"
        await pilot.press("shift+pageup")
        assert line_text(view, 0) == "line 79"
        assert app.transport.data == []  # scrolling keys are not sent to the program
        wheel(app, up=False)
        await pilot.pause()
        assert line_text(view, 0) == "line 82"
        await pilot.press("q")
        assert view.scroll_back == 0
        assert line_text(view, 0) == "line 91"
        assert app.transport.data == [b"q"]


async def test_scrolled_back_view_stays_put_while_output_arrives() -> None:
    app = TermApp()
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(TerminalView)
        view.feed(b"".join(b"line %d\r\n" % i for i in range(50)))
        await pilot.press("shift+pageup")
        shown = line_text(view, 0)
        view.feed(b"".join(b"more %d\r\n" % i for i in range(5)))
        view.flush()
        assert line_text(view, 0) == shown


async def test_mouse_reporting_goes_to_the_program_when_enabled() -> None:
    app = TermApp()
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(TerminalView)
        view.feed(b"\x1b[?1000h\x1b[?1006h")
        await pilot.click(TerminalView, offset=(3, 2))
        wheel(app, up=True)
        await pilot.pause()
        assert app.transport.data[:2] == [b"\x1b[<0;4;3M", b"\x1b[<0;4;3m"]
        assert app.transport.data[2].startswith(b"\x1b[<64;")


async def test_selection_is_copied_to_the_clipboard() -> None:
    app = TermApp()
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(TerminalView)
        view.feed(b"hello world\r\nsecond line")
        await pilot.pause()
        await pilot.mouse_down(TerminalView, offset=(6, 0))
        await pilot.hover(TerminalView, offset=(5, 1))
        await pilot.mouse_up(TerminalView, offset=(5, 1))
        await pilot.pause()
        assert app.clipboard == "world\nsecond"
        assert app.transport.data == []


async def test_bracketed_paste_only_when_asked() -> None:
    app = TermApp()
    async with app.run_test() as pilot:
        view = app.query_one(TerminalView)
        view.post_message(events.Paste("a\nb"))
        await pilot.pause()
        view.feed(b"\x1b[?2004h")
        view.post_message(events.Paste("c"))
        await pilot.pause()
        assert app.transport.data == [b"a\rb", b"\x1b[200~c\x1b[201~"]


async def test_cursor_drawn_solid_when_focused_hollow_when_not_and_hidden() -> None:
    app = TermApp()
    async with app.run_test() as pilot:
        view = app.query_one(TerminalView)
        view.feed(b"ab")
        await pilot.pause()

        def cursor_style() -> object:
            segments = list(view.render_line(0))
            return next(s.style for s in segments if s.text.startswith(" ") and s.style)

        focused = cursor_style()
        assert focused.reverse  # type: ignore[attr-defined]
        view.blur()
        await pilot.pause()
        unfocused = cursor_style()
        assert unfocused.underline and not unfocused.reverse  # type: ignore[attr-defined]
        view.feed(b"\x1b[?25l")
        view.flush()
        assert all(not (s.style and s.style.reverse) for s in view.render_line(0))
        assert all(not (s.style and s.style.underline) for s in view.render_line(0))


async def test_screenshot_of_ls_color(tmp_path: Path) -> None:
    app = TermApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(TerminalView)
        view.feed(load_stream("ls_color"))
        await pilot.pause(0.05)
        path = app.save_screenshot(path=str(tmp_path), filename="ls.svg")
        svg = Path(path).read_text()
        for word in ("RED", "ORANGE", "REV", "share", "drwxr-xr-x"):
            assert word in svg
        # The 16 ANSI colours stay theme colours: bold red is color(1), not a fixed hex.
        row = next(y for y in range(24) if line_text(view, y).startswith("RED ORANGE"))
        red = next(s for s in view.render_line(row) if s.text == "RED")
        assert red.style is not None and red.style.color is not None
        assert red.style.color.name == "color(1)" and red.style.bold
        # Every rendered line is exactly as wide as the view.
        assert all(view.render_line(y).cell_length == 80 for y in range(24))


@pytest.mark.parametrize("name", ["vi", "top", "less", "wide"])
async def test_every_stream_renders_full_width_lines(name: str) -> None:
    app = TermApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(TerminalView)
        data = load_stream(name)
        for i in range(0, len(data), 97):
            view.feed(data[i : i + 97])
            await asyncio.sleep(0)
        await pilot.pause()
        assert all(view.render_line(y).cell_length == 80 for y in range(24))


async def test_large_feeds_are_sliced_and_apply_back_pressure() -> None:
    app = TermApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(TerminalView)
        data = b"".join(b"line %06d\r\n" % i for i in range(20_000))  # about 240 KB
        waiter = view.feed(data)
        # Only a slice was processed; the rest waits, and the caller is asked to wait.
        assert view.terminal.screen.history_pushed < 1000
        assert waiter is not None and not waiter.done()
        await asyncio.wait_for(waiter, timeout=30)
        await wait_for_app(pilot, lambda: not view._backlog, 5, "not view._backlog")
        view.flush()
        assert line_text(view, 22) == "line 019999"
        assert view.feed(b"x") is None


def test_local_pty_close_stops_the_whole_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    got: list[bytes] = []
    # The grandchild ignores SIGHUP, so only killing the process group stops it.
    script = f"trap '' HUP; sleep 30 & echo $! > {marker}; wait"
    pty = LocalPty(["sh", "-c", script], got.append)
    deadline = time.monotonic() + 5
    while not (marker.exists() and marker.read_text().strip()):
        assert time.monotonic() < deadline, "child did not start"
        time.sleep(0.01)
    grandchild = int(marker.read_text())
    pty.close()
    deadline = time.monotonic() + 5
    while True:
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        # A zombie waiting for its reaper is gone for our purposes.
        state = Path(f"/proc/{grandchild}/stat").read_text().split()[2]
        if state == "Z":
            break
        assert time.monotonic() < deadline, "grandchild survived close()"
        time.sleep(0.01)


async def test_emoji_sequences_render_full_width_lines() -> None:
    """Rows with flags, joined emoji, selectors and skin tones are exactly as wide as the view
    (a row laid out wider or narrower moved the frame and the panels beside it)."""
    app = TermApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(TerminalView)
        view.feed(
            "flag:\U0001f1eb\U0001f1f7|\x1b[12GZ\r\nri:\U0001f1eb|\r\n"
            "zwj:\U0001f468\u200d\U0001f4bb|\r\n\u2764\ufe0f \U0001f44d\U0001f3fd|\r\n".encode()
        )
        await pilot.pause(0.05)
        # Summed from the text drawn (a Strip's own length is the one it was given).
        for y in range(24):
            assert sum(cell_len(s.text) for s in view.render_line(y)) == 80, line_text(view, y)
        assert line_text(view, 0).startswith("flag:\U0001f1eb\U0001f1f7|   Z")
