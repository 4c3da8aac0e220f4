"""Provides Engine, the typed wrapper around docker-py: the one module that imports docker."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import tarfile
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import docker
import docker.errors
import docker.tls
import docker.utils
import requests.exceptions
import urllib3.exceptions

from cdebug_tui.engine.models import (
    COPY_LABEL,
    OWNER_LABEL,
    SIDECAR_LABEL,
    Change,
    Container,
    ContainerEvent,
    ImageInfo,
    Mount,
    PullProgress,
    TargetInfo,
)
from cdebug_tui.errors import (
    AmbiguousTargetError,
    CdebugError,
    CopyError,
    EngineUnavailableError,
    ImageUnavailableError,
    TargetNotFoundError,
)

# A reference as `docker pull` accepts it: [host[:port]/]path[:tag][@digest], lower-case path.
_IMAGE_REF = re.compile(
    r"^(?:(?P<host>[a-zA-Z0-9.-]+(?::[0-9]+)?)/)?"
    r"(?P<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$"
)

#: Paths at which an image is taken to have a shell.
SHELL_PATHS = ("/bin/sh", "/usr/bin/sh", "/bin/bash", "/busybox/sh")

ProgressCallback = Callable[[PullProgress], None]


@dataclass(frozen=True)
class TLSFiles:
    """TLS material for a tcp:// engine, as a Docker context or DOCKER_CERT_PATH holds it."""

    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    #: Whether to verify the engine's certificate (a context's SkipTLSVerify is the opposite).
    verify: bool = True


def validate_image_ref(ref: str) -> None:
    """Checks that an image reference is well formed.

    Raises:
        ImageUnavailableError: When it is not, with the reason.
    """
    if not ref or not _IMAGE_REF.match(ref):
        raise ImageUnavailableError(f"invalid image reference {ref!r}")


def split_image_ref(ref: str) -> tuple[str, str | None]:
    """Splits a reference into repository and tag (or digest); the tag is None when absent."""
    if "@" in ref:
        repo, _, digest = ref.partition("@")
        return repo, digest
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        repo, _, tag = ref.rpartition(":")
        return repo, tag
    return ref, None


def familiar_ref(ref: str) -> str:
    """An image reference as `docker images` shows it: without the default registry prefixes.

    Podman stores fully qualified names (`docker.io/library/x`, `docker.io/org/x`, and
    `localhost/x` for images made locally); Docker shows `x` and `org/x`. Rows from both engines
    read alike this way, and Podman still finds the image by the short name.
    """
    for prefix in ("docker.io/library/", "docker.io/", "localhost/"):
        if ref.startswith(prefix) and len(ref) > len(prefix):
            return ref[len(prefix) :]
    return ref


def _parse_time(value: str | None) -> datetime | None:
    if not value or value.startswith("0001-01-01"):
        return None
    # Docker writes nanoseconds; fromisoformat takes at most microseconds.
    m = re.match(r"^(.*?)(\.\d+)?(Z|[+-]\d\d:\d\d)$", value)
    if not m:
        return None
    frac = (m.group(2) or "")[:7]
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    try:
        return datetime.fromisoformat(m.group(1) + frac + tz)
    except ValueError:
        return None


def _engine_error(exc: BaseException, where: str) -> EngineUnavailableError:
    text = str(exc)
    if isinstance(exc, docker.errors.DockerException) and "Error while fetching server" in text:
        inner = text.split("(", 1)[-1].rstrip(")")
        if "Permission denied" in text:
            return EngineUnavailableError(
                f"permission denied on the engine socket at {where}",
                hint="run as a user in the docker group, or as root",
            )
        if "FileNotFoundError" in text or "No such file" in text:
            return EngineUnavailableError(f"no container engine at {where}: socket missing")
        return EngineUnavailableError(f"cannot reach the container engine at {where}: {inner}")
    return EngineUnavailableError(f"cannot reach the container engine at {where}: {text}")


class EventStream:
    """A blocking iterator over container events that another thread can close."""

    def __init__(self, engine: Engine, raw: Any) -> None:
        self._engine = engine
        self._raw = raw
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[ContainerEvent]:
        try:
            for event in self._raw:
                if self._closed.is_set():
                    return
                if event.get("Type") != "container":
                    continue
                actor = event.get("Actor") or {}
                yield ContainerEvent(
                    engine=self._engine.name,
                    id=actor.get("ID") or event.get("id", ""),
                    action=(event.get("Action") or event.get("status") or "").split(":")[0],
                    time=event.get("timeNano", 0) / 1e9 or float(event.get("time", 0)),
                    name=(actor.get("Attributes") or {}).get("name", ""),
                )
        except (
            requests.exceptions.RequestException,
            urllib3.exceptions.HTTPError,
            OSError,
            AttributeError,
            ValueError,
        ) as exc:
            # Closing the stream from another thread surfaces here as a read error. urllib3's
            # own errors too: docker-py reads the raw response, which requests does not wrap.
            if not self._closed.is_set():
                raise _engine_error(exc, self._engine.address) from exc

    def close(self) -> None:
        self._closed.set()
        try:
            self._raw.close()
        except Exception:  # noqa: BLE001 - best effort: the response may already be gone
            pass


class Engine:
    """One container engine, reached through the Docker API.

    Args:
        name: The engine's name in the UI and in ContainerRef.engine.
        base_url: The engine's address; None takes DOCKER_HOST or the default socket.
        timeout: Seconds an API call may take before it fails.
    """

    def __init__(
        self,
        name: str = "docker",
        base_url: str | None = None,
        timeout: int = 60,
        *,
        tls: TLSFiles | None = None,
    ):
        self.name = name
        kwargs: dict[str, Any] = {}
        try:
            if base_url is None:
                kwargs = dict(docker.utils.kwargs_from_env())
            else:
                kwargs = {"base_url": base_url}
                if tls is not None:
                    kwargs["tls"] = docker.tls.TLSConfig(
                        client_cert=(tls.cert, tls.key) if tls.cert and tls.key else None,
                        ca_cert=tls.ca,
                        verify=tls.ca if tls.verify and tls.ca else tls.verify,
                    )
            self.address = str(kwargs.get("base_url") or "unix:///var/run/docker.sock")
            if self.address.startswith("ssh://"):
                # The ssh binary honours ~/.ssh/config, agents and known_hosts as the docker CLI
                # does; docker-py's own paramiko transport would not (and is not installed).
                kwargs["use_ssh_client"] = True
            self.api = docker.APIClient(version="auto", timeout=timeout, **kwargs)
        except docker.errors.TLSParameterError as exc:
            raise EngineUnavailableError(f"bad TLS settings for the engine: {exc}") from exc
        except docker.errors.DockerException as exc:
            where = str(kwargs.get("base_url") or os.environ.get("DOCKER_HOST") or "default")
            if "Invalid bind address" in str(exc) or "Invalid" in str(exc):
                raise EngineUnavailableError(
                    f"malformed engine address {where!r}",
                    hint="DOCKER_HOST takes unix:///path, tcp://host:port or ssh://user@host",
                ) from exc
            raise _engine_error(exc, where) from exc
        self._shell_cache: dict[str, bool] = {}
        self._detected = False
        self.is_podman = False
        self._detect()

    def _detect(self) -> bool:
        """Finds out what kind of engine answers (Podman names itself in Components)."""
        try:
            version = self.api.version()
        except Exception:  # noqa: BLE001 - version() is informational; ping() reports errors
            return False
        self.is_podman = any(
            "podman" in (c.get("Name") or "").lower() for c in version.get("Components") or []
        )
        self._detected = True
        return True

    def close(self) -> None:
        self.api.close()

    # -- calls, with errors translated ---------------------------------------------------

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except docker.errors.APIError:
            raise  # The engine answered: callers handle its answer (NotFound is one).
        except (requests.exceptions.ConnectionError, ConnectionError, FileNotFoundError) as exc:
            raise _engine_error(exc, self.address) from exc
        except docker.errors.DockerException as exc:
            raise _engine_error(exc, self.address) from exc

    def ping(self) -> None:
        """Checks that the engine answers.

        Raises:
            EngineUnavailableError: When it does not.
        """
        self._call(self.api.ping)
        if not self._detected:
            # The engine was down when this object was made: learn what it is now.
            self._detect()

    # -- containers ------------------------------------------------------------------------

    def list_containers(self, *, shells: bool = True) -> list[Container]:
        """Every container of the engine, running or not, sidecars included.

        Args:
            shells: Whether to find out which images have a shell (one cached call per image).
        """
        raw = self._call(self.api.containers, all=True)
        return self._rows(raw, shells=shells)

    def _probe_shell(self, container_id: str) -> bool | None:
        """Whether a container's image has a shell: a stat (HEAD) of the usual paths."""
        url = self.api._url("/containers/{0}/archive", container_id)  # type: ignore[attr-defined]
        for path in SHELL_PATHS:
            try:
                status = self.api.head(url, params={"path": path}, timeout=10).status_code
            except (requests.exceptions.RequestException, OSError):
                return None
            if status == 200:
                return True
            if status != 404:
                return None
        return False

    def container(self, container_id: str) -> Container | None:
        """The list row of one container, or None when it is gone."""
        raw = self._call(self.api.containers, all=True, filters={"id": container_id})
        if not raw:
            return None
        return self._rows(raw)[0]

    def _rows(self, raw: list[dict[str, Any]], *, shells: bool = True) -> list[Container]:
        out = []
        for c in raw:
            labels = c.get("Labels") or {}
            image_id = c.get("ImageID", "")
            has_shell = self._shell_cache.get(image_id)
            if shells and has_shell is None and image_id:
                has_shell = self._probe_shell(c["Id"])
                if has_shell is not None:
                    self._shell_cache[image_id] = has_shell
            out.append(
                Container(
                    engine=self.name,
                    id=c["Id"],
                    name=(c.get("Names") or [""])[0].lstrip("/"),
                    image=familiar_ref(c.get("Image", "")),
                    state=c.get("State", ""),
                    status=c.get("Status", ""),
                    created=datetime.fromtimestamp(c.get("Created", 0)).astimezone(),
                    has_shell=has_shell,
                    is_sidecar=SIDECAR_LABEL in labels,
                    labels=tuple(sorted(labels.items())),
                )
            )
        return out

    def events(self, since: float | None = None, container: str | None = None) -> EventStream:
        """A live stream of container events (of one container, if given); close it from
        another thread to stop it."""
        filters: dict[str, Any] = {"type": "container"}
        if container:
            filters["container"] = container
        kwargs: dict[str, Any] = {"decode": True, "filters": filters}
        if since is not None:
            kwargs["since"] = since
        return EventStream(self, self._call(self.api.events, **kwargs))

    def inspect(self, container_id: str) -> TargetInfo:
        """What the engine says about one container.

        Raises:
            TargetNotFoundError: When there is no such container.
        """
        try:
            raw = self._call(self.api.inspect_container, container_id)
        except docker.errors.NotFound as exc:
            raise TargetNotFoundError(f"no such container: {container_id}") from exc
        return self._target_info(raw)

    def _target_info(self, raw: Mapping[str, Any]) -> TargetInfo:
        cfg = raw.get("Config") or {}
        host = raw.get("HostConfig") or {}
        state = raw.get("State") or {}
        return TargetInfo(
            engine=self.name,
            id=raw["Id"],
            name=(raw.get("Name") or "").lstrip("/"),
            image=familiar_ref(cfg.get("Image") or ""),
            image_id=raw.get("Image") or "",
            state=state.get("Status") or "",
            running=bool(state.get("Running")) and not state.get("Paused"),
            paused=bool(state.get("Paused")),
            restarting=bool(state.get("Restarting")),
            pid=int(state.get("Pid") or 0),
            user=cfg.get("User") or "",
            workdir=cfg.get("WorkingDir") or "/",
            env=tuple(cfg.get("Env") or ()),
            entrypoint=tuple(cfg.get("Entrypoint") or ()),
            cmd=tuple(cfg.get("Cmd") or ()),
            privileged=bool(host.get("Privileged")),
            cap_add=tuple(host.get("CapAdd") or ()),
            cap_drop=tuple(host.get("CapDrop") or ()),
            readonly_rootfs=bool(host.get("ReadonlyRootfs")),
            pid_mode=host.get("PidMode") or "",
            ipc_mode=host.get("IpcMode") or "",
            network_mode=host.get("NetworkMode") or "",
            security_opt=tuple(host.get("SecurityOpt") or ()),
            labels=tuple(sorted((cfg.get("Labels") or {}).items())),
            mounts=tuple(
                Mount(
                    kind=str(m.get("Type") or ""),
                    source=str(m.get("Name") or m.get("Source") or ""),
                    destination=str(m.get("Destination") or ""),
                    writable=bool(m.get("RW")),
                )
                for m in raw.get("Mounts") or ()
            ),
            exit_code=int(state.get("ExitCode") or 0),
        )

    def resolve(self, target: str) -> TargetInfo:
        """Finds a container by full id, exact name or unique id prefix, as the docker CLI does.

        Raises:
            TargetNotFoundError: When nothing matches.
            AmbiguousTargetError: When a prefix matches several containers; lists them.
        """
        name = target.lstrip("/")
        if not name:
            raise TargetNotFoundError("no target container given")
        try:
            raw = self._call(self.api.inspect_container, name)
            return self._target_info(raw)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            # The engine refuses an ambiguous prefix; list the candidates ourselves below.
            if exc.status_code not in (400, 409, 500):
                raise CdebugError(f"cannot look up {target!r}: {exc.explanation}") from exc
        candidates = [
            c for c in self._call(self.api.containers, all=True) if c["Id"].startswith(name)
        ]
        if len(candidates) > 1:
            listed = ", ".join(
                f"{c['Id'][:12]} ({(c.get('Names') or ['?'])[0].lstrip('/')})"
                for c in candidates[:8]
            )
            raise AmbiguousTargetError(f"{target!r} matches {len(candidates)} containers: {listed}")
        raise TargetNotFoundError(f"no such container: {target}")

    def ulimits(self, container_id: str) -> list[tuple[str, int, int]]:
        """The resource limits a container was created with: (name as in --ulimit, soft, hard).

        Podman reports the limits it applied by default too (RLIMIT_NOFILE, RLIMIT_NPROC);
        Docker reports only explicit ones.
        """
        raw = self._call(self.api.inspect_container, container_id)
        out = []
        for u in (raw.get("HostConfig") or {}).get("Ulimits") or ():
            name = str(u.get("Name") or "").lower().removeprefix("rlimit_")
            if name:
                out.append((name, int(u.get("Soft") or 0), int(u.get("Hard") or 0)))
        return out

    def diff(self, container_id: str) -> list[Change]:
        """The paths changed in the container's writable layer, as `docker diff` shows them."""
        kinds = {0: "C", 1: "A", 2: "D"}
        raw = self._call(self.api.diff, container_id) or []
        return [Change(path=d["Path"], kind=kinds.get(d["Kind"], "?")) for d in raw]

    def read_file(self, container_id: str, path: str, limit: int = 1 << 20) -> bytes:
        """The first `limit` bytes of a regular file in a container, through the archive API.

        It reads without running anything in the container, so it works on shell-less ones.

        Raises:
            FileNotFoundError: When the path does not exist or is not a regular file.
        """
        try:
            stream, _stat = self._call(self.api.get_archive, container_id, path)
        except docker.errors.NotFound as exc:
            raise FileNotFoundError(path) from exc
        data = b"".join(stream)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for member in tar:
                if member.isfile():
                    f = tar.extractfile(member)
                    return f.read(limit) if f else b""
                raise FileNotFoundError(f"{path} is not a regular file")
        raise FileNotFoundError(path)

    def remove_container(self, container_id: str, *, remove_volumes: bool = False) -> None:
        """Removes a container, stopping it first; a container already gone is fine.

        Args:
            remove_volumes: Remove its anonymous volumes too, as `docker rm -v` does.
        """
        try:
            self._call(self.api.remove_container, container_id, force=True, v=remove_volumes)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if "already in progress" not in str(exc):
                raise

    def sidecars(self) -> list[Container]:
        """Every sidecar that any cdebug-tui made on this engine, by its label."""
        raw = self._call(self.api.containers, all=True, filters={"label": SIDECAR_LABEL})
        return self._rows(raw)

    def orphaned_sidecars(self) -> list[Container]:
        """Sidecars whose owning process, on this host, is gone."""
        return [c for c in self.sidecars() if _orphaned(c.label(OWNER_LABEL))]

    # -- images ----------------------------------------------------------------------------

    def images(self) -> list[ImageInfo]:
        """The local images that have tags."""
        out = []
        for img in self._call(self.api.images):
            tags = tuple(familiar_ref(t) for t in img.get("RepoTags") or () if t != "<none>:<none>")
            if tags:
                out.append(
                    ImageInfo(
                        id=img["Id"],
                        tags=tags,
                        size=int(img.get("Size") or 0),
                        created=datetime.fromtimestamp(img.get("Created", 0)).astimezone(),
                    )
                )
        return out

    def image_id(self, ref: str) -> str | None:
        """The id of a local image, or None when it is not on the engine."""
        validate_image_ref(ref)
        try:
            return str(self._call(self.api.inspect_image, ref)["Id"])
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError as exc:
            raise ImageUnavailableError(
                f"invalid image reference {ref!r}: {exc.explanation}"
            ) from exc

    def image_config(self, ref: str) -> dict[str, Any]:
        """The Config part of a local image (Env, Cmd, Entrypoint, User, WorkingDir)."""
        return dict(self._call(self.api.inspect_image, ref).get("Config") or {})

    def pull(self, ref: str, progress: ProgressCallback | None = None) -> str:
        """Pulls an image, reporting progress per layer.

        Returns:
            The pulled image's id.

        Raises:
            ImageUnavailableError: When the pull fails (unknown image, denied, offline).
        """
        validate_image_ref(ref)
        repo, tag = split_image_ref(ref)
        try:
            stream = self._call(self.api.pull, repo, tag=tag or "latest", stream=True, decode=True)
            for line in stream:
                if "error" in line:
                    raise ImageUnavailableError(
                        f"cannot pull {ref}: {_short_error(str(line['error']))}"
                    )
                if progress is not None:
                    detail = line.get("progressDetail") or {}
                    progress(
                        PullProgress(
                            image=ref,
                            layer=str(line.get("id") or ""),
                            status=str(line.get("status") or ""),
                            current=int(detail.get("current") or 0),
                            total=int(detail.get("total") or 0),
                        )
                    )
        except docker.errors.APIError as exc:
            raise ImageUnavailableError(
                f"cannot pull {ref}: {_short_error(str(exc.explanation or exc))}"
            ) from exc
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
            # urllib3's own errors: docker-py reads the raw stream, which requests does not wrap.
            raise ImageUnavailableError(f"cannot pull {ref}: {_short_error(str(exc))}") from exc
        image_id = self.image_id(ref)
        if image_id is None:
            raise ImageUnavailableError(f"cannot pull {ref}: the engine did not store it")
        return image_id

    def import_rootfs(self, tar_bytes: bytes, ref: str, changes: list[str]) -> str:
        """Makes an image from a root filesystem tarball, as `docker import` does.

        Returns:
            The new image's id.
        """
        repo, tag = split_image_ref(ref)
        self._call(
            self.api.import_image_from_data, tar_bytes, repository=repo, tag=tag, changes=changes
        )
        image_id = self.image_id(ref)
        if image_id is None:
            raise ImageUnavailableError(f"importing {ref} failed")
        return image_id

    # -- debug copies (stopped containers, images) -------------------------------------------

    def commit(self, container_id: str, ref: str, labels: Mapping[str, str]) -> str:
        """Commits a container's filesystem to an image, as `docker commit --pause=false` does;
        the container itself is not touched.

        Returns:
            The new image's id.

        Raises:
            TargetNotFoundError: When the container is gone.
            CopyError: When the engine refuses.
        """
        repo, tag = split_image_ref(ref)
        changes = [f"LABEL {key}={json.dumps(value)}" for key, value in labels.items()]
        try:
            raw = self._call(
                self.api.commit,
                container_id,
                repository=repo,
                tag=tag,
                pause=False,
                changes=changes,
            )
        except docker.errors.NotFound as exc:
            raise TargetNotFoundError(f"no such container: {container_id}") from exc
        except docker.errors.APIError as exc:
            raise CopyError(f"the engine refuses to commit it: {exc.explanation}") from exc
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
    ) -> str:
        """Creates (does not start) a container that waits on its stdin, as `docker create -i
        --rm` does: it ends, and the engine removes it, when its attached stdin closes.

        Returns:
            The container's id.

        Raises:
            CopyError: When the engine refuses (a volume or network that is gone, say).
        """
        try:
            raw = self._call(
                self.api.create_container,
                image,
                entrypoint=entrypoint,
                command=[],
                name=name,
                user="0",
                stdin_open=True,  # docker-py sets StdinOnce too: EOF reaches the process
                labels=dict(labels),
                host_config=self.api.create_host_config(
                    volumes_from=[volumes_from] if volumes_from else None,
                    network_mode=network_mode,
                    auto_remove=True,
                ),
            )
        except docker.errors.APIError as exc:
            raise CopyError(f"cannot create the copy: {exc.explanation}") from exc
        return str(raw["Id"])

    def create_stopped(self, image: str, labels: Mapping[str, str]) -> str:
        """Creates a container that is never started, to read an image's files through it.

        Raises:
            ImageUnavailableError: When the image is not there.
        """
        try:
            raw = self._call(
                self.api.create_container, image, entrypoint=["/"], labels=dict(labels)
            )
        except docker.errors.APIError as exc:
            raise ImageUnavailableError(f"cannot read {image}: {exc.explanation}") from exc
        return str(raw["Id"])

    def put_archive(self, container_id: str, path: str, data: bytes) -> None:
        """Extracts a tar archive into a container (created or running) at `path`.

        Raises:
            CopyError: When the engine refuses.
        """
        try:
            self._call(self.api.put_archive, container_id, path, data)
        except docker.errors.APIError as exc:
            raise CopyError(
                f"cannot copy files into {container_id[:12]}: {exc.explanation}"
            ) from exc

    def attach_stdin(self, container_id: str) -> socket.socket:
        """A connection to a created container's stdin, opened before it starts; closing it
        ends a process that reads its stdin (with StdinOnce)."""
        try:
            sock = self._call(
                self.api.attach_socket, container_id, params={"stdin": 1, "stream": 1}
            )
        except docker.errors.APIError as exc:
            raise CopyError(f"cannot attach to {container_id[:12]}: {exc.explanation}") from exc
        return getattr(sock, "_sock", sock)

    def start(self, container_id: str) -> None:
        """Starts a created container.

        Raises:
            CopyError: When the engine refuses (a bind mount's source gone, say).
        """
        try:
            self._call(self.api.start, container_id)
        except docker.errors.APIError as exc:
            raise CopyError(f"cannot start {container_id[:12]}: {exc.explanation}") from exc

    def wait_removed(self, container_id: str, timeout: float) -> None:
        """Waits until a container is gone (AutoRemove), at most `timeout` seconds."""
        try:
            self._call(
                self.api.wait, container_id, timeout=max(1, int(timeout)), condition="removed"
            )
        except (docker.errors.APIError, requests.exceptions.RequestException):
            pass  # gone already, or not in time: the caller removes it itself

    def remove_image(self, image_id: str) -> None:
        """Removes an image (and its tags); an image already gone is fine.

        Raises:
            CopyError: When the engine refuses (a container still uses it).
        """
        try:
            self._call(self.api.remove_image, image_id, force=True, noprune=False)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            raise CopyError(f"cannot remove image {image_id[:19]}: {exc.explanation}") from exc

    def copy_images(self) -> list[ImageInfo]:
        """The images committed for debug copies, by their label (untagged ones included)."""
        out = []
        for img in self._call(self.api.images, all=True, filters={"label": COPY_LABEL}):
            out.append(
                ImageInfo(
                    id=img["Id"],
                    tags=tuple(t for t in img.get("RepoTags") or () if t != "<none>:<none>"),
                    size=int(img.get("Size") or 0),
                    labels=tuple(sorted((img.get("Labels") or {}).items())),
                )
            )
        return out

    def orphaned_copy_images(self) -> list[ImageInfo]:
        """Images committed for debug copies whose owning process, on this host, is gone."""
        return [i for i in self.copy_images() if _orphaned(dict(i.labels).get(OWNER_LABEL))]


def _short_error(text: str) -> str:
    text = text.strip().splitlines()[0] if text.strip() else text
    if "dial tcp" in text or "lookup" in text or "no such host" in text:
        return f"registry unreachable ({text})"
    return text


def _orphaned(owner: str | None) -> bool:
    """Whether an owner label (host:pid) names a process of this host that is gone."""
    owner_host, _, pid = (owner or "").rpartition(":")
    if owner_host != socket.gethostname() or not pid.isdigit():
        return False
    return not _pid_alive(int(pid))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
