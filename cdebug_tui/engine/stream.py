"""Provides Stream: the framing of a hijacked attach or exec connection (no TTY: multiplexed)."""

from __future__ import annotations

import select
import socket
import struct
import threading
import time

from cdebug_tui.errors import SessionError

TYPE_CHECKING = False  # without typing's import: see cli.py
if TYPE_CHECKING:
    from typing import Any

STDOUT, STDERR = 1, 2


def raw_socket(sock: Any) -> socket.socket:
    """The socket of a hijacked connection (what docker-py returns for it), as our own.

    docker-py returns the connection inside its response, which holds it in a reference
    cycle: with only the socket kept, the garbage collector closed the response, and with it
    the connection's descriptor, under a session that still read it (a tab ended as its shell
    started, `recv`: EBADF). A plain socket's descriptor is taken over (detached from
    docker-py's object, which closes nothing then); another kind (TLS, ssh) as it is.
    """
    real = getattr(sock, "_sock", sock)
    if type(real) is not socket.socket:
        return real
    timeout = real.gettimeout()
    own = socket.socket(real.family, real.type, real.proto, fileno=real.detach())
    own.settimeout(timeout)
    return own


class Stream:
    """Reads a hijacked attach/exec connection, demultiplexing it when there is no TTY.

    The engine frames a stream without a TTY as 8-byte headers (stream kind, size) followed by
    the data; with a TTY the bytes come as they are.
    """

    def __init__(self, sock: Any, tty: bool) -> None:
        #: What docker-py returned: a TLS or ssh connection (not taken over) lives with it.
        self._owner = sock
        self.sock = raw_socket(sock)
        self.tty = tty
        self._buf = b""
        self._lock = threading.Lock()
        self.closed = False
        #: Text read past the last line readline() returned.
        self._pending = b""

    def _recv_exact(self, n: int) -> bytes | None:
        while len(self._buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self._buf)))
            if not chunk:
                return None
            self._buf += chunk
        data, self._buf = self._buf[:n], self._buf[n:]
        return data

    def ready(self, timeout: float) -> bool:
        """Whether read() has something (or the end) to return without waiting long."""
        if self._buf or self.closed:
            return True
        try:
            readable, _, _ = select.select([self.sock], [], [], timeout)
        except (OSError, ValueError):
            return True  # closed under us: read() says so
        return bool(readable)

    def read(self) -> tuple[int, bytes]:
        """The next chunk with the stream it came on (1 stdout, 2 stderr); b"" at the end."""
        try:
            if self.tty:
                if self._buf:
                    data, self._buf = self._buf, b""
                    return STDOUT, data
                return STDOUT, self.sock.recv(65536)
            header = self._recv_exact(8)
            if header is None:
                return STDOUT, b""
            kind, size = header[0], struct.unpack(">I", header[4:])[0]
            data = (self._recv_exact(size) if size else b"") or b""
            return (STDERR if kind == 2 else STDOUT), data
        except OSError:
            if self.closed:
                return STDOUT, b""
            raise

    def read_all(self, timeout: float) -> tuple[bytes, bytes] | None:
        """Everything until the end, stdout and stderr apart; None when `timeout` passes first."""
        deadline = time.monotonic() + timeout
        out: list[bytes] = []
        err: list[bytes] = []
        try:
            while True:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                kind, data = self.read()
                if not data:
                    return b"".join(out), b"".join(err)
                (err if kind == STDERR else out).append(data)
        except TimeoutError:
            return None

    def readline(self, timeout: float) -> str | None:
        """One line of stdout text (for the supervisor protocol), None at the end; stderr is
        passed over.

        Raises:
            SessionError: When no whole line comes within `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        pending = self._pending
        while b"\n" not in pending:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                kind, data = self.read()
            except TimeoutError as exc:
                raise SessionError("the sidecar did not answer in time") from exc
            finally:
                self.sock.settimeout(None)
            if not data:
                return None
            if kind == STDOUT:
                # stderr (a tool's complaint) would otherwise land inside a protocol line.
                pending += data
        line, _, rest = pending.partition(b"\n")
        self._pending = rest
        return line.decode(errors="replace")

    def unread_pending(self) -> None:
        """Gives what readline() read past its last line back to read(): a TTY stream's
        protocol lines end where the shell's output begins."""
        self._buf, self._pending = self._pending + self._buf, b""

    def write(self, data: bytes) -> None:
        with self._lock:
            self.sock.sendall(data)

    def close_write(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
