"""Tests how often cdebug-tui asks the engine: /version once per connection, no ping per use."""

from __future__ import annotations

import re
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cdebug_tui.engine.client import Engine
from cdebug_tui.engine.engines import EngineConfig, EngineRegistry
from tests.conftest import unavailable

pytestmark = pytest.mark.engine

_REQUEST = re.compile(rb"(?:GET|HEAD|POST|PUT|DELETE) (/[^ ?]*)[^ ]* HTTP/1\.[01]\r\n")


class CountingProxy:
    """A unix socket in front of the real engine's that counts the requests passing through."""

    def __init__(self, path: Path, engine_socket: str) -> None:
        self.path = str(path)
        self.engine_socket = engine_socket
        self.paths: Counter[str] = Counter()
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.path)
        self._server.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.engine_socket)
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, count: bool) -> None:
        try:
            while data := src.recv(65536):
                if count:
                    for m in _REQUEST.finditer(data):
                        # /v1.45/containers/json -> /containers/json
                        self.paths[re.sub(r"^/v[0-9.]+", "", m.group(1).decode())] += 1
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def proxy(engine: Any, tmp_path: Path) -> Iterator[CountingProxy]:
    address = engine.address
    if not address.startswith("unix://"):
        unavailable(f"the counting proxy needs a unix socket; the engine is at {address}")
    p = CountingProxy(tmp_path / "engine.sock", address.removeprefix("unix://"))
    yield p
    p.close()


def test_an_engine_asks_version_once(proxy: CountingProxy) -> None:
    """docker-py's version='auto' asked /version, and the Podman detection asked it again."""
    engine = Engine("proxied", f"unix://{proxy.path}")
    try:
        engine.list_containers(shells=False)
        assert proxy.paths["/version"] == 1
        assert proxy.paths["/containers/json"] == 1
    finally:
        engine.close()


def test_the_registry_keeps_engines_without_asking_again(proxy: CountingProxy) -> None:
    """get() returns the kept engine as it is; only a check (a reconnection) pings it."""
    registry = EngineRegistry(
        [EngineConfig("proxied", f"unix://{proxy.path}", "address", None, True)]
    )
    try:
        first = registry.get()
        assert registry.get() is first and registry.get("proxied") is first
        registry.list_containers(shells=False)
        assert proxy.paths["/version"] == 1 and proxy.paths["/_ping"] == 0
        assert registry.get(check=True) is first
        assert proxy.paths["/_ping"] == 1
    finally:
        registry.close()
