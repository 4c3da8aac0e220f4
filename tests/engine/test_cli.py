"""Tests that every --help only prints, and that container names complete from the engine."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cdebug_tui.engine.demo import DEMO_LABEL
from cdebug_tui.engine.models import OWNER_LABEL, SIDECAR_LABEL, SessionSpec
from cdebug_tui.engine.session import start_session
from tests.conftest import RUN_ID, TEST_LABEL
from tests.unit.test_cli import _complete

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[2]
ENGINE_SOCKET = "/var/run/docker.sock"

HELPS = [
    ["--help"],
    ["-h"],
    ["web", "--help"],
    ["exec", "--help"],
    ["exec", "-it", "--help"],
    ["toolkit", "--help"],
    ["toolkit", "build", "--help"],
    ["demo", "--help"],
    ["demo", "--exec", "--help"],
    ["cleanup", "--help"],
    ["--engine", "default", "cleanup", "-h"],
    ["completion", "--help"],
]


class RecordingProxy:
    """A unix socket in front of the engine's that forwards everything and counts connections."""

    def __init__(self, path: Path, upstream: str) -> None:
        self.path, self.upstream = path, upstream
        self.connections = 0
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(str(path))
        self.server.listen(16)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            up = socket.socket(socket.AF_UNIX)
            up.connect(self.upstream)
            for a, b in ((client, up), (up, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def proxy(engine: Any, tmp_path: Path) -> Iterator[RecordingProxy]:
    p = RecordingProxy(tmp_path / "engine.sock", ENGINE_SOCKET)
    yield p
    p.close()


def _ours(engine: Any) -> tuple[set[str], set[str], set[str]]:
    """What a command acting on its arguments would make or remove: demo targets, the demo and
    toolkit images, and sidecars by owner (the engine is shared: not every container and image).

    Returns:
        (demo containers' ids, image tags, the sidecars' owner labels).
    """
    demo = {c["Id"] for c in engine.api.containers(all=True, filters={"label": DEMO_LABEL})}
    images = {t for i in engine.api.images() for t in i.get("RepoTags") or () if "cdebug-tui/" in t}
    owners = {
        (c.get("Labels") or {}).get(OWNER_LABEL, "")
        for c in engine.api.containers(all=True, filters={"label": SIDECAR_LABEL})
    }
    return demo, images, owners


def test_every_help_only_prints(engine: Any, proxy: RecordingProxy) -> None:
    """Each command's --help prints its usage, exits 0, and asks nothing of the engine.

    The engine is reached through a proxy that counts connections: none may be made (before,
    `cleanup --help` removed sidecars and `demo --help` started the demo). Demo targets and
    the demo and toolkit images are as they were, and no sidecar is owned by these processes
    (other test runs make and remove sidecars meanwhile: they are told apart by owner).
    """
    env = {**os.environ, "DOCKER_HOST": f"unix://{proxy.path}"}
    demo, images, _ = _ours(engine)
    owners = set()
    for args in HELPS:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cdebug_tui", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        out, err = proc.communicate(timeout=60)
        owners.add(f"{socket.gethostname()}:{proc.pid}")
        assert proc.returncode == 0, (args, err)
        assert out.startswith("usage: cdebug-tui"), (args, out)
        assert err == "", args
    assert proxy.connections == 0
    demo_after, images_after, owners_after = _ours(engine)
    assert (demo_after, images_after) == (demo, images)
    assert not owners & owners_after


def test_containers_complete(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str, tmp_path: Path
) -> None:
    """`cdebug-tui exec <Tab>` offers the engine's containers by prefix, the stopped ones too
    (exec takes them: a crashed one most needs a debugger), but not cdebug-tui's sidecars;
    nothing after TARGET; port-forward the running ones; --image the engine's images."""
    a = run_target(distroless_image)
    b = run_target(distroless_image)
    engine.api.kill(b.id)
    prefix = f"cdebug-test-target-{RUN_ID}-"
    with start_session(
        engine, SessionSpec(target=a.id, image=busybox_image, tty=False, interactive=False)
    ) as session:
        sidecar = engine.inspect(session.sidecar_id)
        assert sidecar.running
        offered = [c.strip() for c in _complete("cdebug-tui exec -it cdebug-", tmp_path)]
        assert {a.name, b.name} <= set(offered)
        assert sidecar.name not in offered
    offered = [c.strip() for c in _complete(f"cdebug-tui exec -it {prefix}", tmp_path)]
    assert all(name.startswith(prefix) for name in offered)
    offered = [c.strip() for c in _complete(f"cdebug-tui exec --engine default {b.name}", tmp_path)]
    assert offered == [b.name]
    # After TARGET comes a command of the target's: no host file, no option of exec's.
    assert _complete(f"cdebug-tui exec {b.name} ", tmp_path) == []
    # port-forward reaches running containers only.
    offered = [c.strip() for c in _complete(f"cdebug-tui port-forward {prefix}", tmp_path)]
    assert a.name in offered and b.name not in offered
    # --image: the engine's images, by name.
    repo = busybox_image.split(":")[0]
    offered = [c.strip() for c in _complete(f"cdebug-tui exec --image {repo}", tmp_path)]
    assert busybox_image in offered and all(o.startswith(repo) for o in offered)


def test_a_mistyped_command_is_not_taken_for_a_target(engine: Any, distroless_image: str) -> None:
    """`cdebug-tui exce` opened the app on a TARGET named exce (and tried to pull an image of
    that name): with no such container, it is a command mistyped. A container so named is
    still a TARGET (here: one named like `demo`, with nothing to open the app in)."""
    r = subprocess.run(
        [sys.executable, "-m", "cdebug_tui", "exce"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 125
    assert r.stderr == "cdebug-tui: error: unknown command 'exce': did you mean 'exec'?\n"
    # A container named like a command is a TARGET still: the app is asked for (here with
    # no terminal to open it in, which is said).
    name = f"cleanup{RUN_ID[:2]}"
    engine.api.create_container(distroless_image, name=name, labels={TEST_LABEL: RUN_ID})
    try:
        r = subprocess.run(
            [sys.executable, "-m", "cdebug_tui", name],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
        )
        assert r.returncode == 125 and "unknown command" not in r.stderr, r.stderr
        assert "terminal" in r.stderr, r.stderr
    finally:
        engine.api.remove_container(name, force=True)
