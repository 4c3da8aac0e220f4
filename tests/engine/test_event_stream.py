"""Tests the event stream against an engine that dies in the middle of a chunk."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest

from cdebug_tui.engine.client import Engine
from cdebug_tui.errors import EngineUnavailableError

_VERSION = json.dumps({"ApiVersion": "1.41", "Version": "20.10.24", "Components": []}).encode()
_EVENT = json.dumps(
    {
        "Type": "container",
        "Action": "start",
        "Actor": {"ID": "c0ffee", "Attributes": {"name": "web"}},
        "timeNano": 1_700_000_000_000_000_000,
    }
).encode()


def _serve(listener: socket.socket, stop: threading.Event) -> None:
    """Answers /version; answers /events with one event, then half a chunk, then hangs up."""
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                data = conn.recv(65536)
                if not data:
                    break
                request += data
            path = request.split(b" ", 2)[1] if request.count(b" ") >= 2 else b""
            if b"/events" in path:
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n"
                    + f"{len(_EVENT) + 1:x}\r\n".encode()
                    + _EVENT
                    + b"\n\r\n"
                    + b'400\r\n{"Type": "contai'  # the engine dies here
                )
            else:
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(_VERSION)}\r\n\r\n".encode()
                    + _VERSION
                )


@pytest.fixture
def dying_engine(tmp_path: Path) -> Engine:
    path = tmp_path / "dying.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen()
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(listener, stop), daemon=True)
    thread.start()
    engine = Engine("dying", f"unix://{path}", timeout=10)
    yield engine
    engine.close()
    stop.set()
    listener.close()
    thread.join(timeout=5)


def test_an_engine_dying_mid_stream_ends_the_stream(dying_engine: Engine) -> None:
    """The events read so far arrive, then the stream ends, or fails as an engine error: the
    app's reader sees the end and reports the disconnection; no other exception escapes."""
    seen = []
    try:
        for event in dying_engine.events():
            seen.append((event.id, event.action, event.name))
    except EngineUnavailableError:
        pass
    assert seen == [("c0ffee", "start", "web")]
