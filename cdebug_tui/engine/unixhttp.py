"""Provides UnixAPI: the Docker API over a local engine's unix socket, with the standard library."""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping

from cdebug_tui.errors import EngineRequestError, EngineUnavailableError

TYPE_CHECKING = False  # without typing's import: see cli.py
if TYPE_CHECKING:
    from typing import Any

# docker-py and requests take 150-400 ms to import, more than `docker run -it` takes to give a
# prompt; shell completion and `cdebug-tui exec` need a few calls to a local socket, made here
# in a millisecond or two. Not with http.client either: it imports email and ssl (15-30 ms on
# the exec path) for what the engine's answers need of HTTP/1.1, below. Everything else stays
# with docker-py (client.py).


class HTTPError(OSError):
    """An answer that is not the HTTP/1.1 the engine speaks (a broken or cut connection)."""


class Response:
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
        return path + ("?" + urlencode(query) if query else "")

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
        data, headers = _json_body(body)
        if raw_body is not None:
            data, headers = raw_body, {"Content-Type": "application/x-tar"}
        try:
            sock = self._sent(method, self._url(path, params), data, headers)
        except OSError as exc:
            raise self._unreachable(exc) from exc
        return self._answer(sock)

    def _answer(self, sock: socket.socket) -> tuple[int, Any]:
        """The answer on a request's connection, as request() returns it; the connection is
        closed.

        Raises:
            EngineUnavailableError: As request.
        """
        try:
            resp = Response(sock)
            try:
                raw = resp.read()
            finally:
                resp.close()
            status = resp.status
            ctype = resp.getheader("Content-Type") or ""
        except (OSError, ValueError) as exc:
            sock.close()
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
        return _checked(what, *self.request(method, path, params, body, raw_body=raw_body))

    def _send(
        self, method: str, url: str, data: bytes | None, headers: Mapping[str, str]
    ) -> Response:
        """Sends one request on a connection of its own and reads its answer's head."""
        sock = self._sent(method, url, data, headers)
        try:
            return Response(sock)
        except BaseException:
            sock.close()
            raise

    def _sent(
        self, method: str, url: str, data: bytes | None, headers: Mapping[str, str]
    ) -> socket.socket:
        """The connection of one request, sent; its answer is still to read."""
        lines = [f"{method} {url} HTTP/1.1", "Host: localhost", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if data is not None or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(data or b'')}")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.path)
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (data or b""))
        except BaseException:
            sock.close()
            raise
        return sock

    def begin(
        self,
        what: str,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Pending:
        """Sends a request and returns at once; its answer is read by result().

        Raises:
            EngineUnavailableError: When the socket is missing or refuses.
        """
        try:
            sock = self._sent(method, self._url(path, params), *_json_body(body))
        except OSError as exc:
            raise self._unreachable(exc) from exc
        return Pending(self, what, sock)

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
    ) -> Response:
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


def _explanation(body: bytes, status: int) -> str:
    """The engine's words in an error answer: its JSON message, else the text, else the status."""
    try:
        return str(json.loads(body)["message"])
    except (ValueError, KeyError, TypeError):
        return body.decode(errors="replace").strip() or f"status {status}"


#: What a URL carries as it is; every other byte is percent-encoded.
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def quote(part: str, plus: bool = False) -> str:
    """urllib.parse.quote(part, safe=""), or quote_plus with `plus`: urllib.parse costs exec's
    start 3-4 ms of imports (ipaddress among them) for this."""
    return "".join(
        chr(b) if b in _UNRESERVED else "+" if plus and b == 0x20 else f"%{b:02X}"
        for b in part.encode()
    )


def urlencode(query: Mapping[str, Any]) -> str:
    """urllib.parse.urlencode(query, doseq=True): a list or tuple is its key repeated."""
    return "&".join(
        f"{quote(str(key), True)}={quote(str(item), True)}"
        for key, value in query.items()
        for item in (value if isinstance(value, (list, tuple)) else (value,))
    )


class Pending:
    """A request sent whose answer is read later (result()): the engine works on it while
    this process does something else (exec's quick start imports its modules while the engine
    starts the sidecar)."""

    def __init__(self, api: UnixAPI, what: str, sock: socket.socket) -> None:
        self._api = api
        self._what = what
        self._sock = sock

    def close(self) -> None:
        """Leaves the answer unread."""
        self._sock.close()

    def result(self) -> Any:
        """The answer, as UnixAPI.call returns it.

        Raises:
            EngineRequestError: When the engine refused.
            EngineUnavailableError: When it did not answer.
        """
        return _checked(self._what, *self._api._answer(self._sock))


def _json_body(body: Any) -> tuple[bytes | None, dict[str, str]]:
    """A request's body as JSON, and its header (none without a body)."""
    if body is None:
        return None, {}
    return json.dumps(body).encode(), {"Content-Type": "application/json"}


def _checked(what: str, status: int, answer: Any) -> Any:
    """An answer, or EngineRequestError (`cannot WHAT: ...`) when it is an error's."""
    if status >= 400:
        explanation = str((answer or {}).get("message") or f"status {status}")
        raise EngineRequestError(
            f"cannot {what}: {explanation}", status=status, explanation=explanation
        )
    return answer


def read_only_mount(bind: tuple[str, str]) -> dict[str, Any]:
    """(a file on the engine's host, where it shows in the container), as the API's Mounts
    take it, read-only. Mounts, not Binds: a bind whose source is missing is refused, not made
    an empty directory (an engine that does not see this host's files)."""
    return {"Type": "bind", "Source": bind[0], "Target": bind[1], "ReadOnly": True}


def container_body(
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
    ulimits: list[dict[str, Any]] | None = None,
    limits: Mapping[str, Any] | None = None,
    tty: bool = False,
    bind: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The body of POST /containers/create, from `docker create`'s options (`ulimits` as the
    API takes them); `name` goes in the query, not here."""
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
        host["Ulimits"] = ulimits
    if bind is not None:
        host["Mounts"] = [read_only_mount(bind)]
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
    return body
