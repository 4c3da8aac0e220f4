"""Provides UnixAPI and LocalEngine: the Docker API of a local engine with the standard library."""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from cdebug_tui.engine.models import (
    CHANGE_KINDS,
    COPY_COMMENT,
    DETACH_KEYS,
    ContainerEvent,
    ExecState,
    TargetInfo,
    commit_changes,
    container_event,
    split_image_ref,
    target_info,
    ulimit_entries,
    unresolved_target,
    validate_image_ref,
)
from cdebug_tui.engine.stream import Stream
from cdebug_tui.errors import (
    CdebugError,
    CopyError,
    EngineRequestError,
    EngineUnavailableError,
    ImageUnavailableError,
    TargetNotFoundError,
)

if TYPE_CHECKING:
    from cdebug_tui.engine.client import Engine

# docker-py and requests take 150-400 ms to import, more than `docker run -it` takes to give a
# prompt; shell completion and `cdebug-tui exec` need a few calls to a local socket, made here
# in a millisecond or two. Not with http.client either: it imports email and ssl (15-30 ms on
# the exec path) for what the engine's answers need of HTTP/1.1, below. Everything else stays
# with docker-py (client.py).


class HTTPError(OSError):
    """An answer that is not the HTTP/1.1 the engine speaks (a broken or cut connection)."""


class _Response:
    """One HTTP/1.1 answer on a unix socket: its status and headers, then its body as it comes
    (Content-Length, chunked, or up to the close). The connection is the answer's alone."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock: socket.socket | None = sock
        self._file = sock.makefile("rb")
        status_line = self._file.readline(65537)
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            raise HTTPError(f"not an HTTP answer: {status_line[:80]!r}")
        self.status = int(parts[1])
        self.headers: dict[str, str] = {}
        while (line := self._file.readline(65537)) not in (b"\r\n", b"\n"):
            if not line:
                raise HTTPError("the connection closed inside the answer's headers")
            name, _, value = line.decode("latin-1").partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self._chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        length = self.headers.get("content-length")
        #: Bytes of the body (or of the current chunk) still to read; None: up to the close.
        self._left: int | None = None if self._chunked or length is None else int(length)
        self._done = self.status in (204, 304) or self._left == 0
        self._line = b""

    def getheader(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def _some(self, n: int) -> bytes:
        """Up to `n` bytes of the body (at least one, b"" at its end)."""
        if self._done:
            return b""
        if self._chunked and not self._left:
            size = self._file.readline(65537).split(b";", 1)[0].strip()
            if not size:
                raise HTTPError("the connection closed inside a chunked body")
            self._left = int(size, 16)
            if self._left == 0:
                self._done = True  # trailers, if any, are left unread: the connection closes
                return b""
        want = n if self._left is None else min(n, self._left)
        data = self._file.read1(want)
        if not data:
            if self._left is not None:
                raise HTTPError("the connection closed inside the body")
            self._done = True
            return b""
        if self._left is not None:
            self._left -= len(data)
            if self._chunked and self._left == 0:
                self._file.readline(3)  # the chunk's CRLF
            elif self._left == 0:
                self._done = True
        return data

    def read(self, n: int = -1) -> bytes:
        """The body's next `n` bytes (fewer at its end), or all of the rest with no `n`."""
        if n == 0:
            return b""
        if self._line:  # read ahead by readline
            if n < 0:
                out, self._line = self._line, b""
                return out + self.read()
            out, self._line = self._line[:n], self._line[n:]
            return out
        if n > 0:
            return self._some(n)
        parts = []
        while chunk := self._some(65536):
            parts.append(chunk)
        return b"".join(parts)

    def readline(self) -> bytes:
        """The body's next line, its newline included (b"" at its end)."""
        while b"\n" not in self._line:
            more = self._some(65536)
            if not more:
                line, self._line = self._line, b""
                return line
            self._line += more
        line, _, self._line = self._line.partition(b"\n")
        return line + b"\n"

    def close(self) -> None:
        self._file.close()
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def socket_path(address: str) -> str | None:
    """The socket's path for a unix:// address; None for any other kind of address."""
    if address.startswith("unix://"):
        return address[len("unix://") :]
    return None


class UnixAPI:
    """The Docker Engine API of a local engine, reached over its unix socket.

    Args:
        path: The socket's path (`/var/run/docker.sock`, Podman's `podman.sock`).
        timeout: Seconds a connection or a read may take (None: no limit).
    """

    def __init__(self, path: str, timeout: float | None = 60) -> None:
        self.path = path
        self.timeout = timeout

    def _url(self, path: str, params: Mapping[str, Any] | None) -> str:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        # doseq: a list is the parameter repeated (commit's `changes`), as requests sends it.
        return path + ("?" + urllib.parse.urlencode(query, doseq=True) if query else "")

    def _unreachable(self, exc: BaseException) -> EngineUnavailableError:
        where = f"unix://{self.path}"
        if isinstance(exc, FileNotFoundError):
            return EngineUnavailableError(f"no container engine at {where}: socket missing")
        if isinstance(exc, PermissionError):
            return EngineUnavailableError(
                f"permission denied on the engine socket at {where}",
                hint="run as a user in the docker group, or as root",
            )
        return EngineUnavailableError(f"cannot reach the container engine at {where}: {exc}")

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        *,
        raw_body: bytes | None = None,
    ) -> tuple[int, Any]:
        """One request; returns (status, the decoded JSON body, the text of any other body, or
        None when it is empty).

        Raises:
            EngineUnavailableError: When the socket is missing, refuses, or the answer is not
                HTTP with JSON.
        """
        url = self._url(path, params)
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        if raw_body is not None:
            data, headers = raw_body, {"Content-Type": "application/x-tar"}
        try:
            resp = self._send(method, url, data, headers)
            try:
                raw = resp.read()
            finally:
                resp.close()
            status = resp.status
            ctype = resp.getheader("Content-Type") or ""
        except (OSError, ValueError) as exc:
            raise self._unreachable(exc) from exc
        if not raw.strip():
            return status, None
        if "json" not in ctype:
            # /_ping's "OK"; an error in plain text (Podman's, a proxy's) reads as a message.
            text = raw.decode(errors="replace").strip()
            return status, ({"message": text} if status >= 400 else text)
        try:
            return status, json.loads(raw)
        except ValueError:
            raise EngineUnavailableError(
                f"the engine at unix://{self.path} answered {status} with broken JSON"
            ) from None

    def call(
        self,
        what: str,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        *,
        raw_body: bytes | None = None,
    ) -> Any:
        """One request whose error answer becomes EngineRequestError (`cannot WHAT: ...`).

        Returns:
            The decoded JSON body (None when it is empty).
        """
        status, answer = self.request(method, path, params, body, raw_body=raw_body)
        if status >= 400:
            explanation = str((answer or {}).get("message") or f"status {status}")
            raise EngineRequestError(
                f"cannot {what}: {explanation}", status=status, explanation=explanation
            )
        return answer

    def _send(
        self, method: str, url: str, data: bytes | None, headers: Mapping[str, str]
    ) -> _Response:
        """Sends one request on a connection of its own and reads its answer's head."""
        lines = [f"{method} {url} HTTP/1.1", "Host: localhost", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if data is not None or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(data or b'')}")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.path)
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (data or b""))
            return _Response(sock)
        except BaseException:
            sock.close()
            raise

    def headers(self, path: str) -> tuple[int, dict[str, str]]:
        """A GET whose answer's status and headers (names in lower case) are all that matter.

        Raises:
            EngineUnavailableError: As request.
        """
        try:
            resp = self._send("GET", path, None, {})
            resp.close()
        except (OSError, ValueError) as exc:
            raise self._unreachable(exc) from exc
        return resp.status, resp.headers

    def open_stream(
        self, method: str, path: str, params: Mapping[str, Any] | None = None
    ) -> _Response:
        """A request whose answer is read as it comes (events, archives); close the answer to
        stop it.

        Raises:
            EngineRequestError: When the engine answers with an error.
        """
        try:
            resp = self._send(method, self._url(path, params), None, {})
        except (OSError, ValueError) as exc:
            raise self._unreachable(exc) from exc
        if resp.status >= 400:
            try:
                raw = resp.read()
            except OSError:
                raw = b""
            resp.close()
            explanation = _explanation(raw, resp.status)
            raise EngineRequestError(explanation, status=resp.status, explanation=explanation)
        return resp

    def hijack(
        self, what: str, path: str, params: Mapping[str, Any] | None = None, body: Any = None
    ) -> socket.socket:
        """POSTs an attach or exec start and returns the connection as the stream's socket.

        The engine answers `101 UPGRADED` (or 200 from older ones) and from then on the socket
        carries the container's stdin one way and its output the other, as `docker attach`
        and `docker exec` use it.

        Raises:
            EngineRequestError: When the engine refuses (`cannot WHAT: ...`).
        """
        data = b"" if body is None else json.dumps(body).encode()
        head = (
            f"POST {self._url(path, params)} HTTP/1.1\r\nHost: localhost\r\n"
            "Connection: Upgrade\r\nUpgrade: tcp\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        ).encode()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.path)
            sock.sendall(head + data)
            # The answer's head only, a byte at a time (~150 bytes): what follows it is the
            # container's output, which must stay in the socket for the stream's reader.
            answer = b""
            while not answer.endswith(b"\r\n\r\n"):
                byte = sock.recv(1)
                if not byte or len(answer) > 65536:
                    raise OSError("the engine closed the connection before answering")
                answer += byte
        except OSError as exc:
            sock.close()
            raise self._unreachable(exc) from exc
        status_line, _, rest = answer.decode("latin-1").partition("\r\n")
        status = int(status_line.split(" ")[1])
        if status not in (101, 200):
            # An error comes with an ordinary body: read it for the engine's words.
            length = 0
            for line in rest.split("\r\n"):
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip() or 0)
            try:
                body_bytes = sock.recv(length, socket.MSG_WAITALL) if length else b""
            except OSError:
                body_bytes = b""
            sock.close()
            explanation = _explanation(body_bytes, status)
            raise EngineRequestError(
                f"cannot {what}: {explanation}", status=status, explanation=explanation
            )
        sock.settimeout(None)
        return sock

    def container_names(self, ours: tuple[str, ...] = (), *, running: bool = False) -> list[str]:
        """The names of the engine's containers, running or not (`docker ps -a`; `running`:
        `docker ps`), without those that carry one of the labels in `ours`."""
        status, rows = self.request(
            "GET", "/containers/json" if running else "/containers/json?all=1"
        )
        if status != 200 or not isinstance(rows, list):
            raise EngineUnavailableError(f"the engine at unix://{self.path} answered {status}")
        return sorted(
            str(r["Names"][0]).lstrip("/")
            for r in rows
            if isinstance(r, dict) and r.get("Names") and not set(ours) & set(r.get("Labels") or {})
        )

    def image_names(self) -> list[str]:
        """The names (`repository:tag`) of the engine's images, as `docker images` lists them."""
        status, rows = self.request("GET", "/images/json")
        if status != 200 or not isinstance(rows, list):
            raise EngineUnavailableError(f"the engine at unix://{self.path} answered {status}")
        return sorted(
            {
                str(tag)
                for r in rows
                if isinstance(r, dict)
                for tag in r.get("RepoTags") or ()
                if tag and tag != "<none>:<none>"
            }
        )


class LocalEventStream:
    """A blocking iterator over a local engine's container events that another thread can
    close (as client.EventStream, without docker-py)."""

    def __init__(self, engine_name: str, resp: _Response) -> None:
        self._name = engine_name
        self._resp = resp
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[ContainerEvent]:
        try:
            while not self._closed.is_set():
                line = self._resp.readline()
                if not line:
                    return
                if not line.strip():
                    continue
                if (event := container_event(json.loads(line), self._name)) is not None:
                    yield event
        except (OSError, ValueError, AttributeError) as exc:
            # Closing from another thread surfaces here as a read error on a closed socket.
            if not self._closed.is_set():
                raise EngineUnavailableError(f"the engine's event stream broke: {exc}") from exc

    def close(self) -> None:
        self._closed.set()
        sock = self._resp.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._resp.close()


class LocalEngine:
    """The calls `cdebug-tui exec` makes, to an engine on a unix socket, without docker-py.

    It answers as Engine does (our dataclasses, our errors); anything else it is asked for
    (pulls, builds, the panels' calls) goes to an Engine made on first need, which imports
    docker-py then.

    Args:
        name: The engine's name, as in EngineConfig.
        path: Its socket's path.
        timeout: Seconds a call may take.
    """

    def __init__(self, name: str, path: str, timeout: int = 60) -> None:
        self.name = name
        self.address = f"unix://{path}"
        self.timeout = timeout
        self.http = UnixAPI(path, timeout)
        self.is_podman = False
        #: The engine's version and platform, as Engine.server_version ("27.5.1 linux/amd64").
        self.server_version = ""
        self._detected = False
        self._full: Engine | None = None
        self._full_lock = threading.Lock()

    def container_names(self, ours: tuple[str, ...] = (), *, running: bool = False) -> list[str]:
        """The names of the engine's containers, as Engine.container_names."""
        return self.http.container_names(ours, running=running)

    def __getattr__(self, name: str) -> Any:
        # Only for what this class lacks: the rest of Engine, through docker-py.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.full_engine(), name)

    def full_engine(self) -> Engine:
        """The docker-py Engine for the same socket, made (and docker-py imported) on first use."""
        with self._full_lock:
            if self._full is None:
                from cdebug_tui.engine.client import Engine

                self._full = Engine(name=self.name, base_url=self.address, timeout=self.timeout)
            return self._full

    def close(self) -> None:
        if self._full is not None:
            self._full.close()

    def ping(self) -> None:
        """Checks that the engine answers and learns whether it is Podman.

        Raises:
            EngineUnavailableError: When it does not answer.
        """
        status, headers = self.http.headers("/_ping")
        if status != 200:
            raise EngineUnavailableError(f"the engine at {self.address} answered {status}")
        # The ping's headers say what /version says (10-20 ms more on the exec path): Docker's
        # "Server: Docker/20.10.24 (linux)", Podman's "Libpod/4.3.1 (linux)" and its
        # Libpod-Api-Version.
        name, _, rest = headers.get("server", "").partition("/")
        if not self._detected and rest:
            self.is_podman = name.lower() == "libpod" or "libpod-api-version" in headers
            self.server_version = f"{rest.split(' ')[0]} {headers.get('ostype') or 'linux'}"
            self._detected = True
        if not self._detected:
            _, version = self.http.request("GET", "/version")
            version = version if isinstance(version, dict) else {}
            components = version.get("Components") or []
            self.is_podman = any("podman" in (c.get("Name") or "").lower() for c in components)
            self.server_version = (
                f"{version.get('Version', '')} {version.get('Os', '')}/{version.get('Arch', '')}"
            )
            self._detected = True

    # -- containers ------------------------------------------------------------------------

    def inspect(self, container_id: str) -> TargetInfo:
        """What the engine says about one container.

        Raises:
            TargetNotFoundError: When there is no such container.
        """
        status, raw = self.http.request("GET", f"/containers/{_quote(container_id)}/json")
        if status == 404:
            raise TargetNotFoundError(f"no such container: {container_id}")
        if status >= 400:
            raise CdebugError(f"cannot look up {container_id!r}: {(raw or {}).get('message')}")
        return target_info(raw, self.name)

    def resolve(self, target: str) -> TargetInfo:
        """Finds a container by full id, exact name or unique id prefix, as Engine.resolve.

        Raises:
            TargetNotFoundError: When nothing matches.
            AmbiguousTargetError: When a prefix matches several containers; lists them.
        """
        name = target.lstrip("/")
        if not name:
            raise TargetNotFoundError("no target container given")
        status, raw = self.http.request("GET", f"/containers/{_quote(name)}/json")
        if status == 200:
            return target_info(raw, self.name)
        if status not in (404, 400, 409, 500):
            raise CdebugError(f"cannot look up {target!r}: {(raw or {}).get('message')}")
        rows = self.http.call("list containers", "GET", "/containers/json", {"all": 1}) or []
        raise unresolved_target(target, rows)

    def events(
        self, since: float | None = None, container: str | None = None, until: float | None = None
    ) -> LocalEventStream:
        """A live stream of container events (of one container, if given); with `until`, the
        stream ends there."""
        filters: dict[str, list[str]] = {"type": ["container"]}
        if container:
            filters["container"] = [container]
        params: dict[str, Any] = {"filters": json.dumps(filters)}
        if since is not None:
            params["since"] = f"{since:.9f}"
        if until is not None:
            params["until"] = f"{until:.9f}"
        resp = self.http.open_stream("GET", "/events", params)
        # Events come when they come: no read timeout on this connection.
        if resp.sock is not None:
            resp.sock.settimeout(None)
        return LocalEventStream(self.name, resp)

    def remove_container(self, container_id: str, remove_volumes: bool = False) -> None:
        """Removes a container, stopping it first; a container already gone is fine."""
        volumes = "true" if remove_volumes else "false"
        try:
            self.http.call(
                "remove the container",
                "DELETE",
                f"/containers/{container_id}",
                {"force": "true", "v": volumes},
            )
        except EngineRequestError as exc:
            if not exc.not_found and "already in progress" not in exc.explanation:
                raise

    def create_container(
        self,
        image: str,
        *,
        name: str | None = None,
        entrypoint: list[str] | None = None,
        command: list[str] | None = None,
        user: str | None = None,
        env: list[str] | None = None,
        labels: Mapping[str, str] | None = None,
        stdin_open: bool = False,
        pid_mode: str | None = None,
        network_mode: str | None = None,
        ipc_mode: str | None = None,
        cap_add: list[str] | None = None,
        cap_drop: list[str] | None = None,
        privileged: bool = False,
        auto_remove: bool = False,
        init: bool = False,
        ulimits: list[tuple[str, int, int]] | None = None,
        limits: Mapping[str, Any] | None = None,
        tty: bool = False,
        binds: list[str] | None = None,
    ) -> str:
        """Creates (does not start) a container, as Engine.create_container; `tty` gives it a
        TTY and `binds` mounts this host's files (`SRC:DEST:ro`), which only a direct session
        asks for.

        Raises:
            EngineRequestError: When the engine refuses (404: the image or a container whose
                namespaces it should join is missing).
        """
        host: dict[str, Any] = {"Privileged": privileged, "AutoRemove": auto_remove}
        for key, value in (
            ("PidMode", pid_mode),
            ("NetworkMode", network_mode),
            ("IpcMode", ipc_mode),
            ("CapAdd", cap_add or None),
            ("CapDrop", cap_drop or None),
        ):
            if value is not None:
                host[key] = value
        if init:
            host["Init"] = True
        if ulimits:
            host["Ulimits"] = ulimit_entries(ulimits)
        if binds:
            host["Binds"] = list(binds)
        host.update(limits or {})
        body: dict[str, Any] = {
            "Image": image,
            "OpenStdin": stdin_open,
            # As docker-py and `docker run -i`: the container's stdin closes when the attached
            # client closes its side; the supervisor cleans up on that EOF.
            "StdinOnce": stdin_open,
            "AttachStdin": stdin_open,
            "AttachStdout": True,
            "AttachStderr": True,
            "Tty": tty,
            "Labels": dict(labels or {}),
            "HostConfig": host,
        }
        for key, value in (("Entrypoint", entrypoint), ("Cmd", command), ("User", user)):
            if value is not None:
                body[key] = value
        if env is not None:
            body["Env"] = list(env)
        answer = self.http.call(
            "create the container", "POST", "/containers/create", {"name": name}, body
        )
        return str(answer["Id"])

    def start(self, container_id: str) -> None:
        """Starts a created or stopped container.

        Raises:
            EngineRequestError: When the engine refuses (its explanation says why).
        """
        self.http.call("start the container", "POST", f"/containers/{container_id}/start")

    def attach_socket(self, container_id: str) -> socket.socket:
        """A connection attached to a container's stdin, stdout and stderr (no TTY: framed).

        Raises:
            EngineRequestError: When the engine refuses.
        """
        params = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        return self.http.hijack(
            "attach to the container", f"/containers/{container_id}/attach", params
        )

    def exec_create(
        self,
        container_id: str,
        argv: list[str],
        *,
        user: str = "0",
        stdin: bool = False,
        tty: bool = False,
        env: list[str] | None = None,
    ) -> str:
        """Creates an exec in a running container, as Engine.exec_create.

        Raises:
            EngineRequestError: When the container is gone or refuses.
        """
        body: dict[str, Any] = {
            "AttachStdin": stdin,
            "AttachStdout": True,
            "AttachStderr": True,
            "Tty": tty,
            "Cmd": list(argv),
            "User": user,
            "Privileged": False,
            "DetachKeys": DETACH_KEYS,
        }
        if env is not None:
            body["Env"] = list(env)
        answer = self.http.call(
            "run in the container", "POST", f"/containers/{container_id}/exec", body=body
        )
        return str(answer["Id"])

    def exec_socket(self, exec_id: str, *, tty: bool = False) -> socket.socket:
        """Starts an exec and returns its connection (stdin, and its output; framed without
        a TTY).

        Raises:
            EngineRequestError: When the engine refuses.
        """
        return self.http.hijack(
            "start the exec", f"/exec/{exec_id}/start", body={"Detach": False, "Tty": tty}
        )

    def exec_resize(self, exec_id: str, rows: int, cols: int) -> None:
        """Sets the size of an exec's TTY.

        Raises:
            EngineRequestError: When the exec has ended (or the engine refuses).
        """
        self.http.call(
            "resize the terminal", "POST", f"/exec/{exec_id}/resize", {"h": rows, "w": cols}
        )

    def attach(self, container_id: str, *, tty: bool = False) -> Stream:
        """A stream attached to a container's stdin, stdout and stderr, as Engine.attach; `tty`
        for a container made with one (its bytes come unframed)."""
        return Stream(self.attach_socket(container_id), tty=tty)

    @property
    def direct_capable(self) -> bool:
        """Whether a session may run its shell on its sidecar's own TTY (see DebugSession):
        Docker on this host's socket; Podman's attach to a TTY container differs."""
        return not self.is_podman

    def resize_container(self, container_id: str, rows: int, cols: int) -> None:
        """Sets the size of a container's own TTY.

        Raises:
            EngineRequestError: When the container has ended (or the engine refuses).
        """
        self.http.call(
            "resize the terminal",
            "POST",
            f"/containers/{container_id}/resize",
            {"h": rows, "w": cols},
        )

    def wait_exit(self, container_id: str) -> int | None:
        """Blocks until a running container exits; its exit code (None when the engine
        cannot say: it went away, or the container had gone)."""
        api = UnixAPI(self.http.path, None)
        try:
            status, answer = api.request(
                "POST", f"/containers/{container_id}/wait", {"condition": "not-running"}
            )
        except EngineUnavailableError:
            return None
        if status >= 400 or not isinstance(answer, dict):
            return None
        code = answer.get("StatusCode")
        return int(code) if isinstance(code, int) else None

    def exec_start(self, exec_id: str, *, tty: bool = False) -> Stream:
        """Starts an exec and returns its stream, as Engine.exec_start."""
        return Stream(self.exec_socket(exec_id, tty=tty), tty=tty)

    def exec_inspect(self, exec_id: str) -> ExecState:
        """Whether an exec still runs, and its exit code once it has ended, as Engine's.

        Raises:
            EngineRequestError: When the engine has forgotten it.
        """
        raw = self.exec_inspect_raw(exec_id)
        code = raw.get("ExitCode")
        return ExecState(
            id=exec_id,
            running=bool(raw.get("Running")),
            exit_code=int(code) if code is not None and not raw.get("Running") else None,
            pid=int(raw.get("Pid") or 0),
        )

    def put_archive(self, container_id: str, path: str, tar_bytes: bytes) -> None:
        """Extracts a tar archive into a directory of a container, as `docker cp` does.

        Raises:
            EngineRequestError: When the engine refuses (status 404: no such directory).
        """
        self.http.call(
            "copy into the container",
            "PUT",
            f"/containers/{container_id}/archive",
            {"path": path},
            raw_body=tar_bytes,
        )

    # -- debug copies (a stopped container's session: no docker-py on that path either) ----

    def commit(self, container_id: str, ref: str, labels: Mapping[str, str]) -> str:
        """Commits a container's filesystem to an image, as Engine.commit.

        Raises:
            TargetNotFoundError: When the container is gone.
            CopyError: When the engine refuses.
        """
        repo, tag = split_image_ref(ref)
        params = {
            "container": container_id,
            "repo": repo,
            "tag": tag,
            "pause": "false",
            "changes": commit_changes(labels),
            "comment": COPY_COMMENT,
        }
        status, raw = self.http.request("POST", "/commit", params, {})
        if status == 404:
            raise TargetNotFoundError(f"no such container: {container_id}")
        if status >= 400:
            explanation = str((raw or {}).get("message") or f"status {status}")
            raise CopyError(f"the engine refuses to commit it: {explanation}")
        return str(raw["Id"])

    def create_copy(
        self,
        image: str,
        *,
        name: str,
        entrypoint: list[str],
        labels: Mapping[str, str],
        volumes_from: str | None,
        network_mode: str,
        bind: tuple[str, str] | None = None,
        env: list[str] | None = None,
        limits: Mapping[str, Any] | None = None,
        ulimits: list[tuple[str, int, int]] | None = None,
    ) -> str:
        """Creates (does not start) a container that waits on its stdin, as Engine.create_copy.

        Raises:
            CopyError: When the engine refuses (a volume or network that is gone, say).
        """
        host: dict[str, Any] = {"NetworkMode": network_mode, "AutoRemove": True, **(limits or {})}
        if ulimits:
            host["Ulimits"] = ulimit_entries(ulimits)
        if volumes_from:
            host["VolumesFrom"] = [volumes_from]
        if bind is not None:
            host["Mounts"] = [
                {"Type": "bind", "Source": bind[0], "Target": bind[1], "ReadOnly": True}
            ]
        body = {
            "Image": image,
            "Entrypoint": list(entrypoint),
            "Cmd": [],
            "User": "0",
            "OpenStdin": True,
            "StdinOnce": True,
            "AttachStdin": True,
            "AttachStdout": True,
            "AttachStderr": True,
            "Tty": False,
            "Labels": dict(labels),
            "HostConfig": host,
        }
        if env is not None:
            body["Env"] = list(env)
        try:
            answer = self.http.call(
                "create the copy", "POST", "/containers/create", {"name": name}, body
            )
        except EngineRequestError as exc:
            raise CopyError(f"cannot create the copy: {exc.explanation}") from exc
        return str(answer["Id"])

    def changed_paths(self, container_id: str) -> dict[str, str]:
        """`docker diff` of the container, path by path, as Engine.changed_paths.

        Raises:
            TargetNotFoundError: When the container is gone.
            EngineRequestError: When the engine cannot read it.
        """
        try:
            changes = self.http.call(
                "read the container's changes", "GET", f"/containers/{container_id}/changes"
            )
        except EngineRequestError as exc:
            if exc.not_found:
                raise TargetNotFoundError(f"no such container: {container_id}") from exc
            raise
        return {str(c["Path"]): CHANGE_KINDS.get(c["Kind"], "?") for c in changes or ()}

    def create_stopped(self, image: str, labels: Mapping[str, str]) -> str:
        """Creates a container that is never started, to read an image's files through it,
        as Engine.create_stopped.

        Raises:
            ImageUnavailableError: When the image is not there.
        """
        body = {"Image": image, "Entrypoint": ["/"], "Labels": dict(labels)}
        try:
            answer = self.http.call(
                "create the container", "POST", "/containers/create", None, body
            )
        except EngineRequestError as exc:
            raise ImageUnavailableError(f"cannot read {image}: {exc.explanation}") from exc
        return str(answer["Id"])

    def copy_into(self, container_id: str, path: str, data: bytes) -> None:
        """Extracts a tar archive into a container (created or running), as Engine.copy_into.

        Raises:
            CopyError: When the engine refuses.
        """
        try:
            self.put_archive(container_id, path, data)
        except EngineRequestError as exc:
            raise CopyError(
                f"cannot copy files into {container_id[:12]}: {exc.explanation}"
            ) from exc

    def attach_stdin(self, container_id: str) -> socket.socket:
        """A connection to a created container's stdin, as Engine.attach_stdin.

        Raises:
            CopyError: When the engine refuses.
        """
        try:
            return self.http.hijack(
                "attach", f"/containers/{container_id}/attach", {"stdin": 1, "stream": 1}
            )
        except EngineRequestError as exc:
            raise CopyError(f"cannot attach to {container_id[:12]}: {exc.explanation}") from exc

    def start_copy(self, container_id: str) -> None:
        """Starts a created debug copy, as Engine.start_copy.

        Raises:
            CopyError: When the engine refuses (a bind mount's source gone, say).
        """
        try:
            self.start(container_id)
        except EngineRequestError as exc:
            raise CopyError(f"cannot start {container_id[:12]}: {exc.explanation}") from exc

    def remove_image(self, image_id: str) -> None:
        """Removes an image (and its tags), as Engine.remove_image; one already gone is fine.

        Raises:
            CopyError: When the engine refuses (a container still uses it).
        """
        status, raw = self.http.request(
            "DELETE", f"/images/{_quote(image_id)}", {"force": "true", "noprune": "false"}
        )
        if status >= 400 and status != 404:
            explanation = str((raw or {}).get("message") or f"status {status}")
            raise CopyError(f"cannot remove image {image_id[:19]}: {explanation}")

    def exec_inspect_raw(self, exec_id: str) -> dict[str, Any]:
        """What the engine says about an exec: Running, ExitCode, Pid."""
        return dict(self.http.call("inspect the exec", "GET", f"/exec/{exec_id}/json") or {})

    def wait_removed(self, container_id: str, timeout: float) -> bool:
        """Waits until the engine has removed a container (an --rm one that is ending).

        Returns:
            Whether it is gone (False when `timeout` passed first).
        """
        api = UnixAPI(self.http.path, 1.0)
        deadline = time.monotonic() + timeout
        while True:
            # In slices of a second, with a look in between (see Engine.wait_removed).
            try:
                status, _ = api.request(
                    "POST", f"/containers/{container_id}/wait", {"condition": "removed"}
                )
            except EngineUnavailableError:
                pass
            else:
                return status < 400 or status == 404
            try:
                status, _ = self.http.request("GET", f"/containers/{container_id}/json")
            except EngineUnavailableError:
                return False
            if status == 404:
                return True
            if time.monotonic() >= deadline:
                return False

    # -- images and files ------------------------------------------------------------------

    def image_id(self, ref: str) -> str | None:
        """The id of a local image, or None when it is not on the engine."""
        validate_image_ref(ref)
        status, raw = self.http.request("GET", f"/images/{_quote(ref)}/json")
        if status == 404:
            return None
        if status >= 400:
            raise ImageUnavailableError(
                f"invalid image reference {ref!r}: {(raw or {}).get('message')}"
            )
        return str(raw["Id"])

    def image_config(self, ref: str) -> dict[str, Any]:
        """The Config part of a local image (Env, Cmd, Entrypoint, User, WorkingDir)."""
        raw = self.http.call("inspect the image", "GET", f"/images/{_quote(ref)}/json")
        return dict(raw.get("Config") or {})

    def archive(self, container_id: str, path: str) -> Iterator[bytes] | None:
        """A path of a container as a tar stream, through the archive API; None when the path
        does not exist.

        Raises:
            EngineRequestError: When the engine refuses.
        """
        try:
            resp = self.http.open_stream(
                "GET", f"/containers/{container_id}/archive", {"path": path}
            )
        except EngineRequestError as exc:
            if exc.not_found:
                return None
            raise

        def chunks() -> Iterator[bytes]:
            try:
                while chunk := resp.read(65536):
                    yield chunk
            except (OSError, ValueError) as exc:
                raise self.http._unreachable(exc) from exc
            finally:
                resp.close()

        return chunks()

    def read_file(self, container_id: str, path: str, limit: int = 1 << 20) -> bytes:
        """The first `limit` bytes of a regular file in a container, as Engine.read_file.

        Raises:
            FileNotFoundError: When the path does not exist or is not a regular file.
        """
        stream = self.archive(container_id, path)
        if stream is None:
            raise FileNotFoundError(path)
        import tarfile  # here: the exec path reads no archive (tarfile and shutil, 5 ms)

        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            for member in tar:
                if member.isfile():
                    f = tar.extractfile(member)
                    return f.read(limit) if f else b""
                raise FileNotFoundError(f"{path} is not a regular file")
        raise FileNotFoundError(path)


def _explanation(body: bytes, status: int) -> str:
    """The engine's words in an error answer: its JSON message, else the text, else the status."""
    try:
        return str(json.loads(body)["message"])
    except (ValueError, KeyError, TypeError):
        return body.decode(errors="replace").strip() or f"status {status}"


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def local_engine(name: str, address: str, timeout: int = 60) -> LocalEngine | None:
    """A LocalEngine for a unix:// address, None for any other (tcp, ssh: docker-py's)."""
    path = socket_path(address)
    if path is None or os.environ.get("CDEBUG_TUI_DOCKER_PY"):
        return None
    return LocalEngine(name, path, timeout)
