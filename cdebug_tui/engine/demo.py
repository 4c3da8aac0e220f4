"""Provides the demo: a shell-less target built from the host's static busybox, and a toolkit."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable

from cdebug_tui.engine import toolkit
from cdebug_tui.engine.client import Engine
from cdebug_tui.errors import CdebugError, EngineRequestError, ImageUnavailableError

DEMO_IMAGE = "cdebug-tui/demo-distroless:latest"
DEMO_NAME = "cdebug-demo"
DEMO_LABEL = "io.cdebug-tui.demo"


def demo_rootfs_tar(busybox: str) -> bytes:
    """A distroless-like root: one static binary (/app/sleep), users, no shell anywhere."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("app", "etc", "home", "home/nonroot", "tmp", "var", "var/log"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
        # Named `sleep`, busybox runs only its sleep applet: a single-purpose binary.
        tar.add(busybox, arcname="app/sleep")
        files = {
            "etc/passwd": b"root:x:0:0:root:/root:/sbin/nologin\n"
            b"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
            "etc/group": b"root:x:0:\nnonroot:x:65532:\n",
            "app/config.json": b'{"listen": ":8080", "log": "/var/log/app.log"}\n',
        }
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def ensure_demo_target(engine: Engine, notice: Callable[[str], None] | None = None) -> str:
    """Starts the demo target unless a container of that name runs; returns its name."""
    try:
        info = engine.inspect(DEMO_NAME)
        if info.running:
            return DEMO_NAME
        engine.start(DEMO_NAME)
        return DEMO_NAME
    except CdebugError:  # absent, or it does not start: make it anew below
        engine.remove_container(DEMO_NAME)
    if engine.image_id(DEMO_IMAGE) is None:
        busybox = toolkit.host_busybox()
        if busybox is None:
            raise ImageUnavailableError("the demo needs a static busybox on this host")
        engine.import_rootfs(
            demo_rootfs_tar(busybox),
            DEMO_IMAGE,
            changes=[
                "ENV PATH=/app:/usr/bin",
                "ENV APP_MODE=demo",
                "WORKDIR /app",
                "USER 65532",
                'ENTRYPOINT ["/app/sleep", "infinity"]',
            ],
        )
    try:
        engine.create_container(DEMO_IMAGE, name=DEMO_NAME, labels={DEMO_LABEL: "1"})
    except EngineRequestError as exc:
        raise ImageUnavailableError(f"cannot create the demo target: {exc.explanation}") from exc
    engine.start(DEMO_NAME)
    if notice:
        notice(f"started {DEMO_NAME}: a shell-less target (one static binary, user 65532)")
    return DEMO_NAME


def ensure_toolkit(engine: Engine, notice: Callable[[str], None] | None = None) -> str:
    """The default toolkit when it is here, else the local busybox one, built if need be."""
    if engine.image_id(toolkit.DEFAULT_TOOLKIT):
        return toolkit.DEFAULT_TOOLKIT
    if engine.image_id(toolkit.LOCAL_TOOLKIT) is None:
        if notice:
            notice(f"building {toolkit.LOCAL_TOOLKIT} from the host's static busybox")
        toolkit.build_local_toolkit(engine)
    return toolkit.LOCAL_TOOLKIT
