"""Provides unit tests of the emulator on captured and hand-written streams."""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest

from cdebug_tui.terminal.emulator import Terminal

from .conftest import load_stream


def screen_text(term: Terminal) -> str:
    return "\n".join(line.rstrip() for line in term.display())


def test_utf8_character_split_across_reads_is_kept() -> None:
    term = Terminal(3, 20)
    for byte in "aé日\U0001f600z".encode():
        term.feed(bytes([byte]))
    assert term.display()[0].startswith("aé日\U0001f600z")
    assert "\ufffd" not in screen_text(term)


def test_vi_leaves_the_shell_screen_intact_after_quit() -> None:
    data = load_stream("vi")
    leave = data.index(b"\x1b[?1049l")
    term = Terminal(24, 80)
    term.feed(data[:leave])
    assert term.screen.alternate
    assert "line 30: the quick brown fox" in screen_text(term)  # after a ctrl+f page
    term.feed(data[leave:])
    text = screen_text(term)
    assert not term.screen.alternate
    assert "before-vi-marker" in text
    assert "after-vi" in text
    assert "the quick brown fox" not in text
    # vi's screen never reaches the scrollback.
    assert not any("quick brown" in line for line in term.history_text())


def test_alternate_screen_1049_restores_cursor_and_starts_blank() -> None:
    term = Terminal(5, 20)
    term.feed(b"shell$ ")
    term.feed(b"\x1b[?1049h")
    assert screen_text(term).strip() == ""
    term.feed(b"\x1b[3;3Hfull screen app")
    term.feed(b"\x1b[?1049l")
    assert term.display()[0].rstrip() == "shell$"
    assert (term.screen.cursor.x, term.screen.cursor.y) == (7, 0)


def test_alternate_screen_47_and_1047_switch_buffers() -> None:
    for mode in (b"47", b"1047"):
        term = Terminal(3, 10)
        term.feed(b"main")
        term.feed(b"\x1b[?" + mode + b"h\x1b[Halt")
        assert term.display()[0].rstrip() == "alt"
        term.feed(b"\x1b[?" + mode + b"l")
        assert term.display()[0].rstrip() == "main"


def test_device_attributes_and_cursor_position_are_answered() -> None:
    answers: list[bytes] = []
    term = Terminal(24, 80, on_response=answers.append)
    term.feed(b"\x1b[c\x1b[5;10H\x1b[6n\x1b[>c")
    assert answers[0] == b"\x1b[?62;22c"
    assert answers[1] == b"\x1b[5;10R"
    assert answers[2].startswith(b"\x1b[>") and answers[2].endswith(b"c")


def test_answers_before_a_handler_is_set_are_delivered_later() -> None:
    term = Terminal(24, 80)
    term.feed(b"\x1b[6n")
    got: list[bytes] = []
    term.set_response_handler(got.append)
    assert got == [b"\x1b[1;1R"]


def test_busybox_shell_cursor_queries_are_answered() -> None:
    answers: list[bytes] = []
    term = Terminal(24, 80, on_response=answers.append)
    term.feed(load_stream("ls_color"))
    assert answers and all(a.endswith(b"R") for a in answers)


def test_wide_characters_take_two_cells_and_do_not_shift_the_line() -> None:
    term = Terminal(24, 80)
    term.feed(load_stream("wide"))
    rows = [term.screen.row_layout(y)[0] for y in range(24)]
    row = next(r for r in rows if "".join(r).startswith("宽"))
    assert isinstance(row, list) and len(row) == 80
    assert row[0] == "宽" and row[1] == "" and row[2] == "字" and row[3] == ""
    assert row[4] == "|" and row[7] == "\U0001f600" and row[9] == "|"
    assert "".join(row[10:13]) == "end"


def test_colours_and_attributes() -> None:
    term = Terminal(3, 40)
    term.feed(
        b"\x1b[38;5;1ma\x1b[38;5;9mb\x1b[38;5;208mc\x1b[38;2;1;2;3md"
        b"\x1b[0;2me\x1b[22mf\x1b[1;3;4;7;9mg\x1b[0;97;44mh"
    )
    line = term.screen.buffer[0]
    assert line[0].fg == "red"
    assert line[1].fg == "brightred"
    assert line[2].fg == "ff8700"
    assert line[3].fg == "010203"
    assert line[4].dim and not line[5].dim
    g = line[6]
    assert g.bold and g.italics and g.underscore and g.reverse and g.strikethrough
    assert (line[7].fg, line[7].bg, line[7].bold) == ("brightwhite", "blue", False)


def test_scrollback_keeps_lines_in_order_with_attributes() -> None:
    term = Terminal(5, 30, scrollback=100)
    for i in range(20):
        term.feed(f"\x1b[32mline {i}\x1b[0m plain\r\n".encode())
    history = term.history_text()
    assert history == [f"line {i} plain" for i in range(16)]
    text, runs = term.screen.history_layout(3)
    assert "".join(text).startswith("line 3 plain")
    assert runs[0] == (6, ("green", "default", False, False, False, False, False, False, False))


def test_scrollback_is_bounded_and_compact() -> None:
    term = Terminal(50, 200, scrollback=10_000)
    line = ("0123456789abcdefghij" * 10)[:199]
    payload = "".join(f"{i:06d}{line[6:]}\r\n" for i in range(12_000)).encode()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(0, len(payload), 65536):
        term.feed(payload[i : i + 65536])
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    history = term.history_text()
    assert len(history) == 10_000
    assert history[-1].startswith("011950")
    assert used <= 30 * 1024 * 1024, f"{used / 2**20:.1f} MiB"


def test_shrinking_keeps_the_cursor_line_and_saves_the_rest() -> None:
    term = Terminal(10, 20)
    term.feed(b"\r\n".join(f"row{i}".encode() for i in range(8)))
    term.resize(4, 10)
    assert term.display()[3].rstrip() == "row7"
    assert term.history_text() == ["row0", "row1", "row2", "row3"]
    term.resize(10, 30)
    assert term.rows == 10 and term.cols == 30 and len(term.display()[0]) == 30


def test_modes_the_view_needs_are_tracked() -> None:
    term = Terminal(5, 20)
    screen = term.screen
    assert not screen.app_cursor_keys and not screen.bracketed_paste
    term.feed(b"\x1b[?1h\x1b[?2004h\x1b[?1002h\x1b[?1006h\x1b[?25l")
    assert screen.app_cursor_keys and screen.bracketed_paste and screen.mouse_sgr
    assert screen.mouse_tracking == 1002
    assert screen.cursor.hidden
    term.feed(b"\x1b[?1l\x1b[?2004l\x1b[?1002l\x1b[?25h")
    assert not screen.app_cursor_keys and not screen.bracketed_paste
    assert screen.mouse_tracking == 0 and not screen.cursor.hidden


def test_shrinking_crops_rows_that_moved_up() -> None:
    term = Terminal(5, 9)
    term.feed(b"a\r\n" * 6 + b"after-vi\r\n$ ")
    term.resize(2, 6)
    assert term.display() == ["after-", "$     "]


def test_origin_mode_without_margins_uses_the_whole_screen() -> None:
    term = Terminal(5, 10)
    term.feed(b"\x1b[?6h\x1b[3dX\x1b[2;2HY")
    assert term.display()[2].startswith("X")
    assert term.display()[1].startswith(" Y")


@pytest.mark.parametrize(
    "make_line",
    [
        # A different 256-colour in every cell.
        lambda i: "".join(f"\x1b[38;5;{(i + x) % 256}m#" for x in range(199)) + "\x1b[0m\r\n",
    ],
    ids=["256-colour-cells"],
)
def test_scrollback_of_colourful_lines_stays_under_30_mib(make_line: Any) -> None:
    payload = "".join(make_line(i) for i in range(10_050)).encode()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    term = Terminal(50, 200, scrollback=10_000)
    for i in range(0, len(payload), 65536):
        term.feed(payload[i : i + 65536])
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(term.screen.history) == 10_000
    # The colours survive the compaction.
    _, runs = term.screen.history_layout(5000)
    assert len(runs) >= 199
    assert used <= 30 * 1024 * 1024, f"{used / 2**20:.1f} MiB"


def test_flags_joiners_and_selectors_keep_the_row_in_place() -> None:
    """Text after a zero-width joiner or a variation selector is drawn (pyte dropped the rest
    of the read there: `👨‍💻|` showed `👨`), and a flag's halves take a cell each, as libc,
    tmux and the view's layout count them (wcwidth's 2 shifted the row)."""
    term = Terminal(5, 40)
    term.feed(
        "flag:\U0001f1eb\U0001f1f7|\x1b[12GZ\r\n"
        "zwj:\U0001f468\u200d\U0001f4bb|\x1b[12GZ\r\n"
        "heart:\u2764\ufe0f|tone:\U0001f44d\U0001f3fd|end\r\n".encode()
    )
    rows = [term.screen.row_layout(y)[0] for y in range(3)]
    flag, zwj, heart = (list(r) if isinstance(r, str) else r for r in rows)
    assert flag[5:8] == ["\U0001f1eb", "\U0001f1f7", "|"] and flag[11] == "Z"
    assert zwj[4:9] == ["\U0001f468", "", "\U0001f4bb", "", "|"] and zwj[11] == "Z"
    assert "".join(heart).rstrip() == "heart:\u2764|tone:\U0001f44d|end"


def test_vowel_signs_without_a_combining_class_join_their_letter() -> None:
    """Thai and Devanagari vowel signs are marks with no combining class: joined to their
    letter, not dropped (and the text after them kept)."""
    term = Terminal(2, 20)
    term.feed("\u0e01\u0e34\u0e19|\u0915\u0941\u0902|end".encode())
    row = term.screen.row_layout(0)[0]
    cells = list(row) if isinstance(row, str) else row
    assert cells[:7] == ["\u0e01\u0e34", "\u0e19", "|", "\u0915\u0941\u0902", "|", "e", "n"]
