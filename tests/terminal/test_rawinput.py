"""Provides the differential tests of raw input routing: xterm's bytes reach the program as sent."""

from __future__ import annotations

import pytest

from cdebug_tui.terminal.keys import encode_key
from cdebug_tui.terminal.rawinput import HOLD, InputRouter

from .input_corpus import APP_KEYS, CORPUS, FOR_THE_APP, Case


def _router(bracketed: bool = False) -> tuple[InputRouter, list[bytes]]:
    router = InputRouter(APP_KEYS.values())
    got: list[bytes] = []
    router.set_sink(got.append, lambda: bracketed)
    return router, got


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: f"{c.who}: {c.keys}")
def test_the_program_receives_what_xterm_sends(case: Case) -> None:
    """Each read as the user's terminal wrote it; the program gets xterm's bytes, the app none."""
    router, got = _router(case.bracketed)
    to_app = b""
    for read in case.reads:
        to_app += router.feed(read)
    to_app += router.tick(now=float("inf"))
    assert b"".join(got) == case.xterm
    assert to_app == b""


def test_a_lone_esc_waits_at_most_the_hold_then_reaches_the_program_alone() -> None:
    """The Escape key alone: held for the rest of a sequence only HOLD seconds, then sent."""
    router, got = _router()
    assert router.feed(b"\x1b") == b""
    assert got == [] and router.holding
    assert router.tick(now=0.0 + 0.0) == b""  # not yet (its clock started at the read)
    router.tick(now=float("inf"))
    assert got == [b"\x1b"]
    router.feed(b":")
    assert got == [b"\x1b", b":"]


@pytest.mark.parametrize("key", APP_KEYS)
def test_the_app_keys_and_what_follows_them_go_to_the_app(key: str) -> None:
    """ctrl+] and the tab keys are the app's; keys after them in the burst follow the focus."""
    assert encode_key(key) == APP_KEYS[key]
    router, got = _router()
    to_app = router.feed(b"ls" + APP_KEYS[key] + b"qy")
    assert got == [b"ls"]
    assert to_app == APP_KEYS[key] + b"qy"


@pytest.mark.parametrize("report", FOR_THE_APP)
def test_mouse_reports_and_replies_go_to_the_app_and_keys_around_them_to_the_program(
    report: bytes,
) -> None:
    """The app re-encodes mouse reports for programs that asked (relative to the terminal)."""
    router, got = _router()
    to_app = router.feed(b"a" + report + b"\x1bb")
    assert b"".join(got) == b"a\x1bb"
    assert to_app == report


def test_without_a_focused_terminal_everything_goes_to_the_app() -> None:
    router, got = _router()
    router.clear_sink(got.append)
    assert router.feed(b"\x1bb\x1b[A") == b"\x1bb\x1b[A"
    assert got == []


def test_an_inactive_sink_leaves_the_keys_to_the_app() -> None:
    """A dialog over the terminal: the sink says it does not take input now."""
    router = InputRouter(APP_KEYS.values())
    got: list[bytes] = []
    router.set_sink(got.append, lambda: False, active=lambda: False)
    assert router.feed(b"y") == b"y"
    assert got == []


def test_configured_app_keys_replace_the_defaults() -> None:
    """With ctrl+b as the leave key, ctrl+] is the program's and ctrl+b the app's."""
    router = InputRouter([encode_key("ctrl+b")])
    got: list[bytes] = []
    router.set_sink(got.append, lambda: False)
    assert router.feed(b"\x1d\x1b[6;5~a\x02b") == b"\x02b"
    assert got == [b"\x1d\x1b[6;5~a"]


def test_hold_is_short() -> None:
    """A held ESC costs less than a frame, far below Textual's escape delay."""
    assert HOLD <= 0.02


def test_keys_typed_after_the_enter_that_opens_a_session_wait_for_its_terminal() -> None:
    """A burst "Enter, echo hi, Enter" in the picker: the app gets the Enter; the rest waits
    for the session's terminal, then reaches it first, before anything typed later."""
    router = InputRouter(APP_KEYS.values())
    router.arm_typeahead()
    assert router.feed(b"j") == b"j"  # no Enter yet: the picker's
    assert router.feed(b"\recho hi\r") == b"\r"
    assert router.typing_ahead and not router.armed
    assert router.feed(b"l\x1b[<0;5;5Ms") == b"\x1b[<0;5;5M"  # a click is still the app's
    got: list[bytes] = []
    router.set_sink(got.append, lambda: False)
    assert not router.typing_ahead
    router.feed(b"\r")
    assert got == [b"echo hi\rls", b"\r"]


def test_an_app_key_typed_ahead_and_what_follows_it_are_the_apps_once_the_tab_is_there() -> None:
    """ctrl+] while a session starts: the user wants the app, not the shell to come. What was
    typed for the shell goes; ctrl+] and what follows reach the app once the tab is there
    ("Enter ctrl+] p" in one burst: leave the new terminal, show the processes), not at once,
    when the picker was still up and took them."""
    router = InputRouter(APP_KEYS.values())
    router.begin_typeahead()
    leave = APP_KEYS["ctrl+right_square_bracket"]
    assert router.feed(b"Dy" + leave + b"q") == b""
    assert router.feed(b"y") == b""  # later reads too, in order
    assert router.typing_ahead
    got: list[bytes] = []
    router.set_sink(got.append, lambda: False)
    assert got == []  # "Dy", typed for a shell, never reaches the app nor a later terminal
    assert router.holding and router.tick() == leave + b"qy"
    # A start that fails gives them back too: they were the app's all along.
    router.begin_typeahead()
    router.feed(b"ls" + leave + b"p")
    router.end_typeahead()
    assert router.tick() == leave + b"p"


def test_keys_held_for_a_picker_keep_the_app_keys_in_order() -> None:
    """After the list's Enter the keys are the picker's to come (verbatim): `Enter Enter
    ctrl+] p` in one burst gives the picker its Enter and then ctrl+] p, held for the tab the
    Enter opens. The ctrl+] dropped the picker's Enter, as if it had been typed for a shell."""
    router = InputRouter(APP_KEYS.values())
    leave = APP_KEYS["ctrl+right_square_bracket"]
    router.arm_typeahead(verbatim=True)
    assert router.feed(b"\r\r" + leave + b"p") == b"\r"  # the list's Enter
    router.end_typeahead(give_back=True)  # the picker has the focus: its keys, as they came
    router.arm_typeahead()  # the picker's Enter opens a session
    assert router.tick() == b"\r"
    assert router.typing_ahead
    got: list[bytes] = []
    router.set_sink(got.append, lambda: False)  # the tab's terminal
    assert got == [] and router.tick() == leave + b"p"


def test_typeahead_ended_with_nothing_opened_is_dropped_or_given_back() -> None:
    """Dropped when its session failed (typed for a shell, "Dy" would remove a container);
    given back when its Enter picked nothing, so the dialog gets its keys as typed."""
    router = InputRouter(APP_KEYS.values())
    router.begin_typeahead()
    router.feed(b"Dy")
    router.end_typeahead()
    assert not router.holding and router.feed(b"q") == b"q"
    router.arm_typeahead()
    assert router.feed(b"\rabc\x1b") == b"\r"
    router.end_typeahead(give_back=True)
    assert router.holding  # the driver ticks at once
    assert router.tick(now=float("inf")) == b"abc\x1b"
    assert router.feed(b"d") == b"d"
    # Given back, an Enter in it picks again, and what follows waits for the terminal.
    router.arm_typeahead()
    assert router.feed(b"\rfoo\rDy") == b"\r"
    router.end_typeahead(give_back=True)
    router.arm_typeahead()
    assert router.tick(now=float("inf")) == b"foo\r"
    assert router.typing_ahead


def test_an_enter_inside_a_paste_picks_nothing_even_across_reads() -> None:
    """A pasted line for the picker's field: its newline is text, not the Enter that picks."""
    router = InputRouter(APP_KEYS.values())
    router.arm_typeahead()
    assert router.feed(b"\x1b[200~line1") == b"\x1b[200~line1"
    assert router.feed(b"\rline2\x1b[201~") == b"\rline2\x1b[201~"
    assert not router.typing_ahead and router.armed
    assert router.feed(b"\rls") == b"\r"
    assert router.typing_ahead


def test_typeahead_goes_only_to_the_terminal_it_was_for() -> None:
    """Another tab's terminal taking the focus (a click) drops it: never run there."""
    router = InputRouter(APP_KEYS.values())
    router.begin_typeahead()
    router.feed(b"rm -rf /tmp/x\r")
    other: list[bytes] = []
    router.set_sink(other.append, lambda: False, typed_ahead_for=False)
    assert other == [] and not router.typing_ahead
    router.feed(b"a")
    assert other == [b"a"]


def test_escape_alone_while_typing_ahead_is_the_apps() -> None:
    """Escape as the first key after the picker's Enter cancels, as the picker says."""
    router = InputRouter(APP_KEYS.values())
    router.arm_typeahead()
    assert router.feed(b"\r\x1b") == b"\r"
    assert router.tick(now=float("inf")) == b"\x1b"
    assert not router.typing_ahead


def test_a_trigger_no_longer_meant_for_a_terminal_goes_to_the_app() -> None:
    """`t` armed on a tab's panels, then a dialog over the tab: `t` and what follows are the
    dialog's, never held."""
    router = InputRouter(APP_KEYS.values())
    fired: list[bool] = []
    meant = [True]
    router.arm_typeahead(b"t", lambda: fired.append(True), lambda: meant[0])
    meant[0] = False
    assert router.feed(b"tls\r") == b"tls\r"
    assert not router.typing_ahead and fired == []
    meant[0] = True
    assert router.feed(b"tls") == b"t"
    assert router.typing_ahead and fired == [True]


def test_escape_keys_are_split_from_what_follows_them_but_sequences_stay_whole() -> None:
    """An ESC before anything but a sequence is the Escape key (Textual read ESC Enter as
    Enter); sequences, string sequences and pastes keep their ESCs; an ESC ending the input
    may begin a sequence still on its way; a paste not ended yet says so."""
    from cdebug_tui.terminal.rawinput import split_escapes

    assert split_escapes(b"\x1b\r") == ([None, b"\r"], False, False)
    assert split_escapes(b"\x1bq\x1b\x1b") == ([None, b"q", None], True, False)
    assert split_escapes(b"a\x1b[1;5A\x1bOP") == ([b"a\x1b[1;5A\x1bOP"], False, False)
    osc = b"\x1b]11;rgb:0000/0000/0000\x1b\\"
    assert split_escapes(osc + b"\x1b\r") == ([osc, None, b"\r"], False, False)
    paste = b"\x1b[200~x\x1by\x1b[201~"
    assert split_escapes(paste + b"\x1bq") == ([paste, None, b"q"], False, False)
    assert split_escapes(b"\x1b[200~x\x1by") == ([b"\x1b[200~x\x1by"], False, True)
    # Keys typed fast after Escape that begin no sequence here: `Escape P` (Ports), `Escape O`
    # (the list's reverse sort) were held as a DCS and an SS3 that never ended.
    assert split_escapes(b"\x1bP") == ([None, b"P"], False, False)
    assert split_escapes(b"\x1bPq\x1b]x") == ([None, b"Pq", None, b"]x"], False, False)
    assert split_escapes(b"\x1bOe\x1bOA") == ([None, b"Oe\x1bOA"], False, False)
    # The SS3 keys Textual knows stay whole (urxvt's ctrl+left, the keypad's Enter), and so
    # does an ESC O ending the read (an F1 split across reads): the parser waits for the rest.
    assert split_escapes(b"\x1bOd\x1bOM") == ([b"\x1bOd\x1bOM"], False, False)
    assert split_escapes(b"\x1bO") == ([b"\x1bO"], False, False)


def test_escape_before_the_pickers_enter_disarms_its_typeahead() -> None:
    """`Escape Enter Enter` in one read, the picker's Enter armed: the Escape leaves the
    picker, so no shell is typed ahead for (the keys after were held for one and lost). The
    Escape is the app's at once; the rest waits until the app arms what the picker uncovers
    (the list's Enter, verbatim, for the picker it opens again: the last Enter is that
    picker's), or AFTER_ESCAPE, and then goes as it is. Armed verbatim, the Enter fires."""
    from cdebug_tui.terminal.rawinput import AFTER_ESCAPE

    router = InputRouter()
    router.arm_typeahead(b"\r")
    assert router.feed(b"\x1b\r\r") == b"\x1b"
    assert not router.typing_ahead and not router.armed and router.holding
    assert router.feed(b"x") == b"" and router.tick() == b""  # later keys wait behind
    router.arm_typeahead(b"\r", verbatim=True)  # the app re-armed: the list's Enter
    assert router.tick() == b"\r"
    assert router.typing_ahead and not router.holding
    router.end_typeahead(give_back=True)
    assert router.tick() == b"\rx"  # the held keys, given back to the picker as they came

    router = InputRouter()
    router.arm_typeahead(b"\r")
    assert router.feed(b"\x1bq") == b"\x1bq"  # no Enter: nothing held
    router.arm_typeahead(b"\r")
    assert router.feed(b"\x1b\rq") == b"\x1b"
    assert router.tick(now=0.0) == b""
    import time

    assert router.tick(now=time.monotonic() + AFTER_ESCAPE) == b"\rq"  # nothing re-armed


@pytest.mark.parametrize(
    "reads",
    [
        [b"ls\x1dpte", b"cho hi\r"],
        [b"ls\x1d", b"ptecho hi\r"],
        [b"ls\x1dptecho hi\r"],
    ],
    ids=["split after t", "split after ctrl+]", "one read"],
)
def test_keys_after_ctrl_bracket_t_wait_for_the_terminal_in_one_read_or_two(
    reads: list[bytes],
) -> None:
    """`ctrl+] p t echo hi Enter` in one burst (tmux splits it where it likes): ctrl+], p and
    t are the app's, the rest waits for the terminal t brings back, however the reads fall."""
    router, got = _router()
    fired: list[bool] = []
    leave = APP_KEYS["ctrl+right_square_bracket"]
    router.arm_leave(leave, b"t", lambda: fired.append(True), between=b"pf")
    to_app = b"".join(router.feed(read) for read in reads)
    assert got == [b"ls"]
    assert to_app == b"\x1dpt" and fired == [True] and router.typing_ahead
    back: list[bytes] = []
    router.set_sink(back.append, lambda: False)
    assert back == [b"echo hi\r"] and not router.typing_ahead


def test_ctrl_bracket_without_t_leaves_every_key_to_the_app() -> None:
    """`ctrl+] q y`: no t, nothing is held; nor is anything after a tab key."""
    router, got = _router()
    router.arm_leave(APP_KEYS["ctrl+right_square_bracket"])
    assert router.feed(b"\x1dqy") == b"\x1dqy"
    assert router.feed(b"q") == b"q" and not router.typing_ahead
    router, got = _router()
    router.arm_leave(APP_KEYS["ctrl+right_square_bracket"])
    assert router.feed(APP_KEYS["ctrl+pagedown"] + b"tls") == APP_KEYS["ctrl+pagedown"] + b"tls"
    assert not router.typing_ahead
    router, got = _router()
    router.arm_leave(APP_KEYS["ctrl+right_square_bracket"])
    router.disarm_leave()
    assert router.feed(b"\x1dtls") == b"\x1dtls" and not router.typing_ahead


def test_after_ctrl_bracket_a_t_past_a_key_that_moves_elsewhere_is_not_held_for() -> None:
    """`ctrl+] :quit Enter` (the palette), `ctrl+] 2 t ls` (tab 2), an escape sequence: the
    `t` that comes after them is not the one back into this terminal; nothing is held (the
    palette's Enter was, and dropped; `ls` waited for the wrong tab)."""
    for burst in (b"\x1d:quit\r", b"\x1d2tls\r", b"\x1d" + APP_KEYS["ctrl+pagedown"] + b"tls\r"):
        router, got = _router()
        router.arm_leave(APP_KEYS["ctrl+right_square_bracket"], b"t", None, b"pf")
        assert router.feed(burst) == burst and not router.typing_ahead, burst
        assert router.feed(b"cat t\r") == b"cat t\r" and not router.typing_ahead
    router, got = _router()
    router.arm_leave(APP_KEYS["ctrl+right_square_bracket"], b"t", None, b"pf")
    assert router.feed(b"\x1dpftls\r") == b"\x1dpft" and router.typing_ahead


def test_keys_held_for_a_terminal_keep_an_app_key_after_them_and_a_paste_its_brackets() -> None:
    """`ctrl+] t ls Enter ctrl+] p`: `ls Enter` reaches the shell, then ctrl+] p the app
    (`ls` was dropped); a paste held so reaches a shell that asked for brackets with them."""
    router, got = _router(bracketed=True)
    router.arm_leave(APP_KEYS["ctrl+right_square_bracket"])
    assert router.feed(b"\x1dtls\r\x1dp") == b"\x1dt"
    back: list[bytes] = []
    router.set_sink(back.append, lambda: True)
    assert back == [b"ls\r"] and router.tick(now=float("inf")) == b"\x1dp"
    router, got = _router(bracketed=True)
    router.arm_leave(APP_KEYS["ctrl+right_square_bracket"])
    router.feed(b"\x1dt\x1b[200~echo a\necho b\n\x1b[201~")
    back = []
    router.set_sink(back.append, lambda: True)
    assert back == [b"\x1b[200~echo a\necho b\n\x1b[201~"]


def test_a_resize_report_ending_in_t_is_not_the_t_of_the_panels() -> None:
    """Textual asks for in-band resize reports (ESC [ 48 ; ... t): one arriving while `t`
    is armed in the panels began typeahead, and the next keys were held, then dropped."""
    router = InputRouter(APP_KEYS.values())
    router.arm_typeahead(b"t", keep=True)
    report = b"\x1b[48;40;160;800;1600t"
    assert router.feed(report + b"p") == report + b"p" and not router.typing_ahead
    assert router.feed(b"tls") == b"t" and router.typing_ahead


def test_a_first_enter_leads_to_a_second_that_must_come_at_once() -> None:
    """The filter's Enter, then the list's: what follows the second is held for the picker
    (verbatim); a key between them (`j` moves the cursor) leaves it all to the app."""
    fired: list[bool] = []
    router = InputRouter(APP_KEYS.values())
    router.arm_typeahead(b"\r", then=(b"\r", lambda: fired.append(True), True))
    assert router.feed(b"\r") == b"\r" and not router.typing_ahead
    assert router.feed(b"\r\rls\r") == b"\r" and fired == [True] and router.typing_ahead
    router = InputRouter(APP_KEYS.values())
    router.arm_typeahead(b"\r", then=(b"\r", None, True))
    assert router.feed(b"\rj\rls\r") == b"\rj\rls\r" and not router.typing_ahead


def test_the_lists_enter_counts_only_after_keys_that_keep_the_focus_on_the_list() -> None:
    """The list's Enter armed, read on the input thread while the list has the focus: in
    `/name Enter j j` the Enter is the filter's, and the `j`s are the list's at once (they
    were held for a picker that never came); `/name Enter Enter ls Enter` is the filter's
    Enter, then the list's, whose keys wait for the picker; cursor keys may come before the
    list's Enter; after a key that opens a view (`l`), the Enter is not the list's."""
    fired: list[bool] = []

    def armed() -> InputRouter:
        router = InputRouter(APP_KEYS.values())
        router.arm_typeahead(
            b"\r",
            lambda: fired.append(True),
            lambda: True,
            verbatim=True,
            only_after=b"jkgGoO\x1b",
            via=b"/",
        )
        return router

    router = armed()
    assert router.feed(b"/name\rjj") == b"/name\rjj"
    assert not fired and not router.typing_ahead
    assert router.feed(b"k") == b"k"  # nothing held: the list's next key is its own

    router = armed()
    assert router.feed(b"/name\r\rls\r") == b"/name\r\r" and fired == [True]
    assert router.typing_ahead
    router.end_typeahead(give_back=True)
    assert router.tick() == b"ls\r"  # held, for the picker, as typed

    fired.clear()
    router = armed()
    assert router.feed(b"jj\x1b[B\x1bOAG\rls\r") == b"jj\x1b[B\x1bOAG\r" and fired == [True]

    fired.clear()
    router = armed()
    assert router.feed(b"l\rx") == b"l\rx" and not fired and not router.typing_ahead

    router = armed()  # Escape (the filter cleared) `/name Enter Enter`: as without Escape
    assert router.feed(b"\x1b/name\r\rls\r") == b"\x1b/name\r\r" and fired == [True]

    fired.clear()
    # Keys that move the focus though they are sequences: a tab key (ctrl+PgDn), a click;
    # and an Escape typed into the filter, which hands the list its Enter: none fires.
    for read in (b"\x1b[6;5~\rjj", b"\x1b[<0;5;5M\x1b[<0;5;5m\rjj", b"/ab\x1b\rjj"):
        router = armed()
        assert router.feed(read) == read and not fired and not router.typing_ahead
