"""Provides the translation of key names, pastes and mouse events into xterm byte sequences.

Key names are Textual's (``"up"``, ``"ctrl+c"``, ``"shift+tab"``, ``"f5"``, ``"alt+x"``), but
nothing here imports Textual.
"""

from __future__ import annotations

ESC = "\x1b"
CSI = ESC + "["
SS3 = ESC + "O"

# Cursor keys: final byte; sent as SS3 x in application mode (DECCKM), else CSI x.
_CURSOR = {"up": "A", "down": "B", "right": "C", "left": "D", "home": "H", "end": "F"}
# Keys sent as CSI n ~.
_TILDE = {
    "insert": 2,
    "delete": 3,
    "pageup": 5,
    "pagedown": 6,
    "f5": 15,
    "f6": 17,
    "f7": 18,
    "f8": 19,
    "f9": 20,
    "f10": 21,
    "f11": 23,
    "f12": 24,
}
# F1-F4 are SS3 P..S without modifiers, CSI 1;m P..S with.
_PF = {"f1": "P", "f2": "Q", "f3": "R", "f4": "S"}
_SIMPLE = {
    "enter": "\r",
    "tab": "\t",
    "backspace": "\x7f",
    "escape": ESC,
    "space": " ",
}
# Control characters for ctrl+<punctuation>, named as Textual names them.
_CTRL_PUNCT = {
    "space": "\x00",
    "at": "\x00",
    "left_square_bracket": ESC,
    "backslash": "\x1c",
    "right_square_bracket": "\x1d",
    "circumflex_accent": "\x1e",
    "underscore": "\x1f",
    "question_mark": "\x7f",
    "h": "\x08",
}
_MODIFIER_BITS = {"shift": 1, "alt": 2, "meta": 2, "ctrl": 4, "super": 8}


def _split(key: str) -> tuple[set[str], str]:
    parts = key.split("+")
    # "ctrl+plus" style names never contain a literal "+", so the last part is the key.
    return set(parts[:-1]), parts[-1]


def encode_key(key: str, character: str | None = None, *, app_cursor: bool = False) -> bytes:
    """Translate a key press into the bytes an xterm would send.

    Args:
        key: Textual key name, e.g. ``"up"``, ``"ctrl+up"``, ``"ctrl+c"``, ``"alt+x"``.
        character: The printable character of the key, if any (Textual's
            ``Key.character``); used for keys not otherwise known.
        app_cursor: Whether the program set application cursor keys (DECCKM).

    Returns:
        The bytes to write to the program; empty if the key has no encoding.
    """
    mods, base = _split(key)
    bits = sum(_MODIFIER_BITS.get(m, 0) for m in mods)
    param = bits + 1

    if base in _CURSOR:
        final = _CURSOR[base]
        if bits:
            return f"{CSI}1;{param}{final}".encode()
        return ((SS3 if app_cursor else CSI) + final).encode()
    if base in _TILDE:
        n = _TILDE[base]
        return (f"{CSI}{n};{param}~" if bits else f"{CSI}{n}~").encode()
    if base in _PF:
        return (f"{CSI}1;{param}{_PF[base]}" if bits else SS3 + _PF[base]).encode()

    alt = "alt" in mods or "meta" in mods
    prefix = ESC if alt else ""
    rest = mods - {"alt", "meta"}

    if base == "tab" and "shift" in rest:
        return (prefix + CSI + "Z").encode()
    if "ctrl" in rest:
        if len(base) == 1 and base.isalpha():
            return (prefix + chr(ord(base.lower()) & 0x1F)).encode()
        if base in _CTRL_PUNCT:
            return (prefix + _CTRL_PUNCT[base]).encode()
        if base == "backspace":
            return (prefix + "\x08").encode()
    if base in _SIMPLE and not (rest - {"shift"}):
        return (prefix + _SIMPLE[base]).encode()
    if len(base) == 1 and not rest - {"shift"}:
        # alt+x arrives as "alt+x", alt+X as "alt+shift+x".
        return (prefix + (base.upper() if "shift" in rest else base)).encode()
    if character:
        return (prefix + character).encode("utf-8", "surrogateescape")
    return b""


def encode_paste(text: str, bracketed: bool) -> bytes:
    """Encode pasted text, wrapped in ``ESC [200~`` / ``ESC [201~`` when bracketed.

    Newlines become carriage returns, as a terminal sends Enter. Any end marker inside
    the text is removed so a paste cannot end bracketed mode early.

    Args:
        text: The pasted text.
        bracketed: Whether the program enabled bracketed paste (mode 2004).

    Returns:
        The bytes to write to the program.
    """
    body = text.replace("\r\n", "\r").replace("\n", "\r")
    if bracketed:
        body = body.replace(f"{CSI}201~", "")
        return f"{CSI}200~{body}{CSI}201~".encode()
    return body.encode()


def encode_mouse(
    button: int,
    x: int,
    y: int,
    *,
    action: str,
    sgr: bool,
    shift: bool = False,
    meta: bool = False,
    ctrl: bool = False,
) -> bytes:
    """Encode a mouse event as an xterm mouse report.

    Args:
        button: 0 left, 1 middle, 2 right, 64 wheel up, 65 wheel down (xterm numbering).
        x: 0-based column.
        y: 0-based row.
        action: ``"press"``, ``"release"`` or ``"motion"``.
        sgr: Use the SGR encoding (mode 1006) instead of the legacy X10 bytes.
        shift: Shift was held.
        meta: Meta/alt was held.
        ctrl: Ctrl was held.

    Returns:
        The report; empty if legacy encoding cannot express the position.
    """
    code = button + (4 if shift else 0) + (8 if meta else 0) + (16 if ctrl else 0)
    if action == "motion":
        code += 32
    if sgr:
        final = "m" if action == "release" else "M"
        return f"{CSI}<{code};{x + 1};{y + 1}{final}".encode()
    if action == "release":
        code = 3 + (code & ~3 & ~64)
    if x + 33 > 255 or y + 33 > 255:
        return b""
    return bytes([0x1B, 0x5B, 0x4D, 32 + code, 33 + x, 33 + y])
