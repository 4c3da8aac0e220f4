"""Provides tests of key, paste and mouse encoding."""

from __future__ import annotations

import pytest

from cdebug_tui.terminal.keys import encode_key, encode_mouse, encode_paste


@pytest.mark.parametrize(
    "key,normal,app",
    [
        ("up", b"\x1b[A", b"\x1bOA"),
        ("down", b"\x1b[B", b"\x1bOB"),
        ("right", b"\x1b[C", b"\x1bOC"),
        ("left", b"\x1b[D", b"\x1bOD"),
        ("home", b"\x1b[H", b"\x1bOH"),
        ("end", b"\x1b[F", b"\x1bOF"),
    ],
)
def test_cursor_keys_follow_decckm(key: str, normal: bytes, app: bytes) -> None:
    assert encode_key(key) == normal
    assert encode_key(key, app_cursor=True) == app


@pytest.mark.parametrize(
    "key,expected",
    [
        ("ctrl+up", b"\x1b[1;5A"),
        ("shift+left", b"\x1b[1;2D"),
        ("alt+right", b"\x1b[1;3C"),
        ("ctrl+shift+end", b"\x1b[1;6F"),
        ("f1", b"\x1bOP"),
        ("f4", b"\x1bOS"),
        ("ctrl+f1", b"\x1b[1;5P"),
        ("f5", b"\x1b[15~"),
        ("f12", b"\x1b[24~"),
        ("shift+f5", b"\x1b[15;2~"),
        ("pageup", b"\x1b[5~"),
        ("delete", b"\x1b[3~"),
        ("ctrl+delete", b"\x1b[3;5~"),
        ("insert", b"\x1b[2~"),
        ("enter", b"\r"),
        ("backspace", b"\x7f"),
        ("tab", b"\t"),
        ("shift+tab", b"\x1b[Z"),
        ("escape", b"\x1b"),
        ("space", b" "),
        ("ctrl+c", b"\x03"),
        ("ctrl+a", b"\x01"),
        ("ctrl+z", b"\x1a"),
        ("ctrl+backslash", b"\x1c"),
        ("ctrl+space", b"\x00"),
        ("alt+x", b"\x1bx"),
        ("alt+shift+x", b"\x1bX"),
        ("alt+ctrl+c", b"\x1b\x03"),
    ],
)
def test_key_encodings(key: str, expected: bytes) -> None:
    assert encode_key(key) == expected


def test_printable_characters_use_the_character() -> None:
    assert encode_key("a", "a") == b"a"
    assert encode_key("exclamation_mark", "!") == b"!"
    assert encode_key("eacute", "é") == "é".encode()


def test_bracketed_paste() -> None:
    assert encode_paste("a\nb", bracketed=False) == b"a\rb"
    assert encode_paste("a\nb", bracketed=True) == b"\x1b[200~a\rb\x1b[201~"
    assert encode_paste("x\x1b[201~y", bracketed=True) == b"\x1b[200~xy\x1b[201~"


def test_mouse_reports() -> None:
    assert encode_mouse(0, 3, 2, action="press", sgr=True) == b"\x1b[<0;4;3M"
    assert encode_mouse(0, 3, 2, action="release", sgr=True) == b"\x1b[<0;4;3m"
    assert encode_mouse(64, 0, 0, action="press", sgr=True, ctrl=True) == b"\x1b[<80;1;1M"
    assert encode_mouse(0, 1, 1, action="motion", sgr=True) == b"\x1b[<32;2;2M"
    assert encode_mouse(0, 3, 2, action="press", sgr=False) == b"\x1b[M $#"
    assert encode_mouse(2, 3, 2, action="release", sgr=False) == b"\x1b[M#$#"
