"""Tests that a recording, which holds what the session printed, is readable by its owner only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cdebug_tui.engine.recording import CastRecorder, read_cast


def test_a_recording_is_private_and_never_over_a_file(tmp_path: Path) -> None:
    """Created 0600 whatever the umask; an existing file is refused and left as it was (it
    was recorded over, as asciinema never does)."""
    old = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.cast"
        recorder = CastRecorder(str(fresh), 24, 80, "target")
        recorder.output(b"AWS_SECRET_ACCESS_KEY=...\r\n")
        recorder.close()
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
        _, events = read_cast(fresh)
        assert events == [[events[0][0], "o", "AWS_SECRET_ACCESS_KEY=...\r\n"]]
        existing = tmp_path / "existing.txt"
        existing.write_text("precious\n")
        existing.chmod(0o644)
        with pytest.raises(FileExistsError):
            CastRecorder(str(existing), 24, 80, "target")
        assert existing.read_text() == "precious\n"
        assert stat.S_IMODE(existing.stat().st_mode) == 0o644
        # An empty file (as mktemp makes) is recorded into, made private.
        empty = tmp_path / "tmp.XXXX"
        empty.touch(mode=0o644)
        CastRecorder(str(empty), 24, 80, "target").close()
        assert read_cast(empty)[1] == [] and stat.S_IMODE(empty.stat().st_mode) == 0o600
    finally:
        os.umask(old)
