"""Provides what the engine tests share: running cdebug-tui, reading sessions, waiting."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from cdebug_tui.engine.models import SessionSpec
from cdebug_tui.engine.session import DebugSession, start_session
from tests.waiting import wait_for

__all__ = ["cdebug", "interactive_exec", "output", "run_in_sidecar", "wait_for", "wait_or_tell"]


def cdebug(
    *args: str, input: bytes | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """Runs `cdebug-tui ARGS` as a user would, from this checkout."""
    return subprocess.run(
        [sys.executable, "-m", "cdebug_tui", *args],
        input=input,
        capture_output=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def interactive_exec(image: str, target: str, *options: str) -> subprocess.Popen[bytes]:
    """`cdebug-tui exec -i` (and `options`) on a target, returned once its shell answered."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cdebug_tui",
            "exec",
            "-i",
            "-q",
            *options,
            "--image",
            image,
            target,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # SIGABRT then prints every thread's stack: what a process that hangs was doing.
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )
    assert proc.stdin and proc.stdout
    proc.stdin.write(b"echo ready\n")
    proc.stdin.flush()
    assert proc.stdout.readline() == b"ready\n"
    return proc


def wait_or_tell(proc: subprocess.Popen[bytes], timeout: float) -> int:
    """The exit code of `proc`; if it hangs, fails with its threads' stacks and its stderr."""
    import signal

    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        _, err = proc.communicate(timeout=10)
        raise AssertionError(
            f"still running after {timeout:.0f}s; it was doing:\n{err.decode(errors='replace')}"
        ) from None


def output(session: DebugSession) -> bytes:
    """Everything the session's command writes, until it ends."""
    return b"".join(iter(lambda: session.read()[1], b""))


def run_in_sidecar(engine: Any, target_id: str, image: str, *command: str, **spec: Any) -> str:
    """Runs a command in a new session on the target, returns its output; the session ends."""
    with start_session(
        engine,
        SessionSpec(
            target=target_id, image=image, tty=False, interactive=False, command=command, **spec
        ),
    ) as session:
        return output(session).decode()
