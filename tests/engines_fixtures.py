"""Provides extra engines for tests: a second dockerd and a Podman service, each in /tmp."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cdebug_tui.engine.client import Engine
from cdebug_tui.engine.models import SIDECAR_LABEL
from cdebug_tui.errors import CdebugError
from tests.conftest import RUN_ID, TEST_LABEL, unavailable
from tests.waiting import wait_for


def _answers(address: str) -> bool:
    try:
        engine = Engine("probe", address, timeout=5)
        try:
            engine.ping()
            return True
        finally:
            engine.close()
    except CdebugError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _unmount_under(root: Path) -> None:
    """Unmounts what an engine left mounted under root (deepest first), so root can go."""
    mounts = []
    with open("/proc/mounts") as f:
        for line in f:
            point = line.split()[1].replace("\\040", " ")
            if point == str(root) or point.startswith(f"{root}/"):
                mounts.append(point)
    for point in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def _stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


class SecondDockerd:
    """A dockerd of its own (socket, TCP on loopback, data and exec roots): a remote stand-in."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sock = f"unix://{root}/docker.sock"
        self.port = _free_port()
        self.tcp = f"tcp://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.bridge = f"cdbg-{uuid.uuid4().hex[:8]}"
        self._bridge_made = False

    def _make_bridge(self) -> None:
        if self._bridge_made:
            return
        used = subprocess.run(["ip", "-4", "addr"], capture_output=True, text=True).stdout
        net = next(
            (n for n in range(200, 255) if f" 172.31.{n}." not in used),
            None,
        )
        if net is None:
            raise RuntimeError("no free 172.31.200-254.0/24 subnet for the second dockerd")
        for cmd in (
            ["ip", "link", "add", self.bridge, "type", "bridge"],
            ["ip", "addr", "add", f"172.31.{net}.1/24", "dev", self.bridge],
            ["ip", "link", "set", self.bridge, "up"],
        ):
            subprocess.run(cmd, check=True, capture_output=True)
            self._bridge_made = True

    def remove_bridge(self) -> None:
        if self._bridge_made:
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
            self._bridge_made = False

    def start(self) -> None:
        """Starts dockerd (with a containerd of its own) and waits until it answers."""
        self._make_bridge()
        log = open(self.root / "dockerd.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            [
                "dockerd",
                "--host",
                self.sock,
                "--host",
                self.tcp,
                "--data-root",
                str(self.root / "data"),
                "--exec-root",
                str(self.root / "exec"),
                "--pidfile",
                str(self.root / "docker.pid"),
                # A bridge of its own, never `--bridge none`: with that, dockerd deletes the
                # host's docker0 (removeDefaultBridgeInterface), cutting off the main engine's
                # containers. No iptables: the host's rules stay as they are.
                "--bridge",
                self.bridge,
                "--iptables=false",
                "--ip6tables=false",
                "--ip-masq=false",
            ],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        proc = self.proc
        wait_for(lambda: proc.poll() is not None or _answers(self.sock), 60, "the second dockerd")
        if proc.poll() is not None:
            tail = (self.root / "dockerd.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the second dockerd exited ({proc.returncode}):\n{tail}")

    def stop(self) -> None:
        """Stops dockerd (and the containerd it started) and waits until it is gone."""
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None


class PodmanService:
    """`podman system service` on a socket of its own, with storage of its own."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # Where rootless Podman puts it: discovery finds it through XDG_RUNTIME_DIR.
        self.runtime_dir = root / "run"
        self.sock_path = self.runtime_dir / "podman" / "podman.sock"
        self.sock = f"unix://{self.sock_path}"
        self.proc: subprocess.Popen[bytes] | None = None

    def podman(self) -> list[str]:
        return [
            "podman",
            "--root",
            str(self.root / "storage"),
            "--runroot",
            str(self.root / "runroot"),
            "--tmpdir",
            str(self.root / "tmp"),
        ]

    def start(self) -> None:
        self.sock_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.root / "podman.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            [*self.podman(), "system", "service", "--time=0", self.sock],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        proc = self.proc
        wait_for(lambda: proc.poll() is not None or _answers(self.sock), 60, "podman's socket")
        if proc.poll() is not None:
            tail = (self.root / "podman.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"podman system service exited ({proc.returncode}):\n{tail}")

    def stop(self) -> None:
        if self.proc is None:
            return
        # Containers first: their conmon processes outlive the service otherwise.
        try:
            engine = Engine("podman", self.sock, timeout=30)
            for c in engine.api.containers(all=True):
                engine.api.remove_container(c["Id"], force=True)
            engine.close()
        except Exception:  # noqa: BLE001 - best effort; the pkill below is scoped to our root
            pass
        _stop(self.proc)
        self.proc = None
        # conmon of exec sessions stays for --exit-delay (300 s) after the session, and conmon
        # runs `podman container cleanup` (which mounts the storage again) when it ends on
        # SIGTERM: end ours with SIGKILL, found by our storage root in their command line,
        # then wait for every process of ours to be gone before the caller unmounts.
        ours = str(self.root).encode()

        def processes() -> list[tuple[int, bytes]]:
            found = []
            for pid_dir in Path("/proc").iterdir():
                if not pid_dir.name.isdigit():
                    continue
                try:
                    cmdline = (pid_dir / "cmdline").read_bytes()
                except OSError:
                    continue
                if ours in cmdline:
                    found.append((int(pid_dir.name), cmdline))
            return found

        for pid, cmdline in processes():
            if cmdline.startswith(b"/usr/bin/conmon"):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        wait_for(lambda: not processes(), 30, "podman's helper processes to exit")


def _short_tmp(prefix: str) -> Path:
    # Unix socket paths must stay under 108 bytes: pytest's tmp paths can be longer.
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


@pytest.fixture(scope="session")
def second_dockerd() -> Iterator[SecondDockerd]:
    """A second dockerd, started once per test run and removed with its dirs at the end."""
    if shutil.which("dockerd") is None:
        unavailable("dockerd is not installed (scripts/setup-engine.sh installs it)")
    if os.geteuid() != 0:
        unavailable("a second dockerd needs root")
    root = _short_tmp("cdbg-d-")
    daemon = SecondDockerd(root)
    try:
        try:
            daemon.start()
        except (RuntimeError, TimeoutError, subprocess.CalledProcessError) as exc:
            unavailable(f"the second dockerd does not start: {exc}")
        yield daemon
    finally:
        daemon.stop()
        daemon.remove_bridge()
        _unmount_under(root)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def podman_service() -> Iterator[PodmanService]:
    """Podman's Docker-compatible API on a socket of its own, removed at the end."""
    if shutil.which("podman") is None:
        unavailable("podman is not installed (scripts/setup-engine.sh installs it)")
    root = _short_tmp("cdbg-p-")
    service = PodmanService(root)
    try:
        try:
            service.start()
        except (RuntimeError, TimeoutError) as exc:
            unavailable(f"podman system service does not start: {exc}")
        yield service
    finally:
        service.stop()
        _unmount_under(root)
        shutil.rmtree(root, ignore_errors=True)


def docker_config(root: Path, contexts: dict[str, dict[str, Any]], current: str | None) -> Path:
    """Writes a DOCKER_CONFIG dir with contexts as the docker CLI stores them.

    Args:
        contexts: name -> the docker endpoint ({"Host": ..., "SkipTLSVerify": ...}).
        current: The currentContext, or None for none.
    """
    import hashlib

    root.mkdir(parents=True, exist_ok=True)
    for name, endpoint in contexts.items():
        meta = root / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
        meta.mkdir(parents=True, exist_ok=True)
        (meta / "meta.json").write_text(
            json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": endpoint}})
        )
    (root / "config.json").write_text(json.dumps({"currentContext": current} if current else {}))
    return root


class Targets:
    """Targets on one engine, labelled with the run id; remove_all() removes them and sidecars."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.made: list[str] = []

    def run(self, image: str, command: list[str] | None = None, **host: Any) -> Any:
        api = self.engine.api
        user = host.pop("user", None)
        if self.engine.is_podman:
            import docker.types

            # Podman's own nofile/nproc defaults are above what this service may set
            # without CAP_SYS_RESOURCE: the container would not start.
            host.setdefault(
                "ulimits",
                [
                    docker.types.Ulimit(name="nofile", soft=4096, hard=8192),
                    docker.types.Ulimit(name="nproc", soft=4096, hard=4096),
                ],
            )
            host.setdefault("network_mode", "none")
        cid = api.create_container(
            image,
            command=command,
            user=user,
            name=f"cdebug-test-target-{RUN_ID}-{uuid.uuid4().hex[:6]}",
            labels={TEST_LABEL: RUN_ID},
            host_config=api.create_host_config(**host),
        )["Id"]
        self.made.append(cid)
        api.start(cid)
        return self.engine.inspect(cid)

    def remove_all(self) -> None:
        api = self.engine.api
        for cid in self.made:
            try:
                for s in api.containers(all=True, filters={"label": SIDECAR_LABEL}):
                    api.remove_container(s["Id"], force=True)
                api.remove_container(cid, force=True)
            except Exception:  # noqa: BLE001 - the engine may be down, or the test removed it
                pass
        self.made.clear()
