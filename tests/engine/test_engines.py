"""Tests several engines: discovery, the registry, sessions through a second dockerd and Podman."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cdebug_tui.engine.client import Engine, familiar_ref
from cdebug_tui.engine.engines import (
    DEFAULT_SOCKET,
    EngineConfig,
    EngineRegistry,
    connect,
    discover,
    split_target,
    unknown_context,
)
from cdebug_tui.engine.unixapi import local_engine
from cdebug_tui.errors import EngineUnavailableError
from tests import engines_fixtures
from tests.conftest import RUN_ID
from tests.engines_fixtures import PodmanService, SecondDockerd, Targets, docker_config, wait_for

# The session-scoped engines, shared by name with any other test module that binds them.
second_dockerd = engines_fixtures.second_dockerd
podman_service = engines_fixtures.podman_service

ROOT = Path(__file__).resolve().parents[2]


def cdebug(
    *args: str, env: dict[str, str], timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    """Runs this worktree's cdebug-tui with exactly the given engine environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    return subprocess.run(
        [sys.executable, "-m", "cdebug_tui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**base, **env},
    )


# -- discovery, from files only -----------------------------------------------------------------


@pytest.fixture
def contexts(tmp_path: Path) -> Path:
    """A DOCKER_CONFIG with three contexts (unix, tcp with TLS, ssh); `remote` is current."""
    cfg = docker_config(
        tmp_path / "docker",
        {
            "alpha": {"Host": "unix:///run/alpha.sock", "SkipTLSVerify": False},
            "remote": {"Host": "tcp://10.1.2.3:2376", "SkipTLSVerify": False},
            "over-ssh": {"Host": "ssh://deploy@build-host", "SkipTLSVerify": False},
        },
        current="remote",
    )
    import hashlib

    tls = cfg / "contexts" / "tls" / hashlib.sha256(b"remote").hexdigest() / "docker"
    tls.mkdir(parents=True)
    for name in ("ca", "cert", "key"):
        (tls / f"{name}.pem").write_text("not a real certificate\n")
    return cfg


def test_contexts_current_first(contexts: Path) -> None:
    found = discover({"DOCKER_CONFIG": str(contexts)}, podman_socket="/nonexistent")
    assert [c.name for c in found] == ["remote", "default", "alpha", "over-ssh"]
    remote = found[0]
    assert remote.current and remote.source == "context"
    assert remote.address == "tcp://10.1.2.3:2376"
    assert remote.tls is not None and remote.tls.verify
    assert remote.tls.ca and remote.tls.ca.endswith("/docker/ca.pem")
    assert found[1] == EngineConfig("default", DEFAULT_SOCKET, "default")
    assert found[2].tls is None and not found[2].current
    assert found[3].address == "ssh://deploy@build-host"


def test_docker_context_picks_and_docker_host_overrides(contexts: Path) -> None:
    env = {"DOCKER_CONFIG": str(contexts), "DOCKER_CONTEXT": "alpha"}
    assert discover(env, podman_socket="/nonexistent")[0].name == "alpha"
    env["DOCKER_HOST"] = "tcp://127.0.0.1:2375"
    first = discover(env, podman_socket="/nonexistent")[0]
    assert (first.name, first.address, first.source, first.current) == (
        "default",
        "tcp://127.0.0.1:2375",
        "env",
        True,
    )
    # An unknown context name: the docker CLI refuses; the list falls back to default, and
    # the engine used when none is named is refused (it silently ran on default).
    env = {"DOCKER_CONFIG": str(contexts), "DOCKER_CONTEXT": "nope"}
    assert discover(env, podman_socket="/nonexistent")[0].name == "default"
    assert unknown_context(env) == "nope"
    assert unknown_context({**env, "DOCKER_CONTEXT": "alpha"}) is None
    assert unknown_context({**env, "DOCKER_HOST": "unix:///run/docker.sock"}) is None


def test_one_entry_per_address(tmp_path: Path) -> None:
    # /var/run is a link to /run on Debian: the same socket, spelled twice.
    cfg = docker_config(
        tmp_path / "d", {"local": {"Host": "unix:///run/docker.sock"}}, current=None
    )
    found = discover({"DOCKER_CONFIG": str(cfg)}, podman_socket="/nonexistent")
    if os.path.realpath("/var/run") == "/run":
        assert [c.name for c in found] == ["default"]
    else:
        assert [c.name for c in found] == ["default", "local"]


def test_podman_sockets_are_found(tmp_path: Path) -> None:
    rootful = tmp_path / "podman.sock"
    rootless = tmp_path / "xdg" / "podman" / "podman.sock"
    rootless.parent.mkdir(parents=True)
    socks = []
    for path in (rootful, rootless):
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
        socks.append(s)
    try:
        env = {"DOCKER_CONFIG": str(tmp_path / "none"), "XDG_RUNTIME_DIR": str(tmp_path / "xdg")}
        found = discover(env, podman_socket=str(rootful))
        assert [(c.name, c.source) for c in found] == [
            ("default", "default"),
            ("podman", "podman"),
            ("podman-rootless", "podman"),
        ]
        assert found[2].address == f"unix://{rootless}"
        # No socket, no entry: a configured-but-stopped Podman is not guessed at.
        assert discover({"DOCKER_CONFIG": "/nonexistent"}, podman_socket="/nonexistent") == [
            EngineConfig("default", DEFAULT_SOCKET, "default", current=True)
        ]
    finally:
        for s in socks:
            s.close()


def test_target_prefix_only_for_known_engines() -> None:
    names = {"default", "podman"}
    assert split_target("podman/web", names) == ("podman", "web")
    assert split_target("other/web", names) == (None, "other/web")
    assert split_target("web", names) == (None, "web")
    assert split_target("podman/", names) == (None, "podman/")


def test_familiar_image_names() -> None:
    assert familiar_ref("docker.io/library/busybox:musl") == "busybox:musl"
    assert familiar_ref("docker.io/org/tool:1") == "org/tool:1"
    assert familiar_ref("localhost/cdebug-tui/busybox:local") == "cdebug-tui/busybox:local"
    assert familiar_ref("quay.io/x/y") == "quay.io/x/y"


def test_unreachable_engines_say_why(tmp_path: Path) -> None:
    registry = EngineRegistry(
        [
            EngineConfig("gone", f"unix://{tmp_path}/missing.sock", "context"),
            EngineConfig("refused", "tcp://127.0.0.1:1", "context"),
            # The ssh binary runs and fails: no sshd listens on port 1.
            EngineConfig("over-ssh", "ssh://nobody@127.0.0.1:1", "context"),
        ]
    )
    try:
        statuses = {s.name: s for s in registry.statuses()}
        assert not any(s.reachable for s in statuses.values())
        assert "socket missing" in statuses["gone"].reason
        assert statuses["refused"].reason.endswith("127.0.0.1:1: connection refused")
        assert statuses["over-ssh"].reason
        with pytest.raises(EngineUnavailableError, match="no engine named"):
            registry.get("nope")
    finally:
        registry.close()


# -- a second dockerd -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def second(
    second_dockerd: SecondDockerd, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """An Engine on the second dockerd with the test images imported there."""
    from tests.images import TestImages

    engine = Engine("second", second_dockerd.sock)
    images = TestImages(engine, f"cdebug-test-{RUN_ID}", tmp_path_factory.mktemp("images2"))
    engine.busybox_image = images.busybox()  # type: ignore[attr-defined]
    engine.distroless_image = images.distroless()  # type: ignore[attr-defined]
    try:
        yield engine
    finally:
        images.remove_all()
        engine.close()


@pytest.fixture
def second_targets(second: Engine) -> Iterator[Targets]:
    targets = Targets(second)
    yield targets
    targets.remove_all()


@pytest.fixture
def engines_env(tmp_path: Path, second_dockerd: SecondDockerd) -> dict[str, str]:
    """A DOCKER_CONFIG whose contexts name the second dockerd `second`; default stays current."""
    cfg = docker_config(tmp_path / "docker", {"second": {"Host": second_dockerd.sock}}, None)
    return {"DOCKER_CONFIG": str(cfg), "XDG_RUNTIME_DIR": str(tmp_path / "no-podman")}


def test_registry_lists_every_engine(
    engine: Any,
    run_target: Any,
    busybox_image: str,
    second: Any,
    second_targets: Targets,
    engines_env: dict[str, str],
) -> None:
    here = run_target(busybox_image, ["sleep", "600"])
    there = second_targets.run(second.busybox_image, ["sleep", "600"])
    registry = EngineRegistry(discover(engines_env, podman_socket="/nonexistent"))
    try:
        assert registry.names[:2] == ["default", "second"]
        rows, statuses = registry.list_containers(shells=False)
        assert [s.reachable for s in statuses] == [True, True]
        by_id = {r.id: r for r in rows}
        assert by_id[here.id].engine == "default"
        assert by_id[there.id].engine == "second"
        assert there.id not in {c.id for c in engine.list_containers(shells=False)}
        found, info = registry.resolve(f"second/{there.name}")
        assert found.name == "second" and info.engine == "second" and info.id == there.id
    finally:
        registry.close()


@pytest.mark.parametrize("form", ["--engine second", "second/", "--engine tcp"])
def test_exec_through_the_second_dockerd(
    form: str,
    second: Any,
    second_targets: Targets,
    second_dockerd: SecondDockerd,
    engines_env: dict[str, str],
) -> None:
    target = second_targets.run(second.distroless_image)
    if form == "second/":
        args = [f"second/{target.name}"]
    elif form == "--engine tcp":
        args = ["--engine", second_dockerd.tcp, target.name]
    else:
        args = ["--engine", "second", target.name]
    r = cdebug("exec", "--image", second.busybox_image, *args, "ls", "/app", env=engines_env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["config.json", "server"]
    r = cdebug(
        "exec", "--image", second.busybox_image, *args, "sh", "-c", "exit 7", env=engines_env
    )
    assert r.returncode == 7, r.stderr
    assert second.api.containers(all=True, filters={"label": "io.cdebug-tui.sidecar"}) == []


def test_engine_name_and_target_must_agree(
    second: Any, second_targets: Targets, engines_env: dict[str, str]
) -> None:
    target = second_targets.run(second.busybox_image, ["sleep", "600"])
    r = cdebug("exec", "--engine", "default", f"second/{target.name}", "true", env=engines_env)
    assert r.returncode == 125
    assert "names engine 'second'" in r.stderr
    # On the default engine the target does not exist, and the error says where it looked.
    r = cdebug("exec", target.name, "true", env=engines_env)
    assert r.returncode == 125 and "no such container" in r.stderr


def test_toolkit_build_and_cleanup_take_engine(
    second: Any, second_dockerd: SecondDockerd, engines_env: dict[str, str]
) -> None:
    ref = f"cdebug-test-{RUN_ID}/toolkit-second:latest"
    r = cdebug("toolkit", "build", ref, "--engine", "second", env=engines_env)
    try:
        assert r.returncode == 0, r.stderr
        assert second.image_id(ref) is not None
    finally:
        second.api.remove_image(ref, force=True)
    r = cdebug("--engine", second_dockerd.tcp, "cleanup", env=engines_env)
    assert r.returncode == 0, r.stderr


# -- Podman -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def podman(
    podman_service: PodmanService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    from tests.images import TestImages

    engine = connect(EngineConfig("podman", podman_service.sock, "podman"))
    images = TestImages(engine, f"cdebug-test-{RUN_ID}", tmp_path_factory.mktemp("images-p"))
    engine.busybox_image = images.busybox()  # type: ignore[attr-defined]
    engine.distroless_image = images.distroless()  # type: ignore[attr-defined]
    try:
        yield engine
    finally:
        images.remove_all()
        engine.close()


@pytest.fixture
def podman_targets(podman: Engine) -> Iterator[Targets]:
    targets = Targets(podman)
    yield targets
    targets.remove_all()


def test_podman_is_discovered_and_detected(
    podman_service: PodmanService, podman: Any, podman_targets: Targets, tmp_path: Path
) -> None:
    env = {
        "DOCKER_CONFIG": str(tmp_path / "none"),
        "XDG_RUNTIME_DIR": str(podman_service.runtime_dir),
    }
    found = discover(env, podman_socket="/nonexistent")
    assert [(c.name, c.source) for c in found][1:] == [("podman", "podman")]
    registry = EngineRegistry(found)
    try:
        assert registry.status("podman").is_podman
        assert not registry.status("default").is_podman
        # exec's client, without docker-py, tells them apart from their pings.
        for name, address, is_podman in (
            ("podman", podman_service.sock, True),
            ("default", registry.config("default").address, False),
        ):
            local = local_engine(name, address)
            assert local is not None
            local.ping()
            assert local.is_podman is is_podman and local.server_version.split(" ")[0][0].isdigit()
        target = podman_targets.run(podman.busybox_image, ["sleep", "600"])
        rows, _ = registry.list_containers(shells=False)
        row = next(r for r in rows if r.id == target.id)
        # Podman stores docker.io/<name>; the row reads as Docker shows it.
        assert row.engine == "podman" and row.image == podman.busybox_image
    finally:
        registry.close()


@pytest.mark.parametrize("form", ["--engine podman", "podman/"])
def test_exec_through_podman(
    form: str, podman_service: PodmanService, podman: Any, podman_targets: Targets, tmp_path: Path
) -> None:
    target = podman_targets.run(podman.distroless_image)
    env = {
        "DOCKER_CONFIG": str(tmp_path / "none"),
        "XDG_RUNTIME_DIR": str(podman_service.runtime_dir),
    }
    args = [f"podman/{target.name}"] if form == "podman/" else ["--engine", "podman", target.name]
    r = cdebug(
        "exec",
        "--image",
        podman.busybox_image,
        *args,
        "sh",
        "-c",
        "ls /app; ps -o pid,args",
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert "config.json" in r.stdout and "server" in r.stdout
    first = r.stdout.splitlines()[3].split()
    assert first == ["1", "/app/server"]
    r = cdebug("exec", "--image", podman.busybox_image, *args, "sh", "-c", "exit 3", env=env)
    assert r.returncode == 3, r.stderr
    wait_for(
        lambda: podman.api.containers(all=True, filters={"label": "io.cdebug-tui.sidecar"}) == [],
        10,
        "podman to remove the sidecar",
    )


def test_a_podman_session_leaves_nothing_in_its_target(
    podman: Any, podman_targets: Targets
) -> None:
    """Podman lends no init to a sidecar (its --init needs catatonit): the host's static tini
    reaps the shell's jobs instead, so the target's PID namespace holds what it held before."""
    from cdebug_tui.engine.models import SessionSpec
    from cdebug_tui.engine.session import start_session
    from tests.engine.helpers import output
    from tests.engine.test_reaper import JOBS, namespace_processes

    target = podman_targets.run(podman.distroless_image)
    before = namespace_processes(target.pid)
    assert [p[2] for p in before] == ["server"]
    spec = SessionSpec(
        target=target.id, image=podman.busybox_image, tty=False, command=("sh", "-c", JOBS)
    )
    with start_session(podman, spec) as session:
        assert output(session) == b"started\n"
        reaper = next(s for s in session.steps if s.title == "give the sidecar a reaper")
        assert "the host's" in reaper.command, reaper
    after = namespace_processes(target.pid)
    assert after == before, f"left in the target: {sorted(set(after) - set(before))}"


# -- an engine going away and coming back (last: it restarts the second dockerd) -----------------


def test_an_engine_going_away_and_back(
    engine: Any, second_dockerd: SecondDockerd, engines_env: dict[str, str]
) -> None:
    registry = EngineRegistry(discover(engines_env, podman_socket="/nonexistent"))
    try:
        assert registry.status("second").reachable
        second_dockerd.stop()
        try:
            status = registry.status("second")
            assert not status.reachable
            assert "cannot reach" in status.reason or "socket missing" in status.reason
            rows, statuses = registry.list_containers(shells=False)
            assert [s.reachable for s in statuses] == [True, False]
            assert all(r.engine == "default" for r in rows)
            assert registry.get("default").name == "default"
        finally:
            second_dockerd.start()
        assert registry.status("second").reachable
        rows, statuses = registry.list_containers(shells=False)
        assert all(s.reachable for s in statuses)
    finally:
        registry.close()
