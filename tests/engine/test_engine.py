"""Tests the engine layer the app builds on: the list, the event stream, toolkits, namespaces."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from cdebug_tui.engine.models import ContainerEvent, SessionSpec
from cdebug_tui.engine.session import start_session
from tests.conftest import sidecars_of
from tests.engine.helpers import output, run_in_sidecar

pytestmark = pytest.mark.engine


def test_list_marks_shell_less_images(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    shell_less = run_target(distroless_image)
    with_shell = run_target(busybox_image, command=["sleep", "3600"])
    rows = {c.id: c for c in engine.list_containers()}
    assert rows[shell_less.id].has_shell is False
    assert rows[with_shell.id].has_shell is True
    assert rows[shell_less.id].name == shell_less.name
    assert rows[shell_less.id].running and rows[shell_less.id].state == "running"
    assert rows[shell_less.id].image == distroless_image


def test_list_does_not_probe_the_shell_of_a_container_being_removed_or_dead(
    engine: Any, run_target: Any, distroless_image: str, monkeypatch: Any
) -> None:
    """Docker leaves a container whose removal failed "dead" (or in "Removal In Progress"):
    its archive answers an error, which caches nothing, so every refresh and event asked
    again. Its row comes without the probe; the running one still gets it."""
    from cdebug_tui.engine.client import Engine

    target = run_target(distroless_image)
    [raw] = engine.api.containers(all=True, filters={"id": target.id})
    fresh = Engine()  # its own cache: the image's answer is not known yet
    probed: list[str] = []
    probe = fresh._probe_shell
    monkeypatch.setattr(fresh, "_probe_shell", lambda cid: probed.append(cid) or probe(cid))
    try:
        for state in ("removing", "dead"):
            [row] = fresh._rows([{**raw, "State": state}])
            assert row.state == state and row.has_shell is None
        assert probed == []
        [row] = fresh._rows([raw])
        assert probed == [target.id] and row.has_shell is False
    finally:
        fresh.close()


def test_listing_leaves_a_never_started_container_as_it_was(
    engine: Any, busybox_image: str
) -> None:
    """The list's shell probe (the archive API) mounted a created container's volumes, which
    left their mount points in its layer: `docker diff` said A /data after a mere listing."""
    import uuid

    from tests.conftest import RUN_ID, TEST_LABEL

    name = f"cdebug-test-created-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    cid = engine.api.create_container(
        busybox_image,
        ["true"],
        name=name,
        labels={TEST_LABEL: RUN_ID},
        host_config=engine.api.create_host_config(binds={f"{name}-vol": {"bind": "/data"}}),
    )["Id"]
    try:
        rows = {c.id: c for c in engine.list_containers()}
        assert rows[cid].state == "created"
        assert list(engine.diff(cid)) == []
    finally:
        engine.api.remove_container(cid, force=True, v=True)
        engine.api.remove_volume(f"{name}-vol", force=True)


def test_event_stream_reports_start_and_die(
    engine: Any, run_target: Any, distroless_image: str
) -> None:
    seen: list[ContainerEvent] = []
    stream = engine.events()
    reader = threading.Thread(target=lambda: seen.extend(stream), daemon=True)
    reader.start()
    try:
        target = run_target(distroless_image)
        engine.api.kill(target.id)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            actions = [e.action for e in seen if e.id == target.id]
            if "start" in actions and "die" in actions:
                break
            time.sleep(0.05)
        actions = [e.action for e in seen if e.id == target.id]
        assert "start" in actions and "die" in actions
    finally:
        stream.close()
        reader.join(timeout=5)
    assert not reader.is_alive()


def test_toolkit_build_makes_a_working_toolkit(
    engine: Any, run_target: Any, distroless_image: str
) -> None:
    import subprocess
    import sys

    ref = f"cdebug-test-build/busybox:{time.monotonic_ns()}"
    try:
        r = subprocess.run(
            [sys.executable, "-m", "cdebug_tui", "toolkit", "build", ref],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr
        assert engine.image_id(ref)
        target = run_target(distroless_image)
        with start_session(
            engine,
            SessionSpec(
                target=target.id, image=ref, tty=False, interactive=False, command=("ls", "/app")
            ),
        ) as session:
            out = output(session)
            assert b"server" in out
            assert session.exit_code() == 0
    finally:
        engine.api.remove_image(ref, force=True)


def _ns(engine: Any, target: Any, image: str) -> dict[str, str]:
    out = run_in_sidecar(
        engine,
        target.id,
        image,
        "sh",
        "-c",
        "for n in ipc net pid mnt; do "
        "echo $n $(readlink /proc/self/ns/$n) $(readlink /proc/1/ns/$n); done",
    )
    return {line.split()[0]: line for line in out.splitlines()}


def test_namespaces_joined(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """pid and net are the target's; ipc too when the target shares it; mnt stays the sidecar's."""
    private = run_target(distroless_image)
    shareable = run_target(distroless_image, ipc_mode="shareable")
    for target, ipc_shared in ((private, False), (shareable, True)):
        ns = _ns(engine, target, busybox_image)
        for name in ("pid", "net"):
            _, mine, theirs = ns[name].split()
            assert mine == theirs, ns
        _, mine, theirs = ns["ipc"].split()
        assert (mine == theirs) is ipc_shared
        _, mine, theirs = ns["mnt"].split()
        assert mine != theirs
        assert sidecars_of(engine, target.id) == []


def _cap_bnd(engine: Any, target: Any, image: str) -> int:
    out = run_in_sidecar(engine, target.id, image, "grep", "CapBnd", "/proc/self/status")
    return int(out.split()[1], 16)


def test_target_dropping_capabilities_is_followed(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """The sidecar drops what the target drops (here NET_RAW), and still adds SYS_PTRACE."""
    target = run_target(distroless_image, cap_drop=["NET_RAW"])
    bnd = _cap_bnd(engine, target, busybox_image)
    cap_net_raw, cap_sys_ptrace = 1 << 13, 1 << 19
    assert not bnd & cap_net_raw
    assert bnd & cap_sys_ptrace


def test_target_dropping_all_capabilities_gets_toolkit_mode(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    target = run_target(distroless_image, cap_drop=["ALL"])
    with start_session(
        engine,
        SessionSpec(
            target=target.id,
            image=busybox_image,
            tty=False,
            interactive=False,
            command=("ls", "/target/app"),
        ),
    ) as session:
        out = output(session)
        assert session.mode == "toolkit"
        assert "CAP_SYS_CHROOT" in session.mode_reason
        assert b"server" in out
    assert sidecars_of(engine, target.id) == []


def test_a_stream_reads_on_once_docker_pys_response_for_it_is_closed(
    engine: Any, run_target: Any, busybox_image: str
) -> None:
    """An exec's stream reads on once docker-py's response for it is closed, as the garbage
    collector closes it (the two are a reference cycle): the descriptor was the response's,
    and a session's shell lost its connection at a random moment (EBADF: a tab ended or
    failed as its shell started, under load)."""
    target = run_target(busybox_image, command=["sleep", "3600"])
    stream = engine.exec_start(engine.exec_create(target.id, ["cat"], stdin=True))
    try:
        stream._owner._response.close()  # what the collector does with the cycle
        stream.write(b"still here\n")
        assert stream.read() == (1, b"still here\n")
    finally:
        stream.close()


def test_prepared_session_then_shell(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """A session prepared ahead (the app does it while the user picks) gets its shell later."""
    from cdebug_tui.engine.session import prepare_session

    target = run_target(distroless_image)
    spec = SessionSpec(
        target=target.id, image=busybox_image, tty=False, interactive=False, command=("ls", "/app")
    )
    unused = prepare_session(engine, spec)
    assert not unused.started and len(sidecars_of(engine, target.id)) == 1
    unused.close()
    assert sidecars_of(engine, target.id) == []
    assert [c.path for c in engine.diff(target.id) if ".cdebug" in c.path] == []

    session = prepare_session(engine, spec)
    try:
        session.start_shell()
        assert session.started
        assert b"server" in output(session)
        assert session.exit_code() == 0
        assert [s.title for s in session.steps][-1] == "start the shell"
    finally:
        session.close()
    assert sidecars_of(engine, target.id) == []


def test_shell_output_read_ahead(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """The app starts a prepared session's shell while the user picks and reads its banner and
    prompt ahead, for the tab's first frame: nothing is lost or shown twice, and the end of
    the output still reaches the reader."""
    from cdebug_tui.engine.session import prepare_session

    target = run_target(distroless_image)
    spec = SessionSpec(
        target=target.id,
        image=busybox_image,
        tty=True,
        interactive=True,
        command=("sh", "-c", "echo first; read line; echo got $line"),
    )
    session = prepare_session(engine, spec)
    try:
        session.start_shell()
        session.read_ahead()
        ahead = session.take_ahead()
        assert b"first" in ahead
        assert session.take_ahead() == b"", "taken once"
        session.write(b"more\r")
        rest = output(session)
        assert b"got more" in rest and b"first" not in rest
    finally:
        session.close()
    assert sidecars_of(engine, target.id) == []
