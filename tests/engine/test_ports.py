"""Tests the target's sockets and port forwarding against the real engine and a shell-less
target that serves HTTP on loopback only (never published)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from typing import Any

import pytest

from cdebug_tui.engine.models import SessionSpec
from cdebug_tui.engine.ports import PortForward, list_sockets
from cdebug_tui.engine.session import start_session
from tests.engine.helpers import cdebug, wait_for, wait_or_tell

pytestmark = pytest.mark.engine

PORT = 8080


def _relays(engine: Any, target_id: str) -> list[dict[str, Any]]:
    return list(
        engine.api.containers(all=True, filters={"label": f"io.cdebug-tui.target={target_id}"})
    )


def _serving(engine: Any, run_target: Any, app_image: str) -> Any:
    target = run_target(app_image, ["http", str(PORT)])
    wait_for(
        lambda: b"listening" in engine.api.logs(target.id), 30, "the target's server to listen"
    )
    return target


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as res:
        return bytes(res.read())


def _two_at_once(base: str) -> dict[str, bytes]:
    """Two requests in flight together: /slow answers after a second, / at once."""
    out: dict[str, bytes] = {}

    def get(path: str) -> None:
        out[path] = _get(base + path)

    threads = [threading.Thread(target=get, args=(p,)) for p in ("/slow", "/fast")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def test_sockets_of_a_shell_less_target_with_their_process(
    engine: Any, run_target: Any, app_image: str, busybox_image: str
) -> None:
    target = _serving(engine, run_target, app_image)
    with start_session(engine, SessionSpec(target=target.id, image=busybox_image, tty=False)) as s:
        sockets = list_sockets(s)
    by = {(x.protocol, x.port): x for x in sockets}
    tcp = by[("tcp", PORT)]
    assert tcp.address == "127.0.0.1" and tcp.pid == 1 and tcp.command == "app"
    udp = by[("udp", PORT + 1)]
    assert udp.pid == 1 and udp.transport == "udp"
    assert engine.port_bindings(target.id) == []


def test_forward_through_a_session_serves_two_connections_and_closes_clean(
    engine: Any, run_target: Any, app_image: str, busybox_image: str
) -> None:
    target = _serving(engine, run_target, app_image)
    with start_session(engine, SessionSpec(target=target.id, image=busybox_image, tty=False)) as s:
        forward = PortForward(engine, s.sidecar_id, PORT, 0).start()
        try:
            out = _two_at_once(f"http://{forward.address}")
        finally:
            forward.close()
        assert out == {
            "/slow": f"hello from port {PORT}: /slow\n".encode(),
            "/fast": f"hello from port {PORT}: /fast\n".encode(),
        }
        assert forward.connections == 2
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", forward.local_port), timeout=5)


def test_cli_port_forward_to_an_unpublished_port_then_ctrl_c(
    engine: Any, run_target: Any, app_image: str, busybox_image: str
) -> None:
    """`cdebug-tui port-forward TARGET :8080` as kubectl's: Ctrl-C leaves nothing behind, the
    target is neither published nor restarted."""
    target = _serving(engine, run_target, app_image)
    started = engine.api.inspect_container(target.id)["State"]["StartedAt"]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cdebug_tui",
            "port-forward",
            "--image",
            busybox_image,
            target.name,
            f":{PORT}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert line.startswith("Forwarding from 127.0.0.1:"), (line, proc.stderr)
        address = line.split()[2]
        assert len(_relays(engine, target.id)) == 1
        out = _two_at_once(f"http://{address}")
        assert out["/slow"] == f"hello from port {PORT}: /slow\n".encode()
        assert out["/fast"] == f"hello from port {PORT}: /fast\n".encode()
        proc.send_signal(signal.SIGINT)
        assert wait_or_tell(proc, 30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    wait_for(lambda: not _relays(engine, target.id), 30, "the relay to be removed")
    host, port = address.rsplit(":", 1)
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=5)
    info = engine.api.inspect_container(target.id)
    assert info["State"]["StartedAt"] == started and info["RestartCount"] == 0
    assert engine.port_bindings(target.id) == []


def test_cli_port_forward_bad_input(
    engine: Any, run_target: Any, app_image: str, busybox_image: str
) -> None:
    """Each gets one line and exit 125, and leaves no relay behind."""
    target = _serving(engine, run_target, app_image)
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    busy = taken.getsockname()[1]
    try:
        cases = {
            f"{PORT + 7}": f"does not listen on TCP port {PORT + 7} (it listens on: {PORT})",
            f"{busy}:{PORT}": f"local port {busy} is already in use",
            "http": "bad port 'http'",
        }
        # The same local port twice: said before anything is forwarded (it said "Forwarding
        # from 127.0.0.1:N", then that N was in use).
        cases[f"{busy + 1}:{PORT} {busy + 1}:{PORT}"] = f"local port {busy + 1} is given twice"
        for spec, message in cases.items():
            res = cdebug("port-forward", "--image", busybox_image, target.name, *spec.split())
            err = res.stderr.decode()
            assert res.returncode == 125, err
            assert err.count("\n") == 1 and message in err, err
            assert not res.stdout
        res = cdebug("port-forward", "--image", busybox_image, "cdebug-no-such-target", "80")
        assert res.returncode == 125 and "no such container" in res.stderr.decode()
    finally:
        taken.close()
    wait_for(lambda: not _relays(engine, target.id), 30, "no relay left")
