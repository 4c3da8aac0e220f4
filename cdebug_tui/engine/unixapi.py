"""Provides LocalEngine: the calls of `cdebug-tui exec` to a local engine, without docker-py."""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import time
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
from cdebug_tui.engine.unixhttp import (
    HTTPError,
    Response,
    UnixAPI,
    container_body,
    quote,
    read_only_mount,
    socket_path,
)
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

__all__ = ["HTTPError", "LocalEngine", "LocalEventStream", "UnixAPI", "local_engine", "socket_path"]


class LocalEventStream:
    """A blocking iterator over a local engine's container events that another thread can
    close (as client.EventStream, without docker-py)."""

    def __init__(self, engine_name: str, resp: Response) -> None:
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
        self.learn(headers)
        if not self._detected:
            _, version = self.http.request("GET", "/version")
            version = version if isinstance(version, dict) else {}
            components = version.get("Components") or []
            self.is_podman = any("podman" in (c.get("Name") or "").lower() for c in components)
            self.server_version = (
                f"{version.get('Version', '')} {version.get('Os', '')}/{version.get('Arch', '')}"
            )
            self._detected = True

    def learn(self, headers: Mapping[str, str]) -> None:
        """Learns what engine it is from its ping's headers (names in lower case), when they
        say: they say what /version says (10-20 ms more on the exec path): Docker's "Server:
        Docker/20.10.24 (linux)", Podman's "Libpod/4.3.1 (linux)" and its Libpod-Api-Version."""
        name, _, rest = headers.get("server", "").partition("/")
        if not self._detected and rest:
            self.is_podman = name.lower() == "libpod" or "libpod-api-version" in headers
            self.server_version = f"{rest.split(' ')[0]} {headers.get('ostype') or 'linux'}"
            self._detected = True

    # -- containers ------------------------------------------------------------------------

    def inspect(self, container_id: str) -> TargetInfo:
        """What the engine says about one container.

        Raises:
            TargetNotFoundError: When there is no such container.
        """
        status, raw = self.http.request("GET", f"/containers/{quote(container_id)}/json")
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
        status, raw = self.http.request("GET", f"/containers/{quote(name)}/json")
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
        bind: tuple[str, str] | None = None,
    ) -> str:
        """Creates (does not start) a container, as Engine.create_container; `tty` gives it a
        TTY and `bind` mounts a file of this host read-only, which only a direct session asks
        for.

        Raises:
            EngineRequestError: When the engine refuses (404: the image or a container whose
                namespaces it should join is missing).
        """
        body = container_body(
            image,
            name=name,
            entrypoint=entrypoint,
            command=command,
            user=user,
            env=env,
            labels=labels,
            stdin_open=stdin_open,
            pid_mode=pid_mode,
            network_mode=network_mode,
            ipc_mode=ipc_mode,
            cap_add=cap_add,
            cap_drop=cap_drop,
            privileged=privileged,
            auto_remove=auto_remove,
            init=init,
            ulimits=ulimit_entries(ulimits) if ulimits else None,
            limits=limits,
            tty=tty,
            bind=bind,
        )
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
        params = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1, "detachKeys": DETACH_KEYS}
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

    def stopped_from_outside(self, container_id: str, since: float) -> bool:
        """Whether a container was killed (`docker kill`, `stop`, `rm -f`) or killed for its
        memory since `since` (a time.time()): its engine's events say so."""
        filters = json.dumps({"container": [container_id], "event": ["kill", "oom"]})
        params = {"since": f"{since:.3f}", "until": f"{time.time():.3f}", "filters": filters}
        try:
            # One JSON object a line, up to `until`.
            resp = self.http.open_stream("GET", "/events", params)
            try:
                return bool(resp.read().strip())
            finally:
                resp.close()
        except (CdebugError, OSError, ValueError):
            return False

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
            host["Mounts"] = [read_only_mount(bind)]
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
            "DELETE", f"/images/{quote(image_id)}", {"force": "true", "noprune": "false"}
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
        status, raw = self.http.request("GET", f"/images/{quote(ref)}/json")
        if status == 404:
            return None
        if status >= 400:
            raise ImageUnavailableError(
                f"invalid image reference {ref!r}: {(raw or {}).get('message')}"
            )
        return str(raw["Id"])

    def image_config(self, ref: str) -> dict[str, Any]:
        """The Config part of a local image (Env, Cmd, Entrypoint, User, WorkingDir)."""
        raw = self.http.call("inspect the image", "GET", f"/images/{quote(ref)}/json")
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


def local_engine(name: str, address: str, timeout: int = 60) -> LocalEngine | None:
    """A LocalEngine for a unix:// address, None for any other (tcp, ssh: docker-py's)."""
    path = socket_path(address)
    if path is None or os.environ.get("CDEBUG_TUI_DOCKER_PY"):
        return None
    return LocalEngine(name, path, timeout)
