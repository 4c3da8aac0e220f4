"""Provides the terminal capability: a pyte-based emulator, key encoding and a Textual view.

Import the widget from ``cdebug_tui.terminal.widget``; this package itself stays free of
Textual so the emulator can be used on its own.
"""

from .emulator import PtyTransport, Terminal, TerminalScreen, TerminalStream
from .keys import encode_key, encode_mouse, encode_paste

__all__ = [
    "PtyTransport",
    "Terminal",
    "TerminalScreen",
    "TerminalStream",
    "encode_key",
    "encode_mouse",
    "encode_paste",
]
