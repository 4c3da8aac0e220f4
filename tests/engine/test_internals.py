"""Tests the internals a learner reads: facts checked against real containers."""

from __future__ import annotations

from typing import Any

import pytest

from cdebug_tui.engine.internals import read_internals, summary
from cdebug_tui.engine.models import SessionSpec
from cdebug_tui.engine.session import start_session

pytestmark = pytest.mark.engine


def _session(engine: Any, target: Any, image: str) -> Any:
    return start_session(
        engine,
        SessionSpec(target=target.id, image=image, tty=False, interactive=True, command=("cat",)),
    )


def test_namespaces_capabilities_and_limits(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    target = run_target(distroless_image, mem_limit="64m", pids_limit=50)
    with _session(engine, target, busybox_image) as session:
        internals = read_internals(session)
        text = summary(internals, session)
    ns = {row.kind: row for row in internals.namespaces}
    assert ns["pid"].shared and ns["net"].shared
    assert not ns["mnt"].shared and not ns["uts"].shared
    assert ns["pid"].host and ns["pid"].host != ns["pid"].target  # the host's own PID namespace
    assert "CAP_SYS_PTRACE" in internals.sidecar.effective
    assert "CAP_SYS_PTRACE" not in internals.target.bounding
    assert internals.added_caps == ("CAP_SYS_PTRACE",)
    assert internals.target.uid == "65532"
    assert internals.cgroup.memory_limit == 64 * 1024 * 1024
    assert internals.cgroup.pids_max == 50
    assert internals.pid1_cmdline == "/app/server"
    root = next(m for m in internals.mounts if m.mount_point == "/")
    assert root.fstype == "overlay" and "writable layer" in root.what
    assert internals.host_view and "/app/server" in internals.host_view
    assert "64.0 MiB" in text and "shared" in text and "CAP_SYS_PTRACE" in text


def test_read_only_and_non_root_target(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    target = run_target(distroless_image, read_only=True)
    with _session(engine, target, busybox_image) as session:
        internals = read_internals(session)
    assert internals.readonly_rootfs
    assert internals.cgroup.memory_limit is None  # no limit set
    assert internals.target.effective == ()  # uid 65532 has no effective capabilities
