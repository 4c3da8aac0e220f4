"""Tests direct sessions (`exec -it` on a local Docker): the shell on the sidecar's own TTY."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cdebug_tui.engine.models import SIDECAR_GONE, Mode, SessionSpec
from cdebug_tui.engine.session import DIRECT_SHELL, DebugSession, start_session
from cdebug_tui.engine.unixapi import LocalEngine, local_engine
from tests.conftest import sidecars_of, unavailable
from tests.engine.test_exec import _exec_in_pty, _read_until, ours_in_diff
from tests.engine.test_reaper import JOBS, namespace_processes
from tests.waiting import wait_for

pytestmark = pytest.mark.engine


@pytest.fixture
def local(engine: Any) -> Iterator[LocalEngine]:
    """The engine as `cdebug-tui exec` reaches it on this host's socket (no docker-py)."""
    made = local_engine("default", engine.address)
    if made is None:
        unavailable(f"direct sessions need an engine on this host's socket, not {engine.address}")
    made.ping()
    yield made
    made.close()


def _spec(target: str, image: str, **options: Any) -> SessionSpec:
    return SessionSpec(
        target=target, image=image, tty=True, interactive=True, rows=30, cols=100, **options
    )


def _until(session: DebugSession, needle: bytes, timeout: float = 30) -> bytes:
    """What the shell prints until `needle` (failing with what it printed otherwise)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        assert time.monotonic() < deadline, f"{needle!r} not seen; got {seen[-300:]!r}"
        _, data = session.read()
        assert data, f"the shell ended before {needle!r}; got {seen[-300:]!r}"
        seen += data
    return seen


def _running(target_pid: int, word: str) -> bool:
    """Whether a process in the target's PID namespace has `word` in its command line."""
    for pid, _, _ in namespace_processes(target_pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if word.encode() in f.read().split(b"\0"):
                    return True
        except OSError:
            continue  # gone in between
    return False


def _to_the_end(session: DebugSession) -> bytes:
    return b"".join(iter(lambda: session.read()[1], b""))


@pytest.mark.parametrize("mode", [Mode.ROOT, Mode.TOOLKIT])
def test_a_direct_shell_runs_on_the_sidecars_tty_and_leaves_nothing(
    mode: Mode,
    engine: Any,
    local: LocalEngine,
    run_target: Any,
    distroless_image: str,
    busybox_image: str,
) -> None:
    """No exec for the shell: the supervisor runs it on the sidecar's TTY, under the host's
    tini bound in; its size is the terminal's, ctrl+c stops a command and not the session,
    and when the shell exits, its jobs, the sidecar and the links go, with its exit code."""
    target = run_target(distroless_image)
    before = namespace_processes(target.pid)
    session = start_session(local, _spec(target.id, busybox_image, mode=mode), direct=True)
    try:
        assert session.direct and session.exec_id == DIRECT_SHELL
        assert session.mode == mode
        steps = {s.title: s.command for s in session.steps}
        assert "docker create -it" in steps["create the sidecar"]
        assert ",dst=/cdebug-tui-init,readonly" in steps["create the sidecar"]
        assert "no exec" in steps["start the shell"]
        _until(session, b"# ")
        session.write(b"stty size; echo $((6*7)) direct=${CDEBUG_DIRECT:-unset}\r")
        # CDEBUG_DIRECT is ours, not the shell's: gone from its environment as the
        # supervisor's script is.
        out = _until(session, b"42 direct=unset")
        assert b"30 100" in out
        # Nor the wrapper shells' (`docker exec` gives a shell at level 1, no OLDPWD).
        session.write(b"echo lvl=$SHLVL old=${OLDPWD:-none} wd=${CDEBUG_WORKDIR:-none}\r")
        _until(session, b"lvl=1 old=none wd=none")
        session.write(b"sleep 100\r")
        wait_for(lambda: _running(target.pid, "100"), 15, "sleep 100 to run")
        session.write(b"\x03")
        session.write(b"echo alive-$((1+1))\r")
        _until(session, b"alive-2")
        session.write(JOBS.encode() + b"\r")
        _until(session, b"started")
        session.write(b"exit 7\r")
        _to_the_end(session)
        assert session.exit_code() == 7
        assert session.ended_reason is None
    finally:
        session.close()
    wait_for(lambda: not sidecars_of(engine, target.id), 15, "the sidecar to go")
    assert namespace_processes(target.pid) == before
    assert ours_in_diff(engine, target.id) == []


def test_a_direct_session_closed_from_here_ends_its_jobs(
    engine: Any, local: LocalEngine, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """Closed while its shell and jobs run (the app's tab closed, exec's hangup): the shell
    has no stdin to close, so its watchdog ends it; nothing stays in the target."""
    target = run_target(distroless_image)
    before = namespace_processes(target.pid)
    session = start_session(local, _spec(target.id, busybox_image), direct=True)
    try:
        _until(session, b"# ")
        session.write(JOBS.encode() + b"\r")
        _until(session, b"started")
        # The watchdog starts after the prompt: the close goes through it.
        wait_for(lambda: _running(target.pid, "cdebug-watchdog"), 15, "the watchdog to start")
    finally:
        session.close()
    wait_for(lambda: not sidecars_of(engine, target.id), 15, "the sidecar to go")
    wait_for(lambda: namespace_processes(target.pid) == before, 15, "the jobs to go")
    assert ours_in_diff(engine, target.id) == []


def test_a_direct_command_that_prints_nothing_is_ended_by_close(
    engine: Any, local: LocalEngine, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """A command with no output gets its watchdog all the same (after a moment), and a close
    before it has one ends the command too: nothing stays either way."""
    target = run_target(distroless_image)
    before = namespace_processes(target.pid)
    spec = _spec(target.id, busybox_image, command=("sh", "-c", "sleep 301 & sleep 300"))
    session = start_session(local, spec, direct=True)
    try:
        wait_for(lambda: _running(target.pid, "cdebug-watchdog"), 15, "the watchdog to start")
    finally:
        session.close()
    wait_for(lambda: not sidecars_of(engine, target.id), 15, "the sidecar to go")
    assert namespace_processes(target.pid) == before
    # Closed at once, before any watchdog: the reapers are stopped with an exec instead.
    session = start_session(local, spec, direct=True)
    session.close()
    wait_for(lambda: not sidecars_of(engine, target.id), 15, "the sidecar to go")
    assert namespace_processes(target.pid) == before
    assert ours_in_diff(engine, target.id) == []


def test_a_direct_sidecar_killed_from_outside_says_so(
    engine: Any, local: LocalEngine, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """`docker kill` of the sidecar (whose main process runs the shell): the session says
    its sidecar was stopped from outside, not that the shell exited 137."""
    target = run_target(distroless_image)
    session = start_session(local, _spec(target.id, busybox_image), direct=True)
    try:
        _until(session, b"# ")
        engine.api.kill(session.sidecar_id)
        _to_the_end(session)
        assert session.ended_reason == SIDECAR_GONE
    finally:
        session.close()
    wait_for(lambda: not sidecars_of(engine, target.id), 15, "the sidecar to go")


def test_an_engine_that_cannot_bind_the_tini_gets_the_usual_session(
    engine: Any,
    local: LocalEngine,
    run_target: Any,
    distroless_image: str,
    busybox_image: str,
    monkeypatch: Any,
) -> None:
    """An engine on a socket here that does not see this host's files (Docker Desktop, a
    forwarded socket) refuses the tini's bind: the usual session, and nothing left (a -v
    bind would have made an empty directory there, and a shell that cannot start)."""
    import cdebug_tui.engine.session as session_module

    monkeypatch.setattr(session_module, "host_init_path", lambda: "/nonexistent/tini-static")
    target = run_target(distroless_image)
    session = start_session(local, _spec(target.id, busybox_image), direct=True)
    try:
        assert not session.direct
        session.write(b"echo usual-$((2+3)); exit\r")
        _until(session, b"usual-5")
    finally:
        session.close()
    wait_for(lambda: not sidecars_of(engine, target.id), 15, "the sidecar to go")
    assert not os.path.exists("/nonexistent")


def test_a_direct_session_ends_with_its_target(
    engine: Any, local: LocalEngine, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """The target stops: the shell goes with its PID namespace, and the session says why."""
    target = run_target(distroless_image, network_mode="none")
    session = start_session(local, _spec(target.id, busybox_image), direct=True)
    try:
        _until(session, b"# ")
        engine.api.kill(target.id)
        _to_the_end(session)
        wait_for(lambda: session.ended_reason is not None, 10, "the reason")
        assert session.ended_reason == "the target stopped"
    finally:
        session.close()
    wait_for(lambda: not sidecars_of(engine, target.id), 15, "the sidecar to go")


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGHUP])
def test_exec_it_that_dies_leaves_nothing(
    how: signal.Signals, engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """`cdebug-tui exec -it` killed (no chance to clean up), or its terminal closed: the
    shell's TTY never closes, and the watchdog ends the session, its jobs and its links."""
    target = run_target(distroless_image)
    before = namespace_processes(target.pid)
    with _exec_in_pty(busybox_image, target.name, options=("--explain",)) as (pid, fd):
        out = _read_until(fd, b"/app # ")
        # The quick start made the sidecar (a TTY, the host's tini), then the shell ran on it.
        assert b"docker create -it" in out and b"no exec" in out
        os.write(fd, JOBS.encode() + b"\r")
        _read_until(fd, b"started")
        # The watchdog is an exec started after the prompt: what ends the session then.
        wait_for(lambda: _running(target.pid, "cdebug-watchdog"), 15, "the watchdog to start")
        os.kill(pid, how)
        os.waitpid(pid, 0)
    wait_for(lambda: not sidecars_of(engine, target.id), 15, "the sidecar to go")
    assert namespace_processes(target.pid) == before
    assert ours_in_diff(engine, target.id) == []


def test_a_toolkit_without_stty_gets_the_usual_session(
    engine: Any, local: LocalEngine, run_target: Any, distroless_image: str, dynamic_toolkit: str
) -> None:
    """The protocol on the sidecar's TTY needs stty (busybox has it as an applet even without
    its link): a toolkit without it gets the usual session (an exec), and the direct attempt
    left nothing."""
    target = run_target(distroless_image)
    session = start_session(local, _spec(target.id, dynamic_toolkit), direct=True)
    try:
        assert not session.direct and session.exec_id != DIRECT_SHELL
        assert len(sidecars_of(engine, target.id)) == 1
        session.write(b"echo usual-$((2+3)); exit\r")
        _until(session, b"usual-5")
    finally:
        session.close()
    wait_for(lambda: not sidecars_of(engine, target.id), 15, "the sidecar to go")
    assert ours_in_diff(engine, target.id) == []


def test_explain_of_a_command_that_ends_at_once(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """`exec -it --explain T true`: the direct sidecar ends with `true`, maybe before the
    internals could be read; the steps are printed and the command's code is exec's."""
    from tests.engine.test_exec import _on_a_terminal

    target = run_target(distroless_image)
    argv = [sys.executable, "-m", "cdebug_tui", "exec", "-it", "--explain", "-q"]
    out = _on_a_terminal([*argv, "--image", busybox_image, target.name, "true"], 24, 80)
    assert b"# start the shell" in out and b"docker exec -i" in out, out[-500:]
    assert b"error" not in out, out[-500:]
    wait_for(lambda: not sidecars_of(engine, target.id), 15, "the sidecar to go")
    assert ours_in_diff(engine, target.id) == []
