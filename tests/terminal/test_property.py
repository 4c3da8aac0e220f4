"""Provides property tests: arbitrary and mutated bytes never break the emulator or the view."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from textual.app import App, ComposeResult

from cdebug_tui.terminal.emulator import Terminal
from cdebug_tui.terminal.widget import TerminalView

from .conftest import STREAMS, load_stream

REAL = [load_stream(p.stem) for p in sorted(STREAMS.glob("*.bin"))]
# Bytes that make random input reach the interesting parser states quickly.
ALPHABET = st.sampled_from(
    list(b"\x1b[]?;0123456789mHJKhlABCDrc\r\n\x07\x08\t\x9b\x00\xe6\x97\xa5 ax")
)


def mutate(data: bytes, rnd: random.Random) -> bytes:
    """Flip, drop, duplicate and cut bytes of a real stream."""
    buf = bytearray(data)
    for _ in range(rnd.randint(1, 40)):
        op = rnd.randrange(4)
        i = rnd.randrange(len(buf)) if buf else 0
        if not buf:
            break
        if op == 0:
            buf[i] = rnd.randrange(256)
        elif op == 1:
            del buf[i : i + rnd.randint(1, 8)]
        elif op == 2:
            buf[i:i] = buf[i : i + rnd.randint(1, 30)]
        else:
            buf[i:i] = bytes([27, 91]) + str(rnd.randint(0, 99999)).encode()
    return bytes(buf)


def check(term: Terminal, rows: int, cols: int) -> None:
    assert (term.rows, term.cols) == (rows, cols)
    display = term.display()
    assert len(display) == rows
    for y in range(rows):
        text, runs = term.screen.row_layout(y)
        assert len(text) == cols and sum(n for n, _ in runs) == cols
    assert 0 <= term.screen.cursor.y < rows and 0 <= term.screen.cursor.x <= cols


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.binary(max_size=400), st.lists(ALPHABET, max_size=400).map(bytes)),
    st.integers(1, 50),
)
def test_random_bytes_never_raise_and_keep_size(data: bytes, chunk: int) -> None:
    term = Terminal(6, 12, scrollback=20)
    for i in range(0, len(data), chunk):
        term.feed(data[i : i + chunk])
    check(term, 6, 12)
    for i in range(len(term.screen.history)):
        text, runs = term.screen.history_layout(i)
        assert len(text) == 12 and sum(n for n, _ in runs) == 12


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from([(5, 9), (24, 80), (40, 132)]))
def test_mutated_real_streams_never_raise(seed: int, size: tuple[int, int]) -> None:
    rnd = random.Random(seed)
    rows, cols = size
    term = Terminal(rows, cols)
    data = mutate(rnd.choice(REAL), rnd)
    step = rnd.randint(1, 300)
    for i in range(0, len(data), step):
        term.feed(data[i : i + step])
    check(term, rows, cols)
    term.resize(max(1, rows // 2), max(1, cols - 3))
    check(term, max(1, rows // 2), max(1, cols - 3))


class ViewApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TerminalView()


async def test_view_renders_full_width_lines_for_mutated_streams() -> None:
    rnd = random.Random(1234)
    app = ViewApp()
    async with app.run_test(size=(50, 12)) as pilot:
        view = app.query_one(TerminalView)
        for _ in range(60):
            data = mutate(rnd.choice(REAL), rnd) + bytes(rnd.randrange(256) for _ in range(50))
            view.feed(data)
            view.flush()
            assert (view.rows, view.cols) == (12, 50)
            for y in range(12):
                assert view.render_line(y).cell_length == 50
            if rnd.random() < 0.2:
                await pilot.press("shift+pageup")
                for y in range(12):
                    assert view.render_line(y).cell_length == 50
                await pilot.press("x")
