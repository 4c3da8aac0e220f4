"""Provides InputRouter: splits the user's raw input between the focused terminal and the app.

Bytes are routed as the user's terminal sent them, before any key parser sees them: the
focused terminal's program gets every byte except the app's own keys (ctrl+] and the tab
keys by default), the view's keys (shift+PgUp/PgDn: its scrollback), the mouse reports and the
answers the user's terminal gives to the app's queries. Nothing here imports Textual.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

__all__ = ["InputRouter", "PASTE_START", "PASTE_END", "split_escapes"]

PASTE_START = b"\x1b[200~"
PASTE_END = b"\x1b[201~"
#: How long an incomplete escape sequence at the end of a read is held for its rest; a lone
#: ESC (the Escape key) then reaches the program alone, as it was typed.
HOLD = 0.010
#: How long the keys after an Escape that left the picker wait for the app to arm what it
#: uncovers (the list's Enter) before they go to the app as they are.
AFTER_ESCAPE = 0.3
#: Longest escape sequence searched for its final byte; longer is garbage, passed on.
_MAX_SEQUENCE = 64


def _csi_end(buf: bytes, start: int) -> int:
    """Index just past the CSI sequence at ``start`` (ESC [ ...), -1 if incomplete.

    A sequence broken by a byte that cannot be in it ends just before that byte, so
    that garbage is passed on rather than held forever.
    """
    n = len(buf)
    j = start + 2
    if j < n and buf[j] == 0x4D and j == start + 2:  # ESC [ M b x y: a legacy mouse report
        return j + 4 if j + 3 < n else -1
    while j < n:
        b = buf[j]
        if 0x40 <= b <= 0x7E:
            return j + 1
        if not 0x20 <= b <= 0x3F:
            return j  # not a CSI byte: the sequence ends here, as it was
        j += 1
        if j - start > _MAX_SEQUENCE:
            return j
    return -1


#: Bytes after ESC that begin a sequence (CSI, SS3, and the string ones: OSC, DCS, APC, PM).
_SEQUENCE_STARTS = b"[O]P_^"
#: The finals of the SS3 keys (ESC O x) Textual's parser knows: arrows, Home and End in
#: cursor-key mode, F1-F4, urxvt's ctrl+arrows, the keypad's. Anything else after ESC O was
#: typed after an Escape.
_SS3_FINALS = b"ABCDFHMPQRSabcdjklmnopqrstuvwxy"


def split_escapes(data: bytes) -> tuple[list[bytes | None], bool, bool]:
    """Splits the app's input at each Escape key: (the parts, None for each Escape, in order;
    whether the input ends with an ESC that may begin a sequence still on its way; whether it
    ends inside a paste, whose rest comes in later reads).

    Textual's parser reads ESC and the key after it as one alt+key (ESC Enter is Enter), so
    `Escape Enter` typed fast cancelled nothing and picked in the picker, and `Escape q` did
    not quit. The app has no alt+key of its own: an ESC before anything but a sequence is the
    Escape key. Whole sequences, string ones and pastes are left whole (an ESC inside them is
    theirs).
    """
    parts: list[bytes | None] = []
    start = i = 0
    n = len(data)
    while (i := data.find(b"\x1b", i)) >= 0:
        if i + 1 == n:
            if i > start:
                parts.append(data[start:i])
            return parts, True, False
        after = data[i + 1 : i + 2]
        end: int | None = None  # just past the sequence at i; None: the Escape key
        if after == b"[":
            if data.startswith(PASTE_START, i):
                close = data.find(PASTE_END, i)
                if close < 0:
                    parts.append(data[start:])
                    return parts, False, True
                end = close + len(PASTE_END)
            else:
                close = _csi_end(data, i)
                end = close if close >= 0 else n
        elif after == b"O":
            # A key's SS3, or one ending the read whose final the parser waits for (an F1
            # split across two reads); before any other byte, an Escape typed fast (`Escape
            # O Enter`).
            if i + 2 >= n or data[i + 2] in _SS3_FINALS:
                end = i + 3
        elif after in _SEQUENCE_STARTS:
            # A string sequence, to BEL or ST (ESC \\): an answer the app asked for. With no
            # end in the read, an Escape typed fast (`Escape P`: the Ports view, which waited
            # for an end that never came).
            bel, st = data.find(b"\x07", i), data.find(b"\x1b\\", i + 2)
            ends = [e + 1 for e in (bel,) if e >= 0] + [e + 2 for e in (st,) if e >= 0]
            if ends:
                end = min(ends)
        if end is None:
            if i > start:
                parts.append(data[start:i])
            parts.append(None)
            start = end = i + 1
        i = end
    if start < n:
        parts.append(data[start:])
    return parts, False, False


def _for_app(seq: bytes) -> bool:
    """Whether a CSI sequence from the user's terminal is meant for the app, not a program.

    Mouse reports (the app re-encodes them for the program, relative to the terminal's
    position, when the program asked for the mouse), focus in/out, and answers to the
    app's own queries (DECRPM for synchronized output, in-band window resize).
    """
    final = seq[-1:]
    if seq.startswith(b"\x1b[<") and final in (b"M", b"m"):
        return True  # SGR mouse report (1006)
    if seq.startswith(b"\x1b[M") and len(seq) == 6:
        return True  # legacy X10 mouse report
    if final == b"M" and seq[2:-1].count(b";") == 2 and seq[2:3].isdigit():
        return True  # urxvt mouse report (1015)
    if seq in (b"\x1b[I", b"\x1b[O"):
        return True  # focus in / out (1004)
    if final == b"y" and b"$" in seq:
        return True  # DECRPM: the answer to the app's mode queries
    if final == b"t" and seq.startswith(b"\x1b[48;"):
        return True  # in-band window resize (2048)
    return final == b"u" and seq[2:3] == b"?"  # kitty keyboard flags answer


def _made_of(keys: bytes, allowed: bytes, refused: frozenset[bytes] = frozenset()) -> bool:
    """Whether `keys` are only bytes of `allowed` and cursor keys (CSI and SS3 sequences, but
    not `refused` ones, the app's tab keys, nor mouse reports and other answers for the app:
    a click or a tab key moves the focus); the Escape key (an ESC that begins no sequence)
    counts when ESC is in `allowed`."""
    i, n = 0, len(keys)
    while i < n:
        if keys[i] == 0x1B:
            kind = keys[i + 1 : i + 2]
            if kind == b"[":
                end = _csi_end(keys, i)
                seq = keys[i : end if end >= 0 else n]
                if seq in refused or _for_app(seq) or seq == b"\x1b[Z":  # shift+Tab
                    return False
                i = end if end >= 0 else n
            elif kind == b"O" and (i + 2 >= n or keys[i + 2] in _SS3_FINALS):
                i += 3  # as split_escapes reads it
            elif 0x1B in allowed:
                i += 1
            else:
                return False
        elif keys[i] in allowed:
            i += 1
        else:
            return False
    return True


class InputRouter:
    """Splits raw input bytes: the focused terminal's share, and the app's.

    A terminal registers a *sink* while it has the focus (:meth:`set_sink`); without one,
    everything goes to the app. Thread-safe: the sink is set on the UI thread and input is
    fed from the driver's input thread.

    Args:
        app_keys: Byte sequences the app keeps for itself (leave the terminal, switch
            tabs). When one is found, it and the rest of the read go to the app, whose
            focus may change with that key.
        view_keys: Byte sequences of keys for the focused terminal's view, not its program
            (scroll its history): they go to the app as mouse reports do, and the keys
            around them to the program.
    """

    def __init__(
        self,
        app_keys: Iterable[bytes] = (b"\x1d", b"\x1b[5;5~", b"\x1b[6;5~"),
        view_keys: Iterable[bytes] = (),
    ):
        self._view_keys = frozenset(view_keys)
        #: How many reads the user's terminal has delivered (RawInput counts them): a key
        #: carries its read's number, so that what was typed in one burst is known as such.
        self.reads = 0
        self._lock = threading.Lock()
        self._sink: Callable[[bytes], None] | None = None
        self._bracketed: Callable[[], bool] = lambda: False
        self._active: Callable[[], bool] = lambda: True
        self._pending = b""
        self._pending_since = 0.0
        self._in_paste = False
        self._app_key_seen = False
        #: Bytes typed ahead for a terminal that is not there yet (see begin_typeahead).
        self._typeahead: bytearray | None = None
        #: An app key typed ahead and what followed it: the app's once the terminal is there
        #: (ctrl+] then leaves it, q then quits), or when the typeahead ends without one.
        self._app_ahead = b""
        #: The byte that starts typeahead after it (see arm_typeahead), or None.
        self._trigger: int | None = None
        #: Whether the typeahead holds every byte as it came, app keys too (see arm_typeahead),
        #: and whether the armed trigger begins such a typeahead.
        self._verbatim = False
        self._verbatim_next = False
        #: Typeahead given back to the app: its parser gets it at the next tick.
        self._given_back = b""
        #: The keys after an Escape that left the view typeahead was armed for, and since when
        #: they wait for the app to arm again (see _feed_ahead).
        self._after_escape = b""
        self._after_escape_since = 0.0
        self._fired: Callable[[], None] | None = None
        self._when: Callable[[], bool] | None = None
        #: The key that leaves the focused terminal, and the typeahead its read arms (see
        #: arm_leave): the trigger byte and what to call when it fires.
        self._leave_key = b""
        self._leave: tuple[int, Callable[[], None] | None, bytes] | None = None
        #: Bytes that may come between the leave key and its trigger (keys that keep the
        #: focus in the tab), or None: the trigger counts wherever it comes (see _feed_ahead).
        self._before_trigger: bytes | None = None
        #: Whether the typeahead under way is for a terminal that is there (`t`): an app key
        #: typed after it waits behind it, and pastes keep their brackets; and the armed
        #: trigger's such typeahead.
        self._keep = False
        self._keep_next = False
        #: The trigger armed when the armed one passes (see arm_typeahead's `then`).
        self._then: tuple[bytes, Callable[[], None] | None, bool] | None = None
        #: The keys that may come before the trigger in its read, and the key that makes it
        #: a first step (see arm_typeahead's `only_after` and `via`).
        self._only_after: bytes | None = None
        self._via = b""
        #: Where the app key found by _split begins in the bytes it gave the app.
        self._app_key_at = 0
        self.set_app_keys(app_keys)

    def set_app_keys(self, app_keys: Iterable[bytes]) -> None:
        """Sets the byte sequences the app keeps for itself.

        Args:
            app_keys: The sequences (empty ones are ignored).
        """
        keys = frozenset(k for k in app_keys if k)
        self._app_keys = keys
        self._single = frozenset(k[0] for k in keys if len(k) == 1)

    def set_sink(
        self,
        sink: Callable[[bytes], None],
        bracketed: Callable[[], bool],
        active: Callable[[], bool] | None = None,
        *,
        typed_ahead_for: bool = True,
    ) -> None:
        """Sends raw input to ``sink`` from now on.

        Args:
            sink: Called (on the input thread) with the program's bytes; must not block.
            bracketed: Tells whether the program enabled bracketed paste (mode 2004).
            active: Tells whether the sink takes input now (False while a dialog is over
                the terminal, say); None: always.
            typed_ahead_for: Whether the sink is the terminal the typeahead was for (it
                gets it first); another one (the user clicked an older tab) drops it.
        """
        with self._lock:
            self._sink = sink
            self._bracketed = bracketed
            self._active = active or (lambda: True)
            self._disarm()
            ahead, self._typeahead = self._typeahead, None
            if ahead and typed_ahead_for:
                # Under the lock: the input thread's next bytes come after these.
                sink(bytes(ahead))
            # The app's keys typed after them: the app gets them now that the tab is there.
            self._given_back += self._app_ahead
            self._app_ahead = b""

    # -- typeahead: keys typed before the terminal they are for is there ----------------------

    def arm_leave(
        self,
        leave_key: bytes,
        trigger: bytes = b"t",
        fired: Callable[[], None] | None = None,
        between: bytes = b"",
    ) -> None:
        """Arms typeahead on `trigger` as soon as the focused terminal's sink meets
        `leave_key`, on the input thread: `ctrl+] t ls Enter` in one burst (tmux, ssh) leaves
        the terminal and comes back, and `ls Enter` is the shell's. Armed by the app only
        once its focus moved, the trigger came too late: the keys after `t` went to the
        panels (`e` opened an explanation), in the same read or the next one.

        Only `between` bytes (keys that keep the focus in the tab, where `trigger` still
        means the terminal) may come between the two: after any other (`:` opens the
        palette, `2` another tab, an escape sequence), a `t` is not this one."""
        with self._lock:
            self._leave_key = leave_key
            self._leave = (trigger[0], fired, between)

    def disarm_leave(self) -> None:
        """Disarms arm_leave (the focus is in no running terminal)."""
        with self._lock:
            self._leave = None

    def begin_typeahead(self) -> None:
        """Holds the program's bytes from now on for the next sink (a session that is
        starting, say): a user who types before the prompt shows loses nothing, and the app
        gets none of it (typed for a shell, "D" and "y" would remove a container). The app's
        own keys and replies still reach the app; one of its keys ends the typeahead."""
        with self._lock:
            self._disarm()
            if self._typeahead is None:
                self._typeahead = bytearray()
                self._verbatim = self._keep = False

    def arm_typeahead(
        self,
        trigger: bytes = b"\r",
        fired: Callable[[], None] | None = None,
        when: Callable[[], bool] | None = None,
        *,
        verbatim: bool = False,
        keep: bool = False,
        then: tuple[bytes, Callable[[], None] | None, bool] | None = None,
        only_after: bytes | None = None,
        via: bytes = b"",
    ) -> None:
        """Begins typeahead just after the next `trigger` byte the app gets: the Enter that
        opens a session, or the `t` that enters a terminal, with the keys typed after it in
        the same burst. `fired` is called (on the input thread; it must not block) then;
        `when` (read on the input thread) says whether the trigger still means that (False
        while a dialog is over the tab, say: the trigger is then the dialog's key).

        `verbatim`: the keys are for a view of the app to come (the picker the list's Enter
        opens), to be given back to it as they came (end_typeahead): an app key among them
        drops nothing, as it does when they are a shell's.

        `keep`: the keys are for a terminal that is there (the `t` of the panels): an app
        key typed after them waits behind them, not in their place.

        `then`: the trigger only leads to another, (trigger, fired, verbatim), armed as it
        passes, which must come next: the filter's Enter, then the list's (`Enter Enter Enter
        ls Enter` typed on from the filter).

        `only_after`: the trigger counts only when the keys before it in its read are these
        bytes or cursor keys (escape sequences); any other key there may take the focus
        elsewhere first (`/name Enter j j` from the list: the Enter was the filter's, and the
        `j`s were held for a picker that never came). `via`: a byte that, before the trigger,
        makes it a first step (as `then`), and this trigger the next one: the list's `/`,
        whose filter's Enter hands the focus back to the list."""
        with self._lock:
            self._arm(
                trigger[0],
                fired,
                when,
                verbatim=verbatim,
                keep=keep,
                then=then,
                only_after=only_after,
                via=via,
            )

    def _arm(
        self,
        trigger: int,
        fired: Callable[[], None] | None,
        when: Callable[[], bool] | None,
        *,
        verbatim: bool = False,
        keep: bool = False,
        before: bytes | None = None,
        then: tuple[bytes, Callable[[], None] | None, bool] | None = None,
        only_after: bytes | None = None,
        via: bytes = b"",
    ) -> None:
        """Arms the trigger (with the lock held); see arm_typeahead, and arm_leave for
        `before`."""
        self._trigger, self._fired, self._when = trigger, fired, when
        self._verbatim_next, self._keep_next = verbatim, keep
        self._before_trigger, self._then = before, then
        self._only_after, self._via = only_after, via

    def _disarm(self) -> None:
        """Disarms the trigger (with the lock held)."""
        self._trigger = self._before_trigger = None
        self._then = self._only_after = None
        self._via = b""

    @property
    def trigger(self) -> bytes:
        """The armed trigger byte (b"" when not armed)."""
        trigger = self._trigger
        return bytes((trigger,)) if trigger is not None else b""

    def disarm_typeahead(self, when: Callable[[], bool] | None = None) -> None:
        """Disarms typeahead; given `when`, only the arming made with that predicate (a
        dialog going leaves the arming made for what it uncovers)."""
        with self._lock:
            if when is not None and self._when is not when:
                return
            self._disarm()

    def end_typeahead(self, *, give_back: bool = False) -> None:
        """Ends typeahead: its bytes are dropped, or given back to the app (whose parser
        gets them at the next tick) when nothing they were typed for happened."""
        with self._lock:
            self._disarm()
            ahead, self._typeahead = self._typeahead, None
            if give_back and ahead:
                self._given_back += bytes(ahead)
            # An app key and what followed it were the app's all along.
            self._given_back += self._app_ahead
            self._app_ahead = b""

    @property
    def armed(self) -> bool:
        """Whether typeahead begins at the next trigger byte."""
        return self._trigger is not None

    @property
    def typing_ahead(self) -> bool:
        """Whether bytes are held for a terminal to come."""
        return self._typeahead is not None

    def clear_sink(self, sink: Callable[[bytes], None]) -> None:
        """Stops sending raw input to ``sink``, if it is the current one.

        Args:
            sink: The sink given to :meth:`set_sink`.
        """
        with self._lock:
            if self._sink == sink:
                self._sink = None

    @property
    def holding(self) -> bool:
        """Whether an incomplete sequence waits for the rest of it, or typeahead given back
        waits for the app (see :meth:`tick`)."""
        return bool(self._pending or self._given_back or self._after_escape)

    def tick(self, now: float | None = None) -> bytes:
        """Lets a held incomplete sequence go once it waited :data:`HOLD` seconds.

        Args:
            now: The current ``time.monotonic()``; None reads it.

        Returns:
            Bytes for the app (the held bytes go to the sink when there is one).
        """
        if self._after_escape:
            waited = (time.monotonic() if now is None else now) - self._after_escape_since
            if self._trigger is None and waited < AFTER_ESCAPE:
                return b""
            with self._lock:
                self._given_back, self._after_escape = self._after_escape + self._given_back, b""
        if self._given_back:
            return self.feed(b"")  # routed again: an Enter in it may arm typeahead anew
        if not self._pending or self._in_paste:
            # Inside a paste, the held bytes may start its end marker: they wait for the
            # next read, which the end of the paste brings.
            return b""
        now = time.monotonic() if now is None else now
        if now - self._pending_since < HOLD:
            return b""
        return self.feed(b"", final=True)

    def feed(self, data: bytes, *, final: bool = False) -> bytes:
        """Routes one read of raw input.

        Args:
            data: Bytes as read from the user's terminal.
            final: Pass on an incomplete sequence at the end instead of holding it.

        Returns:
            The bytes for the app's own key parser, in order.
        """
        with self._lock:
            if self._after_escape:
                self._after_escape += data  # after those, in order (see tick)
                return b""
            sink, bracketed, active = self._sink, self._bracketed, self._active
            if self._given_back:
                # Typed before what this read brings (and before a held ESC): first.
                self._pending, self._given_back = self._given_back + self._pending, b""
            if sink is None and (self._typeahead is not None or self._trigger is not None):
                return self._feed_ahead(data, final)
        buf = self._pending + data
        self._pending = b""
        if sink is None or not active():
            if self._in_paste and PASTE_END in buf:
                self._in_paste = False
            return buf
        to_term, to_app = self._split(buf, bracketed, final)
        if self._app_key_seen:
            # The app's key moves the focus out of this terminal (or to another tab): what
            # follows is not this terminal's, whatever the UI thread has done yet.
            self._app_key_seen = False
            with self._lock:
                if self._sink == sink:
                    self._sink = None
                at = self._app_key_at + len(self._leave_key)
                if self._leave is not None and to_app[self._app_key_at : at] == self._leave_key:
                    # The leave key: what follows it, in this read and the next ones, may
                    # hold the key that comes back (see arm_leave).
                    trigger, fired, between = self._leave
                    self._leave = None
                    self._arm(trigger, fired, None, keep=True, before=between)
                    to_app = to_app[:at] + self._feed_ahead(to_app[at:], final)
        if self._pending:
            self._pending_since = time.monotonic()
        if to_term:
            sink(to_term)
        return to_app

    def _feed_ahead(self, data: bytes, final: bool) -> bytes:
        """Routes a read while typeahead is armed or under way (with the lock held)."""
        buf = self._pending + data
        self._pending = b""
        to_app = b""
        if self._typeahead is None:
            at = self._trigger_at(buf)
            if at >= 0 and self._when is not None and not self._when():
                at = -1  # armed for a view a dialog now covers: the key is the dialog's
            between = self._before_trigger
            if between is not None and any(
                b not in between for b in buf[: at if at >= 0 else None]
            ):
                # After the leave key, a key that takes the focus elsewhere: the UI arms `t`
                # again, if it still enters this terminal, once it has moved.
                self._disarm()
                return buf
            parts = split_escapes(buf[: at + 1])[0] if at > 0 and not self._verbatim_next else []
            if None in parts:
                # `Escape Enter Enter` in the picker: the Escape leaves it, so the Enter is not
                # its pick: no shell to type ahead for. The Escape is the app's now; what follows
                # waits until the app has armed what the picker uncovers (the list's Enter opens
                # the picker again, the next Enter picks), or AFTER_ESCAPE.
                self._disarm()
                last = max(i for i, part in enumerate(parts) if part is None)
                cut = sum(1 if part is None else len(part) for part in parts[: last + 1])
                self._after_escape, self._after_escape_since = buf[cut:], time.monotonic()
                return buf[:cut]
            if at < 0:
                return buf  # no Enter yet (or only inside a paste): all the app's
            if self._only_after is not None and at > 0:
                head = buf[:at]
                via = head.find(self._via) if self._via else -1
                refused = self._app_keys
                # Typed into the filter: Escape clears it and Tab leaves it, either handing
                # the focus back before the Enter (`/ab Escape Enter`: the list's Enter).
                typed = head[via + 1 :] if via >= 0 else b""
                if (
                    via >= 0
                    and b"\x1b" not in typed
                    and b"\t" not in typed
                    and _made_of(head[:via], self._only_after, refused)
                ):
                    # `/name Enter Enter` from the list: the filter's Enter, then the list's.
                    fired, verbatim = self._fired, self._verbatim_next
                    self._arm(self._trigger or 0, fired, None, verbatim=verbatim, before=b"")
                    return buf[: at + 1] + self._feed_ahead(buf[at + 1 :], final)
                if not _made_of(head, self._only_after, refused):
                    return buf  # a key before it may move the focus: not the list's Enter
            if self._then is not None:
                # A first step (the filter's Enter): the app's; the next must come at once.
                then, fired, verbatim = self._then
                self._arm(then[0], fired, None, verbatim=verbatim, before=b"")
                return buf[: at + 1] + self._feed_ahead(buf[at + 1 :], final)
            to_app, buf = buf[: at + 1], buf[at + 1 :]
            self._disarm()
            self._typeahead = bytearray()
            self._verbatim = self._verbatim_next
            self._keep = self._keep_next
            fired, self._fired = self._fired, None
            if fired is not None:
                fired()
        if self._verbatim:
            # For the picker to come, in order, app keys too: `Enter Enter ctrl+] p` on the
            # list is the picker's Enter, then ctrl+] p for the tab it opens (the ctrl+] made
            # it drop the picker's Enter, and the pick was lost).
            self._typeahead += buf
            return to_app
        if self._app_ahead:
            # After an app key typed ahead, everything is the app's, in order, once the tab
            # is there.
            self._app_ahead += buf
            return to_app
        # For a terminal that is there, a paste keeps the brackets its program asked for.
        ahead, app = self._split(buf, self._bracketed if self._keep else lambda: False, final)
        if ahead == b"\x1b" and not self._typeahead and final:
            # Escape alone, nothing typed before it: the app's (the picker's cancel).
            self._typeahead = None
            return to_app + app + ahead
        self._typeahead += ahead
        if self._app_key_seen and self._keep:
            # `ctrl+] t ls Enter ctrl+] p`: `ls Enter` is the shell's, then ctrl+] p the
            # app's, in that order, once the terminal is back (set_sink).
            self._app_key_seen = False
            self._app_ahead = app
            app = b""
        elif self._app_key_seen:
            # ctrl+] (or a tab key) says the user wants the app, not the shell to come: what
            # was typed for the shell goes. The key and what follows wait for the tab, where
            # ctrl+] leaves the terminal and `p` shows the processes ("Enter ctrl+] p" in one
            # burst); given to the app at once, they reached the picker, still up, and were lost.
            self._app_key_seen = False
            self._typeahead = bytearray()
            self._app_ahead = app
            app = b""
        if self._pending:
            self._pending_since = time.monotonic()
        return to_app + app

    def _trigger_at(self, buf: bytes) -> int:
        """Where the trigger byte is in a read for the app, outside pastes (a pasted line
        is text for a field, and a paste can span reads); -1 if nowhere."""
        trigger = bytes((self._trigger,)) if self._trigger is not None else b""
        i = 0
        while i < len(buf):
            if self._in_paste:
                end = buf.find(PASTE_END, i)
                if end < 0:
                    return -1
                self._in_paste = False
                i = end + len(PASTE_END)
                continue
            at = buf.find(trigger, i) if trigger else -1
            esc = buf.find(b"\x1b", i)
            if esc < 0 or (0 <= at < esc):
                return at
            if buf.startswith(PASTE_START, esc):
                self._in_paste = True
                i = esc + len(PASTE_START)
            elif buf[esc + 1 : esc + 2] == b"[":
                # Inside a sequence the byte is not the key: the in-band resize report
                # (ESC [ 48 ; ... t) ends in `t`.
                end = _csi_end(buf, esc)
                i = end if end >= 0 else len(buf)
            elif buf[esc + 1 : esc + 2] == b"O":
                i = esc + 3
            else:
                i = esc + 1  # the Escape key; what follows is a key of its own
        return -1

    def _split(self, buf: bytes, bracketed: Callable[[], bool], final: bool) -> tuple[bytes, bytes]:
        out = bytearray()
        app = bytearray()
        n = len(buf)
        i = 0
        single = self._single
        keys = self._app_keys
        while i < n:
            if self._in_paste:
                j = buf.find(PASTE_END, i)
                if j < 0:
                    # Keep a possible start of the end marker for the next read.
                    keep = 0
                    for k in range(min(len(PASTE_END) - 1, n - i), 0, -1):
                        if buf.endswith(PASTE_END[:k]):
                            keep = k
                            break
                    if final:
                        keep = 0
                    out += buf[i : n - keep]
                    self._pending = buf[n - keep :]
                    break
                out += buf[i:j]
                if bracketed():
                    out += PASTE_END
                self._in_paste = False
                i = j + len(PASTE_END)
                continue
            b = buf[i]
            if b in single:
                self._app_key_seen = True
                self._app_key_at = len(app)
                return bytes(out), bytes(app) + buf[i:]
            if b != 0x1B:
                # A run of plain bytes up to the next ESC or app key.
                j = i + 1
                while j < n and buf[j] != 0x1B and buf[j] not in single:
                    j += 1
                out += buf[i:j]
                i = j
                continue
            if i + 1 >= n:
                if final:
                    out += buf[i:]
                else:
                    self._pending = buf[i:]
                break
            nxt = buf[i + 1]
            if nxt == 0x5B:  # ESC [
                end = _csi_end(buf, i)
                if end < 0:
                    if final:
                        out += buf[i:]
                    else:
                        self._pending = buf[i:]
                    break
            elif nxt == 0x4F:  # ESC O x: SS3 (F1-F4, application cursor keys)
                if i + 2 >= n and not final:
                    self._pending = buf[i:]
                    break
                end = min(n, i + 3)
            elif nxt == 0x1B:
                end = i + 1  # ESC ESC: the first is a key of its own (or alt+Escape's ESC)
            else:
                end = i + 2  # ESC x: alt+x (the rest of a UTF-8 character follows plainly)
            seq = buf[i:end]
            if seq in keys:
                self._app_key_seen = True
                self._app_key_at = len(app)
                return bytes(out), bytes(app) + buf[i:]
            if seq == PASTE_START:
                self._in_paste = True
                if bracketed():
                    out += seq
            elif nxt == 0x5B and (_for_app(seq) or seq in self._view_keys):
                # Mouse reports, replies and the view's keys are the app's; the keys after
                # them still go to the program.
                app += seq
            else:
                out += seq
            i = end
        return bytes(out), bytes(app)
