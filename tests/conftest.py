"""Provides the fixtures: a real engine, images built here, targets that tests remove."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import docker.errors
import pytest

from cdebug_tui.engine.models import SIDECAR_LABEL, TARGET_LABEL

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
RUN_ID = uuid.uuid4().hex[:8]
#: Containers and images of this test run carry it, so that parallel runs never collide.
TEST_LABEL = "io.cdebug-tui.test-run"


def unavailable(reason: str) -> NoReturn:
    """Fails under CI=true, skips otherwise: a missing engine or tool is a failure only in CI."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _keep_user_config_out(tmp_path_factory: pytest.TempPathFactory, monkeypatch: Any) -> None:
    """The user's cache and config stay out of tests, and tests stay out of them."""
    home = tmp_path_factory.getbasetemp() / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))


@pytest.fixture(scope="session")
def engine() -> Iterator[Any]:
    """The machine's real engine; outside CI a missing engine skips, in CI it fails."""
    from cdebug_tui.engine.client import Engine
    from cdebug_tui.errors import CdebugError

    try:
        eng = Engine()
        eng.ping()
    except CdebugError as exc:
        unavailable(f"no container engine answers: {exc}")
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def images(engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.images import TestImages

    made = TestImages(engine, f"cdebug-test-{RUN_ID}", tmp_path_factory.mktemp("images"))
    try:
        yield made
    finally:
        made.remove_all()


@pytest.fixture(scope="session")
def busybox_image(images: Any) -> str:
    return str(images.busybox())


@pytest.fixture(scope="session")
def distroless_image(images: Any) -> str:
    return str(images.distroless())


@pytest.fixture(scope="session")
def nix_static_toolkit(images: Any) -> str:
    return str(images.nix_static_toolkit())


@pytest.fixture(scope="session")
def crasher_image(images: Any) -> str:
    return str(images.crasher())


@pytest.fixture(scope="session")
def dynamic_toolkit(images: Any) -> str:
    return str(images.dynamic_toolkit())


@pytest.fixture(scope="session")
def nix_toolkit(images: Any) -> str:
    return str(images.nix_toolkit())


@pytest.fixture(scope="session")
def node_image(images: Any) -> str:
    """A shell-less node target, like gcr.io/distroless/nodejs (tests/images.py: node_tar)."""
    from tests.images import host_node

    if host_node() is None:
        unavailable("no node on this host (Debian: nodejs; scripts/setup-engine.sh)")
    return str(images.node())


@pytest.fixture(scope="session")
def strace_toolkit(dynamic_toolkit: str) -> str:
    """The dynamic toolkit, which carries the host's strace: a missing strace skips, or fails
    under CI=true."""
    import shutil

    if shutil.which("strace") is None:
        unavailable("no strace on this host (Debian: strace; scripts/setup-engine.sh)")
    return dynamic_toolkit


@pytest.fixture
def run_target(engine: Any) -> Iterator[Callable[..., Any]]:
    """Starts a target container; the test's finalizer removes it and any sidecar left on it."""
    made: list[str] = []

    def run(image: str, command: list[str] | None = None, **host: Any) -> Any:
        user = host.pop("user", None)
        workdir = host.pop("working_dir", None)
        env = host.pop("environment", None)
        ports = host.pop("ports", None)
        cid = engine.api.create_container(
            image,
            command=command,
            ports=ports,
            user=user,
            working_dir=workdir,
            environment=env,
            name=f"cdebug-test-target-{RUN_ID}-{uuid.uuid4().hex[:6]}",
            labels={TEST_LABEL: RUN_ID},
            host_config=engine.api.create_host_config(**host),
        )["Id"]
        made.append(cid)
        engine.api.start(cid)
        return engine.inspect(cid)

    yield run
    for cid in made:
        for sidecar in engine.api.containers(
            all=True, filters={"label": [SIDECAR_LABEL, f"{TARGET_LABEL}={cid}"]}
        ):
            try:
                engine.api.remove_container(sidecar["Id"], force=True)
            except docker.errors.APIError as exc:
                # Gone, or its removal in progress already (AutoRemove): the engine does it.
                if exc.status_code not in (404, 409):
                    raise
        try:
            engine.api.remove_container(cid, force=True, v=True)
        except Exception:  # noqa: BLE001 - a test may have removed it on purpose
            pass


def sidecars_of(engine: Any, target_id: str) -> list[dict[str, Any]]:
    """The sidecars on the engine that belong to a target, stopped ones included."""
    return list(
        engine.api.containers(
            all=True, filters={"label": [SIDECAR_LABEL, f"{TARGET_LABEL}={target_id}"]}
        )
    )


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("work")


@pytest.fixture(autouse=True)
def _keep_docker_contexts_out(tmp_path_factory: pytest.TempPathFactory, monkeypatch: Any) -> None:
    """The user's Docker contexts stay out of tests: the CLI follows the current context."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path_factory.getbasetemp() / "docker-config"))
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)


@pytest.fixture(scope="session")
def registry() -> Iterator[Any]:
    """A registry on loopback serving a busybox toolkit in two layers, for real pulls."""
    from cdebug_tui.engine.toolkit import DEFAULT_PATH, busybox_rootfs_tar, host_busybox
    from tests.registry import LocalRegistry

    busybox = host_busybox()
    if busybox is None:
        unavailable("no static busybox on this host (Debian: busybox-static)")
    with LocalRegistry() as reg:
        base = busybox_rootfs_tar(busybox)
        extra = _tar_with_file("etc/toolkit-release", b"cdebug-tui test toolkit\n")
        reg.add_image(
            f"cdebug-test-{RUN_ID}/busybox",
            "musl",
            [base, extra],
            {"Env": [f"PATH={DEFAULT_PATH}"], "Cmd": ["sh"]},
        )
        yield reg


def _tar_with_file(name: str, data: bytes) -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture(scope="session")
def app_image(images: Any) -> str:
    """A shell-less target that logs and serves HTTP on loopback (tests/images.py: APP_C)."""
    return str(images.app())
