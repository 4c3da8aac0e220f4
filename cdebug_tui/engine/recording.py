"""Provides CastRecorder: a session recorded as an asciicast v2 file, with its steps as markers."""

from __future__ import annotations

import codecs
import json
import os
import stat
import threading
import time
from collections.abc import Iterable
from typing import IO, Any

from cdebug_tui.engine.models import Step


class CastRecorder:
    """Writes asciicast v2 (asciinema's format): a header line, then one JSON event per line.

    Output bytes go through an incremental UTF-8 decoder, so a character split across two
    reads is written whole, never as two replacement characters.

    Args:
        path: Where to write the cast.
        rows: The terminal's height at the start.
        cols: The terminal's width at the start.
        title: The cast's title (the target, typically).
        steps: What cdebug-tui did to start the session, written as markers at time 0.
        term: The terminal type the session's shell was given.
        screen: The terminal's screen when the recording starts, as text lines, with the
            cursor's (row, column): written first, so that playback begins with what the
            user saw (a recording started mid-session would otherwise start blank).
    """

    def __init__(
        self,
        path: str,
        rows: int,
        cols: int,
        title: str,
        steps: Iterable[Step] = (),
        screen: tuple[list[str], tuple[int, int]] | None = None,
        term: str = "xterm-256color",
    ) -> None:
        self.path = path
        # 0600: a session prints what it reads (secrets in environment variables, keys in
        # files); the umask would let others read it. Never over a file's data (as
        # asciinema): FileExistsError; an empty file (mktemp's) or a pipe is written to.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            fd = os.open(path, os.O_WRONLY)
            info = os.fstat(fd)
            if stat.S_ISREG(info.st_mode) and info.st_size > 0:
                os.close(fd)
                raise
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchmod(fd, 0o600)
        self._file: IO[str] = os.fdopen(fd, "w", encoding="utf-8")
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._lock = threading.Lock()
        self._start = time.monotonic()
        header: dict[str, Any] = {
            "version": 2,
            "width": cols,
            "height": rows,
            "timestamp": int(time.time()),
            "title": title,
            "env": {"TERM": term, "SHELL": "/bin/sh"},
        }
        self._file.write(json.dumps(header) + "\n")
        for step in steps:
            self.marker(
                f"{step.title}: {step.command.splitlines()[0] if step.command else ''}", 0.0
            )
        if screen is not None:
            self._event("o", screen_frame(*screen), 0.0)

    def _event(self, kind: str, data: str, at: float | None = None) -> None:
        t = time.monotonic() - self._start if at is None else at
        with self._lock:
            if not self._file.closed:
                self._file.write(json.dumps([round(t, 6), kind, data]) + "\n")

    def output(self, data: bytes) -> None:
        text = self._decoder.decode(data)
        if text:
            self._event("o", text)

    def marker(self, label: str, at: float | None = None) -> None:
        self._event("m", label, at)

    def resize(self, rows: int, cols: int) -> None:
        self._event("r", f"{cols}x{rows}")

    def close(self) -> None:
        tail = self._decoder.decode(b"", final=True)
        if tail:
            self._event("o", tail)
        with self._lock:
            self._file.close()


def screen_frame(lines: list[str], cursor: tuple[int, int]) -> str:
    """The output that draws a screen from scratch: clear, the lines, the cursor in place."""
    body = "\r\n".join(line.rstrip() for line in lines)
    row, col = cursor
    return f"\x1b[H\x1b[2J{body}\x1b[{row + 1};{col + 1}H"


def read_cast(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[list[Any]]]:
    """The header and events of an asciicast v2 file."""
    with open(path, encoding="utf-8") as f:
        header = json.loads(f.readline())
        events = [json.loads(line) for line in f if line.strip()]
    return header, events
