"""Tests that a recorded session replays, in any asciicast player, to the screen it showed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyte
import pytest

from cdebug_tui.engine.models import SessionSpec
from cdebug_tui.engine.recording import CastRecorder, read_cast
from cdebug_tui.engine.session import start_session

pytestmark = pytest.mark.engine


def _screen(chunks: list[bytes], rows: int, cols: int) -> list[str]:
    screen = pyte.Screen(cols, rows)
    stream = pyte.ByteStream(screen)
    for chunk in chunks:
        stream.feed(chunk)
    return screen.display


def test_cast_replays_to_the_same_screen(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str, tmp_path: Path
) -> None:
    target = run_target(distroless_image)
    spec = SessionSpec(
        target=target.id,
        image=busybox_image,
        rows=24,
        cols=80,
        command=("sh", "-c", "printf 'caf\\303\\251 \\342\\234\\223\\n'; ls /app; ls -la /"),
    )
    cast = tmp_path / "session.cast"
    live: list[bytes] = []
    with start_session(engine, spec) as session:
        recorder = CastRecorder(str(cast), 24, 80, target.name, session.steps)
        while data := session.read()[1]:
            live.append(data)
            # Split every chunk in two, through a multi-byte character if there is one.
            recorder.output(data[:5])
            recorder.output(data[5:])
        recorder.close()
    header, events = read_cast(cast)
    assert header["version"] == 2 and header["width"] == 80 and header["height"] == 24
    markers = [e[2] for e in events if e[1] == "m"]
    assert any(m.startswith("create the sidecar: docker create") for m in markers)
    replayed = "".join(e[2] for e in events if e[1] == "o").encode()
    screen = _screen([replayed], 24, 80)
    assert screen == _screen(live, 24, 80)
    text = "\n".join(screen)
    assert "café ✓" in text and "server" in text and "config.json" in text
