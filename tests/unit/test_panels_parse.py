"""Tests the pure parsers under the panels: /proc's stat and status, the process script's
output, the process tree, directory listings, and ELF headers."""

from __future__ import annotations

import struct

from cdebug_tui.engine.panels import (
    parse_listing,
    parse_processes,
    parse_stat,
    parse_status,
    process_tree,
)
from cdebug_tui.engine.toolkit import elf_interpreter


def stat_line(pid: int, comm: str, state: str, ppid: int, utime: int = 0, start: int = 0) -> str:
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
    # stime cutime cstime priority nice threads itrealvalue starttime ...
    rest = [state, ppid, pid, pid, 0, -1, 0, 0, 0, 0, 0, utime, 0, 0, 0, 20, 0, 1, 0, start, 0]
    return f"{pid} ({comm}) " + " ".join(str(x) for x in rest)


def test_stat_keeps_a_command_name_with_spaces_and_parentheses() -> None:
    assert parse_stat(stat_line(7, "my (odd) name", "S", 1, utime=30, start=500)) == (
        "my (odd) name",
        "S",
        1,
        30,
        500,
    )
    assert parse_stat("7 (sh) S 1") is None  # cut short
    assert parse_stat("garbage") is None


def test_status_reads_uid_and_rss() -> None:
    assert parse_status("Name:\tsh\nUid:\t65532\t65532\t65532\t65532\nVmRSS:\t  1024 kB\n") == (
        65532,
        1024 * 1024,
    )
    assert parse_status("Name:\tkthreadd\nUid:\t0\t0\t0\t0\n") == (0, 0)


def script_output(procs: list[tuple[int, str, str, int, str]], self_pid: int) -> bytes:
    parts = [
        f"==SELF {self_pid}",
        "==UPTIME",
        "100.00 50.00",
        "==PASSWD",
        "nonroot:x:65532:65532::/:/x",
    ]
    for pid, comm, state, ppid, cmdline in procs:
        parts += [f"==PID {pid}", stat_line(pid, comm, state, ppid, utime=100, start=0)]
        parts += ["==STATUS", "Uid:\t65532\t65532\t65532\t65532\nVmRSS:\t4 kB"]
        parts += ["==CMDLINE", cmdline.replace(" ", "\0") + "\0", ""]
    parts.append("==END")
    return "\n".join(parts).encode()


def test_processes_leave_out_the_reading_and_mark_our_own() -> None:
    """A reading's subshell and its cat are left out; the reader, and the tini and reaper the
    debug shell runs under, are listed as cdebug-tui's own; the target's zombies are listed."""
    data = script_output(
        [
            (1, "server", "S", 0, "/app/server"),
            (12, "server", "Z", 1, ""),  # a zombie: no command line
            (20, "cdebug-tui-init", "S", 0, "/cdebug-tui-init -s --"),
            (21, "sh", "S", 20, "sh -c eval cdebug-reaper-x run"),
            (22, "sh", "S", 0, "sh -s cdebug-tui-reader"),  # the reader: SELF
            (23, "sh", "S", 22, "sh -s cdebug-tui-reader"),  # its subshell for this reading
            (24, "cat", "R", 23, "cat /proc/24/stat"),
        ],
        self_pid=22,
    )
    procs = parse_processes(data)
    assert [(p.pid, p.state) for p in procs] == [
        (1, "S"),
        (12, "Z"),
        (20, "S"),
        (21, "S"),
        (22, "S"),
    ]
    assert [p.command for p in procs][:2] == ["/app/server", "[server]"]
    assert [bool(p.own) for p in procs] == [False, False, True, True, True]
    assert procs[0].user == "nonroot" and procs[0].rss_bytes == 4096
    # Over its lifetime (100 s, 1 s of CPU): 1%; against a previous sample, the rate since.
    assert procs[0].cpu_percent == 1.0
    later = data.replace(b"100.00 50.00", b"101.00 50.00").replace(
        b" 100 0 0 0 20", b" 150 0 0 0 20"
    )
    assert parse_processes(later, procs)[0].cpu_percent == 50.0


def test_a_process_not_named_by_its_command_line_shows_its_name() -> None:
    """`yes &` in busybox's shell is a fork of the shell, never exec'd: its command line is
    the shell's. As busybox ps does, its name comes first: {yes}."""
    data = script_output(
        [
            (1, "server", "S", 0, "/app/server"),
            (30, "yes", "R", 1, "/.cdebug-x/bin/sh"),
            (31, "a-long-program-", "S", 1, "/usr/bin/a-long-program-name --flag"),
        ],
        self_pid=99,
    )
    procs = parse_processes(data)
    assert not procs[1].own  # the user's job, not cdebug-tui's debug shell
    assert [p.command for p in procs] == [
        "/app/server",
        "{yes} /.cdebug-x/bin/sh",
        "/usr/bin/a-long-program-name --flag",  # comm holds 15 characters of its name
    ]


def test_a_debug_copys_pid_1_is_its_placeholder_not_a_shell() -> None:
    """A debug copy's PID 1 is the busybox cat that keeps it up; it was called cdebug-tui's
    debug shell (its path holds /.cdebug-)."""
    data = script_output(
        [
            (1, "cat", "S", 0, "/.cdebug-copy-0a1b2c3d4e/cat"),
            (9, "sh", "S", 0, "/.cdebug-0a1b2c3d4e/bin/sh"),
        ],
        self_pid=99,
    )
    assert [p.own for p in parse_processes(data)] == ["debug copy's placeholder", "debug shell"]


def test_a_subshell_of_the_debug_shell_is_the_users() -> None:
    """`( sleep 60 ) &` in the debug shell forks a subshell with the shell's name and command
    line: it is the user's job (shown), not a second debug shell of cdebug-tui's (hidden)."""
    data = script_output(
        [
            (1, "server", "S", 0, "/app/server"),
            (8, "cdebug-tui-init", "S", 0, "/cdebug-tui-init -s -- /.cdebug-0a1b/bin/sh"),
            (9, "sh", "S", 8, "/.cdebug-0a1b/bin/sh"),
            (12, "sh", "S", 9, "/.cdebug-0a1b/bin/sh"),
            (13, "sleep", "S", 12, "sleep 60"),
        ],
        self_pid=99,
    )
    assert [(p.pid, p.own) for p in parse_processes(data)] == [
        (1, ""),
        (8, "reaper (tini)"),
        (9, "debug shell"),
        (12, ""),
        (13, ""),
    ]


def test_a_toolkit_modes_shell_is_the_debug_shell() -> None:
    """In toolkit mode the shell is the toolkit's /bin/sh, with no /.cdebug- in its path: it
    was listed as a plain /bin/sh (root mode's was "debug shell"). A panel's command, under a
    reaper tagged -rN, stays the user's to see; so do the shell's own children."""
    data = script_output(
        [
            (1, "server", "S", 0, "/app/server"),
            (21, "sh", "S", 0, "sh -c eval cdebug-reaper-0a1b2c3d4e run /bin:/usr/bin /bin/sh"),
            (22, "sh", "S", 21, "/bin/sh"),
            (23, "sleep", "S", 22, "sleep 300"),
            (31, "sh", "S", 0, "sh -c eval cdebug-reaper-0a1b2c3d4e-r3 run /bin ls"),
            (32, "ls", "S", 31, "ls /proc"),
        ],
        self_pid=99,
    )
    owns = {p.pid: p.own for p in parse_processes(data)}
    assert owns[22] == "debug shell" and owns[21] == "reaper"
    assert owns[23] == "" and owns[32] == "" and owns[1] == ""


def test_process_tree_puts_children_under_their_parents() -> None:
    data = script_output(
        [
            (1, "init", "S", 0, "init"),
            (5, "b", "S", 1, "b"),
            (3, "a", "S", 1, "a"),
            (7, "c", "S", 3, "c"),
        ],
        self_pid=-1,
    )
    tree = [(depth, p.pid) for depth, p in process_tree(parse_processes(data))]
    assert tree == [(0, 1), (1, 3), (2, 7), (1, 5)]


def test_listing_marks_changes_and_hides_our_links() -> None:
    data = (
        b"==PASSWD\nroot:x:0:0::/:/x\nnonroot:x:65532:65532::/:/x\n==STAT\n"
        b"drwxr-xr-x/4096/0/0/0/0/app/'app'\n"
        b"-rw-r--r--/12/65532/65532/0/0/config.json/'config.json'\n"
        b"lrwxrwxrwx/10/0/0/0/0/link/'link' -> '/app/server'\n"
        b"lrwxrwxrwx/15/0/0/0/0/.cdebug-abc/'.cdebug-abc' -> '/proc/7/root'\n"
    )
    changes = {"/config.json": "C", "/gone": "D"}
    entries = {e.name: e for e in parse_listing(data, "/", changes)}
    assert list(entries) == ["app", "config.json", "gone", "link"]
    assert entries["app"].is_dir and entries["config.json"].owner == "nonroot"
    assert entries["config.json"].change == "C" and entries["gone"].change == "D"
    assert entries["link"].link_target == "/app/server"


def elf(*, bits: int, interp: bytes | None) -> bytes:
    """A minimal little-endian ELF header with one program header: PT_INTERP or PT_LOAD."""
    p_type = 3 if interp is not None else 1
    data = interp + b"\0" if interp is not None else b""
    if bits == 64:
        head = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
        head += struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0, 64, 0, 0, 64, 56, 1, 0, 0, 0)
        ph = struct.pack("<IIQQQQQQ", p_type, 4, 120, 0, 0, len(data), len(data), 1)
    else:
        head = b"\x7fELF" + bytes([1, 1, 1]) + bytes(9)
        head += struct.pack("<HHIIIIIHHHHHH", 2, 3, 1, 0, 52, 0, 0, 52, 32, 1, 0, 0, 0)
        ph = struct.pack("<IIIIIIII", p_type, 84, 0, 0, len(data), len(data), 4, 1)
    return head + ph + data + bytes(64)


def test_elf_interpreter_reads_static_dynamic_and_nix_binaries() -> None:
    assert elf_interpreter(elf(bits=64, interp=None)) == ""
    assert elf_interpreter(elf(bits=64, interp=b"/lib64/ld-linux-x86-64.so.2")) == (
        "/lib64/ld-linux-x86-64.so.2"
    )
    assert elf_interpreter(elf(bits=32, interp=b"/lib/ld-musl-i386.so.1")) == (
        "/lib/ld-musl-i386.so.1"
    )
    nix = b"/nix/store/abc-glibc/lib/ld-linux-x86-64.so.2"
    assert elf_interpreter(elf(bits=64, interp=nix)) == nix.decode()
    # The interpreter past the bytes read: dynamic, interpreter unknown.
    assert elf_interpreter(elf(bits=64, interp=b"/lib/ld.so")[:125]) == "?"
    assert elf_interpreter(b"#!/bin/sh\n" * 10) is None
    assert elf_interpreter(b"\x7fELF") is None


def test_file_tree_columns_line_up_among_siblings() -> None:
    """A directory's entries show size, mode and owner in columns, as `ls -l` does: a
    directory (drawn after its ▶) and a long name's sibling line up; a link's target comes
    last, so that it does not push the columns."""
    from cdebug_tui.engine.readings import RootfsEntry
    from cdebug_tui.ui.widgets.rootfs import column_widths, entry_label

    def entry(name: str, kind: str, size: int, link: str | None = None) -> RootfsEntry:
        mode = {"dir": "drwxr-xr-x", "link": "lrwxrwxrwx"}.get(kind, "-rw-r--r--")
        return RootfsEntry(f"/tmp/{name}", name, kind, size, mode, 0, 0, "root", link)

    entries = [
        entry("d", "dir", 4096),
        entry("lnk", "link", 10, "/app/sleep"),
        entry("a-longer-name.log", "file", 123456),
        entry("x", "file", 3),
    ]
    widths = column_widths(entries)
    lines = [("▶ " if e.is_dir else "") + entry_label(e, widths=widths).plain for e in entries]
    starts = {line.index(e.mode) for line, e in zip(lines, entries, strict=True)}
    assert len(starts) == 1, lines
    names = {line.index(e.name) for line, e in zip(lines, entries, strict=True)}
    assert len(names) == 1, lines  # the names too, a directory's after its ▶
    assert lines[1].endswith(" → /app/sleep")
    assert lines[2].index(" 121K ") < next(iter(starts))
    # A name past the cap pushes its own line only.
    long = [entry("n" * 60, "file", 1), entry("y", "file", 1)]
    assert column_widths(long)[0] < 60


def test_the_session_header_gives_way_in_order() -> None:
    """Narrower and narrower: the toolkit goes first, then why the mode was chosen, then the
    name is cut; the mode, PRIVILEGED and REC stay in view."""
    from cdebug_tui.ui.widgets.session_pane import NAME_RANK, fit_parts

    parts = [
        (" a-very-long-compose-project-service-name-1 ", "", NAME_RANK),
        (" d3fd6bb4e21c", "", 1),
        ("  root mode", "", 0),
        (": the toolkit is linked at /.cdebug-0123456789", "", 2),
        ("  toolkit busybox:musl", "", 3),
        ("  PRIVILEGED sidecar", "", 0),
        ("  ● REC", "", 0),
    ]
    for width in (200, 140, 100, 80, 60):
        line = fit_parts(parts, width).plain
        assert len(line) <= width and line.endswith("● REC"), line
        assert "root mode" in line and "PRIVILEGED" in line
    assert "toolkit busybox" in fit_parts(parts, 200).plain
    assert "toolkit" not in fit_parts(parts, 140).plain.replace("the toolkit", "")
    assert "linked at" not in fit_parts(parts, 80).plain
    # The name is cut in its middle, as the list cuts it: its number at the end stays.
    name = fit_parts(parts, 60).plain.split("  root mode")[0]
    assert name.startswith(" a-very-") and name.endswith("-name-1 ") and "…" in name, name
    # An ended tab's summary comes first and stays whole: the name is what gives way.
    ended = [("the target stopped (exit code 137)", "", 0), ("  sidecar removed", "", 4), *parts]
    line = fit_parts(ended, 90).plain
    assert line.startswith("the target stopped (exit code 137)") and "● REC" in line, line
    # A warning of the mode's (no /bin/sh in the target) outlives the reason, and is cut
    # before the marks: ranked 0 it pushed PRIVILEGED and REC off the line below 137 columns.
    warned = [*parts[:4], ("; the target has no /bin/sh: watch and system() fail", "", 1)]
    warned += parts[4:]
    for width in (140, 110, 80):
        line = fit_parts(warned, width).plain
        assert len(line) <= width and line.endswith("  PRIVILEGED sidecar  ● REC"), line
    assert "; the target has no /bin/sh" in fit_parts(warned, 110).plain


def test_listing_reads_devices_and_names_with_newlines() -> None:
    """A device's numbers (stat's %t and %T, in hex) stand where ls -l shows them; a name
    holding a newline, or a carriage return, is one entry (it was cut in two, both dropped)."""
    from cdebug_tui.ui.widgets.rootfs import column_widths, entry_label

    data = (
        b"==PASSWD\n==STAT\n"
        b"crw-rw-rw-/0/0/0/1/3/null/null\n"
        b"brw-rw----/0/0/6/fd/1/sdz/sdz\n"
        b"-rw-r--r--/1/0/0/0/0/two\nlines/two\nlines\n"
        b"-rw-r--r--/2/0/0/0/0/cr\rhere/cr\rhere\n"
        b"==END\n"
    )
    entries = {e.name: e for e in parse_listing(data, "/dev")}
    assert list(entries) == ["cr\rhere", "null", "sdz", "two\nlines"]
    assert entries["null"].device == (1, 3) and entries["sdz"].device == (253, 1)
    assert entries["two\nlines"].size == 1 and entries["two\nlines"].path == "/dev/two\nlines"
    widths = column_widths(entries.values())
    labels = {n: entry_label(e, widths=widths).plain for n, e in entries.items()}
    assert "null" in labels["null"] and "1, 3 crw-rw-rw-" in labels["null"]
    assert "two\\nlines" in labels["two\nlines"] and "\n" not in labels["two\nlines"]
    assert "cr\\rhere" in labels["cr\rhere"]
