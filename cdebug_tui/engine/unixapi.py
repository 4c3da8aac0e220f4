"""Provides UnixAPI: a few Docker API calls over a unix socket with the standard library only."""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from typing import Any

from cdebug_tui.errors import EngineUnavailableError

# docker-py and requests take 150-400 ms to import; shell completion and the exec path's first
# calls need a handful of GETs and POSTs to a local socket, which http.client does in ~2 ms.


class _UnixConnection(http.client.HTTPConnection):
    """An HTTP/1.1 connection whose transport is a unix socket instead of TCP."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def socket_path(address: str) -> str | None:
    """The socket's path for a unix:// address; None for any other kind of address."""
    if address.startswith("unix://"):
        return address[len("unix://") :]
    return None


class UnixAPI:
    """The Docker Engine API of a local engine, reached over its unix socket.

    Args:
        path: The socket's path (`/var/run/docker.sock`, Podman's `podman.sock`).
        timeout: Seconds a connection or a read may take.
    """

    def __init__(self, path: str, timeout: float = 60) -> None:
        self.path = path
        self.timeout = timeout

    def request(
        self, method: str, path: str, params: dict[str, str] | None = None, body: Any = None
    ) -> tuple[int, Any]:
        """One request; returns (status, the decoded JSON body or None when it is empty).

        Raises:
            EngineUnavailableError: When the socket is missing, refuses, or the answer is not
                HTTP with JSON.
        """
        url = path + ("?" + urllib.parse.urlencode(params) if params else "")
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        conn = _UnixConnection(self.path, self.timeout)
        try:
            conn.request(method, url, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            status = resp.status
        except FileNotFoundError as exc:
            raise EngineUnavailableError(
                f"no container engine at unix://{self.path}: socket missing"
            ) from exc
        except PermissionError as exc:
            raise EngineUnavailableError(
                f"permission denied on the engine socket at unix://{self.path}",
                hint="run as a user in the docker group, or as root",
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise EngineUnavailableError(
                f"cannot reach the container engine at unix://{self.path}: {exc}"
            ) from exc
        finally:
            conn.close()
        try:
            return status, json.loads(raw) if raw.strip() else None
        except ValueError as exc:
            raise EngineUnavailableError(
                f"the engine at unix://{self.path} answered {status} without JSON"
            ) from exc

    def running_container_names(self) -> list[str]:
        """The names of the engine's running containers, as `docker ps` shows them."""
        status, rows = self.request("GET", "/containers/json")
        if status != 200 or not isinstance(rows, list):
            raise EngineUnavailableError(f"the engine at unix://{self.path} answered {status}")
        return sorted(
            str(r["Names"][0]).lstrip("/") for r in rows if isinstance(r, dict) and r.get("Names")
        )
