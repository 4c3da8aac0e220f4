"""Provides TEMPORARY TerminalView: a minimal stock-pyte terminal until branch `terminal` lands.

It implements only the interface the real `cdebug_tui.terminal.widget.TerminalView` promises
(`feed`, `set_transport`, `EscapeRequested`, `Resized`, a `terminal.display` for tests), so the
app does not change when the real widget replaces it (see `cdebug_tui.ui.widgets.terminal`).
"""

from __future__ import annotations

from typing import Any, Protocol

import pyte
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget


class Transport(Protocol):
    """Where keys go and sizes are reported: a DebugSession."""

    def write(self, data: bytes) -> None: ...

    def resize(self, rows: int, cols: int) -> None: ...


_KEYS = {
    "enter": b"\r",
    "tab": b"\t",
    "shift+tab": b"\x1b[Z",
    "escape": b"\x1b",
    "backspace": b"\x7f",
    "ctrl+h": b"\x08",
    "delete": b"\x1b[3~",
    "insert": b"\x1b[2~",
    "home": b"\x1b[H",
    "end": b"\x1b[F",
    "pageup": b"\x1b[5~",
    "pagedown": b"\x1b[6~",
    "up": b"\x1b[A",
    "down": b"\x1b[B",
    "right": b"\x1b[C",
    "left": b"\x1b[D",
    "f1": b"\x1bOP",
    "f2": b"\x1bOQ",
    "f3": b"\x1bOR",
    "f4": b"\x1bOS",
    "f5": b"\x1b[15~",
    "f6": b"\x1b[17~",
    "f7": b"\x1b[18~",
    "f8": b"\x1b[19~",
    "f9": b"\x1b[20~",
    "f10": b"\x1b[21~",
    "f11": b"\x1b[23~",
    "f12": b"\x1b[24~",
}
_APP_CURSOR = {"up": b"\x1bOA", "down": b"\x1bOB", "right": b"\x1bOC", "left": b"\x1bOD"}
_COLORS = {"brown": "yellow"}


class _Emulator:
    """The screen and parser, with `display` as the real emulator's Terminal has it."""

    def __init__(self, rows: int, cols: int) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)

    @property
    def display(self) -> list[str]:
        return list(self.screen.display)


class TerminalView(Widget, can_focus=True):
    """TEMPORARY: shows a PTY's output with pyte and sends every key to it, except ctrl+]."""

    DEFAULT_CSS = """
    TerminalView { background: black; color: white; }
    """

    class EscapeRequested(Message):
        """The user pressed ctrl+]: focus should go back to the app."""

    class Resized(Message):
        """The view's size changed; the program has been told."""

        def __init__(self, rows: int, cols: int) -> None:
            super().__init__()
            self.rows = rows
            self.cols = cols

    def __init__(
        self,
        transport: Transport | None = None,
        rows: int = 24,
        cols: int = 80,
        scrollback: int = 10_000,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.transport = transport
        self.terminal = _Emulator(rows, cols)
        self.scrollback = scrollback

    @property
    def rows(self) -> int:
        return int(self.terminal.screen.lines)

    @property
    def cols(self) -> int:
        return int(self.terminal.screen.columns)

    def set_transport(self, transport: Transport | None) -> None:
        """Sets where keys go; tells it the current size."""
        self.transport = transport
        if transport is not None:
            transport.resize(self.rows, self.cols)

    def feed(self, data: bytes) -> None:
        """Feeds program output; call it on the UI thread."""
        self.terminal.stream.feed(data)
        self.refresh()

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return self.cols

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self.rows

    def on_resize(self, event: events.Resize) -> None:
        rows, cols = max(2, event.size.height), max(10, event.size.width)
        if (rows, cols) == (self.rows, self.cols):
            return
        self.terminal.screen.resize(rows, cols)
        if self.transport is not None:
            try:
                self.transport.resize(rows, cols)
            except Exception:  # noqa: BLE001 - a resize of a finished program means nothing
                pass
        self.post_message(self.Resized(rows, cols))

    def on_click(self) -> None:
        self.focus()

    async def _on_key(self, event: events.Key) -> None:
        # Every key is the program's: stop it before any binding can see it.
        event.stop()
        event.prevent_default()
        if event.key == "ctrl+right_square_bracket" or event.character == "\x1d":
            self.post_message(self.EscapeRequested())
            return
        data = self._encode(event)
        if data and self.transport is not None:
            try:
                self.transport.write(data)
            except OSError:
                pass

    def _encode(self, event: events.Key) -> bytes:
        key = event.key
        # DECCKM (private mode 1; pyte stores private modes shifted by 5): arrows as SS3.
        if key in _APP_CURSOR and (1 << 5) in self.terminal.screen.mode:
            return _APP_CURSOR[key]
        if key in _KEYS:
            return _KEYS[key]
        if key.startswith("ctrl+") and len(key) == 6 and key[5].isalpha():
            # Some drivers (and Pilot) send ctrl+letter without its control character.
            return bytes([ord(key[5].lower()) - 96])
        if event.character:
            prefix = b"\x1b" if key.startswith("alt+") else b""
            return prefix + event.character.encode()
        return b""

    def _style(self, char: Any) -> Style:
        fg = None if char.fg == "default" else _COLORS.get(char.fg, char.fg)
        bg = None if char.bg == "default" else _COLORS.get(char.bg, char.bg)
        if fg and len(fg) == 6 and all(c in "0123456789abcdefABCDEF" for c in fg):
            fg = "#" + fg
        if bg and len(bg) == 6 and all(c in "0123456789abcdefABCDEF" for c in bg):
            bg = "#" + bg
        try:
            return Style(color=fg, bgcolor=bg, bold=char.bold, reverse=char.reverse)
        except Exception:  # noqa: BLE001 - an unknown colour name: show it plain
            return Style(bold=char.bold, reverse=char.reverse)

    def render_line(self, y: int) -> Strip:
        screen = self.terminal.screen
        if y >= screen.lines:
            return Strip.blank(self.size.width)
        row = screen.buffer[y]
        segments: list[Segment] = []
        cursor = screen.cursor
        show_cursor = self.has_focus and not cursor.hidden and cursor.y == y
        for x in range(screen.columns):
            char = row[x]
            style = self._style(char)
            if show_cursor and x == cursor.x:
                style += Style(reverse=True)
            segments.append(Segment(char.data or " ", style))
        return Strip(Segment.simplify(segments)).crop_extend(0, self.size.width, None)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
