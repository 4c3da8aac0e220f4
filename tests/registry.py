"""Provides a minimal image registry on loopback, so that tests can pull without the internet.

It speaks just enough of the OCI distribution API for `docker pull`: /v2/, manifests by tag,
blobs by digest (GET and HEAD). The engine trusts registries on 127.0.0.0/8 without TLS.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class LocalRegistry:
    """Serves images made of root filesystem tarballs; each layer is one tarball."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[tuple[str, str], bytes] = {}
        self.requests: list[str] = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet: the test output is ours
                pass

            def _send(self, code: int, body: bytes, ctype: str, head: bool) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Docker-Distribution-API-Version", "registry/2.0")
                if code == 200 and body:
                    self.send_header("Docker-Content-Digest", _digest(body))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _serve(self, head: bool) -> None:
                registry.requests.append(self.path)
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts == ["v2"]:
                    return self._send(200, b"{}", "application/json", head)
                if len(parts) >= 4 and parts[0] == "v2" and parts[-2] == "manifests":
                    name, ref = "/".join(parts[1:-2]), parts[-1]
                    body = registry.manifests.get((name, ref))
                    if body is None:
                        body = next(
                            (
                                b
                                for (n, _), b in registry.manifests.items()
                                if n == name and _digest(b) == ref
                            ),
                            None,
                        )
                    if body is None:
                        err = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}'
                        return self._send(404, err, "application/json", head)
                    return self._send(200, body, MANIFEST_TYPE, head)
                if len(parts) >= 4 and parts[0] == "v2" and parts[-2] == "blobs":
                    blob = registry.blobs.get(parts[-1])
                    if blob is None:
                        return self._send(404, b"{}", "application/json", head)
                    return self._send(200, blob, "application/octet-stream", head)
                self._send(404, b"{}", "application/json", head)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._serve(head=False)

            def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
                self._serve(head=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def add_image(self, name: str, tag: str, layers: list[bytes], config: dict[str, Any]) -> str:
        """Publishes an image from uncompressed layer tarballs; returns its reference."""
        gz_layers = [gzip.compress(layer, compresslevel=1) for layer in layers]
        image_config = {
            "architecture": "amd64",
            "os": "linux",
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [_digest(layer) for layer in layers]},
            "history": [{"created_by": "cdebug-tui tests"} for _ in layers],
        }
        config_bytes = json.dumps(image_config).encode()
        self.blobs[_digest(config_bytes)] = config_bytes
        for gz in gz_layers:
            self.blobs[_digest(gz)] = gz
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {
                "mediaType": CONFIG_TYPE,
                "size": len(config_bytes),
                "digest": _digest(config_bytes),
            },
            "layers": [
                {"mediaType": LAYER_TYPE, "size": len(gz), "digest": _digest(gz)}
                for gz in gz_layers
            ],
        }
        self.manifests[(name, tag)] = json.dumps(manifest).encode()
        return f"{self.host}/{name}:{tag}"

    def __enter__(self) -> LocalRegistry:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
