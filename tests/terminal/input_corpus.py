"""Provides the input corpus: keys as users of vi, emacs, readline, less and htop type them.

Each case is what the user's terminal writes (``reads``: one bytes object per read, as a
burst arrives) and what xterm sends for those keys (``xterm``): the bytes the program in the
session must receive. The expectations are written from xterm's documentation (ctlseqs:
PC-style function keys, alt sends ESC, bracketed paste), not computed by our code.
"""

from __future__ import annotations

from typing import NamedTuple


class Case(NamedTuple):
    who: str
    keys: str
    reads: tuple[bytes, ...]
    xterm: bytes
    #: Whether the program enabled bracketed paste (mode 2004).
    bracketed: bool = False


ESC = b"\x1b"

CORPUS: tuple[Case, ...] = (
    # vi: leaving insert mode fast, in one burst and across reads.
    Case("vi", "i hello Esc :wq Enter, one burst", (b"ihello\x1b:wq\r",), b"ihello\x1b:wq\r"),
    Case("vi", "Esc then :wq after the escape delay", (ESC, b":wq\r"), b"\x1b:wq\r"),
    Case("vi", "Esc Esc", (b"\x1b\x1b",), b"\x1b\x1b"),
    Case("vi", "ctrl+v Esc (a literal ESC)", (b"\x16\x1b",), b"\x16\x1b"),
    Case(
        "vi",
        "arrows in application mode",
        (b"\x1bOA\x1bOB\x1bOC\x1bOD",),
        b"\x1bOA\x1bOB\x1bOC\x1bOD",
    ),
    # readline / bash / emacs: meta keys are ESC-prefixed (xterm's metaSendsEscape).
    Case("readline", "alt+b alt+f", (b"\x1bb\x1bf",), b"\x1bb\x1bf"),
    Case("readline", "alt+. (last argument)", (b"\x1b.",), b"\x1b."),
    Case("readline", "alt+: and alt+d", (b"\x1b:\x1bd",), b"\x1b:\x1bd"),
    Case("readline", "alt+backspace", (b"\x1b\x7f",), b"\x1b\x7f"),
    Case(
        "readline",
        "ctrl+a ctrl+e ctrl+w ctrl+u ctrl+r ctrl+p",
        (b"\x01\x05\x17\x15\x12\x10",),
        b"\x01\x05\x17\x15\x12\x10",
    ),
    Case("readline", "ctrl+c ctrl+d ctrl+z ctrl+\\", (b"\x03\x04\x1a\x1c",), b"\x03\x04\x1a\x1c"),
    Case("readline", "alt+left alt+right (words)", (b"\x1b[1;3D\x1b[1;3C",), b"\x1b[1;3D\x1b[1;3C"),
    Case("readline", "ctrl+left ctrl+right", (b"\x1b[1;5D\x1b[1;5C",), b"\x1b[1;5D\x1b[1;5C"),
    Case("readline", "Tab shift+Tab", (b"\t\x1b[Z",), b"\t\x1b[Z"),
    Case("emacs", "ctrl+x ctrl+s ctrl+x ctrl+c", (b"\x18\x13\x18\x03",), b"\x18\x13\x18\x03"),
    Case("emacs", "alt+x then a command", (b"\x1bxgoto-line\r",), b"\x1bxgoto-line\r"),
    Case("emacs", "alt+< alt+>", (b"\x1b<\x1b>",), b"\x1b<\x1b>"),
    Case("emacs", "ctrl+space ctrl+_", (b"\x00\x1f",), b"\x00\x1f"),
    Case("emacs", "alt+é (UTF-8 after ESC)", (b"\x1b\xc3\xa9",), b"\x1b\xc3\xa9"),
    # less / man
    Case("less", "space b / pattern Enter n q", (b" b/err\rnq",), b" b/err\rnq"),
    Case(
        "less",
        "PgDn PgUp Home End",
        (b"\x1b[6~\x1b[5~\x1b[H\x1b[F",),
        b"\x1b[6~\x1b[5~\x1b[H\x1b[F",
    ),
    Case("less", "shift+up shift+down", (b"\x1b[1;2A\x1b[1;2B",), b"\x1b[1;2A\x1b[1;2B"),
    # htop: F-keys, with modifiers.
    Case("htop", "F1 F2 F3 F4", (b"\x1bOP\x1bOQ\x1bOR\x1bOS",), b"\x1bOP\x1bOQ\x1bOR\x1bOS"),
    Case(
        "htop",
        "F5 F6 F9 F10 F12",
        (b"\x1b[15~\x1b[17~\x1b[20~\x1b[21~\x1b[24~",),
        b"\x1b[15~\x1b[17~\x1b[20~\x1b[21~\x1b[24~",
    ),
    Case("htop", "shift+F5 ctrl+F1", (b"\x1b[15;2~\x1b[1;5P",), b"\x1b[15;2~\x1b[1;5P"),
    Case(
        "htop",
        "Delete Insert ctrl+Delete",
        (b"\x1b[3~\x1b[2~\x1b[3;5~",),
        b"\x1b[3~\x1b[2~\x1b[3;5~",
    ),
    # A sequence split across two reads (a slow link) still arrives whole.
    Case("any", "up, split after ESC [", (b"\x1b[", b"A"), b"\x1b[A"),
    Case("any", "F5, split inside", (b"\x1b[1", b"5~"), b"\x1b[15~"),
    # Pastes.
    Case(
        "paste",
        "to a program without bracketed paste: markers stripped",
        (b"\x1b[200~echo hi\rls\r\x1b[201~",),
        b"echo hi\rls\r",
    ),
    Case(
        "paste",
        "to a program with bracketed paste: markers kept",
        (b"\x1b[200~echo hi\rls\r\x1b[201~",),
        b"\x1b[200~echo hi\rls\r\x1b[201~",
        True,
    ),
    Case(
        "paste",
        "a paste holding ESC and ctrl+] bytes reaches the program whole",
        (b"\x1b[200~a\x1bb\x1dc\x1b[5;5~\x1b[201~",),
        b"\x1b[200~a\x1bb\x1dc\x1b[5;5~\x1b[201~",
        True,
    ),
    Case(
        "paste",
        "a large paste over several reads, end marker split",
        (b"\x1b[200~" + b"x" * 5000, b"y" * 3000 + b"\x1b[20", b"1~z"),
        b"x" * 5000 + b"y" * 3000 + b"z",
    ),
    Case(
        "paste",
        "bracketed, over several reads",
        (b"\x1b[200~abc", b"def\x1b[201~"),
        b"\x1b[200~abcdef\x1b[201~",
        True,
    ),
)

#: Keys the app keeps (ctrl+], ctrl+PgUp/PgDn): they never reach the program.
APP_KEYS = {
    "ctrl+right_square_bracket": b"\x1d",
    "ctrl+pageup": b"\x1b[5;5~",
    "ctrl+pagedown": b"\x1b[6;5~",
}

#: What the user's terminal sends that is the app's, not a key: mouse reports (SGR, X10 and
#: urxvt encodings), focus in/out, and answers to the app's queries.
FOR_THE_APP = (
    b"\x1b[<0;10;5M",
    b"\x1b[<0;10;5m",
    b"\x1b[<64;3;3M",
    b"\x1b[M #!",
    b"\x1b[32;10;5M",
    b"\x1b[I",
    b"\x1b[O",
    b"\x1b[?2026;2$y",
    b"\x1b[48;40;120;800;1200t",
)
