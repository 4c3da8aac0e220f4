"""Provides differential tests: our fast emulator against stock pyte on the same streams."""

from __future__ import annotations

import random
import re

import pyte
import pytest
from hypothesis import given, settings
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
        ref_stream.feed(data[i : i + chunk])
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
    data = b"".join(rnd.choice(PIECES) for _ in range(20_000))
    ours, ref = run_both(data, 24, 80, 4096)
    assert_same_screen(ours, ref)
