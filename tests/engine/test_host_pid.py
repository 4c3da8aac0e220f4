"""Tests targets in the host's PID or network namespace (--pid host, --net host)."""

from __future__ import annotations

from typing import Any

import pytest

from cdebug_tui.engine.internals import read_internals
from cdebug_tui.engine.models import SessionSpec
from cdebug_tui.engine.panels import list_processes
from cdebug_tui.engine.session import start_session
from tests.engine.helpers import cdebug
from tests.engine.test_exec import assert_clean

pytestmark = pytest.mark.engine


def test_pid_host_target(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """--pid host: the shell's / is the target's root (not the host's), the processes panel
    shows the target's tree from its host PID, the internals say so; nothing stays behind."""
    target = run_target(distroless_image, pid_mode="host")
    r = cdebug("exec", "--image", busybox_image, target.name, "sh", "-c", "ls /app; entrypoint")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert out.startswith("config.json\nserver\n") and 'entrypoint  ["/app/server"]' in out
    said = r.stderr.decode()
    assert "root mode" in said
    # The shell can see, and signal, every process of the host: said.
    assert "in the host's PID namespace: ps lists every process of the host" in said, said

    spec = SessionSpec(target=target.id, image=busybox_image, tty=False, interactive=True)
    with start_session(engine, spec) as session:
        assert session.target_pid == target.pid
        processes = list_processes(session)
        assert processes[0].pid == target.pid and processes[0].command == "/app/server"
        assert all(p.pid == target.pid or p.ppid != 1 for p in processes)
        pid_row = next(r for r in read_internals(session).namespaces if r.kind == "pid")
        assert f"host PID {target.pid}, not 1" in pid_row.meaning
    assert_clean(engine, target.id)


def test_net_host_target(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """--net host: the session works; the shell sees the host's interfaces, as the target."""
    target = run_target(distroless_image, network_mode="host")
    r = cdebug("exec", "-q", "--image", busybox_image, target.name, "sh", "-c", "ls /app")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"config.json\nserver\n"
    assert_clean(engine, target.id)
