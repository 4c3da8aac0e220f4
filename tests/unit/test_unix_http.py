"""Tests the HTTP/1.1 answers the exec path reads from a local engine without http.client."""

from __future__ import annotations

import socket
import threading

import pytest

from cdebug_tui.engine.unixapi import HTTPError, Response


def answer(raw: bytes, *, pieces: int = 1) -> Response:
    """The answer to a request whose engine wrote `raw` (in `pieces` writes) and closed."""
    ours, theirs = socket.socketpair()

    def write() -> None:
        step = max(1, len(raw) // pieces)
        try:
            for i in range(0, len(raw), step):
                theirs.sendall(raw[i : i + step])
        except OSError:
            pass  # the reader gave up first (an answer it refused)
        finally:
            theirs.close()

    threading.Thread(target=write).start()
    return Response(ours)


def test_a_body_of_known_length() -> None:
    resp = answer(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
        b'{"Id": "x"}trailing bytes the answer does not own'
    )
    assert resp.status == 200 and resp.getheader("content-type") == "application/json"
    assert resp.read() == b'{"Id": "x"}'
    assert resp.read() == b""


@pytest.mark.parametrize("pieces", [1, 7, 200])
def test_a_chunked_stream_read_by_lines_across_chunks(pieces: int) -> None:
    """Events come chunked; a chunk may end inside a line, or hold several."""
    body = b'{"a": 1}\n{"b"' + b": 2}\n"
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (body[:5], body[5:12], body[12:]))
    resp = answer(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n",
        pieces=pieces,
    )
    assert resp.readline() == b'{"a": 1}\n'
    assert resp.readline() == b'{"b": 2}\n'
    assert resp.readline() == b""


def test_a_chunked_archive_read_whole() -> None:
    data = bytes(range(256)) * 300
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(data[i : i + 4096]), data[i : i + 4096])
        for i in range(0, len(data), 4096)
    )
    resp = answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
    got = b""
    while part := resp.read(10000):
        got += part
    assert got == data


def test_a_body_up_to_the_close_and_no_body() -> None:
    assert answer(b"HTTP/1.0 200 OK\r\n\r\nOK").read() == b"OK"
    assert answer(b"HTTP/1.1 204 No Content\r\n\r\n").read() == b""


def test_what_is_not_an_answer_is_an_oserror() -> None:
    with pytest.raises(HTTPError):
        answer(b"SSH-2.0-OpenSSH_9.2\r\n")
    with pytest.raises(HTTPError):
        answer(b"HTTP/1.1 200 OK\r\nContent-Le")  # cut in the headers
    resp = answer(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")
    with pytest.raises(HTTPError):
        resp.read()


def test_queries_are_encoded_as_urllib_encodes_them() -> None:
    """The exec path encodes its queries without urllib.parse: the same bytes on the wire."""
    import urllib.parse

    from cdebug_tui.engine.unixhttp import quote, urlencode

    query = {
        "filters": '{"label": ["io.cdebug-tui.sidecar"], "type": ["container"]}',
        "name": "cdebug-web-1 ü/ä?&=+",
        "changes": ["ENV A=1", 'CMD ["sh"]'],
        "stream": 1,
        "force": True,
    }
    assert urlencode(query) == urllib.parse.urlencode(query, doseq=True)
    for part in ("busybox:musl", "cdebug-tui/busybox:local", "a b/c%d", "ünï"):
        assert quote(part) == urllib.parse.quote(part, safe="")
