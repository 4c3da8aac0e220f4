"""Provides TerminalView, the Textual widget that shows a terminal emulator and sends keys."""

from __future__ import annotations

import asyncio
import queue
import threading
from time import monotonic
from typing import Any, ClassVar

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.app import App
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from .emulator import Attrs, PtyTransport, RowLayout, Terminal
from .keys import encode_key, encode_mouse, encode_paste
from .rawinput import InputRouter

__all__ = ["TerminalView", "ESCAPE_KEY"]

#: The one key the view does not forward: it posts :class:`TerminalView.EscapeRequested`.
ESCAPE_KEY = "ctrl+right_square_bracket"
#: Refreshes a new size waits for the screen to have the app's size (see _settle_size).
SETTLE_TRIES = 10

_ANSI_INDEX = {
    name: i
    for i, name in enumerate(("black", "red", "green", "brown", "blue", "magenta", "cyan", "white"))
}
_ANSI_INDEX.update({"bright" + name: i + 8 for name, i in list(_ANSI_INDEX.items())})
# App actions bound with priority=True that would otherwise eat keys the program needs.
_GUARDED_ACTIONS = frozenset({"quit", "command_palette", "app.quit", "app.command_palette"})


def _color(value: str) -> Color | None:
    """Map a pyte colour to Rich: ANSI 0-15 stay theme colours, others become RGB."""
    if value == "default":
        return None
    index = _ANSI_INDEX.get(value)
    if index is not None:
        return Color.from_ansi(index)
    if len(value) == 6:
        try:
            return Color.from_rgb(int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))
        except ValueError:
            return None
    return None  # Malformed (e.g. 38;2 with values > 255): use the default colour.


def _attrs_style(attrs: Attrs) -> Style:
    fg, bg, bold, italic, underline, strike, reverse, blink, dim = attrs
    return Style(
        color=_color(fg),
        bgcolor=_color(bg),
        bold=bold or None,
        dim=dim or None,
        italic=italic or None,
        underline=underline or None,
        strike=strike or None,
        reverse=reverse or None,
        blink=blink or None,
    )


_CURSOR_FOCUSED = Style(reverse=True)
_CURSOR_ON_REVERSE = Style(reverse=False)
_CURSOR_UNFOCUSED = Style(underline=True)
_SELECTED = Style(reverse=True)


def key_again(event: events.Key) -> events.Key:
    """The same key as a new event, to post elsewhere, with the number of the read it came
    in (RawInput sets `read_id`): a question knows what was typed before it showed."""
    again = events.Key(event.key, event.character)
    read_id = getattr(event, "read_id", None)
    if read_id is not None:
        again.read_id = read_id  # type: ignore[attr-defined]
    return again


class TerminalView(Widget, can_focus=True):
    """A terminal: renders a pyte-based emulator and forwards every key to a transport.

    Feed the program's output with :meth:`feed` (on the UI thread). Keys, pastes, mouse
    reports and answers to terminal queries go to ``transport.write``; size changes go
    to ``transport.resize`` and are announced with :class:`TerminalView.Resized`. Every
    key is forwarded except ``ctrl+]``, which posts :class:`TerminalView.EscapeRequested`.

    Wiring, with a thread reading the PTY (``LocalPty`` does this for local programs)::

        view = TerminalView()
        pty = LocalPty(["sh"], lambda b: b and app.call_from_thread(view.feed, b))
        view.set_transport(pty)

    Args:
        transport: Where keys go; may be set later with :meth:`set_transport`.
        rows: Initial height until the widget is laid out.
        cols: Initial width until the widget is laid out.
        scrollback: Lines of history kept.
        name: Widget name.
        id: Widget id.
        classes: Widget classes.
    """

    DEFAULT_CSS = """
    TerminalView {
        width: 1fr;
        height: 1fr;
        padding: 0;
        border: none;
    }
    """

    #: Selection is handled by the view itself (it spans the scrollback, and copies cells).
    ALLOW_SELECT: ClassVar[bool] = False
    #: Lines moved per mouse-wheel step in the scrollback.
    WHEEL_LINES: ClassVar[int] = 3
    #: Shortest time between two redraws while output arrives (about 60 Hz).
    FRAME_INTERVAL: ClassVar[float] = 1 / 60
    #: Frame interval while flooded (more than FLOOD_BYTES arrived in one frame).
    FLOOD_FRAME_INTERVAL: ClassVar[float] = 1 / 20
    FLOOD_BYTES: ClassVar[int] = 16384
    #: Seconds the keys typed after the leave key wait for the focus to move. Only a view that
    #: nobody takes the focus from waits this long; half a second ran out on a busy machine
    #: (a fresh venv compiling its modules) before the tab moved the focus, and `ctrl+] q`
    #: typed together gave the q to the shell.
    LEAVE_TIMEOUT: ClassVar[float] = 2.0
    #: Bytes processed per event-loop turn; larger feeds are split.
    SLICE: ClassVar[int] = 4096
    #: Bytes a hidden view emulates per turn: a scrolling line costs some 20 µs, and a
    #: 4 KiB slice of ``yes`` took 36 ms, two frames, on a loaded machine.
    BACKGROUND_SLICE: ClassVar[int] = 256
    #: Backlog above which feed() returns a future to wait on (back-pressure).
    HIGH_WATER: ClassVar[int] = 64 * 1024
    #: Backlog at which feed() processes everything at once (for callers that never wait).
    MAX_BACKLOG: ClassVar[int] = 4 * 1024 * 1024

    class Resized(Message):
        """The terminal's size changed (and the transport was told)."""

        def __init__(self, rows: int, cols: int) -> None:
            super().__init__()
            self.rows = rows
            self.cols = cols

    class EscapeRequested(Message):
        """The user pressed ``ctrl+]`` to leave the terminal; the app should move focus.

        Args:
            moved: Whether the view already gave the focus to its ``leave_to`` widget.
        """

        def __init__(self, moved: bool = False) -> None:
            super().__init__()
            self.moved = moved

    class Activity(Message):
        """A hidden view got output (once until shown again), or a bell."""

        def __init__(self, bell: bool) -> None:
            super().__init__()
            self.bell = bell

    class TitleChanged(Message):
        """The program set the window title (OSC 0 or 2)."""

        def __init__(self, title: str) -> None:
            super().__init__()
            self.title = title

    class ClipboardWritten(Message):
        """The program put text on the clipboard (OSC 52); the app decides whether to copy."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class FocusChanged(Message):
        """The view gained or lost the focus (for a border or title that shows it)."""

        def __init__(self, focused: bool) -> None:
            super().__init__()
            self.focused = focused

    def __init__(
        self,
        transport: PtyTransport | None = None,
        rows: int = 24,
        cols: int = 80,
        scrollback: int = 10_000,
        *,
        escape_key: str = ESCAPE_KEY,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        #: The key that leaves the terminal (Textual's name); every other key is the program's.
        self.escape_key = escape_key
        # Shown in the footer while the view has the focus: the one key that is not the shell's.
        self._bindings.bind(escape_key, "leave", "Leave · keys go to the shell")
        self._transport: PtyTransport | None = None
        self.terminal = Terminal(rows, cols, scrollback=scrollback)
        self.terminal.screen.on_clipboard = self._clipboard_written
        #: How many lines the view is scrolled back into history (0 = live screen).
        self.scroll_back = 0
        self._seen_pushed = 0
        self._flush_pending = False
        self._last_flush = 0.0
        self._frame_interval = self.FRAME_INTERVAL
        self._fed_since_flush = 0
        self._backlog = bytearray()
        self._drained: asyncio.Future[None] | None = None
        self._drawn_cursor: tuple[int, int, bool] = (-1, -1, False)
        self._strips: dict[int, tuple[tuple[Any, ...], Strip]] = {}
        self._styles: dict[tuple[Attrs, int], Style] = {}
        self._base_style: Style | None = None
        # Selection in (virtual line, column) coordinates; virtual line 0 = oldest history.
        self._sel_anchor: tuple[int, int] | None = None
        self._sel_end: tuple[int, int] | None = None
        self._selecting = False
        self._mouse_buttons = 0
        self._writes: queue.SimpleQueue[bytes | None] | None = None
        self._writer_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._leaving = False
        self._after_leave: list[events.Key] = []
        #: Where the leave key moves the focus (the session tab's header), or None: then the
        #: EscapeRequested handler moves it, and the keys typed meanwhile wait for it.
        self.leave_to: Widget | None = None
        #: Hidden (a background tab): output is emulated within BackgroundFeeder's budget.
        self.background = False
        self._activity_reported = False
        self._bells_seen = 0
        self._title_seen = ""
        if transport is not None:
            self.set_transport(transport)

    # -- wiring ------------------------------------------------------------------------

    @property
    def rows(self) -> int:
        """Current height in lines."""
        return self.terminal.rows

    @property
    def cols(self) -> int:
        """Current width in cells."""
        return self.terminal.cols

    @property
    def transport(self) -> PtyTransport | None:
        """The byte sink keys go to."""
        return self._transport

    def set_transport(self, transport: PtyTransport | None) -> None:
        """Connect (or disconnect) the program; tells it the current size.

        Args:
            transport: The new transport, or None.
        """
        self._transport = transport
        self.terminal.set_response_handler(transport.write if transport is not None else None)
        if transport is not None:
            transport.resize(self.rows, self.cols)

    def _send(self, data: bytes) -> None:
        if data and self._transport is not None:
            self._transport.write(data)

    def write_input(self, data: bytes) -> None:
        """Sends raw input (as the user's terminal sent it) to the program; thread-safe.

        Called on the driver's input thread while the view has the focus. The write itself
        happens on a thread of the view's, in order: a program that does not read its input
        (its PTY buffer full) must not freeze the app's input.

        Args:
            data: The bytes typed or pasted.
        """
        if not data:
            return
        writes = self._writes
        if writes is None:
            with self._writer_lock:
                writes = self._writes
                if writes is None:
                    writes = self._writes = queue.SimpleQueue()
                    threading.Thread(
                        target=self._write_loop, args=(writes,), name="terminal-keys", daemon=True
                    ).start()
        writes.put(data)
        if self.scroll_back or self._sel_anchor is not None:
            loop = self._loop
            if loop is not None:
                loop.call_soon_threadsafe(self._return_to_live)

    def _write_loop(self, writes: queue.SimpleQueue[bytes | None]) -> None:
        while (data := writes.get()) is not None:
            try:
                self._send(data)
            except OSError:
                pass  # the session ended: its reader says so

    def feed(self, data: bytes) -> asyncio.Future[None] | None:
        """Process output of the program; the screen is redrawn at most ~60 times a second.

        Call on the UI thread, typically ``app.call_from_thread(view.feed, chunk)`` from
        the thread reading the PTY. Large chunks are processed in slices between other
        events, so a flood does not delay keystrokes or other widgets.

        Args:
            data: Bytes read from the PTY.

        Returns:
            None, or, while more than :attr:`HIGH_WATER` bytes wait to be processed, a
            future that completes when the backlog has shrunk. ``call_from_thread`` awaits
            it, so the reading thread slows down (back-pressure) while the UI stays free.
            Callers on the UI thread may ignore it.
        """
        if self.background and self.is_mounted:
            # Emulated within the background budget (BackgroundFeeder); the reader waits on
            # the returned future past HIGH_WATER, leaving the socket unread: the program is
            # held back by the kernel, as with a slow terminal. Nothing is dropped.
            self._backlog += data
            _feeder(self).wake(self)
            return self._backpressure()
        if self._backlog:
            self._backlog += data
            if len(self._backlog) > self.MAX_BACKLOG:
                self._drain()  # Nobody waits for the future: stop the growth here.
            return self._backpressure()
        if len(data) > self.SLICE and self.is_mounted:
            cut = _slice_end(data, self.SLICE)
            self._backlog += data[cut:]
            data = data[:cut]
            self._schedule_backlog()
        self._process(data)
        return self._backpressure()

    def _backpressure(self) -> asyncio.Future[None] | None:
        if len(self._backlog) <= self.HIGH_WATER:
            return None
        if self._drained is None or self._drained.done():
            self._drained = asyncio.get_running_loop().create_future()
        return self._drained

    def _release_backpressure(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def _process(self, data: bytes) -> None:
        self.terminal.feed(data)
        self._fed_since_flush += len(data)
        self._after_output()
        if self.background:
            return  # drawn when shown (set_background)
        if not self._flush_pending:
            self._flush_pending = True
            if self.is_mounted:
                delay = self._last_flush + self._frame_interval - monotonic()
                if delay > 0.001:
                    self.set_timer(delay, self._flush)
                else:
                    # The last frame is old enough: draw as soon as pending messages
                    # are handled, so an echo shows without waiting for a timer.
                    self.call_later(self._flush)

    def _schedule_backlog(self) -> None:
        # A plain event-loop callback, not a message: it queues behind every other ready
        # task (keys, other widgets), where a message chain could be handled back to back.
        asyncio.get_running_loop().call_soon(self._feed_backlog)

    def _feed_backlog(self) -> None:
        if not self._backlog or self.background:
            return
        cut = _slice_end(self._backlog, self.SLICE)
        chunk = bytes(self._backlog[:cut])
        del self._backlog[:cut]
        if self._backlog:
            self._schedule_backlog()
        if len(self._backlog) <= self.HIGH_WATER // 2:
            self._release_backpressure()
        self._process(chunk)

    def _drain(self) -> None:
        if self._backlog:
            chunk = bytes(self._backlog)
            self._backlog.clear()
            self._process(chunk)
        self._release_backpressure()

    def _clipboard_written(self, text: str) -> None:
        self.post_message(self.ClipboardWritten(text))

    def set_background(self, background: bool) -> None:
        """Marks the view hidden (its output then gets a budget per frame) or shown.

        A shown view catches up at full speed and is redrawn; a hidden one reports new
        output and bells with :class:`TerminalView.Activity`, once until shown again.

        Args:
            background: Whether the view is hidden (a tab in the background).
        """
        if background == self.background:
            return
        self.background = background
        if background:
            if self._backlog:
                _feeder(self).wake(self)
            return
        self._activity_reported = False
        self._strips.clear()
        if self._backlog:
            self._schedule_backlog()
        if self.is_mounted:
            self._flush()
            self.refresh()

    def _feed_step(self) -> int:
        """Emulates one slice of a background backlog; returns the bytes left."""
        if not self._backlog:
            return 0
        cut = _slice_end(self._backlog, self.BACKGROUND_SLICE)
        chunk = bytes(self._backlog[:cut])
        del self._backlog[:cut]
        if len(self._backlog) <= self.HIGH_WATER // 2:
            self._release_backpressure()
        self._process(chunk)
        return len(self._backlog)

    def _after_output(self) -> None:
        screen = self.terminal.screen
        bell = screen.bells != self._bells_seen
        self._bells_seen = screen.bells
        if screen.title != self._title_seen:
            self._title_seen = screen.title
            self.post_message(self.TitleChanged(screen.title))
        if self.background and (not self._activity_reported or bell):
            self._activity_reported = True
            self.post_message(self.Activity(bell))

    def flush(self) -> None:
        """Process any backlog and redraw what changed now, without waiting for a frame."""
        self._drain()
        self._flush()

    def _flush(self) -> None:
        self._flush_pending = False
        self._last_flush = monotonic()
        # Under a flood, redraw less often: each frame costs a full-screen render, and the
        # time is better spent parsing (and answering keys) than drawing frames nobody reads.
        flooding = self._fed_since_flush > self.FLOOD_BYTES
        self._frame_interval = self.FLOOD_FRAME_INTERVAL if flooding else self.FRAME_INTERVAL
        self._fed_since_flush = 0
        screen = self.terminal.screen
        dirty = set(screen.dirty)
        screen.dirty.clear()
        cursor = (screen.cursor.x, screen.cursor.y, screen.cursor.hidden)
        if cursor != self._drawn_cursor:
            dirty.add(cursor[1])
            dirty.add(self._drawn_cursor[1])
            self._drawn_cursor = cursor
        for y in dirty:
            self._strips.pop(y, None)
        pushed = screen.history_pushed - self._seen_pushed
        self._seen_pushed = screen.history_pushed
        if not self.is_mounted:
            return
        if self.scroll_back:
            if pushed:
                # Keep showing the same history lines while new output arrives.
                self.scroll_back = min(self.scroll_back + pushed, len(screen.history))
                self.refresh()
            elif dirty:
                self.refresh()
            return
        rows = [y for y in dirty if 0 <= y < screen.lines]
        if len(rows) * 2 > screen.lines:
            self.refresh()
        else:
            width = self.size.width
            for y in rows:
                self.refresh(Region(0, y, width, 1))

    # -- size --------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        """Follow the widget's size: resize the emulator and the PTY, announce it."""
        self._settle_size(0)

    def _settle_size(self, tries: int) -> None:
        # A window's resize reaches the app a moment before its screen lays out at the new size
        # (Textual's resize timer); a layout in between (the app hid or showed its panels for the
        # new width) gave this view a size the window never had: 160 -> 100 columns told the
        # program 158, then 98, and a size in between cuts what the screen shows at its width.
        # So the size counts once the screen has the app's.
        if self.screen.outer_size != self.app.size and tries < SETTLE_TRIES:
            self.call_after_refresh(self._settle_size, tries + 1)
            return
        self._apply_size(self.size)

    def _apply_size(self, size: Size) -> None:
        rows, cols = size.height, size.width
        if rows <= 0 or cols <= 0 or (rows, cols) == (self.rows, self.cols):
            return
        self.terminal.resize(rows, cols)
        self._strips.clear()
        self.scroll_back = min(self.scroll_back, len(self.terminal.screen.history))
        if self._transport is not None:
            self._transport.resize(rows, cols)
        self.post_message(self.Resized(rows, cols))
        self._flush()
        self.refresh()

    def on_unmount(self) -> None:
        """Never leave a reading thread waiting on a view that is gone."""
        self._release_backpressure()
        self._stop_raw_input()
        if self._writes is not None:
            self._writes.put(None)

    def on_mount(self) -> None:
        """Make sure app-level priority bindings do not steal keys while focused."""
        _guard_app_bindings(self.app)
        self._loop = asyncio.get_running_loop()
        self._flush()

    # -- rendering ---------------------------------------------------------------------

    def notify_style_update(self) -> None:
        """Forget styles derived from the widget's CSS (theme, focus) when it changes."""
        super().notify_style_update()
        self._base_style = None
        self._styles.clear()
        self._strips.clear()

    def _base(self) -> Style:
        # ``rich_style`` walks the CSS of every ancestor: far too slow to ask per segment.
        base = self._base_style
        if base is None:
            base = self._base_style = self.rich_style
        return base

    def _style(self, attrs: Attrs, overlay: int) -> Style:
        key = (attrs, overlay)
        style = self._styles.get(key)
        if style is None:
            style = self._base() + _attrs_style(attrs)
            if overlay & 1:
                # A solid block: inverted against the cell, so it shows on reverse text too.
                style += _CURSOR_ON_REVERSE if attrs[6] else _CURSOR_FOCUSED
            if overlay & 4:
                style += _CURSOR_UNFOCUSED
            if overlay & 2:
                style += _SELECTED
            self._styles[key] = style
        return style

    def _selection_span(self, vline: int, cols: int) -> tuple[int, int] | None:
        if self._sel_anchor is None or self._sel_end is None:
            return None
        start, end = sorted((self._sel_anchor, self._sel_end))
        if start == end or not start[0] <= vline <= end[0]:
            return None
        x0 = start[1] if vline == start[0] else 0
        x1 = end[1] if vline == end[0] else cols
        return (x0, x1) if x1 > x0 else None

    def render_line(self, y: int) -> Strip:
        """Return the strip for display line ``y`` (cached for live rows)."""
        screen = self.terminal.screen
        cols = screen.columns
        history_len = len(screen.history)
        vline = history_len - self.scroll_back + y
        selection = self._selection_span(vline, cols)
        cursor_x = -1
        if vline >= history_len:
            row = vline - history_len
            if row >= screen.lines:
                return Strip.blank(self.size.width, self._base())
            if row == screen.cursor.y and not screen.cursor.hidden and not self.scroll_back:
                cursor_x = min(screen.cursor.x, cols - 1)
            key = (cursor_x, self.has_focus, selection, cols)
            cached = self._strips.get(row)
            if cached is not None and cached[0] == key:
                return cached[1]
            strip = self._build_strip(screen.row_layout(row), cursor_x, selection)
            self._strips[row] = (key, strip)
            return strip
        if vline < 0:
            return Strip.blank(self.size.width, self._base())
        return self._build_strip(screen.history_layout(vline), -1, selection)

    def _build_strip(
        self, layout: RowLayout, cursor_x: int, selection: tuple[int, int] | None
    ) -> Strip:
        text, runs = layout
        cols = sum(count for count, _ in runs)
        if cursor_x < 0 and selection is None:
            # The common case (every row but the cursor's): one segment per run.
            styles = self._styles
            plain: list[Segment] = []
            x = 0
            for count, attrs in runs:
                run_style = styles.get((attrs, 0))
                if run_style is None:
                    run_style = self._style(attrs, 0)
                piece = text[x : x + count]
                chars = piece if isinstance(piece, str) else "".join(piece)
                plain.append(Segment(chars, run_style))
                x += count
            return Strip(plain, cols)
        breaks: set[int] = set()
        if cursor_x >= 0:
            breaks.update((cursor_x, cursor_x + 1))
        if selection is not None:
            breaks.update(selection)
        segments = []
        x = 0
        style = self._style
        for count, attrs in runs:
            end = x + count
            cuts = sorted(b for b in breaks if x < b < end)
            start = x
            for stop in [*cuts, end]:
                overlay = 0
                if start == cursor_x:
                    overlay |= 1 if self.has_focus else 4
                if selection is not None and selection[0] <= start < selection[1]:
                    overlay |= 2
                piece = text[start:stop]
                segments.append(
                    Segment(
                        piece if isinstance(piece, str) else "".join(piece), style(attrs, overlay)
                    )
                )
                start = stop
            x = end
        return Strip(segments, cols)

    # -- keys --------------------------------------------------------------------------

    async def _on_key(self, event: events.Key) -> None:
        # Handled here (not in on_key) so Widget's own key handling and the non-priority
        # bindings of the screen and app (tab, shift+tab, ctrl+c...) never see the key.
        event.stop()
        event.prevent_default()
        if event.key == self.escape_key:
            self._leaving = True
            target = self.leave_to
            # Not from a view that lost the focus meanwhile (a tab switch in the same burst):
            # its header is hidden with it, and only a Blur ends _leaving.
            focused = self.screen.focused is self
            if target is not None and focused and target.is_attached and target.focusable:
                # At once, on this key's turn; the keys already forwarded here after it
                # wait for the Blur this queues, then go where the focus went. Moved by the
                # message's handler, it waited for the tab's turn, which a busy tab gave
                # after LEAVE_TIMEOUT, and the keys went to the shell (`ctrl+] s` typed `s`).
                self.screen.set_focus(target)
                self.post_message(self.EscapeRequested(moved=True))
                return
            self.post_message(self.EscapeRequested())
            # Should nobody take the focus, the keys typed meanwhile are the program's.
            self.set_timer(self.LEAVE_TIMEOUT, self._left)
            return
        if self._leaving:
            # Typed after the leave key, in the same burst ("ctrl+] q"): the app forwarded
            # them here before the focus moved; they go where the focus goes.
            self._after_leave.append(event)
            return
        if self._scroll_key(event.key):
            return
        self._return_to_live()
        screen = self.terminal.screen
        self._send(encode_key(event.key, event.character, app_cursor=screen.app_cursor_keys))

    def _left(self) -> None:
        """The focus left after the leave key (or never did): deliver the keys typed since."""
        if not self._leaving:
            return
        self._leaving = False
        keys, self._after_leave = self._after_leave, []
        # The screen's focus, not has_focus: in a Blur handler, that is still True.
        if self.is_attached and self.screen.focused is self:
            for event in keys:
                self._send(encode_key(event.key, event.character))
            return
        for event in keys:
            self.app.post_message(key_again(event))

    def action_leave(self) -> None:
        """Leaves the terminal (its key is handled in _on_key; the binding shows it)."""
        self.post_message(self.EscapeRequested())

    def _scroll_key(self, key: str) -> bool:
        """Shift+PageUp/PageDown scroll the history; returns True when handled. Not on the
        alternate screen (vi, less), which has none: the program gets them, as typed."""
        if self.terminal.screen.alternate and not self.scroll_back:
            return False
        history_len = len(self.terminal.screen.history)
        page = max(1, self.rows - 1)
        if key == "shift+pageup":
            self.scroll_history(min(history_len, self.scroll_back + page))
            return True
        if key == "shift+pagedown":
            self.scroll_history(max(0, self.scroll_back - page))
            return True
        return False

    def scroll_history(self, lines_back: int) -> None:
        """Show history: ``lines_back`` lines above the live screen (0 = live).

        Args:
            lines_back: How far back to scroll, clamped to the history length.
        """
        lines_back = max(0, min(lines_back, len(self.terminal.screen.history)))
        if lines_back != self.scroll_back:
            self.scroll_back = lines_back
            self.refresh()

    def _return_to_live(self) -> None:
        self._clear_selection()
        self.scroll_history(0)

    async def _on_paste(self, event: events.Paste) -> None:
        event.stop()
        event.prevent_default()
        self._return_to_live()
        self._send(encode_paste(event.text, self.terminal.screen.bracketed_paste))

    # -- mouse -------------------------------------------------------------------------

    def _cell(self, event: events.MouseEvent) -> tuple[int, int]:
        offset = event.get_content_offset_capture(self)
        x = max(0, min(offset.x, self.cols - 1))
        y = max(0, min(offset.y, self.rows - 1))
        return x, y

    def _reporting(self, event: events.MouseEvent) -> bool:
        # Shift forces local selection even when the program wants the mouse, as in xterm.
        return (
            bool(self.terminal.screen.mouse_tracking) and not event.shift and not (self.scroll_back)
        )

    def _report(self, event: events.MouseEvent, button: int, action: str) -> None:
        x, y = self._cell(event)
        screen = self.terminal.screen
        self._send(
            encode_mouse(
                button,
                x,
                y,
                action=action,
                sgr=screen.mouse_sgr,
                shift=event.shift,
                meta=event.meta,
                ctrl=event.ctrl,
            )
        )

    async def _on_mouse_down(self, event: events.MouseDown) -> None:
        event.stop()
        self.focus()
        if self._reporting(event):
            self._mouse_buttons += 1
            self._report(event, max(0, event.button - 1), "press")
            return
        if event.button == 1:
            x, y = self._cell(event)
            vline = len(self.terminal.screen.history) - self.scroll_back + y
            self._sel_anchor = self._sel_end = (vline, x)
            self._selecting = True
            self.capture_mouse()
            self._strips.clear()
            self.refresh()

    async def _on_mouse_move(self, event: events.MouseMove) -> None:
        if self._selecting:
            x, y = self._cell(event)
            vline = len(self.terminal.screen.history) - self.scroll_back + y
            self._sel_end = (vline, x + 1)
            self._strips.clear()
            self.refresh()
            return
        tracking = self.terminal.screen.mouse_tracking
        if self._reporting(event) and (tracking == 1003 or (tracking == 1002 and event.button)):
            button = max(0, event.button - 1) if event.button else 3
            self._report(event, button, "motion")

    async def _on_mouse_up(self, event: events.MouseUp) -> None:
        event.stop()
        if self._selecting:
            self._selecting = False
            self.release_mouse()
            text = self.selected_text()
            if text:
                self.app.copy_to_clipboard(text)
            return
        if self._reporting(event) and self.terminal.screen.mouse_tracking != 9:
            self._report(event, max(0, event.button - 1), "release")

    def _wheel(self, event: events.MouseEvent, up: bool) -> None:
        event.stop()
        event.prevent_default()
        screen = self.terminal.screen
        if self._reporting(event):
            self._report(event, 64 if up else 65, "press")
        elif screen.alternate and not self.scroll_back:
            # Full-screen programs without mouse support get arrow keys, like xterm's
            # alternateScroll, so the wheel scrolls in less or vi.
            key = encode_key("up" if up else "down", app_cursor=screen.app_cursor_keys)
            self._send(key * self.WHEEL_LINES)
        else:
            delta = self.WHEEL_LINES if up else -self.WHEEL_LINES
            self.scroll_history(self.scroll_back + delta)

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._wheel(event, up=True)

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._wheel(event, up=False)

    def _clear_selection(self) -> None:
        if self._sel_anchor is not None:
            self._sel_anchor = self._sel_end = None
            self._strips.clear()
            self.refresh()

    def selected_text(self) -> str:
        """Return the selected text (lines joined with newlines, trailing blanks removed)."""
        if self._sel_anchor is None or self._sel_end is None:
            return ""
        screen = self.terminal.screen
        history_len = len(screen.history)
        start, end = sorted((self._sel_anchor, self._sel_end))
        lines = []
        for vline in range(start[0], end[0] + 1):
            span = self._selection_span(vline, screen.columns)
            if span is None:
                continue
            if vline < history_len:
                layout = screen.history_layout(vline)
            elif vline - history_len < screen.lines:
                layout = screen.row_layout(vline - history_len)
            else:
                continue
            lines.append("".join(layout[0][span[0] : span[1]]).rstrip())
        return "\n".join(lines)

    # -- focus -------------------------------------------------------------------------

    def _on_focus(self, event: events.Focus) -> None:
        self._strips.pop(self.terminal.screen.cursor.y, None)
        self.refresh()
        router = getattr(self.app, "input_router", None)
        if isinstance(router, InputRouter):
            wanted = getattr(self.app, "typed_ahead_for", None)
            router.set_sink(
                self.write_input,
                self._bracketed_paste,
                self._takes_raw_input,
                typed_ahead_for=wanted(self) if callable(wanted) else True,
            )
        self.post_message(self.FocusChanged(True))

    def _on_blur(self, event: events.Blur) -> None:
        self._strips.pop(self.terminal.screen.cursor.y, None)
        self.refresh()
        self._stop_raw_input()
        self._left()
        self.post_message(self.FocusChanged(False))

    def _takes_raw_input(self) -> bool:
        # Read on the input thread: a dialog over the view (no Blur comes then) takes the
        # keys, as does a view hidden with its tab.
        try:
            return self.app.screen is self.screen and self.display
        except Exception:  # noqa: BLE001 - being unmounted: the app's keys then
            return False

    def _bracketed_paste(self) -> bool:
        return bool(self.terminal.screen.bracketed_paste)

    def _stop_raw_input(self) -> None:
        router = getattr(self.app, "input_router", None)
        if isinstance(router, InputRouter):
            router.clear_sink(self.write_input)


class BackgroundFeeder:
    """Emulates the output of hidden views within a time budget per frame, in turns.

    Without it, five sessions running ``yes`` in background tabs kept the UI thread busy
    parsing, and a key typed in the front session echoed after 0.4-0.8 s. Past the budget
    their backlogs wait (and their readers with them, see :meth:`TerminalView.feed`).
    """

    #: Seconds of emulation per frame for all hidden views together.
    BUDGET: ClassVar[float] = 0.002
    #: Seconds between two turns.
    FRAME: ClassVar[float] = 1 / 60

    def __init__(self) -> None:
        self._waiting: dict[TerminalView, None] = {}
        self._scheduled = False

    def wake(self, view: TerminalView) -> None:
        """Queues a view with a backlog for its turn."""
        self._waiting[view] = None
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_later(self.FRAME, self._turn)

    def _turn(self) -> None:
        self._scheduled = False
        deadline = monotonic() + self.BUDGET
        views = list(self._waiting)
        while views and monotonic() < deadline:
            for view in list(views):
                if not view.background or not view.is_mounted or not view._feed_step():
                    views.remove(view)
                    self._waiting.pop(view, None)
                if monotonic() >= deadline:
                    break
        if self._waiting:
            # Those left wait for the next frame; the next in line goes first then.
            first = next(iter(self._waiting))
            self._waiting.pop(first)
            self._waiting[first] = None
            self._scheduled = True
            asyncio.get_running_loop().call_later(self.FRAME, self._turn)


def _feeder(view: TerminalView) -> BackgroundFeeder:
    """The app's one BackgroundFeeder: the budget is shared by all its hidden views."""
    app = view.app
    feeder = getattr(app, "_terminal_background_feeder", None)
    if feeder is None:
        feeder = BackgroundFeeder()
        app._terminal_background_feeder = feeder  # type: ignore[attr-defined]
    return feeder


def _slice_end(data: bytes | bytearray, size: int) -> int:
    """Where to cut ``data`` into a slice of about ``size`` bytes: after a newline if any.

    Whole lines let the emulator scroll them in bulk instead of one at a time.
    """
    if len(data) <= size:
        return len(data)
    newline = data.rfind(b"\n", size // 2, size)
    return newline + 1 if newline >= 0 else size


def _guard_app_bindings(app: App[Any]) -> None:
    """Stop the app's priority bindings (ctrl+q quit, ctrl+p palette) while a view is focused.

    Priority bindings are checked from the App down before the focused widget sees a
    key, so a widget cannot win with ``event.stop()``. Textual asks ``check_action``
    before running a binding's action; wrapping it on the app instance lets the key fall
    through to the terminal, without asking every app author to subclass something.
    """
    if getattr(app, "_terminal_view_guard", False):
        return
    original = app.check_action

    def check_action(action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in _GUARDED_ACTIONS and isinstance(app.focused, TerminalView):
            return False
        return original(action, parameters)

    app.check_action = check_action  # type: ignore[method-assign]
    app._terminal_view_guard = True  # type: ignore[attr-defined]
