"""Provides LocalPty, a transport running a local program in a pseudo-terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import termios
import threading
from collections.abc import Callable, Sequence

__all__ = ["LocalPty"]


class LocalPty:
    """Run a program in a local PTY; a reader thread hands its output to ``on_output``.

    Implements the ``PtyTransport`` protocol (``write``, ``resize``).

    Args:
        argv: Program and arguments.
        on_output: Called from the reader thread with each chunk read (up to
            ``chunk_size`` bytes); called with ``b""`` once when the program's output ends.
        rows: Initial height.
        cols: Initial width.
        env: Extra environment variables (TERM defaults to xterm-256color).
        chunk_size: Largest read; small reads keep each UI update short.
    """

    def __init__(
        self,
        argv: Sequence[str],
        on_output: Callable[[bytes], None],
        rows: int = 24,
        cols: int = 80,
        env: dict[str, str] | None = None,
        chunk_size: int = 16384,
    ) -> None:
        self._on_output = on_output
        self._chunk_size = chunk_size
        child_env = {**os.environ, "TERM": "xterm-256color", **(env or {})}
        pid, fd = pty.fork()
        if pid == 0:  # pragma: no cover - child process
            try:
                os.execvpe(argv[0], list(argv), child_env)
            finally:
                os._exit(127)
        self.pid = pid
        self.fd = fd
        self.resize(rows, cols)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._read_loop, name="LocalPty", daemon=True)
        self._thread.start()

    def _read_loop(self) -> None:
        fd = self.fd
        while not self._closed.is_set():
            try:
                ready, _, _ = select.select([fd], [], [], 0.1)
                if not ready:
                    continue
                data = os.read(fd, self._chunk_size)
            except OSError:
                data = b""
            if not data:
                break
            try:
                self._on_output(data)
            except Exception:
                # The consumer is gone (e.g. the app closed); stop reading.
                break
        try:
            self._on_output(b"")
        except Exception:
            pass

    def write(self, data: bytes) -> None:
        """Send bytes to the program (its keyboard input)."""
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    def resize(self, rows: int, cols: int) -> None:
        """Set the PTY size; the kernel sends SIGWINCH to the program."""
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def close(self) -> None:
        """Stop the program (SIGKILL to its process) and the reader thread."""
        if self._closed.is_set():
            return
        self._closed.set()
        try:
            # The child leads its own session and process group (pty.fork): take the
            # whole group, so e.g. a ``cat`` started by ``sh -c`` goes too.
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        self._thread.join(timeout=2)
        try:
            os.close(self.fd)
        except OSError:
            pass
