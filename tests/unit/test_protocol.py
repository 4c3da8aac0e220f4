"""Tests cdebug-tui's side of the supervisor's line protocol over a socket pair, framed as the
engine frames an attach stream without a TTY."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import pytest

from cdebug_tui.engine.models import Mode
from cdebug_tui.engine.protocol import SupervisorChannel
from cdebug_tui.engine.stream import Stream
from cdebug_tui.errors import SessionError


@pytest.fixture
def pair() -> Iterator[tuple[SupervisorChannel, socket.socket]]:
    ours, theirs = socket.socketpair()
    channel = SupervisorChannel(Stream(ours, tty=False))
    yield channel, theirs
    channel.close()
    theirs.close()


def say(sock: socket.socket, text: str, kind: int = 1) -> None:
    """Writes as the engine does: an 8-byte header (stream kind, size), then the bytes."""
    data = text.encode()
    sock.sendall(struct.pack(">BxxxI", kind, len(data)) + data)


def test_a_whole_set_up(pair: tuple[SupervisorChannel, socket.socket]) -> None:
    channel, sup = pair
    # Lines split across frames, a stderr frame in between: still whole lines.
    say(sup, "CDEBUG-PROBE pid=7 chroot=/bin/chroot sh=/bin/sh tr")
    say(sup, "ls: /proc/1/root: Permission denied\n", kind=2)
    say(sup, "oot=1\n")
    assert channel.read_probe(timeout=5) == {
        "pid": "7",
        "chroot": "/bin/chroot",
        "sh": "/bin/sh",
        "troot": "1",
    }
    channel.plan_root(7, nix=False)
    assert sup.recv(100) == b"root 7 0\n"
    say(
        sup,
        "+ ln -s /proc/7/root /proc/1/root/.cdebug-x\nCDEBUG-MODE root / the toolkit is linked\n",
    )
    say(sup, "CDEBUG-READY\n")
    setup = channel.read_setup(timeout=5)
    assert (setup.mode, setup.root, setup.reason) == (Mode.ROOT, "/", "the toolkit is linked")
    assert setup.commands == ["ln -s /proc/7/root /proc/1/root/.cdebug-x"]


def test_the_end_of_the_stream_is_an_error(pair: tuple[SupervisorChannel, socket.socket]) -> None:
    """The supervisor ending during set-up or while linking for a user is never a silent
    default (the anchor's loop once ended quietly and kept the root link's name)."""
    channel, sup = pair
    say(sup, "+ ln -s /proc/9/root /proc/1/root/.cdebug-x-u65532\n")
    sup.shutdown(socket.SHUT_WR)
    with pytest.raises(SessionError, match="ended while linking"):
        channel.link_for_user(9, 65532, timeout=5)
    with pytest.raises(SessionError, match="ended during set-up"):
        channel.read_setup(timeout=5)


def test_a_refusal_to_link_for_a_user_is_an_error(
    pair: tuple[SupervisorChannel, socket.socket],
) -> None:
    channel, sup = pair
    say(sup, "CDEBUG-ANCHORED -\n")
    with pytest.raises(SessionError, match="cannot link the toolkit for that user"):
        channel.link_for_user(9, 65532, timeout=5)
    assert sup.recv(100) == b"anchor 9 65532\n"


def test_no_line_break_goes_into_a_line(pair: tuple[SupervisorChannel, socket.socket]) -> None:
    """A reason with a line break (a file name from the toolkit image, say) would be read as
    two lines: free text is flattened, anything else refused before it is sent."""
    channel, sup = pair
    channel.plan_toolkit("the toolkit's /bin/odd\nname is dynamically linked")
    assert sup.recv(200) == b"toolkit the toolkit's /bin/odd name is dynamically linked\n"
    with pytest.raises(ValueError, match="line break"):
        channel.send("anchor", "1\nroot", "0")
    sup.settimeout(0.2)
    with pytest.raises(TimeoutError):
        sup.recv(100)  # nothing of it was sent


def test_silence_is_an_error(pair: tuple[SupervisorChannel, socket.socket]) -> None:
    channel, _ = pair
    with pytest.raises(SessionError, match="did not answer in time"):
        channel.read_probe(timeout=0.2)
