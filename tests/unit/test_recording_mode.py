"""Tests that a recording, which holds what the session printed, is readable by its owner only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cdebug_tui.engine.recording import CastRecorder, read_cast


def test_a_recording_is_private(tmp_path: Path) -> None:
    """Created 0600 whatever the umask, and an existing file recorded over is made 0600 too."""
    old = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.cast"
        existing = tmp_path / "existing.cast"
        existing.write_text("old\n")
        existing.chmod(0o644)
        for path in (fresh, existing):
            recorder = CastRecorder(str(path), 24, 80, "target")
            recorder.output(b"AWS_SECRET_ACCESS_KEY=...\r\n")
            recorder.close()
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
            _, events = read_cast(path)
            assert events == [[events[0][0], "o", "AWS_SECRET_ACCESS_KEY=...\r\n"]]
    finally:
        os.umask(old)
