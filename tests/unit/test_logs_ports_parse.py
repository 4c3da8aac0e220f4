"""Tests the pure parts of logs and ports: frames, timestamps, /proc/net, port specs, search."""

from __future__ import annotations

import pytest

from cdebug_tui.engine.client import _LogDecoder, parse_log_timestamp
from cdebug_tui.engine.ports import parse_port_spec, parse_sockets, publish_problems
from cdebug_tui.engine.readings import ListeningSocket, LogLine, PublishedPort
from cdebug_tui.errors import PortForwardError
from cdebug_tui.ui.widgets.log_view import RUN_MARK, find_matches, format_timestamp, mark_runs


def _frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def test_log_frames_split_anywhere_give_the_same_lines() -> None:
    data = _frame(1, b"2024-05-01T12:00:00.5Z hello\n") + _frame(
        2, b"2024-05-01T12:00:01.123456789Z oops\n"
    )
    for cut in range(len(data) + 1):
        decoder = _LogDecoder(tty=False)
        lines = decoder.feed(data[:cut]) + decoder.feed(data[cut:])
        assert lines == [
            LogLine("stdout", 1714564800_500000000, "hello"),
            LogLine("stderr", 1714564801_123456789, "oops"),
        ]


def test_tty_logs_are_plain_lines() -> None:
    decoder = _LogDecoder(tty=True)
    assert decoder.feed(b"2024-05-01T12:00:00Z a\r\n2024-05-01T12:00:00Z b") == [
        LogLine("stdout", 1714564800_000000000, "a")
    ]
    assert decoder.rest() == [LogLine("stdout", 1714564800_000000000, "b")]


def test_timestamps() -> None:
    assert parse_log_timestamp("2024-05-01T12:00:00.000000001Z") == 1714564800_000000001
    assert parse_log_timestamp("2024-05-01T14:00:00.25+02:00") == 1714564800_250000000
    assert parse_log_timestamp("not a time") == 0
    assert format_timestamp(1714564800_250000000) == "2024-05-01T12:00:00.250Z"


NET = b"""==NET tcp
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 2222 1
==NET tcp6
  sl  local_address                         remote_address                        st
   0: 00000000000000000000000001000000:1F92 %s:0000 0A 0:0 0:0 0 0 0 3333 1
==NET udp
  sl  local_address rem_address   st
   0: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 4444 2
==NET udp6
==FDS
/proc/1/fd/:
lrwx------    1 root     root            64 Dec  2 17:00 3 -> socket:[1111]
lrwx------    1 root     root            64 Dec  2 17:00 4 -> socket:[3333]

/proc/7/fd/:
lrwx------    1 root     root            64 Dec  2 17:00 0 -> /dev/null
lrwx------    1 root     root            64 Dec  2 17:00 5 -> socket:[4444]
==COMM
==> /proc/1/comm <==
server

==> /proc/7/comm <==
dnsd
==END
""".replace(b"%s", b"0" * 32)


def test_sockets_listening_and_bound_with_their_owners() -> None:
    sockets = parse_sockets(NET)
    got = [(s.protocol, s.address, s.port, s.pid, s.command) for s in sockets]
    # The established connection (state 01) is not a listening socket.
    assert got == [
        ("udp", "0.0.0.0", 53, 7, "dnsd"),
        ("tcp", "127.0.0.1", 8080, 1, "server"),
        ("tcp6", "::1", 8082, 1, "server"),
    ]


def test_port_specs_as_kubectl_takes_them() -> None:
    assert parse_port_spec("8080") == (8080, 8080)
    assert parse_port_spec("8888:80") == (8888, 80)
    assert parse_port_spec(":80") == (0, 80)
    for bad in ("http", "80:", "0", "70000", "1:2:3", "-1"):
        with pytest.raises(PortForwardError):
            parse_port_spec(bad)


def test_search_is_smart_case() -> None:
    lines = [LogLine("stdout", 0, t) for t in ("Error here", "an error", "fine", "ERROR")]
    assert find_matches(lines, "error") == [0, 1, 3]
    assert find_matches(lines, "Error") == [0]
    assert find_matches(lines, "") == []


def test_search_index_follows_appended_lines_and_non_ascii() -> None:
    from cdebug_tui.ui.widgets.log_view import SearchIndex

    lines = [LogLine("stdout", 0, t) for t in ("alpha", "beta", "Gamma alpha")]
    index = SearchIndex()
    assert index.find(lines, "alpha") == [0, 2]
    lines += [LogLine("stdout", 0, t) for t in ("ALPHA", "İstanbul alpha", "")]
    assert index.find(lines, "alpha") == [0, 2, 3, 4]
    assert index.find(lines, "Gamma") == [2]
    assert index.find(lines, "a\nb") == []


def test_published_ports_that_would_not_answer() -> None:
    def sock(proto: str, address: str, port: int) -> ListeningSocket:
        return ListeningSocket(proto, address, port, inode=1)

    sockets = [
        sock("tcp", "0.0.0.0", 80),  # fine
        sock("tcp", "127.0.0.1", 8080),  # loopback only
        sock("tcp6", "::1", 8080),
        sock("udp", "127.0.0.1", 53),  # a UDP port published as TCP: nothing listens
    ]
    published = [
        PublishedPort(80, "tcp", "0.0.0.0", 32768),
        PublishedPort(80, "tcp", "::", 32768),
        PublishedPort(8080, "tcp", "0.0.0.0", 32769),
        PublishedPort(8080, "tcp", "::1", 32770),
        PublishedPort(53, "tcp", "", 32771),
        PublishedPort(9000, "tcp"),  # exposed, not published: not the proxy's
    ]
    assert publish_problems(sockets, published) == [
        "53/tcp → *:32771: nothing listens on it",
        "8080/tcp → *:32769, [::1]:32770: bound to 127.0.0.1 only, "
        "the engine's proxy cannot reach it",
    ]
    assert publish_problems([sock("tcp6", "::", 8080)], published[2:4]) == []


def test_run_marks_stand_between_runs() -> None:
    def line(ts: int, text: str) -> LogLine:
        return LogLine("stdout", ts, text)

    lines = [line(10, "a"), line(12, "b"), line(30, "a"), line(50, "a")]
    ends = [(5, 0), (20, 1), (25, 2), (40, None), (60, 3)]
    marked = mark_runs(lines, ends)
    assert [(m.stream, m.text) for m in marked] == [
        ("stdout", "a"),
        ("stdout", "b"),
        # Two deaths between b and the next a: a run that wrote nothing between them.
        (RUN_MARK, "──── exited (1) · started again ────"),
        (RUN_MARK, "──── exited (2) · started again ────"),
        ("stdout", "a"),
        (RUN_MARK, "──── stopped · started again ────"),
        ("stdout", "a"),
    ]
    # The death before the first line shown and the one after the last mark nothing; nor a
    # death before a line when the line before it is not known.
    assert mark_runs(lines[2:], ends, prev_ns=12)[0].stream == RUN_MARK
    assert mark_runs(lines[2:], ends)[0].text == "a"
