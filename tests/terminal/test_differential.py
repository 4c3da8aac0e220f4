"""Provides differential tests: our fast emulator against stock pyte on the same streams."""

from __future__ import annotations

import random
import re

import pyte
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cdebug_tui.terminal.emulator import Terminal, TerminalScreen

from .conftest import STREAMS, assert_same_screen, load_stream

ALT_SCREEN = re.compile(rb"\x1b\[\?(47|1047|1049)[hl]")


class AltReference(pyte.Screen):
    """Stock pyte plus a minimal alternate screen, the reference for streams using it."""

    def __init__(self, columns: int, lines: int) -> None:
        self.saved: tuple | None = None
        super().__init__(columns, lines)

    def set_mode(self, *modes: int, **kwargs: object) -> None:
        if kwargs.get("private") and 1049 in modes:
            self.save_cursor()
            self.saved = (self.buffer,)
            self.buffer = type(self.buffer)(self.buffer.default_factory)
            return
        super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: int, **kwargs: object) -> None:
        if kwargs.get("private") and 1049 in modes:
            if self.saved:
                (self.buffer,) = self.saved
                self.saved = None
                self.restore_cursor()
            return
        super().reset_mode(*modes, **kwargs)


def run_both(data: bytes, rows: int, cols: int, chunk: int) -> tuple[TerminalScreen, pyte.Screen]:
    """Feed data to our emulator and to stock pyte (both in chunks of the same size)."""
    ours = Terminal(rows, cols)
    ref: pyte.Screen = (
        AltReference(cols, rows) if ALT_SCREEN.search(data) else pyte.Screen(cols, rows)
    )
    ref_stream = pyte.ByteStream(ref)
    for i in range(0, len(data), chunk):
        ours.feed(data[i : i + chunk])
        try:
            ref_stream.feed(data[i : i + chunk])
        except AssertionError:
            # Stock pyte asserts on e.g. VPA in origin mode without margins; there is
            # nothing to compare against (ours carries on, see test_emulator).
            assume(False)
    return ours.screen, ref


@pytest.mark.parametrize("name", sorted(p.stem for p in STREAMS.glob("*.bin")))
@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_captured_streams_match_stock_pyte(name: str, chunk: int) -> None:
    ours, ref = run_both(load_stream(name), 24, 80, chunk)
    assert_same_screen(ours, ref)


@pytest.mark.parametrize("rows,cols", [(5, 10), (24, 80), (50, 200)])
def test_captured_streams_match_at_other_sizes(rows: int, cols: int) -> None:
    for name in ("ls_color", "top", "less", "wide"):
        ours, ref = run_both(load_stream(name), rows, cols, 512)
        assert_same_screen(ours, ref)


# Pieces a generated stream is made of: text (ASCII, wide, combining, controls), cursor
# movement, erasing, scrolling regions, SGR in all colour forms, modes, tabs, wrapping.
PIECES = [
    b"hello",
    b"x" * 37,
    b"\r\n",
    b"\n",
    b"\r",
    b"\b",
    b"\t",
    b"\x07",
    "日本語".encode(),
    "e\u0301".encode(),
    "\U0001f600".encode(),
    "ü".encode(),
    b"\x1b[m",
    b"\x1b[0m",
    b"\x1b[1;31m",
    b"\x1b[7m",
    b"\x1b[2;4;9;3m",
    b"\x1b[38;5;208m",
    b"\x1b[48;5;17m",
    b"\x1b[38;2;1;2;3m",
    b"\x1b[48;2;200;100;0m",
    b"\x1b[97;104m",
    b"\x1b[22;23;24;27;29m",
    b"\x1b[H",
    b"\x1b[5;3H",
    b"\x1b[2J",
    b"\x1b[J",
    b"\x1b[1J",
    b"\x1b[K",
    b"\x1b[1K",
    b"\x1b[2K",
    b"\x1b[3A",
    b"\x1b[2B",
    b"\x1b[4C",
    b"\x1b[D",
    b"\x1b[2L",
    b"\x1b[M",
    b"\x1b[3P",
    b"\x1b[2@",
    b"\x1b[3X",
    b"\x1b[10G",
    b"\x1b[3d",
    b"\x1b[2;5r",
    b"\x1b[r",
    b"\x1bM",
    b"\x1bD",
    b"\x1bE",
    b"\x1b7",
    b"\x1b8",
    b"\x1b[?25l",
    b"\x1b[?25h",
    b"\x1b[?7l",
    b"\x1b[?7h",
    b"\x1b[4h",
    b"\x1b[4l",
    b"\x1b[?1h",
    b"\x1b[?1l",
    b"\x1b]0;title\x07",
    b"\x1b(B",
    b"\x1b[?2004h",
    b"\x1b[?6h",
    b"\x1b[?6l",
    b"\x1b[9;99H",
    b"\x1b[0;0f",
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(PIECES), max_size=80),
    st.sampled_from([(3, 8), (5, 10), (24, 80)]),
    st.integers(min_value=1, max_value=64),
)
def test_generated_streams_match_stock_pyte(
    pieces: list[bytes], size: tuple[int, int], chunk: int
) -> None:
    rows, cols = size
    ours, ref = run_both(b"".join(pieces), rows, cols, chunk)
    assert_same_screen(ours, ref)


def test_long_random_stream_matches() -> None:
    rnd = random.Random(4)
    # Without origin mode: over 20,000 pieces stock pyte would hit its VPA assertion.
    pieces = [p for p in PIECES if p != b"\x1b[?6h"]
    data = b"".join(rnd.choice(pieces) for _ in range(20_000))
    ours, ref = run_both(data, 24, 80, 4096)
    assert_same_screen(ours, ref)


def history_rows(ours: TerminalScreen) -> list[list[tuple[str, tuple[object, ...]]]]:
    return [[(d, a[:8]) for d, a in line.cells()] for line in ours.history]


def reference_history_rows(ref: pyte.HistoryScreen) -> list[list[tuple[str, tuple[object, ...]]]]:
    rows = []
    for line in ref.history.top:
        width = max(line) + 1 if line else 0
        rows.append([(line[x].data, tuple(line[x])[1:]) for x in range(width)])
    return rows


WORDS = [b"", b"a", b"hello world", b"x" * 9, b"0123456789" * 3, b"  spaced  "]
SGRS = [b"\x1b[m", b"\x1b[1;31m", b"\x1b[38;5;208m", b"\x1b[48;2;1;2;3m", b"\x1b[0;7m", b"\x1b[2m"]
OTHER = [b"\x1b[K", b"\x1b[2A", b"\t", "日本".encode(), b"\x1b[3;1H", b"\r"]

line_strategy = st.lists(st.sampled_from(WORDS + SGRS), max_size=6).map(b"".join)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            line_strategy.map(lambda line: line + b"\r\n"),
            line_strategy.map(lambda line: line + b"\r\n"),
            line_strategy.map(lambda line: line + b"\r\n"),
            st.sampled_from(OTHER),
        ),
        min_size=0,
        max_size=60,
    ),
    st.sampled_from([(3, 8), (4, 12), (6, 30), (24, 80)]),
    st.sampled_from([1, 13, 100, 4096]),
    st.sampled_from([2, 7, 1000]),
)
def test_line_floods_match_stock_pyte_screen_and_history(
    pieces: list[bytes], size: tuple[int, int], chunk: int, scrollback: int
) -> None:
    rows, cols = size
    data = b"".join(pieces)
    ours = Terminal(rows, cols, scrollback=scrollback)
    ref = pyte.Screen(cols, rows)
    href = pyte.HistoryScreen(cols, rows, history=scrollback)
    streams = [pyte.ByteStream(ref), pyte.ByteStream(href)]
    for i in range(0, len(data), chunk):
        ours.feed(data[i : i + chunk])
        for stream in streams:
            stream.feed(data[i : i + chunk])
    assert_same_screen(ours.screen, ref)
    assert history_rows(ours.screen) == reference_history_rows(href)
    if scrollback == 1000:
        assert ours.screen.history_pushed == len(href.history.top)


def test_bulk_path_is_taken_and_matches_on_a_long_coloured_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []
    original = TerminalScreen.bulk_scroll

    def spy(self: TerminalScreen, lines: list) -> None:
        calls.append(len(lines))
        original(self, lines)

    monkeypatch.setattr(TerminalScreen, "bulk_scroll", spy)
    rnd = random.Random(9)
    lines = []
    for i in range(3000):
        parts = [rnd.choice(SGRS) + rnd.choice(WORDS) for _ in range(rnd.randint(0, 4))]
        lines.append(b"%5d " % i + b"".join(parts) + b"\r\n")
    data = b"".join(lines)
    ours, ref = run_both(data, 24, 80, 4096)
    assert_same_screen(ours, ref)
    href = pyte.HistoryScreen(80, 24, history=20_000)
    pyte.ByteStream(href).feed(data)
    small = Terminal(24, 80, scrollback=20_000)
    small.feed(data)
    assert history_rows(small.screen) == reference_history_rows(href)
    # Most lines went through the bulk path, which is what this test is about.
    assert sum(calls) > 2000


@pytest.mark.parametrize("scrollback", [1, 2, 5, 50])
@pytest.mark.parametrize("rows,cols", [(3, 8), (24, 80)])
def test_bulk_history_with_small_scrollback_matches(scrollback: int, rows: int, cols: int) -> None:
    data = b"".join(b"\x1b[3%dmL%d\r\n" % (i % 8, i) for i in range(300))
    ours = Terminal(rows, cols, scrollback=scrollback)
    ours.feed(data)
    href = pyte.HistoryScreen(cols, rows, history=scrollback)
    pyte.ByteStream(href).feed(data)
    assert history_rows(ours.screen) == reference_history_rows(href)
    assert ours.screen.history_pushed == 300 - (rows - 1)


@pytest.mark.parametrize(
    "edit",
    [
        b"\x1b[2A\rZZ",
        b"\x1b[2A\x1b[K",
        b"\x1b[2A\x1b[2P",
        b"\x1b[2A\x1b[1;32m\x1b[3@",
        b"\x1b[1;1H\x1b[J",
    ],
)
def test_rows_from_bulk_scrolling_that_are_edited_later(edit: bytes) -> None:
    data = b"".join(b"\x1b[3%dmline %d\r\n" % (i % 8, i) for i in range(10)) + edit
    more = b"".join(b"tail %d\r\n" % i for i in range(8))
    ours = Terminal(4, 12, scrollback=100)
    href = pyte.HistoryScreen(12, 4, history=100)
    ref = pyte.Screen(12, 4)
    ref_stream = pyte.ByteStream(href)
    ours.feed(data)
    ref_stream.feed(data)
    pyte.ByteStream(ref).feed(data)
    assert_same_screen(ours.screen, ref)
    # What is displayed matches the cells, not the text the rows were created with.
    for y in range(4):
        cells_text = "".join(ours.screen.buffer[y][x].data for x in range(12))
        assert "".join(ours.screen.row_layout(y)[0]) == cells_text
    ours.feed(more)
    ref_stream.feed(more)
    assert history_rows(ours.screen) == reference_history_rows(href)
