"""Tests that a session leaves no process and no zombie in its target: what the shell starts in
the background is killed and reaped when the session ends, in every mode."""

from __future__ import annotations

import os
from typing import Any

import pytest

from cdebug_tui.engine.models import Mode, SessionSpec
from cdebug_tui.engine.session import start_session
from tests.engine.helpers import output
from tests.waiting import wait_for

#: Jobs a user leaves behind: plain, in a subshell (an orphan at once), and a busy loop.
JOBS = "sleep 300 & (sleep 301 &); (while :; do :; done) & echo started"


def namespace_processes(target_pid: int) -> list[tuple[int, str, str]]:
    """(PID, state, command) of every process in the target's PID namespace, zombies included,
    read from the host's /proc (the target has no ps of its own)."""
    ns = os.readlink(f"/proc/{target_pid}/ns/pid")
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/ns/pid") != ns:
                continue
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # gone in between
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        found.append((int(entry), stat[stat.rindex(")") + 2], comm))
    return sorted(found)


CASES = {
    "root mode": ("busybox", None, Mode.ROOT),
    "root mode, -u": ("busybox", "65532", Mode.ROOT),
    "toolkit mode": ("dynamic", None, Mode.TOOLKIT),
    "toolkit mode, -u": ("dynamic", "65532", Mode.TOOLKIT),
}


@pytest.mark.parametrize("case", list(CASES))
def test_background_jobs_leave_nothing(
    case: str,
    engine: Any,
    run_target: Any,
    distroless_image: str,
    busybox_image: str,
    dynamic_toolkit: str,
) -> None:
    """A command that exits leaving jobs behind, and an interactive shell closed while its jobs
    run: the target's PID namespace holds what it held before, and no zombie."""
    toolkit, user, mode = CASES[case]
    image = busybox_image if toolkit == "busybox" else dynamic_toolkit
    target = run_target(distroless_image)
    if not os.path.exists(f"/proc/{target.pid}/ns/pid"):
        pytest.fail("the test reads the target's processes from the engine host's /proc")
    before = namespace_processes(target.pid)
    assert [p[2] for p in before] == ["server"]

    # A command that exits at once, its jobs still running.
    spec = SessionSpec(
        target=target.id,
        image=image,
        tty=False,
        interactive=False,
        command=("sh", "-c", JOBS),
        user=user,
        mode=mode,
    )
    with start_session(engine, spec) as session:
        assert session.mode == mode
        assert output(session) == b"started\n"
        assert session.exit_code() == 0
    assert namespace_processes(target.pid) == before

    # An interactive shell with jobs, closed from outside (the tab closed, the app quit).
    spec = SessionSpec(target=target.id, image=image, tty=True, user=user, mode=mode)
    with start_session(engine, spec) as session:
        session.write(JOBS.encode() + b"\n")
        wait_for(
            lambda: sum(1 for p in namespace_processes(target.pid) if p[2] == "sleep") >= 2,
            30,
            "the shell's jobs to run",
        )
    after = namespace_processes(target.pid)
    assert after == before, f"left in the target: {sorted(set(after) - set(before))}"


def test_an_overrunning_command_is_killed(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """DebugSession.run gives up after its timeout and stops the command and what it started."""
    from cdebug_tui.errors import SessionError

    target = run_target(distroless_image)
    before = namespace_processes(target.pid)
    spec = SessionSpec(target=target.id, image=busybox_image, tty=False, command=("true",))
    with start_session(engine, spec) as session:
        output(session)
        with pytest.raises(SessionError, match="did not finish"):
            session.run(["sh", "-c", "sleep 200 & sleep 201"], timeout=1.0)
        # Gone while the session still runs: nothing of the command stays in the target.
        wait_for(
            lambda: not any(p[2] == "sleep" for p in namespace_processes(target.pid)),
            15,
            "the overrunning command to be killed",
        )
        code, out, _ = session.run(["echo", "still works"])
        assert (code, out) == (0, b"still works\n")
    assert namespace_processes(target.pid) == before


def test_the_reaper_reaches_a_toolkit_without_head(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """The supervisor receives the reapers' init on its stdin with `head`; a toolkit without
    `head` gets it through the archive API (docker cp) instead, and its jobs are reaped all
    the same."""
    target = run_target(distroless_image)
    before = namespace_processes(target.pid)
    spec = SessionSpec(target=target.id, image=busybox_image, tty=False, command=("sh", "-c", JOBS))
    with start_session(engine, spec) as session:
        assert output(session) == b"started\n"
        reaper = next(s for s in session.steps if s.title == "give the sidecar a reaper")
        assert "head -c" in reaper.command
    assert namespace_processes(target.pid) == before

    # The same toolkit, its head taken out.
    maker = engine.api.create_container(busybox_image, entrypoint=["rm", "/bin/head"])
    try:
        engine.api.start(maker)
        assert engine.api.wait(maker)["StatusCode"] == 0
        headless = engine.api.commit(maker, repository="cdebug-test-headless")["Id"]
    finally:
        engine.api.remove_container(maker, force=True)
    try:
        spec = SessionSpec(target=target.id, image=headless, tty=False, command=("sh", "-c", JOBS))
        with start_session(engine, spec) as session:
            assert output(session) == b"started\n"
            reaper = next(s for s in session.steps if s.title == "give the sidecar a reaper")
            assert "docker cp" in reaper.command and "head -c" not in reaper.command
        assert namespace_processes(target.pid) == before
    finally:
        engine.api.remove_image(headless, force=True)


def close_while_busy(engine: Any, target_id: str, image: str) -> None:
    """Starts a session, runs commands and panel readings in it from three threads, and closes
    it while they go on."""
    import threading

    from cdebug_tui.engine import panels
    from cdebug_tui.errors import CdebugError

    session = start_session(engine, SessionSpec(target=target_id, image=image, tty=True))
    stop = threading.Event()
    done: list[str] = []

    def run_commands() -> None:
        while not stop.is_set():
            try:
                session.run(["sh", "-c", "sleep 0.05 & ps >/dev/null; wait"])
                done.append("run")
            except CdebugError:
                stop.wait(0.01)

    def read_processes() -> None:
        while not stop.is_set():
            try:
                panels.list_processes(session)
                done.append("reading")
            except CdebugError:
                stop.wait(0.01)

    workers = [threading.Thread(target=run_commands) for _ in range(2)]
    workers.append(threading.Thread(target=read_processes))
    try:
        for worker in workers:
            worker.start()
        wait_for(lambda: {"run", "reading"} <= set(done), 30, "commands and readings")
        session.close()
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)
        session.close()
        panels.close_reader(session)


def test_commands_racing_the_end_leave_nothing(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """The panels run commands in the sidecar every second, and a tab can close, or the app
    quit, in the middle of one: closing while commands start and run leaves no process and
    no zombie in the target. (A command started as the supervisor ended was killed with the
    sidecar, and what it had started stayed with the target's PID 1 as a zombie.)"""
    target = run_target(distroless_image)
    before = namespace_processes(target.pid)
    for round_ in range(3):
        close_while_busy(engine, target.id, busybox_image)
        after = namespace_processes(target.pid)
        assert after == before, f"round {round_}, left: {sorted(set(after) - set(before))}"
