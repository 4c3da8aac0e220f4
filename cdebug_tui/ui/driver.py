"""Provides RawInputDriver: Textual's Linux driver, routing raw input to the focused terminal."""

from __future__ import annotations

import os
import selectors
import time
from codecs import getincrementaldecoder
from collections.abc import Callable
from typing import Any

from textual import constants
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver
from textual.events import Key
from textual.message import Message

from cdebug_tui.terminal.rawinput import HOLD, PASTE_END, InputRouter, split_escapes

__all__ = ["RawInput", "RawInputDriver"]


class RawInput:
    """Raw input as the driver reads it: the router first, Textual's key parser for the rest.

    The driver's input thread uses it, and tests feed bytes through it under Pilot, where
    Textual's headless driver reads nothing.

    Escape keys are split out before the parser (split_escapes); an ESC that ends a read
    waits Textual's escape delay (ESCDELAY, 100 ms) for the rest of a sequence, and is the
    Escape key when none comes.

    Args:
        router: Splits the bytes between the focused terminal and the app.
        process_message: Delivers a parsed event to the app (``Driver.process_message``).
    """

    def __init__(self, router: InputRouter, process_message: Callable[[Message], None]) -> None:
        self.router = router
        self._process = process_message
        self._parser = XTermParser()
        self._decode = getincrementaldecoder("utf-8")(errors="replace").decode
        #: When an ESC that ended a read came (time.monotonic()), or None.
        self._escape_since: float | None = None
        #: Whether a paste began and its end has not come yet: what comes is all its own.
        self._in_paste = False

    def wait(self) -> float | None:
        """Seconds until a held ESC is the Escape key (None: none is held)."""
        if self._escape_since is None:
            return None
        return max(0.0, self._escape_since + constants.ESCAPE_DELAY - time.monotonic())

    def feed(self, data: bytes) -> None:
        """Routes one read.

        Args:
            data: Bytes as read from the user's terminal.
        """
        self.router.reads += 1
        self._parse(self.router.feed(data))

    def _key(self, event: Message) -> None:
        """Delivers an event; a key with the number of the read it came in (`read_id`)."""
        if isinstance(event, Key):
            event.read_id = self.router.reads  # type: ignore[attr-defined]
        self._process(event)

    def tick(self) -> None:
        """Lets held bytes go and a held ESC be the Escape key once nothing followed it."""
        self._parse(self.router.tick())
        if self._escape_since is not None and self.wait() == 0:
            self._escape_since = None
            self._key(Key("escape", "\x1b"))
        for event in self._parser.tick():
            self._key(event)

    def _parse(self, data: bytes) -> None:
        if not data:
            return
        if self._escape_since is not None:
            self._escape_since = None
            data = b"\x1b" + data  # the rest of its sequence, or the key after an Escape
        parts: list[bytes | None] = []
        if self._in_paste:
            end = data.find(PASTE_END)
            if end < 0:
                parts, data = [data], b""
            else:
                self._in_paste = False
                parts, data = [data[: end + len(PASTE_END)]], data[end + len(PASTE_END) :]
        more, held, self._in_paste = split_escapes(data) if data else ([], False, self._in_paste)
        parts += more
        for part in parts:
            if part is None:
                self._key(Key("escape", "\x1b"))
            else:
                for event in self._parser.feed(self._decode(part)):
                    self._key(event)
        if held:
            self._escape_since = time.monotonic()


class RawInputDriver(LinuxDriver):
    """LinuxDriver whose input thread hands raw reads to the focused terminal first.

    Textual's key parser is built for apps: it merges an ESC with the key after it within
    its escape delay and turns ``ESC b`` into ctrl+left. A shell needs the bytes as typed,
    so they go to the app's :class:`InputRouter` (``app.input_router``) before the parser.
    The kitty keyboard protocol stays off: with it the user's terminal would encode keys
    in a form the programs in the sessions do not read.
    """

    def start_application_mode(self) -> None:
        """Starts as LinuxDriver does, without the kitty keyboard protocol."""
        setattr(constants, "DISABLE_KITTY_KEY", True)  # noqa: B010 - a Final of Textual's
        super().start_application_mode()

    def run_input_thread(self) -> None:
        """Reads input until the app ends: raw bytes to the router, the rest parsed."""
        router = getattr(self._app, "input_router", None)
        if not isinstance(router, InputRouter):
            router = InputRouter()
        raw = RawInput(router, self.process_message)
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        fileno = self.fileno
        read = os.read
        try:
            while not self.exit_event.is_set():
                # A held incomplete sequence waits HOLD for its rest, a held ESC the escape
                # delay, not the usual 0.1 s (an Escape key took up to 0.2 s to arrive).
                timeout = HOLD if router.holding else 0.1
                left = raw.wait()
                ready: list[Any] = selector.select(timeout if left is None else min(timeout, left))
                if ready:
                    data = read(fileno, 1024 * 4)
                    if not data:
                        break  # stdin closed (piped input ran out)
                    raw.feed(data)
                raw.tick()
        finally:
            selector.close()
