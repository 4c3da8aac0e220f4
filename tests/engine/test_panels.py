"""Tests the panel readers against canned /proc output and against real sessions."""

from __future__ import annotations

from typing import Any

import pytest

from cdebug_tui.engine import panels
from cdebug_tui.engine.models import SessionSpec
from cdebug_tui.engine.readings import Process
from tests.waiting import wait_for

STAT_1 = b"1 (server) S 0 1 1 0 -1 4194560 100 0 0 0 30 20 0 0 20 0 1 0 500 1000 170 0 0"
STAT_7 = b"7 (my (odd) sh) R 1 7 7 0 -1 4194560 100 0 0 0 5 5 0 0 20 0 1 0 9000 1000 170 0 0"


def canned_processes(uptime: float, ticks_1: int = 50) -> bytes:
    stat_1 = STAT_1.replace(b" 30 20 ", f" {ticks_1} 0 ".encode())
    return b"\n".join(
        [
            b"==SELF 99",
            b"==UPTIME",
            f"{uptime} 1.0".encode(),
            b"==PASSWD",
            b"root:x:0:0::/root:/bin/sh",
            b"nonroot:x:65532:65532::/home/nonroot:/sbin/nologin",
            b"==PID 1",
            stat_1,
            b"==STATUS",
            b"Name:\tserver\nUid:\t65532\t65532\t65532\t65532\nVmRSS:\t     716 kB",
            b"==CMDLINE",
            b"/app/server\0--port\x008080\0",
            b"==PID 7",
            STAT_7,
            b"==STATUS",
            b"Uid:\t0\t0\t0\t0",
            b"==CMDLINE",
            b"",
            b"==PID 99",
            b"99 (sh) S 0 99 99 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 9900 0 0",
            b"==STATUS",
            b"Uid:\t0\t0\t0\t0",
            b"==CMDLINE",
            b"sh\0-c\0...",
            b"==END",
            b"",
        ]
    )


def test_parse_processes_reads_users_memory_commands_and_marks_the_reader() -> None:
    procs = panels.parse_processes(canned_processes(100.0))
    assert [p.pid for p in procs] == [1, 7, 99]
    server, shell, reader = procs
    assert reader.own == "panel reader" and not server.own and not shell.own
    assert server.user == "nonroot" and server.uid == 65532
    assert server.rss_bytes == 716 * 1024
    assert server.command == "/app/server --port 8080"
    assert server.state == "S" and server.ppid == 0
    # A name with parentheses and no cmdline (a kernel thread would look like this).
    assert shell.command == "[my (odd) sh]" and shell.state == "R" and shell.ppid == 1
    assert procs.uptime == 100.0


def test_cpu_rate_is_measured_between_samples() -> None:
    first = panels.parse_processes(canned_processes(100.0, ticks_1=50))
    second = panels.parse_processes(canned_processes(102.0, ticks_1=150), first)
    # 100 ticks in 2 seconds at 100 ticks per second: one CPU for half the time.
    assert second[0].cpu_percent == pytest.approx(50.0)


def test_process_tree_puts_children_under_parents() -> None:
    procs = [
        Process(5, 1, 0, "root", "S", 0, 0, "child"),
        Process(1, 0, 0, "root", "S", 0, 0, "init"),
        Process(9, 5, 0, "root", "S", 0, 0, "grandchild"),
        Process(3, 0, 0, "root", "S", 0, 0, "other root"),
    ]
    assert [(d, p.pid) for d, p in panels.process_tree(procs)] == [(0, 1), (1, 5), (2, 9), (0, 3)]


def test_parse_listing_busybox_and_coreutils_quoting() -> None:
    out = b"\n".join(
        [
            b"==PASSWD",
            b"root:x:0:0::/root:/bin/sh",
            b"==STAT",
            b"drwxr-xr-x/4096/0/0/0/0/app/'app'",
            b"lrwxrwxrwx/7/0/0/0/0/sh/'sh' -> 'busybox'",  # busybox quotes
            # coreutils, QUOTING_STYLE=literal
            b"lrwxrwxrwx/12/0/0/0/0/mtab/mtab -> /proc/mounts",
            b"-rw-r--r--/13/65532/65532/0/0/conf/conf",
            b"lrwxrwxrwx/20/0/0/0/0/.cdebug-abc/.cdebug-abc -> /proc/7/root",
            b"==END",
        ]
    )
    entries = panels.parse_listing(out, "/", {"/conf": "C", "/gone": "D"})
    by_name = {e.name: e for e in entries}
    assert entries[0].name == "app" and entries[0].is_dir
    assert by_name["sh"].link_target == "busybox"
    assert by_name["mtab"].link_target == "/proc/mounts"
    assert by_name["conf"].owner == "65532" and by_name["conf"].change == "C"
    assert by_name["gone"].change == "D"
    assert ".cdebug-abc" not in by_name  # cdebug-tui's own link is not the target's


@pytest.fixture
def session_on(engine: Any, run_target: Any) -> Any:
    from cdebug_tui.engine.session import start_session

    made = []

    def start(target_image: str, toolkit: str) -> Any:
        target = run_target(target_image, network_mode="none")
        session = start_session(engine, SessionSpec(target=target.id, image=toolkit))
        made.append(session)
        return session

    yield start
    for session in made:
        session.close()


@pytest.mark.engine
@pytest.mark.parametrize("toolkit", ["busybox_image", "dynamic_toolkit"])
def test_panels_read_a_distroless_target(
    request: pytest.FixtureRequest, session_on: Any, distroless_image: str, toolkit: str
) -> None:
    """The same readers work with a busybox toolkit and a coreutils (dynamic) one."""
    session = session_on(distroless_image, request.getfixturevalue(toolkit))
    procs = panels.list_processes(session)
    pid1 = next(p for p in procs if p.pid == 1)
    assert pid1.command == "/app/server" and pid1.user == "nonroot"
    root = {e.name: e for e in panels.list_dir(session, "/")}
    assert {"app", "etc"} <= set(root) and root["app"].is_dir
    assert not any(name.startswith(".cdebug-") for name in root)
    app = {e.name: e for e in panels.list_dir(session, "/app")}
    assert app["server"].kind == "file" and app["server"].mode.startswith("-rwx")
    assert app["server"].size > 1000
    assert b"nonroot" in panels.preview_file(session, "/etc/passwd", 4096)
    assert len(panels.preview_file(session, "/app/server", 10)) == 10
    # A device shows its numbers, as ls -l does; a name with a newline is listed whole.
    dev = {e.name: e for e in panels.list_dir(session, "/dev")}
    assert dev["null"].kind == "char" and dev["null"].device == (1, 3)
    code, _, err = session.run(["sh", "-c", "printf x > '/proc/1/root/tmp/two\nlines'"])
    assert code == 0, err
    tmp = {e.name: e for e in panels.list_dir(session, "/tmp")}
    assert tmp["two\nlines"].size == 1 and tmp["two\nlines"].change == "A", tmp


@pytest.mark.engine
def test_changed_files_are_marked(
    engine: Any, session_on: Any, distroless_image: str, busybox_image: str
) -> None:
    session = session_on(distroless_image, busybox_image)
    code, _, err = session.run(["sh", "-c", "echo x > /proc/1/root/tmp/new-file"])
    assert code == 0, err
    tmp = {e.name: e for e in panels.list_dir(session, "/tmp")}
    assert tmp["new-file"].change == "A"


@pytest.mark.engine
def test_a_missing_directory_is_a_clear_error(
    session_on: Any, distroless_image: str, busybox_image: str
) -> None:
    from cdebug_tui.errors import SessionError

    session = session_on(distroless_image, busybox_image)
    with pytest.raises(SessionError, match="cannot read /nope"):
        panels.list_dir(session, "/nope")


def test_parse_details_and_sockets() -> None:
    """Command line, environment, cwd, open files with their sockets described."""
    out = b"\n".join(
        [
            b"==CMDLINE",
            b"/nodejs/bin/node\0-e\0setTimeout(()=>{}, 1e9)\0",
            b"==ENVIRON",
            b"PATH=/bin\0HOME=/home/nonroot\0",
            b"==CWD",
            b"/app",
            b"==EXE",
            b"/nodejs/bin/node",
            b"==STATUS",
            b"Name:\tnode\nUid:\t65532\t65532\t65532\t65532",
            b"==LIMITS",
            b"Limit  Soft Limit  Hard Limit  Units\nMax open files  1024  4096  files",
            b"==CGROUP",
            b"0::/",
            b"==FD",
            b"lrwx------    1 0  0  64 Dec  2 18:15 0 -> /dev/null",
            b"lrwx------    1 0  0  64 Dec  2 18:15 3 -> socket:[1234]",
            b"lrwx------    1 0  0  64 Dec  2 18:15 4 -> socket:[99]",
            b"==NET tcp",
            b"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
            b"timeout inode",
            b"   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 65532 "
            b"0 1234 1 0000000000000000 100 0 0 10 0",
            b"==NET unix",
            b"Num       RefCount Protocol Flags    Type St Inode Path",
            b"0000000000000000: 00000002 00000000 00010000 0001 01 99 /run/app.sock",
            b"==END",
        ]
    )
    d = panels.parse_details(7, out)
    assert d.argv == ("/nodejs/bin/node", "-e", "setTimeout(()=>{}, 1e9)")
    assert d.environ == ("PATH=/bin", "HOME=/home/nonroot") and d.cwd == "/app"
    assert ("Name", "node") in d.status and d.cgroup == ("0::/",)
    assert "Max open files" in d.limits[1]
    by_fd = {f.fd: f for f in d.files}
    assert by_fd[0].target == "/dev/null" and by_fd[3].socket == "tcp 0.0.0.0:8080 LISTEN"
    assert by_fd[4].socket == "unix /run/app.sock"


@pytest.mark.engine
def test_one_plainly_named_reader_serves_every_reading(
    engine: Any, session_on: Any, distroless_image: str, busybox_image: str
) -> None:
    """Readings go through one long-lived `sh -s cdebug-tui-reader`, marked in the list; no
    new `sh -c` per reading; details of PID 1 and a signal through it."""
    from cdebug_tui.errors import SessionError

    session = session_on(distroless_image, busybox_image)
    first = panels.list_processes(session)
    for _ in range(3):
        procs = panels.list_processes(session, first)
    readers = [p for p in procs if p.own == "panel reader"]
    assert len(readers) == 1 and readers[0].command == "sh -s cdebug-tui-reader", procs
    assert readers[0].pid == next(p for p in first if p.own == "panel reader").pid
    # The supervisor and the reader's reaper are the sidecar's `sh -c`; no other is left by
    # the readings.
    assert not any(
        p.command.startswith("sh -c") and p.own not in ("supervisor", "reaper") for p in procs
    )
    assert any(p.own == "supervisor" for p in procs), procs

    d = panels.process_details(session, 1)
    assert d.argv == ("/app/server",) and d.cwd == "/app"
    assert "APP_MODE=production" in d.environ
    assert any(line.startswith("Max open files") for line in d.limits)
    assert d.cgroup and any(f.fd == 0 for f in d.files)
    assert not panels.toolkit_has(session, "no-such-tool-here")

    # A process that outlives the exec that started it: `session.run` reaps what it leaves.
    _, sock = engine.open_exec(session.sidecar_id, ["sleep", "301"])
    found = wait_for(
        lambda: [p.pid for p in panels.list_processes(session) if p.command == "sleep 301"],
        10,
        "the sleeper",
        interval=0.1,
    )
    pid = found[0]
    panels.send_signal(session, pid, "TERM")
    sock.close()

    def ended() -> bool:
        """Gone, or a zombie (the target's PID 1 inherits it and may not reap it)."""
        p = next((p for p in panels.list_processes(session) if p.pid == pid), None)
        return p is None or p.state == "Z"

    wait_for(ended, 10, f"PID {pid} to end", interval=0.1)
    with pytest.raises(SessionError, match="cannot send SIGTERM"):
        panels.send_signal(session, 999999, "TERM")


@pytest.mark.engine
def test_saving_target_files_follows_links_and_leaves_nothing_half_written(
    engine: Any, session_on: Any, distroless_image: str, busybox_image: str, tmp_path: Any
) -> None:
    """A file, a chain of links (to a file, to a directory), refusals for what is not a file,
    and a save cancelled midway: each either appears whole, mode 0600, or not at all."""
    import tarfile

    from cdebug_tui.errors import SessionError

    session = session_on(distroless_image, busybox_image)
    code, _, err = session.run(
        ["sh", "-c", "cd /proc/1/root/tmp && ln -s /app/config.json cfg && ln -s cfg cfg2 "
         "&& ln -s ../app app-link && mkfifo fifo"]
    )  # fmt: skip
    assert code == 0, err
    original = engine.read_file(session.target.id, "/app/config.json")

    # Named as asked, as `docker cp -L` names them; the content is what the links name.
    dest, saved, size = panels.save_from_target(session, "/tmp/cfg2", tmp_path)
    assert (dest.name, saved, size) == ("cfg2", "/app/config.json", len(original))
    assert dest.read_bytes() == original and dest.stat().st_mode & 0o777 == 0o600
    dest, saved, _ = panels.save_from_target(session, "/tmp/app-link", tmp_path)
    assert (dest.name, saved) == ("app-link.tar", "/app")
    with tarfile.open(dest) as tar:
        assert "app/config.json" in tar.getnames()
    first, _, _ = panels.save_from_target(session, "/app/config.json", tmp_path)
    again, _, _ = panels.save_from_target(session, "/app/config.json", tmp_path)
    assert (first.name, again.name) == ("config.json", "config-1.json")
    # A kernel file the archive API does not reach comes through the sidecar.
    cpuinfo, saved, size = panels.save_from_target(session, "/proc/cpuinfo", tmp_path)
    assert saved == "/proc/cpuinfo" and size > 0 and b"processor" in cpuinfo.read_bytes()

    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(SessionError, match="a device, fifo or socket, not a file"):
        panels.save_from_target(session, "/tmp/fifo", tmp_path)
    with pytest.raises(SessionError, match="no such file"):
        panels.save_from_target(session, "/nope", tmp_path)
    with pytest.raises(SessionError, match="cancelled"):
        panels.save_from_target(session, "/app/server", tmp_path, cancelled=lambda: True)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no part file either


def test_free_names_keep_the_extension_and_a_leading_dot(tmp_path: Any) -> None:
    for name in ("a.tar.gz", ".config.tar", ".bashrc", "plain"):
        (tmp_path / name).write_text("taken")
    names = [
        panels.free_name(tmp_path, n).name
        for n in ("a.tar.gz", ".config.tar", ".bashrc", "plain", "new")
    ]
    assert names == ["a-1.tar.gz", ".config-1.tar", ".bashrc-1", "plain-1", "new"]
