"""Provides the sidecar's child subreaper: a static tini, copied into each sidecar."""

from __future__ import annotations

import io
import os
import socket
import threading
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from cdebug_tui.engine.basics import INIT_PATH, host_init_path
from cdebug_tui.engine.models import COPY_LABEL, OWNER_LABEL, SIDECAR_LABEL
from cdebug_tui.engine.toolkit import cache_dir
from cdebug_tui.errors import CdebugError

if TYPE_CHECKING:
    from cdebug_tui.engine.client import Engine

#: Marks the short-lived container that hands out the engine's tini.
HELPER_LABEL = "io.cdebug-tui.helper"
#: The labels of cdebug-tui's own containers (sidecars, debug copies, helpers): never a
#: TARGET a user means, in completion or in a typo's suggestions.
OWN_LABELS = (SIDECAR_LABEL, COPY_LABEL, HELPER_LABEL)
#: Where Docker mounts its tini in a container run with --init (and a PID namespace of its own:
#: a sidecar joins the target's, so Docker gives it none, hence the copy).
DOCKER_INIT = "/sbin/docker-init"


_cache: dict[tuple[str, str], bytes | None] = {}
_lock = threading.Lock()


def _key(engine: Engine) -> tuple[str, str]:
    # The version's number only: Engine says "20.10.24 linux/amd64", LocalEngine "20.10.24 linux".
    return engine.address, engine.server_version.split(" ")[0]


def _cache_file(engine: Engine) -> Path:
    # A name per engine and version, not a secret: crc32, as hashlib's import costs 5 ms.
    key = f"{zlib.crc32(' '.join(_key(engine)).encode()):08x}"
    return cache_dir() / f"docker-init-{key}"


def engine_init(engine: Engine, image: str) -> tuple[bytes, str] | None:
    """A static tini for the sidecar's reapers, and how a learner gets the same one.

    The engine's own (Docker's docker-init), read once per engine version from a container of
    `image` run with --init, which mounts it, then cached; for an engine that lends none
    (Podman's --init needs catatonit, which not every host has) the host's static tini, when
    the engine runs on this host. None when neither is there.
    """
    key = _key(engine)
    with _lock:
        if key in _cache:
            cached = _cache[key]
            return (cached, _from_engine(image)) if cached else _host_init(engine)
    path = _cache_file(engine)
    try:
        data: bytes | None = path.read_bytes()
    except OSError:
        data = _fetch(engine, image)
        if data:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                path.with_suffix(".tmp").replace(path)
            except OSError:
                pass  # A cache we cannot write costs the next run one helper container.
    with _lock:
        _cache[key] = data
    return (data, _from_engine(image)) if data else _host_init(engine)


def _from_engine(image: str) -> str:
    return f"docker run --rm --init --entrypoint cat {image} {DOCKER_INIT} > init"


def _host_init(engine: Engine) -> tuple[bytes, str] | None:
    # Only for an engine on this host's socket: its containers run on this kernel and machine.
    if not engine.address.startswith("unix://") or not (path := host_init_path()):
        return None
    try:
        with open(path, "rb") as f:
            return f.read(), f"cp {path} init  # the host's: the engine lends none"
    except OSError:
        return None


def _fetch(engine: Engine, image: str) -> bytes | None:
    if engine.is_podman:
        return None
    try:
        helper = engine.create_container(
            image,
            entrypoint=["cat", DOCKER_INIT],
            user="0",
            network_mode="none",
            init=True,
            labels={
                SIDECAR_LABEL: "1",
                HELPER_LABEL: "1",
                OWNER_LABEL: f"{socket.gethostname()}:{os.getpid()}",
            },
        )
    except CdebugError:
        return None
    try:
        stream = engine.attach(helper)
        try:
            engine.start(helper)
            read = stream.read_all(30.0)
        finally:
            stream.close()
    except (CdebugError, OSError):
        return None
    finally:
        try:
            engine.remove_container(helper)
        except CdebugError:
            pass
    if read is None or not read[0].startswith(b"\x7fELF"):
        return None
    return read[0]


def install_init(engine: Engine, sidecar_id: str, data: bytes) -> str:
    """Copies the engine's tini (engine_init's) into a sidecar with the archive API: for a
    toolkit without `head`, which the supervisor receives it with otherwise.

    Returns:
        Its path in the sidecar, or "" when the engine refuses.
    """
    import tarfile  # here: the init comes through the supervisor's stdin as a rule

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(INIT_PATH.lstrip("/"))
        info.size = len(data)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(data))
    try:
        engine.put_archive(sidecar_id, "/", buf.getvalue())
    except CdebugError:
        return ""
    return INIT_PATH
