"""Tests LocalEngine, the exec path's docker-py-free client, against the real engine and Engine."""

from __future__ import annotations

import io
import socket
import struct
import tarfile
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import docker.types
import pytest

from cdebug_tui.engine.models import SIDECAR_LABEL
from cdebug_tui.engine.unixapi import LocalEngine, local_engine
from cdebug_tui.errors import (
    EngineRequestError,
    EngineUnavailableError,
    ImageUnavailableError,
    TargetNotFoundError,
)
from tests.conftest import RUN_ID, TEST_LABEL
from tests.engine.helpers import wait_for

pytestmark = pytest.mark.engine


@pytest.fixture
def local(engine: Any) -> Iterator[LocalEngine]:
    made = local_engine("docker", engine.address)
    assert made is not None, engine.address
    made.ping()
    yield made
    made.close()


@pytest.fixture
def made(engine: Any) -> Iterator[list[str]]:
    """Containers a test creates through LocalEngine; removed at the end, even on failure."""
    ids: list[str] = []
    yield ids
    for cid in ids:
        engine.remove_container(cid)


def _name() -> str:
    return f"cdebug-test-local-{RUN_ID}-{uuid.uuid4().hex[:6]}"


def _frames(sock: socket.socket, timeout: float = 30) -> Iterator[tuple[int, bytes]]:
    """The (stream, data) frames of a connection without a TTY, until it ends."""
    sock.settimeout(timeout)
    buf = b""
    while True:
        while len(buf) < 8:
            chunk = sock.recv(65536)
            if not chunk:
                return
            buf += chunk
        kind, size = buf[0], struct.unpack(">I", buf[4:8])[0]
        while len(buf) < 8 + size:
            chunk = sock.recv(65536)
            if not chunk:
                return
            buf += chunk
        yield kind, buf[8 : 8 + size]
        buf = buf[8 + size :]


def _tar(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_answers_as_engine_does(
    engine: Any, local: LocalEngine, run_target: Any, distroless_image: str
) -> None:
    """The same target, image and files, read both ways, are the same dataclasses."""
    target = run_target(distroless_image)
    assert local.resolve(target.name) == engine.resolve(target.name)
    assert local.resolve(target.id[:12]) == engine.inspect(target.id)
    limited = run_target(
        distroless_image, ulimits=[docker.types.Ulimit(name="nproc", soft=99, hard=99)]
    )
    assert local.inspect(limited.id) == engine.inspect(limited.id)
    assert ("nproc", 99, 99) in engine.inspect(limited.id).ulimits
    assert local.image_id(distroless_image) == engine.image_id(distroless_image)
    assert local.image_config(distroless_image) == engine.image_config(distroless_image)
    assert local.read_file(target.id, "/etc/passwd") == engine.read_file(target.id, "/etc/passwd")
    assert local.is_podman == engine.is_podman
    # Read off the ping's headers, without /version: the same engine version.
    assert local.server_version.split(" ")[0] == engine.server_version.split(" ")[0]
    with pytest.raises(FileNotFoundError):
        local.read_file(target.id, "/etc/nothing-here")
    with pytest.raises(TargetNotFoundError, match="no such container"):
        local.resolve(f"no-such-container-{RUN_ID}")
    assert local.image_id(f"cdebug-test/none-{RUN_ID}:x") is None
    with pytest.raises(ImageUnavailableError, match="invalid image reference"):
        local.image_id("Not A Ref!")


def test_sidecar_life_over_the_socket(
    local: LocalEngine, run_target: Any, busybox_image: str, distroless_image: str, made: list[str]
) -> None:
    """What a session does: create joining a target's namespaces, attach, start, exec with and
    without a TTY, resize, exit codes, and the engine removing an --rm container."""
    target = run_target(distroless_image)
    cid = local.create_container(
        busybox_image,
        name=_name(),
        entrypoint=["sh", "-c", 'read line; echo "got $line"; cat; echo eof; exec sleep 300'],
        user="0",
        stdin_open=True,
        env=["GREETING=hi"],
        labels={TEST_LABEL: RUN_ID, SIDECAR_LABEL: "1"},
        pid_mode=f"container:{target.id}",
        network_mode=f"container:{target.id}",
        auto_remove=True,
        ulimits=[("nofile", 1024, 1024)],
    )
    made.append(cid)
    # Read back as it was set (the sidecar's limits on Podman are its target's, read so).
    assert local.inspect(cid).ulimits == (("nofile", 1024, 1024),)
    attached = local.attach_socket(cid)
    local.start(cid)
    attached.sendall(b"hello\n")
    frames = _frames(attached)
    assert next(frames) == (1, b"got hello\n")
    # Closing our side closes the container's stdin (the supervisor cleans up on that EOF).
    attached.shutdown(socket.SHUT_WR)
    assert next(frames) == (1, b"eof\n")

    # Without a TTY: framed stdout and stderr, the command's exit code.
    exec_id = local.exec_create(cid, ["sh", "-c", "echo out; echo err >&2; ps -o pid,args; exit 3"])
    out = b"".join(d for k, d in _frames(local.exec_socket(exec_id)) if k == 1)
    assert out.startswith(b"out\n") and b"/app/server" in out  # the target's PID namespace
    wait_for(lambda: not local.exec_inspect_raw(exec_id)["Running"], 10, "the exec to end")
    assert local.exec_inspect_raw(exec_id)["ExitCode"] == 3

    # With a TTY: raw bytes both ways, and the size we set.
    exec_id = local.exec_create(cid, ["sh"], stdin=True, tty=True, env=["PS1=$ "])
    sock = local.exec_socket(exec_id, tty=True)
    local.exec_resize(exec_id, 33, 111)
    sock.sendall(b"stty size; echo $GREETING; exit 5\r")
    sock.settimeout(30)
    seen = b""
    while b"exit 5" not in seen or not seen.rstrip().endswith(b"hi"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        seen += chunk
    assert b"33 111" in seen and b"hi" in seen
    wait_for(lambda: not local.exec_inspect_raw(exec_id)["Running"], 10, "the shell to end")
    assert local.exec_inspect_raw(exec_id)["ExitCode"] == 5

    # The typed streams a session reads, as Engine gives them.
    exec_id = local.exec_create(cid, ["sh", "-c", "echo typed; exit 4"])
    stream = local.exec_start(exec_id)
    assert stream.read() == (1, b"typed\n")
    wait_for(lambda: not local.exec_inspect(exec_id).running, 10, "the exec to end")
    assert local.exec_inspect(exec_id).exit_code == 4
    stream.close()

    # docker cp into it.
    local.put_archive(cid, "/tmp", _tar("copied", b"by put_archive\n"))
    exec_id = local.exec_create(cid, ["cat", "/tmp/copied"])
    assert b"".join(d for _, d in _frames(local.exec_socket(exec_id))) == b"by put_archive\n"
    with pytest.raises(EngineRequestError) as missing:
        local.put_archive(cid, "/no/such/dir", _tar("x", b""))
    assert missing.value.not_found

    # Removal ends it, and the wait sees it gone.
    local.remove_container(cid)
    assert local.wait_removed(cid, timeout=10)
    local.remove_container(cid)  # gone already: fine


def test_events_and_closing_them(
    engine: Any, local: LocalEngine, run_target: Any, distroless_image: str
) -> None:
    """The target's events arrive as ContainerEvent; close() from another thread ends them."""
    target = run_target(distroless_image)
    stream = local.events(container=target.id)
    seen: list[str] = []
    done = threading.Event()

    def read() -> None:
        for event in stream:
            assert event.id == target.id and event.engine == "docker"
            seen.append(event.action)
        done.set()

    threading.Thread(target=read, daemon=True).start()
    engine.api.pause(target.id)
    engine.api.unpause(target.id)
    wait_for(lambda: {"pause", "unpause"} <= set(seen), 30, "pause and unpause events")
    stream.close()
    assert done.wait(10)


def test_errors_are_ours(local: LocalEngine, busybox_image: str) -> None:
    with pytest.raises(EngineRequestError) as info:
        local.create_container(f"cdebug-test/none-{RUN_ID}:x", name=_name())
    assert info.value.not_found and "cannot create the container" in str(info.value)
    with pytest.raises(EngineRequestError, match="cannot start the exec"):
        local.exec_socket("0" * 64)
    gone = LocalEngine("gone", "/nonexistent/docker.sock")
    with pytest.raises(EngineUnavailableError, match="socket missing"):
        gone.ping()
    assert local_engine("x", "tcp://127.0.0.1:2375") is None


def test_the_rest_goes_to_docker_py(local: LocalEngine, engine: Any, busybox_image: str) -> None:
    """What LocalEngine lacks, Engine (docker-py) answers, on the same socket."""
    assert {i.id for i in local.images()} == {i.id for i in engine.images()}


def test_a_debug_copy_without_docker_py(
    local: LocalEngine, engine: Any, busybox_image: str, tmp_path: Any, monkeypatch: Any
) -> None:
    """A stopped container's debug copy, made and removed through LocalEngine alone (the
    toolkit's busybox read from the toolkit, not from a cache): no call falls back to docker-py,
    and the copy and its committed image are gone at the end."""
    from cdebug_tui.engine import copy as copies

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # no busybox cached yet
    cid = engine.api.create_container(
        busybox_image, ["sh", "-c", "echo left > /tmp/note; exit 3"], name=_name(),
        labels={TEST_LABEL: RUN_ID},
    )["Id"]  # fmt: skip
    copy = None
    try:
        engine.api.start(cid)
        engine.api.wait(cid, timeout=30)
        source = copies.find(local, cid)
        assert isinstance(source, copies.CopySource) and source.original is not None
        steps: list[str] = []
        copy = copies.make_copy(
            local,
            source,
            toolkit=busybox_image,
            toolkit_id=engine.image_id(busybox_image),
            add_step=lambda title, *rest: steps.append(title),
        )
        assert copy.target.running and copy.target.id != cid
        assert local.read_file(copy.container_id, "/tmp/note") == b"left\n"
        assert "commit the stopped container to an image" in steps
        image = copy.image_id
    finally:
        if copy is not None:
            copy.remove()
        engine.remove_container(cid)
    assert local._full is None, "a call went to docker-py"
    assert engine.image_id(image) is None
    assert not engine.api.containers(all=True, filters={"id": copy.container_id})
