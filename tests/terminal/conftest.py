"""Provides shared helpers for the terminal tests: captured streams and screen comparison."""

from __future__ import annotations

from pathlib import Path

import pyte
import pytest

STREAMS = Path(__file__).parent / "streams"


def load_stream(name: str) -> bytes:
    """Return the bytes of a captured stream in tests/terminal/streams."""
    return (STREAMS / f"{name}.bin").read_bytes()


def cells(screen: pyte.Screen) -> list[list[pyte.screens.Char]]:
    """Return every cell of the screen (rows x columns) as pyte Chars."""
    return [[screen.buffer[y][x] for x in range(screen.columns)] for y in range(screen.lines)]


def assert_same_screen(ours: pyte.Screen, ref: pyte.Screen) -> None:
    """Assert both screens show the same cells, cursor and cursor attributes."""
    assert (ours.lines, ours.columns) == (ref.lines, ref.columns)
    # Our cells have a tenth field (dim) that pyte lacks; compare pyte's nine.
    for y, (a, b) in enumerate(zip(cells(ours), cells(ref), strict=True)):
        assert [tuple(c)[:9] for c in a] == [tuple(c) for c in b], (
            f"row {y} differs:\n ours={ours.display[y]!r}\n  ref={ref.display[y]!r}"
        )
    assert (ours.cursor.x, ours.cursor.y) == (ref.cursor.x, ref.cursor.y)
    assert ours.cursor.hidden == ref.cursor.hidden
    assert tuple(ours.cursor.attrs)[:9] == tuple(ref.cursor.attrs)
    assert ours.mode == ref.mode
    assert ours.margins == ref.margins


@pytest.fixture
def stream_names() -> list[str]:
    """Names of all captured streams."""
    return sorted(p.stem for p in STREAMS.glob("*.bin"))


def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests in this package with asyncio.run (no async plugin needed)."""
    import asyncio
    import inspect

    if inspect.iscoroutinefunction(pyfuncitem.obj):
        names = pyfuncitem._fixtureinfo.argnames
        kwargs = {name: pyfuncitem.funcargs[name] for name in names}
        asyncio.run(pyfuncitem.obj(**kwargs))
        return True
    return None
