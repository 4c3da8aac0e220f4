"""Provides the terminal emulator: a fast pyte screen with alternate screen and compact scrollback.

Nothing here imports Textual or Rich, so the emulator can be used and tested without a UI.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from typing import Any, NamedTuple, Protocol

import pyte
from pyte import control as ctrl
from pyte import graphics as g
from pyte import modes as mo
from pyte.charsets import LAT1_MAP
from pyte.screens import Char, StaticDefaultDict
from wcwidth import wcwidth as _wcwidth

__all__ = [
    "Attrs",
    "Cell",
    "HistoryLine",
    "PtyTransport",
    "Terminal",
    "TerminalScreen",
    "TerminalStream",
    "DEFAULT_ATTRS",
]


class PtyTransport(Protocol):
    """The byte sink a terminal view writes keys to and reports its size to."""

    def write(self, data: bytes) -> None:
        """Send bytes (keys, pasted text, query answers) to the program."""

    def resize(self, rows: int, cols: int) -> None:
        """Tell the program's PTY its new size."""


# pyte stores private (DEC) modes shifted left by five bits to tell them apart.
DECCKM = 1 << 5
ALT_SCREEN_47 = 47 << 5
ALT_SCREEN_1047 = 1047 << 5
ALT_SCREEN_1049 = 1049 << 5
BRACKETED_PASTE = 2004 << 5
MOUSE_X10 = 9 << 5
MOUSE_NORMAL = 1000 << 5
MOUSE_BUTTON = 1002 << 5
MOUSE_ANY = 1003 << 5
MOUSE_SGR = 1006 << 5
_ALT_MODES = frozenset({47, 1047, 1049})


class Cell(NamedTuple):
    """One screen cell: ``pyte.screens.Char`` plus ``dim`` (SGR 2), which pyte lacks.

    The first nine fields are those of ``pyte.screens.Char``, in the same order, so pyte's
    own methods (which only use ``_replace`` and field names) work on it unchanged.
    """

    data: str
    fg: str = "default"
    bg: str = "default"
    bold: bool = False
    italics: bool = False
    underscore: bool = False
    strikethrough: bool = False
    reverse: bool = False
    blink: bool = False
    dim: bool = False


#: Cell attributes without the character: (fg, bg, bold, italics, underscore,
#: strikethrough, reverse, blink, dim), the order of the fields of :class:`Cell`.
Attrs = tuple[str, str, bool, bool, bool, bool, bool, bool, bool]
DEFAULT_ATTRS: Attrs = ("default", "default", False, False, False, False, False, False, False)

_attrs_of = itemgetter(1, 2, 3, 4, 5, 6, 7, 8, 9)
_ANSI_NAMES = ("black", "red", "green", "brown", "blue", "magenta", "cyan", "white")


@lru_cache(maxsize=4096)
def char_width(char: str) -> int:
    """Return the number of cells a character takes (cached ``wcwidth``).

    Where wcwidth and Rich disagree, Rich's width: the view's rows are laid out with it, and
    any other width shifted the rest of the row and the frame beside it. A regional indicator
    (half a flag) takes 1 cell, as in libc's wcwidth and tmux; a skin-tone modifier none.

    Args:
        char: A single character.

    Returns:
        -1 for unprintable characters, 0, 1 or 2.
    """
    code = ord(char)
    if 0x1F1E6 <= code <= 0x1F1FF:
        return 1
    if 0x1F3FB <= code <= 0x1F3FF:
        return 0
    return int(_wcwidth(char))


@lru_cache(maxsize=1024)
def _is_mark(char: str) -> bool:
    """Whether a zero-width character is a mark drawn on the one before it: an accent, and
    also the vowel signs of Thai or Devanagari (`กิ`, `कुं`), which have no combining class
    (pyte joined only those that have one, and dropped the rest of the read at the others).
    Not a variation selector: it asks for the emoji or text form, which an outer terminal
    draws at a width of its own."""
    code = ord(char)
    if 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF:
        return False
    return unicodedata.category(char).startswith("M")


# History attributes are packed into one int per run: 26 bits per colour, 7 flag bits.
# Colour codes: 0 default, 1-16 the named ANSI colours, 2**24 + rgb for 6-digit hex, and
# 2**25 + index into _ODD_COLOURS for anything else pyte may produce (e.g. 38;2;300;0;0).
_COLOUR_NAMES = ["default"] + [
    prefix + name
    for prefix in ("", "bright")
    for name in ("black", "red", "green", "brown", "blue", "magenta", "cyan", "white")
]
_COLOUR_CODES = {name: i for i, name in enumerate(_COLOUR_NAMES)}
_ODD_COLOURS: list[str] = []
_PACKED: dict[Attrs, int] = {}
_UNPACKED: dict[int, Attrs] = {}


def _colour_code(colour: str) -> int:
    code = _COLOUR_CODES.get(colour)
    if code is not None:
        return code
    if len(colour) == 6:
        try:
            return (1 << 24) | int(colour, 16)
        except ValueError:
            pass
    if colour not in _ODD_COLOURS:
        _ODD_COLOURS.append(colour)
    return (1 << 25) | _ODD_COLOURS.index(colour)


def _colour_name(code: int) -> str:
    if code < len(_COLOUR_NAMES):
        return _COLOUR_NAMES[code]
    if code & (1 << 25):
        return _ODD_COLOURS[code & ((1 << 25) - 1)]
    return f"{code & 0xFFFFFF:06x}"


def pack_attrs(attrs: Attrs) -> int:
    """Pack cell attributes into one int (see :func:`unpack_attrs`)."""
    code = _PACKED.get(attrs)
    if code is None:
        flags = 0
        for bit, flag in enumerate(attrs[2:]):
            if flag:
                flags |= 1 << bit
        code = _colour_code(attrs[0]) | _colour_code(attrs[1]) << 26 | flags << 52
        if len(_PACKED) > 8192:
            _PACKED.clear()
        _PACKED[attrs] = code
    return code


def unpack_attrs(code: int) -> Attrs:
    """Return the attributes packed by :func:`pack_attrs`."""
    attrs = _UNPACKED.get(code)
    if attrs is None:
        flags = code >> 52
        attrs = (
            _colour_name(code & ((1 << 26) - 1)),
            _colour_name((code >> 26) & ((1 << 26) - 1)),
            *(bool(flags & (1 << bit)) for bit in range(7)),
        )  # type: ignore[assignment]
        if len(_UNPACKED) > 8192:
            _UNPACKED.clear()
        _UNPACKED[code] = attrs  # type: ignore[assignment]
    return attrs  # type: ignore[return-value]


_SINGLE_RUNS: dict[tuple[int, int], tuple[array[int], array[int]]] = {}


class HistoryLine:
    """One line that scrolled off the top of the screen, stored compactly.

    ``text`` is a str with one character per cell, or a tuple of cell strings when the
    line holds wide-character stubs or combined characters. The attributes are kept as
    a run-length encoding in two arrays (packed attributes, counts): about ten bytes
    per run, so even a line with a different colour in every cell stays small.

    Args:
        text: The cells' characters.
        runs: ``((attrs, count), ...)`` covering ``text``.
    """

    __slots__ = ("text", "_codes", "_counts")

    def __init__(self, text: str | tuple[str, ...], runs: Sequence[tuple[Attrs, int]]) -> None:
        self.text = text
        if len(runs) == 1:
            # One run is the common case: share the arrays between lines.
            key = (pack_attrs(runs[0][0]), runs[0][1])
            shared = _SINGLE_RUNS.get(key)
            if shared is None:
                if len(_SINGLE_RUNS) > 8192:
                    _SINGLE_RUNS.clear()
                shared = _SINGLE_RUNS[key] = (array("Q", key[:1]), array("H", key[1:]))
            self._codes, self._counts = shared
        else:
            self._codes = array("Q", [pack_attrs(attrs) for attrs, _ in runs])
            self._counts = array("H", [count for _, count in runs])

    @property
    def runs(self) -> tuple[tuple[Attrs, int], ...]:
        """The attributes as ``((attrs, count), ...)``."""
        return tuple(zip(map(unpack_attrs, self._codes), self._counts, strict=True))

    def cells(self) -> Iterator[tuple[str, Attrs]]:
        """Yield ``(data, attrs)`` for every stored cell, left to right."""
        text = self.text
        x = 0
        for attrs, count in self.runs:
            for data in text[x : x + count]:
                yield data, attrs
            x += count

    def plain(self) -> str:
        """Return the line's text (wide-character stubs dropped), right-stripped."""
        return "".join(self.text).rstrip()


_EMPTY_HISTORY_LINE = HistoryLine("", ())


class _GlyphCache(dict[str, Char]):
    """Char objects for one attribute set, created once per character."""

    __slots__ = ("attrs",)

    def __init__(self, attrs: Char) -> None:
        super().__init__()
        self.attrs = attrs

    def __missing__(self, key: str) -> Char:
        char = self.attrs._replace(data=key)
        self[key] = char
        return char


class BulkRow(StaticDefaultDict[int, Any]):
    """A screen row written by bulk scrolling: its cells are created only when needed.

    Most rows written by a flood scroll off before anything reads their cells; such rows
    go to the scrollback and are displayed from their scrollback form alone. Any dict
    access creates the cells first, so pyte's methods see an ordinary row; any change
    also forgets the scrollback form (``history_line`` becomes None).
    """

    __slots__ = ("history_line", "_glyphs_for")

    def __init__(
        self,
        default: Any,
        history_line: HistoryLine,
        glyphs_for: Callable[[Any], dict[str, Any]],
    ) -> None:
        super().__init__(default)
        self.history_line: HistoryLine | None = history_line
        self._glyphs_for: Callable[[Any], dict[str, Any]] | None = glyphs_for

    def _realize(self) -> None:
        glyphs_for = self._glyphs_for
        line = self.history_line
        if glyphs_for is None or line is None:
            return
        self._glyphs_for = None
        x = 0
        text = line.text
        for key, n in line.runs:
            glyphs = glyphs_for(Cell(" ", *key))
            cells = map(glyphs.__getitem__, text[x : x + n])
            dict.update(self, zip(range(x, x + n), cells, strict=False))
            x += n

    def _change(self) -> None:
        if self._glyphs_for is not None:
            self._realize()
        self.history_line = None

    # Reads: create the cells first.
    def __getitem__(self, key: int) -> Any:
        if self._glyphs_for is not None:
            self._realize()
        return super().__getitem__(key)

    def get(self, key: int, default: Any = None) -> Any:
        """Like dict.get."""
        if self._glyphs_for is not None:
            self._realize()
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        if self._glyphs_for is not None:
            self._realize()
        return super().__contains__(key)

    def __iter__(self) -> Iterator[int]:
        if self._glyphs_for is not None:
            self._realize()
        return super().__iter__()

    def __len__(self) -> int:
        if self._glyphs_for is not None:
            self._realize()
        return super().__len__()

    def keys(self) -> Any:
        """Like dict.keys."""
        if self._glyphs_for is not None:
            self._realize()
        return super().keys()

    def values(self) -> Any:
        """Like dict.values."""
        if self._glyphs_for is not None:
            self._realize()
        return super().values()

    def items(self) -> Any:
        """Like dict.items."""
        if self._glyphs_for is not None:
            self._realize()
        return super().items()

    def __eq__(self, other: object) -> bool:
        if self._glyphs_for is not None:
            self._realize()
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if self._glyphs_for is not None:
            self._realize()
        return super().__repr__()

    # Writes: create the cells, then forget the scrollback form.
    def __setitem__(self, key: int, value: Any) -> None:
        self._change()
        super().__setitem__(key, value)

    def __delitem__(self, key: int) -> None:
        self._change()
        super().__delitem__(key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Update cells (forgets the scrollback form)."""
        self._change()
        super().update(*args, **kwargs)

    def pop(self, *args: Any) -> Any:
        """Remove a cell (forgets the scrollback form)."""
        self._change()
        return super().pop(*args)

    def clear(self) -> None:
        """Remove all cells (forgets the scrollback form)."""
        self._glyphs_for = None
        self.history_line = None
        super().clear()

    def setdefault(self, key: int, default: Any = None) -> Any:
        """Like dict.setdefault (forgets the scrollback form)."""
        self._change()
        return super().setdefault(key, default)

    def popitem(self) -> tuple[int, Any]:
        """Like dict.popitem (forgets the scrollback form)."""
        self._change()
        return super().popitem()


class _SavedScreen(NamedTuple):
    """The main screen kept aside while the alternate screen is shown."""

    buffer: Any  # pyte's defaultdict of rows
    mode: int


class TerminalScreen(pyte.Screen):
    """A ``pyte.Screen`` with fast paths, an alternate screen and a compact scrollback.

    Every fast path produces the same cells, cursor and attributes as stock
    ``pyte.Screen`` (see the differential tests); the additions are the alternate screen
    (modes 47, 1047, 1049), the scrollback in :attr:`history`, xterm-like answers to
    device-attribute queries and a resize that keeps the cursor's line visible.

    Args:
        columns: Screen width in cells.
        lines: Screen height in lines.
        scrollback: How many lines scrolled off the top are kept.
        on_response: Called with the bytes the terminal answers to queries (DA, DSR).
    """

    def __init__(
        self,
        columns: int,
        lines: int,
        scrollback: int = 10_000,
        on_response: Callable[[bytes], None] | None = None,
    ) -> None:
        self.history: deque[HistoryLine] = deque(maxlen=max(0, scrollback))
        #: Total number of lines ever pushed to history (only grows); lets a view keep its
        #: scrolled-back position anchored while new lines arrive.
        self.history_pushed = 0
        self.on_response = on_response
        #: Answers produced while no ``on_response`` callback is set.
        self.responses: list[bytes] = []
        self._saved_main: _SavedScreen | None = None
        self._glyphs: dict[Char, _GlyphCache] = {}
        self._sgr_cache: dict[tuple[Char, tuple[int, ...], bool], Char] = {}
        #: Bells rung so far (BEL outside a string sequence); only grows.
        self.bells = 0
        #: Called with the text a program puts on the clipboard (OSC 52), if set.
        self.on_clipboard: Callable[[str], None] | None = None
        super().__init__(columns, lines)

    # -- state queries -------------------------------------------------------------------

    @property
    def alternate(self) -> bool:
        """Whether the alternate screen is shown."""
        return self._saved_main is not None

    @property
    def app_cursor_keys(self) -> bool:
        """Whether DECCKM (application cursor keys) is set."""
        return DECCKM in self.mode

    @property
    def bracketed_paste(self) -> bool:
        """Whether the program asked for bracketed paste (mode 2004)."""
        return BRACKETED_PASTE in self.mode

    @property
    def mouse_tracking(self) -> int:
        """The mouse tracking mode the program enabled: 0 (none), 9, 1000, 1002 or 1003."""
        mode = self.mode
        for flag, value in ((MOUSE_ANY, 1003), (MOUSE_BUTTON, 1002), (MOUSE_NORMAL, 1000)):
            if flag in mode:
                return value
        return 9 if MOUSE_X10 in mode else 0

    @property
    def mouse_sgr(self) -> bool:
        """Whether mouse reports use the SGR encoding (mode 1006)."""
        return MOUSE_SGR in self.mode

    # -- answers to the program ----------------------------------------------------------

    def bell(self, *args: Any) -> None:
        """Count the bell (BEL), for a view to show it."""
        self.bells += 1

    def set_clipboard(self, param: str) -> None:
        """OSC 52 ``Pc;Pd``: base64 text for the clipboard; queries ("?") get no answer.

        Args:
            param: What follows ``52;`` in the sequence.
        """
        import base64
        import binascii

        _, _, payload = param.partition(";")
        if self.on_clipboard is None or payload == "?":
            return
        try:
            text = base64.b64decode(payload, validate=False).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return
        self.on_clipboard(text)

    def write_process_input(self, data: str) -> None:
        """Send an answer to the program: to ``on_response``, else to :attr:`responses`."""
        payload = data.encode("utf-8")
        if self.on_response is not None:
            self.on_response(payload)
        else:
            self.responses.append(payload)

    def report_device_attributes(self, mode: int = 0, **kwargs: bool) -> None:
        """Answer primary DA like a VT220 with ANSI colour (``ESC [ ? 62 ; 22 c``)."""
        if kwargs.get("secondary"):
            self.write_process_input(ctrl.CSI + ">1;10;0c")
        elif mode == 0 and not kwargs.get("private"):
            self.write_process_input(ctrl.CSI + "?62;22c")

    def report_device_status(self, mode: int) -> None:
        """Answer DSR 5 (status) and DSR 6 (cursor position, clamped to the screen)."""
        if mode == 6:
            x = min(self.cursor.x, self.columns - 1) + 1
            y = self.cursor.y + 1
            if mo.DECOM in self.mode and self.margins is not None:
                y -= self.margins.top
            self.write_process_input(f"{ctrl.CSI}{y};{x}R")
        else:
            super().report_device_status(mode)

    # -- reset, modes, alternate screen --------------------------------------------------

    @property
    def default_char(self) -> Any:  # a Cell, which pyte's methods treat as a Char
        """An empty cell with default colours (reverse when DECSCNM is set)."""
        return Cell(" ", reverse=mo.DECSCNM in self.mode)

    def reset(self) -> None:
        """Reset like pyte, and leave the alternate screen (the main one is restored)."""
        saved = getattr(self, "_saved_main", None)
        if saved is not None:
            self.buffer = saved.buffer
            self._saved_main = None
        if not hasattr(self, "mode"):
            self.mode = set()  # pyte calls reset() before it sets ``mode``.
        super().reset()
        self.cursor.attrs = self.default_char

    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        """Set modes; private 47/1047/1049 switch to the alternate screen."""
        if kwargs.get("private") and _ALT_MODES.intersection(modes):
            for m in modes:
                if m in _ALT_MODES:
                    self._enter_alternate(m)
            modes = tuple(m for m in modes if m not in _ALT_MODES)
            if not modes:
                return
        super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        """Reset modes; private 47/1047/1049 return to the main screen."""
        if kwargs.get("private") and _ALT_MODES.intersection(modes):
            for m in modes:
                if m in _ALT_MODES:
                    self._leave_alternate(m)
            modes = tuple(m for m in modes if m not in _ALT_MODES)
            if not modes:
                return
        super().reset_mode(*modes, **kwargs)

    def _new_buffer(self) -> Any:
        return defaultdict(lambda: StaticDefaultDict(self.default_char))

    def _enter_alternate(self, mode: int) -> None:
        if self._saved_main is not None:
            return
        if mode == 1049:
            self.save_cursor()
        self._saved_main = _SavedScreen(self.buffer, mode)
        # xterm clears the alternate screen on entry for 1047 and 1049 and keeps whatever
        # was there for 47; we never keep the old alternate contents, so all start blank.
        self.buffer = self._new_buffer()
        self.dirty.update(range(self.lines))

    def _leave_alternate(self, mode: int) -> None:
        saved = self._saved_main
        if saved is None:
            return
        self._saved_main = None
        self.buffer = saved.buffer
        self.dirty.update(range(self.lines))
        if mode == 1049:
            self.restore_cursor()

    # -- resize ----------------------------------------------------------------------------

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        """Resize the screen, keeping the cursor's line visible.

        Unlike pyte (which drops lines from the top regardless of the cursor), shrinking
        moves only as many top lines as needed to keep the cursor on screen, and those
        lines go to the scrollback, like xterm.
        """
        lines = max(1, lines or self.lines)
        columns = max(1, columns or self.columns)
        if lines == self.lines and columns == self.columns:
            return
        if lines < self.lines:
            shift = max(0, self.cursor.y - lines + 1)
            if shift:
                if self._saved_main is None:
                    for y in range(shift):
                        self._push_history(self.buffer.get(y))
                self.buffer = self._shifted(self.buffer, shift)
                self.cursor.y -= shift
        buffers = [self.buffer]
        if self._saved_main is not None:
            buffers.append(self._saved_main.buffer)
        if lines < self.lines:
            for buf in buffers:
                for y in [y for y in buf if y >= lines]:
                    del buf[y]
        if columns < self.columns:
            for buf in buffers:
                for line in buf.values():
                    for x in [x for x in line if x >= columns]:
                        del line[x]
        if columns > self.columns:
            self.tabstops.update(range((self.columns // 8 + 1) * 8, columns, 8))
        self.tabstops = {t for t in self.tabstops if t < columns}
        self.lines, self.columns = lines, columns
        self.margins = None
        self.cursor.x = min(self.cursor.x, columns - 1)
        self.cursor.y = min(self.cursor.y, lines - 1)
        self.dirty.update(range(lines))

    def _shifted(self, buf: Any, shift: int) -> Any:
        new = self._new_buffer()
        for y, line in buf.items():
            if y >= shift:
                new[y - shift] = line
        return new

    # -- scrollback ------------------------------------------------------------------------

    def _push_history(self, line: Mapping[int, Any] | None) -> None:
        """Store a line leaving the top of the screen in compact form."""
        self.history_pushed += 1
        history = self.history
        if history.maxlen == 0:
            return
        bulk_line = getattr(line, "history_line", None)
        if bulk_line is not None:
            # Checked first: ``not line`` would create a bulk row's cells.
            history.append(bulk_line)
            return
        if not line:
            history.append(_EMPTY_HISTORY_LINE)
            return
        keys = list(line)
        n = len(keys)
        if keys[-1] == n - 1 and keys == list(range(n)):
            # The common case: cells written left to right from column 0.
            cells = list(line.values())
        else:
            default = line.default if isinstance(line, StaticDefaultDict) else self.default_char
            last = max(keys)
            get = line.get
            cells = [get(x, default) for x in range(last + 1)]
        # Transposing is a C-level loop; a field whose values are all identical to the
        # first one (checked with tuple.count, also C-level) needs no per-cell work.
        fields = list(zip(*cells, strict=False))
        datas = fields[0]
        text: str | tuple[str, ...] = "".join(datas)
        if len(text) != len(cells):
            text = datas
        ncells = len(cells)
        if all(f.count(f[0]) == ncells for f in fields[1:]):
            runs: tuple[tuple[Attrs, int], ...] = ((_attrs_of(cells[0]), ncells),)
        else:
            runs = tuple([(k, len(list(g))) for k, g in groupby(zip(*fields[1:], strict=False))])
        history.append(HistoryLine(text, runs))

    # -- bulk scrolling ------------------------------------------------------------------

    def _glyphs_for(self, attrs: Any) -> dict[str, Any]:
        """Return the shared cells (one per character) for an attribute set."""
        glyphs = self._glyphs.get(attrs)
        if glyphs is None:
            if len(self._glyphs) > 1024:
                self._glyphs.clear()
            glyphs = self._glyphs[attrs] = _GlyphCache(attrs)
        return glyphs

    def bulk_ready(self) -> bool:
        """Whether :meth:`bulk_scroll` may be used now.

        True when the cursor is at the start of an empty bottom row of the main screen,
        with no scroll region, insert mode or non-ASCII character set in effect.
        """
        cursor = self.cursor
        bottom = self.lines - 1
        return (
            cursor.x == 0
            and cursor.y == bottom
            and self.margins is None
            and self._saved_main is None
            and not self.buffer.get(bottom)
            and not self.charset
            and self.g0_charset is LAT1_MAP
            and mo.IRM not in self.mode
        )

    def bulk_scroll(self, lines: list[HistoryLine]) -> None:
        """Show ``lines`` as if each was drawn at the bottom row and followed by CR LF.

        Args:
            lines: Lines in scrollback form, no wider than the screen, printable ASCII.
        """
        rows = self.lines
        count = len(lines)
        buffer = self.buffer
        if count >= rows - 1:
            # Every row now on screen scrolls off, and so do the first ``through`` lines.
            through = count - (rows - 1)
            for y in range(rows - 1):
                self._push_history(buffer.get(y))
            keep = self.history.maxlen or 0
            # Lines that a full history would drop right away need no work.
            self.history.extend(lines[max(0, through - keep) : through])
            self.history_pushed += through
            buffer.clear()
            first = 0
            shown = lines[through:]
        else:
            # The top ``count`` rows scroll off; the rest move up by ``count``.
            for y in range(count):
                self._push_history(buffer.get(y))
            moved = {y - count: row for y, row in buffer.items() if count <= y < rows - 1}
            buffer.clear()
            buffer.update(moved)
            first = rows - 1 - count
            shown = lines
        default = self.default_char
        glyphs_for = self._glyphs_for
        for y, history_line in enumerate(shown, first):
            buffer[y] = BulkRow(default, history_line, glyphs_for)
        self.dirty.update(range(rows))

    # -- display -----------------------------------------------------------------------------

    def row_layout(self, y: int) -> RowLayout:
        """Return how screen row ``y`` is displayed (text and attribute runs)."""
        cols = self.columns
        line = self.buffer.get(y)
        bulk_line = getattr(line, "history_line", None)
        if bulk_line is not None:
            # Before ``not line``, which would create a bulk row's cells.
            return _bulk_layout(bulk_line, cols, line.default)  # type: ignore[union-attr]
        if not line:
            default = self.default_char
            return " " * cols, [(cols, _attrs_of(default))]
        keys = list(line)
        n = len(keys)
        pad = line.default
        if keys[-1] == n - 1 and keys == list(range(n)):
            cells = list(line.values())
            if n > cols:
                del cells[cols:]
            elif n < cols:
                cells.extend([pad] * (cols - n))
        else:
            get = line.get
            cells = [get(x, pad) for x in range(cols)]
        return _layout(cells, cols)

    def history_layout(self, index: int) -> RowLayout:
        """Return how scrollback line ``index`` (0 = oldest) is displayed at today's width."""
        cols = self.columns
        entry = self.history[index]
        text = entry.text
        stored = len(text)
        if isinstance(text, str) and stored >= cols and text.isascii():
            runs = entry.runs
            if len(runs) == 1:
                return text[:cols], [(cols, runs[0][0])]
        cells: list[tuple[Any, ...]] = [(d, *a) for d, a in entry.cells()][:cols]
        if len(cells) < cols:
            cells.extend([(" ", *DEFAULT_ATTRS)] * (cols - len(cells)))
        return _layout(cells, cols)

    def history_plain(self, index: int) -> str:
        """Return the text of scrollback line ``index`` (0 = oldest), right-stripped."""
        return self.history[index].plain()

    def row_plain(self, y: int) -> str:
        """Return the text of screen row ``y``, right-stripped."""
        text, _ = self.row_layout(y)
        return "".join(text).rstrip()

    # -- fast paths ------------------------------------------------------------------------

    def index(self) -> None:
        """Move down one line, scrolling (and saving the top line to history) at the bottom."""
        margins = self.margins
        cursor = self.cursor
        if margins is None:
            top, bottom = 0, self.lines - 1
            if cursor.y != bottom:
                cursor.y += 1
                return
        else:
            top, bottom = margins
            if cursor.y != bottom:
                self.cursor_down()
                return
        buffer = self.buffer
        if top == 0 and self._saved_main is None:
            # Like xterm: lines leaving a scroll region that starts at the top of the main
            # screen go to the scrollback.
            self._push_history(buffer.get(0))
        self.dirty.update(range(self.lines))
        for y in range(top, bottom):
            buffer[y] = buffer[y + 1]
        buffer.pop(bottom, None)

    def cursor_position(self, line: int | None = None, column: int | None = None) -> None:
        """Move the cursor (CUP/HVP); pyte's logic with its helper calls inlined."""
        column = (column or 1) - 1
        line = (line or 1) - 1
        margins = self.margins
        origin = margins is not None and mo.DECOM in self.mode
        if origin:
            assert margins is not None
            line += margins.top
            if not margins.top <= line <= margins.bottom:
                return
        cursor = self.cursor
        cursor.x = min(max(0, column), self.columns - 1)
        if origin:
            assert margins is not None
            cursor.y = min(max(margins.top, line), margins.bottom)
        else:
            cursor.y = min(max(0, line), self.lines - 1)

    def cursor_to_line(self, line: int | None = None) -> None:
        """Move the cursor to a line (VPA); origin mode without margins means the screen.

        pyte asserts that margins exist when DECOM is set; xterm treats a missing scroll
        region as the whole screen, and so do we.
        """
        self.cursor.y = (line or 1) - 1
        if mo.DECOM in self.mode and self.margins is not None:
            self.cursor.y += self.margins.top
        self.ensure_vbounds()

    def linefeed(self) -> None:
        """Index, plus carriage return when LNM is set."""
        self.index()
        if mo.LNM in self.mode:
            self.cursor.x = 0

    def carriage_return(self) -> None:
        """Move the cursor to column 0."""
        self.cursor.x = 0

    def select_graphic_rendition(self, *attrs: int, **kwargs: Any) -> None:
        """Set display attributes like pyte, plus dim (2, reset by 22) and 38/48;5;0-15.

        Indexed colours 0-15 are stored as the named ANSI colours (as SGR 30-37/90-97 would)
        rather than pyte's fixed hex values, so they follow the UI theme. Results are cached
        per (current attributes, parameters).
        """
        if kwargs:
            return  # ``ESC [ ? ... m`` is not SGR; pyte would raise TypeError here.
        key = (self.cursor.attrs, attrs, mo.DECSCNM in self.mode)
        cached = self._sgr_cache.get(key)
        if cached is None:
            cached = self._compute_sgr(attrs)
            if len(self._sgr_cache) > 8192:
                self._sgr_cache.clear()
            self._sgr_cache[key] = cached
        self.cursor.attrs = cached

    def _compute_sgr(self, attrs: tuple[int, ...]) -> Any:
        if not attrs or attrs == (0,):
            return self.default_char
        replace: dict[str, Any] = {}
        todo = list(reversed(attrs))
        while todo:
            attr = todo.pop()
            if attr == 0:
                replace.update(self.default_char._asdict())
            elif attr in g.FG_ANSI:
                replace["fg"] = g.FG_ANSI[attr]
            elif attr in g.BG:
                replace["bg"] = g.BG_ANSI[attr]
            elif attr == 2:
                replace["dim"] = True
            elif attr == 22:
                replace["bold"] = replace["dim"] = False
            elif attr in g.TEXT:
                name = g.TEXT[attr]
                replace[name[1:]] = name.startswith("+")
            elif attr in g.FG_AIXTERM:
                replace["fg"] = g.FG_AIXTERM[attr]
            elif attr in g.BG_AIXTERM:
                replace["bg"] = g.BG_AIXTERM[attr]
            elif attr in (g.FG_256, g.BG_256):
                field = "fg" if attr == g.FG_256 else "bg"
                try:
                    n = todo.pop()
                    if n == 5:
                        m = todo.pop()
                        if m < 8:
                            replace[field] = _ANSI_NAMES[m]
                        elif m < 16:
                            replace[field] = "bright" + _ANSI_NAMES[m - 8]
                        else:
                            replace[field] = g.FG_BG_256[m]
                    elif n == 2:
                        replace[field] = f"{todo.pop():02x}{todo.pop():02x}{todo.pop():02x}"
                except IndexError:
                    pass  # Missing or out-of-range parameters: ignored, as pyte does.
        return self.cursor.attrs._replace(**replace)

    def erase_in_line(self, how: int = 0, private: bool = False) -> None:
        """Erase part of the line (same cells as pyte, set in one dict update)."""
        cursor = self.cursor
        self.dirty.add(cursor.y)
        if how == 0:
            interval = range(cursor.x, self.columns)
        elif how == 1:
            interval = range(cursor.x + 1)
        elif how == 2:
            interval = range(self.columns)
        else:
            return
        self.buffer[cursor.y].update(dict.fromkeys(interval, cursor.attrs))

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        """Erase part of the display (same cells as pyte, set in dict updates)."""
        cursor = self.cursor
        if how == 0:
            interval = range(cursor.y + 1, self.lines)
        elif how == 1:
            interval = range(cursor.y)
        elif how == 2 or how == 3:
            interval = range(self.lines)
        else:
            return
        self.dirty.update(interval)
        attrs = cursor.attrs
        buffer = self.buffer
        for y in interval:
            line = buffer[y]
            # pyte only overwrites the cells that exist; missing cells stay default.
            line.update(dict.fromkeys(line, attrs))
        if how == 0 or how == 1:
            self.erase_in_line(how)

    def draw(self, data: str) -> None:
        """Display text at the cursor; runs of ASCII are written a line-slice at a time."""
        if self.charset or self.g0_charset is not LAT1_MAP or mo.IRM in self.mode:
            super().draw(data)
            return
        cursor = self.cursor
        x = cursor.x
        n = len(data)
        if x + n <= self.columns and data.isascii() and data.isprintable():
            # Most common case: printable ASCII that fits on the line, no wrapping.
            attrs = cursor.attrs
            glyphs = self._glyphs.get(attrs)
            if glyphs is None:
                if len(self._glyphs) > 1024:
                    self._glyphs.clear()
                glyphs = self._glyphs[attrs] = _GlyphCache(attrs)
            self.buffer[cursor.y].update(
                zip(range(x, x + n), map(glyphs.__getitem__, data), strict=False)
            )
            cursor.x = x + n
            self.dirty.add(cursor.y)
            return
        columns = self.columns
        awm = mo.DECAWM in self.mode
        dirty = self.dirty
        i = 0
        while i < n:
            # Find the next run of printable ASCII, which all take exactly one cell.
            j = i
            if " " <= data[i] <= "~":
                m = _ASCII_RUN.match(data, i)
                assert m is not None
                j = m.end()
            if j > i:
                attrs = cursor.attrs
                glyphs = self._glyphs.get(attrs)
                if glyphs is None:
                    if len(self._glyphs) > 1024:
                        self._glyphs.clear()
                    glyphs = self._glyphs[attrs] = _GlyphCache(attrs)
                getter = glyphs.__getitem__
                while i < j:
                    if cursor.x >= columns:
                        if awm:
                            dirty.add(cursor.y)
                            cursor.x = 0
                            self.linefeed()
                        else:
                            cursor.x = columns - 1
                    x = cursor.x
                    take = min(columns - x, j - i)
                    self.buffer[cursor.y].update(
                        zip(range(x, x + take), map(getter, data[i : i + take]), strict=False)
                    )
                    i += take
                    cursor.x = x + take
                continue
            # One non-ASCII (or control) character: pyte's per-character logic verbatim.
            char = data[i]
            i += 1
            width = char_width(char)
            if width < 1 and not (width == 0 and _is_mark(char)):
                # Not drawn, and the text goes on (pyte dropped the rest of the read here):
                # a zero-width joiner, a variation selector (❤️), a skin tone, a format
                # character. Kept out of the cells: an outer terminal that joined "👨" and
                # "💻" around a joiner into one glyph drew the row shorter than laid out.
                continue
            if cursor.x == columns:
                if awm:
                    dirty.add(cursor.y)
                    cursor.x = 0
                    self.linefeed()
                elif width > 0:
                    cursor.x -= width
            line = self.buffer[cursor.y]
            if width == 1:
                line[cursor.x] = cursor.attrs._replace(data=char)
            elif width == 2:
                line[cursor.x] = cursor.attrs._replace(data=char)
                if cursor.x + 1 < columns:
                    line[cursor.x + 1] = cursor.attrs._replace(data="")
            else:  # a mark (an accent, a vowel sign): joined to the character before it
                if cursor.x:
                    last = line[cursor.x - 1]
                    normalized = unicodedata.normalize("NFC", last.data + char)
                    line[cursor.x - 1] = last._replace(data=normalized)
                elif cursor.y:
                    prev = self.buffer[cursor.y - 1]
                    last = prev[columns - 1]
                    normalized = unicodedata.normalize("NFC", last.data + char)
                    prev[columns - 1] = last._replace(data=normalized)
            if width > 0:
                cursor.x = min(cursor.x + width, columns)
        dirty.add(cursor.y)


#: One displayed row: the text (a str when every cell is one printable ASCII character,
#: else one str per cell, "" for the right half of a wide character) and the attribute
#: runs as ``(cell count, attrs)`` covering exactly the row width.
RowLayout = tuple[str | list[str], list[tuple[int, Attrs]]]


#: Longest OSC 52 sequence kept while its end is awaited (a larger one is dropped).
_MAX_OSC = 1 << 20


def _osc_end(data: str, start: int) -> tuple[int, int] | None:
    """(start, end) of the terminator (BEL or ST) of the OSC at ``start``; None if not there."""
    bel = data.find("\x07", start)
    st = data.find("\x1b\\", start + 2)
    if bel < 0 and st < 0:
        return None
    if st < 0 or 0 <= bel < st:
        return (bel, bel + 1)
    return (st, st + 2)


def _fix_wide(datas: tuple[str, ...] | list[str], cols: int) -> list[str]:
    """Make per-cell strings render at exactly one cell each (two for a wide char + stub).

    A wide character without its stub (overwritten, or in the last column) and a stub
    without its wide character would shift the rest of the row, so both become spaces.
    """
    out = list(datas)
    x = 0
    while x < cols:
        d = out[x]
        if d == "":
            out[x] = " "
        elif not d.isascii():
            width = char_width(d[0])
            if width == 2:
                if x + 1 < cols and out[x + 1] == "":
                    x += 2
                    continue
                out[x] = " "
            elif width < 1:
                out[x] = " "
        x += 1
    return out


def _bulk_layout(line: HistoryLine, cols: int, default: Any) -> RowLayout:
    """Lay out a bulk row from its scrollback form (ASCII text), padded with default cells."""
    text = line.text
    assert isinstance(text, str)
    runs = [(n, key) for key, n in line.runs]
    width = len(text)
    if width < cols:
        text += " " * (cols - width)
        pad = _attrs_of(default)
        if runs and runs[-1][1] == pad:
            runs[-1] = (runs[-1][0] + cols - width, pad)
        else:
            runs.append((cols - width, pad))
    return text, runs


def _layout(cells: list[Any], cols: int) -> RowLayout:
    """Turn exactly ``cols`` cells (Cell-like tuples) into a :data:`RowLayout`."""
    fields = list(zip(*cells, strict=False))
    datas = fields[0]
    joined = "".join(datas)
    text: str | list[str] = joined
    if len(joined) != cols or not joined.isascii():
        text = _fix_wide(datas, cols)
    if all(f.count(f[0]) == cols for f in fields[1:]):
        return text, [(cols, _attrs_of(cells[0]))]
    runs = [(len(list(grp)), k) for k, grp in groupby(zip(*fields[1:], strict=False))]
    return text, runs


_ASCII_RUN = re.compile("[ -~]+")
# A complete, simple CSI sequence: optional private/secondary marker, numeric
# parameters, one final byte. Anything else goes through pyte's own parser.
_CSI = re.compile(r"\x1b\[([?>]?)([0-9;]*)([@-~])")
_SGR = re.compile(r"\x1b\[([0-9;]*)m")
_SGR_SPLIT = re.compile(r"\x1b\[([0-9;]*)m")
# Complete simple lines: printable ASCII and SGR sequences, each ending in CR LF.
_BULK = re.compile(r"(?:(?:[ -~]|\x1b\[[0-9;]*m)*\r\n)+")


class TerminalStream(pyte.ByteStream):
    """A ``pyte.ByteStream`` that parses common sequences with regular expressions.

    Text runs, C0 controls and complete CSI sequences seen while the parser is idle are
    dispatched directly; everything else (OSC, charset selection, sequences split across
    reads...) goes through pyte's character-at-a-time parser, so the result is the same.
    Bytes go through pyte's incremental UTF-8 decoder, so a character split across two
    reads is kept. Errors raised by a handler are swallowed: bad input never breaks the
    stream.
    """

    def attach(self, screen: pyte.Screen) -> None:
        """Attach the screen and bind the direct dispatch tables."""
        super().attach(screen)
        self._sgr_cache: dict[tuple[Any, str, bool], Any] = {}
        self._state_ids: dict[Any, int] = {}
        self._states: list[tuple[Any, Attrs]] = []
        self._transitions: dict[tuple[int, str], int] = {}
        #: The start of an OSC 52 sequence whose end has not arrived yet.
        self._osc_partial = ""
        debug = screen.debug
        self._csi_dispatch: dict[str, Callable[..., None]] = defaultdict(
            lambda: debug, {k: getattr(screen, v) for k, v in self.csi.items()}
        )
        # Shift-in/out depend on the UTF-8 state, so they are left to pyte's parser.
        self._basic_dispatch: dict[str, Callable[..., None]] = {
            k: getattr(screen, v) for k, v in self.basic.items() if k not in (ctrl.SI, ctrl.SO)
        }

    def feed(self, data: bytes) -> None:  # type: ignore[override]
        """Decode and process bytes read from the program.

        Args:
            data: Any bytes; partial UTF-8 sequences are completed by the next call.
        """
        if self.use_utf8:
            text = self.utf8_decoder.decode(data)
        else:
            text = "".join(map(chr, data))
        self.feed_text(text)

    def feed_text(self, data: str) -> None:
        """Process already decoded text.

        Args:
            data: Text with control and escape sequences.
        """
        listener = self.listener
        if listener is None:
            raise RuntimeError("Listener is not set")
        if self._osc_partial:
            data, self._osc_partial = self._osc_partial + data, ""
        draw = listener.draw
        text_match = self._text_pattern.match
        csi_match = _CSI.match
        sgr_match = _SGR.match
        sgr_cache = self._sgr_cache
        bulk = listener if isinstance(listener, TerminalScreen) else None
        DECSCNM = mo.DECSCNM
        csi_dispatch = self._csi_dispatch
        basic = self._basic_dispatch
        send = self._send_to_parser
        taking = self._taking_plain_text
        length = len(data)
        offset = 0
        while offset < length:
            try:
                if taking:
                    m = text_match(data, offset)
                    if m is not None:
                        offset = m.end()
                        draw(m.group())
                        continue
                    char = data[offset]
                    handler = basic.get(char)
                    if handler is not None:
                        offset += 1
                        handler()
                        if char == "\n" and bulk is not None and bulk.bulk_ready():
                            offset = self._bulk_lines(data, offset)
                        continue
                    if char == "\x1b":
                        m = sgr_match(data, offset)
                        if m is not None:
                            # SGR is most of the escape traffic in coloured output: look the
                            # result up by the raw parameter string, skipping int parsing.
                            offset = m.end()
                            cursor = listener.cursor
                            key = (cursor.attrs, m.group(1), DECSCNM in listener.mode)
                            attrs = sgr_cache.get(key)
                            if attrs is None:
                                params = m.group(1).split(";")
                                listener.select_graphic_rendition(
                                    *[min(int(p or 0), 9999) for p in params]
                                )
                                if len(sgr_cache) > 8192:
                                    sgr_cache.clear()
                                sgr_cache[key] = listener.cursor.attrs
                            else:
                                cursor.attrs = attrs
                            continue
                        m = csi_match(data, offset)
                        if m is not None:
                            offset = m.end()
                            marker, params, final = m.groups()
                            args = [min(int(p or 0), 9999) for p in params.split(";")]
                            if marker == "?":
                                csi_dispatch[final](*args, private=True)
                            elif marker == ">" and final == "c":
                                listener.report_device_attributes(*args, secondary=True)
                            else:
                                # pyte ignores ">" in other sequences.
                                csi_dispatch[final](*args)
                            continue
                        if data.startswith("\x1b]52;", offset):
                            # pyte drops OSC 52 (clipboard): read it here, even split (after
                            # SGR and CSI, the escapes most output is made of).
                            end = _osc_end(data, offset)
                            if end is None:
                                if length - offset <= _MAX_OSC:
                                    self._osc_partial = data[offset:]
                                offset = length
                                continue
                            body, offset = data[offset + 5 : end[0]], end[1]
                            if bulk is not None:
                                bulk.set_clipboard(body)
                            continue
                offset += 1
                taking = send(data[offset - 1])
            except Exception:
                # A handler rejected its arguments; pyte would raise here. The parser
                # is reset by _send_to_parser, and a direct dispatch left it idle.
                taking = True
        self._taking_plain_text = taking

    def _apply_sgr(self, params: str) -> None:
        """Apply ``ESC [ params m`` through the same cache as the main loop."""
        listener = self.listener
        assert listener is not None
        key = (listener.cursor.attrs, params, mo.DECSCNM in listener.mode)
        attrs = self._sgr_cache.get(key)
        if attrs is None:
            listener.select_graphic_rendition(*[min(int(p or 0), 9999) for p in params.split(";")])
            if len(self._sgr_cache) > 8192:
                self._sgr_cache.clear()
            self._sgr_cache[key] = listener.cursor.attrs
        else:
            listener.cursor.attrs = attrs

    def _new_state(self, attrs: Any) -> int:
        sid = self._state_ids[attrs] = len(self._states)
        self._states.append((attrs, _attrs_of(attrs)))
        return sid

    def _transition(self, sid: int, params: str) -> int:
        listener = self.listener
        assert listener is not None
        cursor = listener.cursor
        cursor.attrs = self._states[sid][0]
        self._apply_sgr(params)
        new_attrs = cursor.attrs
        nxt = self._state_ids.get(new_attrs)
        if nxt is None:
            nxt = self._new_state(new_attrs)
        self._transitions[(sid, params)] = nxt
        return nxt

    def _bulk_lines(self, data: str, offset: int) -> int:
        """Process a run of simple lines scrolling through the bottom row in one go.

        A simple line is printable ASCII and SGR sequences, no wider than the screen,
        ending in CR LF: exactly what ``cat`` of a log or ``ls --color`` produce. When at
        least a screenful of them follows, the lines that would scroll straight through
        go to the scrollback without ever becoming cells. Returns the new offset (the old
        one when nothing was done). The differential tests check that the result is
        identical to pyte's.
        """
        screen = self.listener
        assert isinstance(screen, TerminalScreen)
        m = _BULK.match(data, offset)
        if m is None:
            return offset
        if mo.DECSCNM in screen.mode:
            return offset  # Rare; SGR results depend on it, so leave it to the normal path.
        cols = screen.columns
        cursor = screen.cursor
        # Attribute sets are numbered, so the SGR transition cache is keyed by a small
        # (int, str) tuple instead of a ten-field Cell that would be hashed every time.
        if len(self._states) > 4096:
            # Bounded: forget the numbering (and the transitions using it) between calls,
            # never during one, so the numbers held below stay valid.
            self._state_ids.clear()
            self._states.clear()
            self._transitions.clear()
        ids = self._state_ids
        states = self._states
        trans = self._transitions
        start_attrs = cursor.attrs
        sid = ids.get(start_attrs)
        if sid is None:
            sid = self._new_state(start_attrs)
        parsed: list[HistoryLine] = []
        consumed = offset
        split = _SGR_SPLIT.split
        for line in m.group().split("\r\n")[:-1]:
            if "\x1b" in line:
                parts = split(line)
                texts = parts[0::2]
                joined = "".join(texts)
                if len(joined) > cols:
                    break  # This line wraps: leave it to the normal path.
                runs: list[tuple[Attrs, int]] = []
                last = -1
                text = texts[0]
                if text:
                    runs.append((states[sid][1], len(text)))
                    last = sid
                for params, text in zip(parts[1::2], texts[1:], strict=True):
                    nxt = trans.get((sid, params))
                    if nxt is None:
                        nxt = self._transition(sid, params)
                    sid = nxt
                    if text:
                        if sid == last:
                            runs[-1] = (runs[-1][0], runs[-1][1] + len(text))
                        else:
                            runs.append((states[sid][1], len(text)))
                            last = sid
                parsed.append(HistoryLine(joined, tuple(runs)) if runs else _EMPTY_HISTORY_LINE)
            else:
                width = len(line)
                if width > cols:
                    break
                if line:
                    parsed.append(HistoryLine(line, ((states[sid][1], width),)))
                else:
                    parsed.append(_EMPTY_HISTORY_LINE)
            consumed += len(line) + 2
        if not parsed:
            cursor.attrs = start_attrs
            return offset
        # A line that wraps is checked before its SGRs are applied, so ``sid`` is the
        # state after the last line taken.
        cursor.attrs = states[sid][0]
        screen.bulk_scroll(parsed)
        return consumed


class Terminal:
    """A terminal emulator: screen, byte stream and the link back to the program.

    Args:
        rows: Screen height in lines.
        cols: Screen width in cells.
        scrollback: Lines kept after they scroll off the top.
        on_response: Called with answers for the program (DA, DSR); route them to the PTY.
    """

    def __init__(
        self,
        rows: int = 24,
        cols: int = 80,
        scrollback: int = 10_000,
        on_response: Callable[[bytes], None] | None = None,
    ) -> None:
        self.screen = TerminalScreen(cols, rows, scrollback=scrollback, on_response=on_response)
        self.stream = TerminalStream(self.screen)

    @property
    def rows(self) -> int:
        """Screen height in lines."""
        return int(self.screen.lines)

    @property
    def cols(self) -> int:
        """Screen width in cells."""
        return int(self.screen.columns)

    def set_response_handler(self, on_response: Callable[[bytes], None] | None) -> None:
        """Set where answers to queries go; answers queued meanwhile are delivered now."""
        self.screen.on_response = on_response
        if on_response is not None:
            pending, self.screen.responses = self.screen.responses, []
            for payload in pending:
                on_response(payload)

    def feed(self, data: bytes) -> None:
        """Process bytes from the program.

        Args:
            data: Raw PTY output.
        """
        self.stream.feed(data)

    def resize(self, rows: int, cols: int) -> None:
        """Resize the screen.

        Args:
            rows: New height in lines.
            cols: New width in cells.
        """
        self.screen.resize(rows, cols)

    def display(self) -> list[str]:
        """Return the screen text, one str per line (wide-character stubs dropped)."""
        # Not pyte's ``display``: it raises on a stub left behind by an overwritten wide char.
        screen = self.screen
        return ["".join(screen.row_layout(y)[0]) for y in range(screen.lines)]

    def history_text(self) -> list[str]:
        """Return the scrollback text, oldest first, right-stripped."""
        return [line.plain() for line in self.screen.history]
