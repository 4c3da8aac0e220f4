"""Provides Engine, the typed wrapper around docker-py: the one module that imports docker."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import socket
import tarfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

import docker
import docker.constants
import docker.context
import docker.errors
import docker.tls
import docker.types
import docker.utils
import requests.exceptions
import urllib3.exceptions

from cdebug_tui.engine.engines import DockerContext, TLSFiles
from cdebug_tui.engine.models import (
    CHANGE_KINDS,
    COPY_COMMENT,
    COPY_LABEL,
    DETACH_KEYS,
    OWNER_LABEL,
    SIDECAR_LABEL,
    TARGET_LABEL,
    ContainerEvent,
    ExecState,
    Mount,
    TargetInfo,
    commit_changes,
    container_event,
    familiar_ref,
    split_image_ref,
    target_info,
    unresolved_target,
    validate_image_ref,
)
from cdebug_tui.engine.readings import (
    Change,
    Container,
    ContainerAction,
    ContainerDetails,
    HealthProbe,
    ImageInfo,
    LogLine,
    NetworkInfo,
    PathStat,
    PublishedPort,
    PullProgress,
    StatsSample,
)
from cdebug_tui.engine.stream import Stream, raw_socket
from cdebug_tui.errors import (
    ActionRefusedError,
    CdebugError,
    CopyError,
    EngineRequestError,
    EngineUnavailableError,
    ImageUnavailableError,
    LogsUnavailableError,
    PortForwardError,
    SessionError,
    TargetNotFoundError,
)

#: Paths at which an image is taken to have a shell.
SHELL_PATHS = ("/bin/sh", "/usr/bin/sh", "/bin/bash", "/busybox/sh")

ProgressCallback = Callable[[PullProgress], None]


def docker_contexts() -> list[DockerContext] | None:
    """The stored Docker contexts (not `default`), read by docker-py's ContextAPI from
    $DOCKER_CONFIG (else ~/.docker), sorted by name.

    Returns:
        The contexts, or None when docker-py cannot read them (a corrupt meta.json fails its
        whole list; the docker CLI's own reading skips it and so does engines.py's).
    """
    try:
        found = docker.context.ContextAPI.contexts()
    except Exception:  # noqa: BLE001 - docker-py raises a bare Exception for a corrupt meta file
        return None
    out = []
    for ctx in found:
        if ctx is None or ctx.Name == "default" or not ctx.Host:
            continue
        tls = None
        cfg = ctx.TLSConfig
        if cfg is not None:
            cert, key = cfg.cert if cfg.cert else (None, None)
            tls = TLSFiles(ca=cfg.ca_cert, cert=cert, key=key, verify=bool(cfg.verify))
        out.append(DockerContext(name=ctx.Name, host=ctx.Host, tls=tls))
    return sorted(out, key=lambda c: c.name)


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


def _cause(text: str) -> str:
    """The cause in a requests/urllib3 error's text, in a few words: "connection refused"
    rather than `HTTPConnectionPool(host=..., port=1): Max retries exceeded with url: ...`."""
    for needle, words in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "unknown host"),
        ("Temporary failure in name resolution", "unknown host"),
        ("No route to host", "no route to host"),
        ("Network is unreachable", "network unreachable"),
        ("timed out", "timed out"),
        ("Connection reset", "connection reset"),
        ("CERTIFICATE_VERIFY_FAILED", "the engine's TLS certificate is not trusted"),
        ("WRONG_VERSION_NUMBER", "TLS to an engine that speaks plain HTTP"),
    ):
        if needle in text:
            return words
    if found := re.search(r"\[Errno -?\d+\] ([^'\"()\[\]]+)", text):
        return found.group(1).strip().lower()
    return text


def _engine_error(exc: BaseException, where: str) -> EngineUnavailableError:
    text = str(exc)
    if "Install paramiko" in text:
        return EngineUnavailableError(
            f"cannot reach the container engine at {where}: ssh:// needs paramiko installed "
            "(docker-py imports it, then runs your ssh binary)",
            hint="pip install 'cdebug-tui[ssh]', or paramiko into cdebug-tui's environment",
        )
    if isinstance(exc, docker.errors.DockerException) and "Error while fetching server" in text:
        inner = _cause(text.split(": ", 1)[-1])
        if "Permission denied" in text:
            return EngineUnavailableError(
                f"permission denied on the engine socket at {where}",
                hint="run as a user in the docker group, or as root",
            )
        if "FileNotFoundError" in text or "No such file" in text:
            return EngineUnavailableError(f"no container engine at {where}: socket missing")
        return EngineUnavailableError(f"cannot reach the container engine at {where}: {inner}")
    return EngineUnavailableError(f"cannot reach the container engine at {where}: {_cause(text)}")


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
                if (parsed := container_event(event, self._engine.name)) is not None:
                    yield parsed
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


_STREAMS = {0: "stdout", 1: "stdout", 2: "stderr"}
# Seconds since the epoch for a timestamp's "YYYY-MM-DDTHH:MM:SS" part: lines of one second
# share it, so parsing a page of lines costs one datetime per second, not one per line.
_SECONDS_CACHE: dict[str, int] = {}


def parse_log_timestamp(stamp: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 timestamp as the engine writes them
    (`2024-05-01T12:00:00.123456789Z`); 0 when it is not one."""
    head = stamp[:19]
    seconds = _SECONDS_CACHE.get(head)
    if seconds is None:
        try:
            seconds = int(datetime.fromisoformat(head + "+00:00").timestamp())
        except ValueError:
            return 0
        if len(_SECONDS_CACHE) > 4096:
            _SECONDS_CACHE.clear()
        _SECONDS_CACHE[head] = seconds
    rest = stamp[19:]
    frac = 0
    if rest.startswith("."):
        digits = rest[1:].rstrip("Z")
        digits = digits.split("+")[0].split("-")[0]
        if digits.isdigit():
            frac = int(digits[:9].ljust(9, "0"))
    if rest and rest[-6:-5] in ("+", "-") and rest[-3:-2] == ":":
        sign = 1 if rest[-6] == "+" else -1
        seconds -= sign * (int(rest[-5:-3]) * 3600 + int(rest[-2:]) * 60)
    return seconds * 1_000_000_000 + frac


def _log_line(stream: str, payload: bytes) -> LogLine:
    """A line as the logs API sends it with timestamps=1: `TIMESTAMP TEXT\n`."""
    text = payload.decode(errors="replace")
    if text.endswith("\n"):
        text = text[:-1]
    if text.endswith("\r"):
        text = text[:-1]
    stamp, sep, rest = text.partition(" ")
    ns = parse_log_timestamp(stamp) if sep else 0
    if not ns:
        return LogLine(stream, 0, text)
    return LogLine(stream, ns, rest)


class _LogDecoder:
    """Splits the logs API's bytes into lines: 8-byte framed (stream, size) without a TTY,
    plain text with one."""

    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self._buf = b""

    def feed(self, data: bytes) -> list[LogLine]:
        buf = self._buf + data
        out: list[LogLine] = []
        if self.tty:
            *lines, self._buf = buf.split(b"\n")
            return [_log_line("stdout", line) for line in lines]
        at, end = 0, len(buf)
        while end - at >= 8:
            size = int.from_bytes(buf[at + 4 : at + 8], "big")
            if end - at - 8 < size:
                break
            out.append(_log_line(_STREAMS.get(buf[at], "stdout"), buf[at + 8 : at + 8 + size]))
            at += 8 + size
        self._buf = buf[at:]
        return out

    def rest(self) -> list[LogLine]:
        """What is left at the end: a last line without its newline (TTY only)."""
        left, self._buf = self._buf, b""
        return [_log_line("stdout", left)] if self.tty and left else []


class LogStream:
    """A container's log from a tail onward, live: a blocking iterator over batches of lines
    that another thread can close (as EventStream)."""

    def __init__(self, engine: Engine, response: Any, tty: bool) -> None:
        self._engine = engine
        self._response = response
        self._decoder = _LogDecoder(tty)
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[list[LogLine]]:
        raw = self._response.raw
        try:
            while not self._closed.is_set():
                data = raw.read1(1 << 16)
                if not data:
                    break
                lines = self._decoder.feed(data)
                if lines:
                    yield lines
            if (rest := self._decoder.rest()) and not self._closed.is_set():
                yield rest
        except (
            requests.exceptions.RequestException,
            urllib3.exceptions.HTTPError,
            OSError,
            AttributeError,
            ValueError,
        ) as exc:
            # Closing from another thread surfaces here as a read error.
            if not self._closed.is_set():
                raise _engine_error(exc, self._engine.address) from exc

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self) -> None:
        self._closed.set()
        try:
            sock = self._engine.api._get_raw_response_socket(self._response)  # type: ignore[attr-defined]
            # Shut down, not taken over (raw_socket): the response still owns and closes it.
            getattr(sock, "_sock", sock).shutdown(socket.SHUT_RDWR)
        except Exception:  # noqa: BLE001 - best effort: the response may already be gone
            pass
        try:
            self._response.close()
        except Exception:  # noqa: BLE001 - as above
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
            # One /version for both the API version and the engine's kind: version="auto"
            # would ask for the first, and Podman's detection again.
            version = self._server_version(timeout, kwargs)
            self.api = docker.APIClient(
                version=str(version["ApiVersion"]), timeout=timeout, **kwargs
            )
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
        #: The engine's version and platform, as /version says ("27.5.1 linux/amd64").
        self.server_version = (
            f"{version.get('Version', '')} {version.get('Os', '')}/{version.get('Arch', '')}"
        )
        #: The host's memory as the engine reports it: a stats limit below it is a real limit.
        self._mem_total: int | None = None
        #: Podman names itself in /version's Components.
        self.is_podman = any(
            "podman" in (c.get("Name") or "").lower() for c in version.get("Components") or []
        )

    @staticmethod
    def _server_version(timeout: int, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The engine's /version answer, asked through a client that asks nothing else."""
        probe = docker.APIClient(
            version=docker.constants.MINIMUM_DOCKER_API_VERSION, timeout=timeout, **kwargs
        )
        try:
            answer = probe.version(api_version=False)
        except Exception as exc:  # noqa: BLE001 - worded as docker-py words its own version="auto"
            raise docker.errors.DockerException(
                f"Error while fetching server API version: {exc}"
            ) from exc
        finally:
            probe.close()
        if "ApiVersion" not in answer:
            raise docker.errors.DockerException(
                'Invalid response from docker daemon: key "ApiVersion" is missing.'
            )
        return dict(answer)

    def close(self) -> None:
        self.api.close()

    # -- calls, with errors translated ---------------------------------------------------

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Calls docker-py; what it raises leaves as our errors.

        Raises:
            EngineRequestError: When the engine answered with an error (its status kept).
            EngineUnavailableError: When it could not be reached.
        """
        try:
            return fn(*args, **kwargs)
        except docker.errors.APIError as exc:
            explanation = str(exc.explanation or exc)
            raise EngineRequestError(
                explanation, status=exc.status_code, explanation=explanation
            ) from exc
        except (
            requests.exceptions.RequestException,
            urllib3.exceptions.HTTPError,
            ConnectionError,
            FileNotFoundError,
            docker.errors.DockerException,
        ) as exc:
            raise _engine_error(exc, self.address) from exc

    def ping(self) -> None:
        """Checks that the engine answers.

        Raises:
            EngineUnavailableError: When it does not.
        """
        self._call(self.api.ping)

    # -- containers ------------------------------------------------------------------------

    def image_names(self) -> list[str]:
        """The names (`repository:tag`) of the engine's images, as `docker images` lists them."""
        rows = self._call(self.api.images)
        return sorted({t for r in rows for t in r.get("RepoTags") or () if t != "<none>:<none>"})

    def container_names(self, ours: tuple[str, ...] = (), *, running: bool = False) -> list[str]:
        """The names of the engine's containers, running or not, sorted (`docker ps -a`;
        `running`: `docker ps`), without those that carry one of the labels in `ours`."""
        return sorted(
            c.name
            for c in self.list_containers(shells=False)
            if not any(c.label(label) is not None for label in ours) and (c.running or not running)
        )

    def list_containers(self, *, shells: bool = True, restarts: bool = False) -> list[Container]:
        """Every container of the engine, running or not, sidecars included.

        Args:
            shells: Whether to find out which images have a shell (one cached call per image).
            restarts: Whether to read each container's restart count, and a failed start's
                exit code (an inspect per container but sidecars: the list says neither).
        """
        raw = self._call(self.api.containers, all=True)
        return self._rows(raw, shells=shells, restarts=restarts)

    def _probe_shell(self, container_id: str) -> bool | None:
        """Whether a container's image has a shell: a stat (HEAD) of the usual paths."""
        # base_url and api_version are APIClient's public attributes (no private _url).
        url = f"{self.api.base_url}/v{self.api.api_version}/containers/{container_id}/archive"
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
        """The list row of one container, its restart count read, or None when it is gone."""
        raw = self._call(self.api.containers, all=True, filters={"id": container_id})
        if not raw:
            return None
        return self._rows(raw, restarts=True)[0]

    def _run_details(self, container_id: str) -> dict[str, Any]:
        """Its restart count, whether its last run was killed for memory, and when that run
        started and ended (the list says "Up 17 minutes" for 17m59s), from one inspect."""
        try:
            raw = self._inspect(container_id)
        except CdebugError:
            # Removed since the list (its row goes with the next event), or an inspect the
            # engine refused: one row's details unknown, not the whole list.
            return {}
        state = raw.get("State") or {}
        return {
            "restarts": int(raw.get("RestartCount") or 0),
            "oom_killed": bool(state.get("OOMKilled")),
            "started_at": _parse_time(state.get("StartedAt")),
            "finished_at": _parse_time(state.get("FinishedAt")),
        }

    def _failed_start(self, container_id: str) -> int | None:
        """The exit code of a container whose start failed (its entrypoint missing, say): the
        engine leaves it `created`, its code and error only in its inspect; else None."""
        try:
            state = self._inspect(container_id).get("State") or {}
        except CdebugError:
            return None
        return int(state.get("ExitCode") or 0) or None

    def _rows(
        self, raw: list[dict[str, Any]], *, shells: bool = True, restarts: bool = False
    ) -> list[Container]:
        out = []
        for c in raw:
            labels = c.get("Labels") or {}
            image_id = c.get("ImageID", "")
            has_shell = self._shell_cache.get(image_id)
            # Not a container never started: the archive API mounts its volumes, which leaves
            # their mount points in its layer (`docker diff`: A /data). Another container of
            # its image answers for it, through the cache.
            never_started = c.get("State") == "created"
            # Nor one being removed or dead: the engine answers its archive with an error,
            # which caches nothing, and every refresh and event asked again.
            unreadable = c.get("State") in ("removing", "dead")
            if shells and has_shell is None and image_id and not (never_started or unreadable):
                has_shell = self._probe_shell(c["Id"])
                if has_shell is not None:
                    self._shell_cache[image_id] = has_shell
            fields = _explorer_row_fields(c)
            ours = SIDECAR_LABEL in labels
            if restarts and never_started and not ours:
                fields["exit_code"] = self._failed_start(c["Id"])
            # Never started, or ours: never restarted by a policy, never killed for memory.
            details: dict[str, Any] = {}
            if restarts and not never_started and not ours:
                details = self._run_details(c["Id"])
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
                    is_sidecar=ours,
                    labels=tuple(sorted(labels.items())),
                    **details,
                    **fields,
                )
            )
        return out

    def events(
        self, since: float | None = None, container: str | None = None, until: float | None = None
    ) -> EventStream:
        """A live stream of container events (of one container, if given), those the engine
        kept since `since` first; close it from another thread to stop it. With `until`, the
        stream ends there."""
        filters: dict[str, Any] = {"type": "container"}
        if container:
            filters["container"] = container
        kwargs: dict[str, Any] = {"decode": True, "filters": filters}
        if since is not None:
            kwargs["since"] = since
        if until is not None:
            kwargs["until"] = until
        return EventStream(self, self._request("follow the events", self.api.events, **kwargs))

    def _inspect(self, container_id: str) -> dict[str, Any]:
        """The engine's inspect answer for one container.

        Raises:
            TargetNotFoundError: When there is no such container.
            EngineRequestError: When the engine refuses otherwise.
        """
        try:
            return self._call(self.api.inspect_container, container_id)
        except EngineRequestError as exc:
            if exc.not_found:
                raise TargetNotFoundError(f"no such container: {container_id}") from exc
            raise

    def inspect(self, container_id: str) -> TargetInfo:
        """What the engine says about one container.

        Raises:
            TargetNotFoundError: When there is no such container.
        """
        return target_info(self._inspect(container_id), self.name)

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
            return target_info(self._call(self.api.inspect_container, name), self.name)
        except EngineRequestError as exc:
            # The engine refuses an ambiguous prefix; list the candidates ourselves below.
            if exc.status not in (404, 400, 409, 500):
                raise CdebugError(f"cannot look up {target!r}: {exc.explanation}") from exc
        raise unresolved_target(target, self._call(self.api.containers, all=True))

    # -- logs --------------------------------------------------------------------------------

    def _logs_response(self, container_id: str, params: dict[str, Any]) -> tuple[Any, bool]:
        """Opens the logs API for a container; returns (the streamed response, whether it has
        a TTY, whose log is plain text rather than framed).

        Raises:
            TargetNotFoundError: When there is no such container.
            LogsUnavailableError: When its log driver cannot be read (`--log-driver none`).
        """
        try:
            raw = self._call(self.api.inspect_container, container_id)
        except EngineRequestError as exc:
            raise TargetNotFoundError(f"no such container: {container_id}") from exc
        name = (raw.get("Name") or container_id[:12]).lstrip("/")
        driver = ((raw.get("HostConfig") or {}).get("LogConfig") or {}).get("Type") or ""
        if driver == "none":
            raise LogsUnavailableError(
                f"{name} has no logs to read: its log driver is 'none'",
                hint="run it with a driver that keeps them: json-file, local or journald",
            )
        tty = bool((raw.get("Config") or {}).get("Tty"))
        url = self.api._url("/containers/{0}/logs", container_id)  # type: ignore[attr-defined]
        base = {"stdout": 1, "stderr": 1, "timestamps": 1}
        try:
            # A followed log waits for lines as long as the process is quiet: no read timeout
            # (the client's 60 s ended a quiet container's follow with "Read timed out"); the
            # connection's own timeout stays.
            res = self._call(
                self.api._get,  # type: ignore[attr-defined]
                url,
                params={**base, **params},
                stream=True,
                timeout=(self.api.timeout, None) if params.get("follow") else self.api.timeout,
            )
            self.api._raise_for_status(res)  # type: ignore[attr-defined]
        except EngineRequestError as exc:
            if exc.not_found:
                raise TargetNotFoundError(f"{name} was removed") from exc
            explanation = str(exc.explanation or exc)
            if "does not support reading" in explanation or "not support" in explanation:
                raise LogsUnavailableError(
                    f"{name}'s log driver ({driver or '?'}) cannot be read: {explanation}",
                    hint="the json-file, local and journald drivers can be read",
                ) from exc
            raise LogsUnavailableError(f"cannot read {name}'s logs: {explanation}") from exc
        return res, tty

    def follow_logs(self, container_id: str, tail: int, since_ns: int | None = None) -> LogStream:
        """A container's last `tail` lines, then every new one as it comes, until the container
        stops or the stream is closed (an exited container's stream ends after its tail).

        Raises:
            TargetNotFoundError: When there is no such container.
            LogsUnavailableError: When its logs cannot be read.
        """
        params: dict[str, Any] = {"follow": 1, "tail": str(max(0, tail))}
        if since_ns is not None:
            # Among the last `tail` lines: with `since` alone the engine reads the whole log.
            params["since"] = f"{since_ns // 1_000_000_000}.{since_ns % 1_000_000_000:09d}"
        res, tty = self._logs_response(container_id, params)
        return LogStream(self, res, tty)

    def read_logs(self, container_id: str, tail: int, until_ns: int | None = None) -> list[LogLine]:
        """The lines among the last `tail` of a container's log that are no later than
        `until_ns` (all of them when it is None).

        The engine takes the tail first and then stops at the first line after `until`, so a
        page before a known line costs reading just that page back from the end of the log
        file, never the log from its start.

        Raises:
            TargetNotFoundError: When there is no such container.
            LogsUnavailableError: When its logs cannot be read.
        """
        params: dict[str, Any] = {"tail": str(max(0, tail))}
        if until_ns is not None:
            params["until"] = f"{until_ns // 1_000_000_000}.{until_ns % 1_000_000_000:09d}"
        res, tty = self._logs_response(container_id, params)
        decoder = _LogDecoder(tty)
        try:
            lines = decoder.feed(res.content) + decoder.rest()
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise _engine_error(exc, self.address) from exc
        finally:
            res.close()
        return lines

    # -- ports -------------------------------------------------------------------------------

    def port_bindings(self, container_id: str) -> list[PublishedPort]:
        """The container's ports that the engine publishes on the host (`docker port`)."""
        try:
            raw = self._call(self.api.inspect_container, container_id)
        except EngineRequestError as exc:
            raise TargetNotFoundError(f"no such container: {container_id}") from exc
        out = []
        ports = (raw.get("NetworkSettings") or {}).get("Ports") or {}
        for key, bindings in sorted(ports.items()):
            port, _, proto = key.partition("/")
            for b in bindings or ():
                host_port = str(b.get("HostPort") or "")
                if port.isdigit() and host_port.isdigit():
                    out.append(
                        PublishedPort(
                            int(port), proto or "tcp", b.get("HostIp") or "", int(host_port)
                        )
                    )
        return out

    def exec_socket(self, container_id: str, argv: list[str]) -> socket.socket:
        """Starts a command in a running container with stdin open and no TTY.

        Returns:
            The connection: what is written to it is the command's stdin; what comes back is
            its output in the engine's 8-byte frames.

        Raises:
            PortForwardError: When the container refuses the exec (it is gone, say).
        """
        try:
            exec_id = self._call(self.api.exec_create, container_id, argv, stdin=True, user="0")
            sock = self._call(self.api.exec_start, exec_id["Id"], socket=True)
        except EngineRequestError as exc:
            raise PortForwardError(
                f"cannot start {argv[0]} in {container_id[:12]}: {exc.explanation}"
            ) from exc
        return raw_socket(sock)

    def start_relay(
        self, image: str, target_id: str, name: str, labels: Mapping[str, str]
    ) -> tuple[str, socket.socket]:
        """Starts a minimal container in a target's network namespace, for relaying to it.

        It runs `cat` on its stdin, which the returned connection holds: when that closes
        (closed, or this process killed), cat ends and the engine removes the container
        (--rm). It publishes nothing and changes nothing in the target.

        Returns:
            (its id, the attach connection that keeps it alive).

        Raises:
            TargetNotFoundError: When the target is gone.
            PortForwardError: When it cannot start.
        """
        try:
            cid = self._call(
                self.api.create_container,
                image,
                entrypoint=["cat"],
                name=name,
                user="0",
                stdin_open=True,
                labels=dict(labels),
                host_config=self.api.create_host_config(
                    network_mode=f"container:{target_id}", auto_remove=True
                ),
            )["Id"]
        except EngineRequestError as exc:
            if exc.not_found:
                raise TargetNotFoundError(f"no such container: {target_id}") from exc
            raise PortForwardError(f"cannot create the relay: {exc.explanation}") from exc
        try:
            sock = self._call(self.api.attach_socket, cid, params={"stdin": 1, "stream": 1})
            self._call(self.api.start, cid)
        except EngineRequestError as exc:
            self.remove_container(cid)
            raise PortForwardError(f"cannot start the relay: {exc.explanation}") from exc
        except BaseException:
            self.remove_container(cid)
            raise
        return cid, raw_socket(sock)

    def diff(self, container_id: str) -> list[Change]:
        """The paths changed in the container's writable layer, as `docker diff` shows them."""
        raw = self._call(self.api.diff, container_id) or []
        return [Change(path=d["Path"], kind=CHANGE_KINDS.get(d["Kind"], "?")) for d in raw]

    def changed_paths(self, container_id: str) -> dict[str, str]:
        """`docker diff` of the container, path by path: "A", "C" or "D".

        Raises:
            TargetNotFoundError: When the container is gone.
            EngineRequestError: When the engine cannot read it (a dead one, say).
        """
        try:
            raw = self._call(self.api.diff, container_id) or []
        except EngineRequestError as exc:
            if exc.not_found:
                raise TargetNotFoundError(f"no such container: {container_id}") from exc
            raise
        return {d["Path"]: CHANGE_KINDS.get(d["Kind"], "?") for d in raw}

    def open_exec(
        self, container_id: str, argv: list[str], *, user: str = "0", stdin: bool = True
    ) -> tuple[str, Any]:
        """Starts a process in a running container with its streams open, without a TTY.

        Returns:
            (the exec's id, its socket: stdout and stderr multiplexed as `docker exec` frames
            them, stdin written to it).

        Raises:
            SessionError: When the container refuses the exec (gone, stopped).
        """
        try:
            exec_id = self._call(
                self.api.exec_create, container_id, argv, stdin=stdin, tty=False, user=user
            )["Id"]
            sock = self._call(self.api.exec_start, exec_id, tty=False, socket=True)
        except EngineRequestError as exc:
            raise SessionError(f"cannot run {argv[0]}: {exc.explanation}") from exc
        return exec_id, sock

    def read_file(self, container_id: str, path: str, limit: int = 1 << 20) -> bytes:
        """The first `limit` bytes of a regular file in a container, through the archive API.

        It reads without running anything in the container, so it works on shell-less ones.

        Raises:
            FileNotFoundError: When the path does not exist or is not a regular file.
        """
        try:
            stream, _stat = self._call(self.api.get_archive, container_id, path)
        except EngineRequestError as exc:
            if exc.not_found:
                raise FileNotFoundError(path) from exc
            raise
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
        except EngineRequestError as exc:
            if not exc.not_found and "already in progress" not in exc.explanation:
                raise

    def remove_links_offline(self, container_id: str, names: list[str], image: str) -> bool:
        """Removes cdebug-tui's links (`/.cdebug-*`, `/nix`) from a container that does not
        run, through its writable layer on the engine's host (overlay's upper directory),
        bound into a short-lived container of `image` (which needs `sh`): no API deletes a
        file in a stopped container, and it could not run anything in it. Only symbolic
        links to `/proc/*/root` (ours) go.

        Returns:
            Whether it could try: False for a container that runs (a restarting one, between
            two runs, is tried), or whose storage driver keeps no upper directory (vfs, btrfs,
            zfs).

        Raises:
            TargetNotFoundError: When the container is gone.
            EngineRequestError: When the engine refuses the helper container, or a link
                could not be removed (SELinux refusing the bind, say).
        """
        raw = self._inspect(container_id)
        state = raw.get("State") or {}
        driver = raw.get("GraphDriver") or {}
        upper = (driver.get("Data") or {}).get("UpperDir")
        # Restarting: between two runs, its root unmounted as when it stopped.
        if state.get("Status") not in ("exited", "created", "dead", "restarting") or not upper:
            return False
        script = (
            'st=0; for n; do case $(readlink "/upper/$n") in /proc/*/root|/proc/*/root/nix) '
            'rm -f "/upper/$n" || st=1 ;; esac; done; exit $st'
        )
        # A Mount, not a Binds entry: the engine refuses a source that is gone (the target
        # removed meanwhile) instead of making it anew, empty, under its storage.
        mount = docker.types.Mount("/upper", upper, type="bind")
        helper = self._request(
            "create the container that removes the links",
            self.api.create_container,
            image,
            entrypoint=["sh", "-c", script, "cdebug-unlink", *names],
            user="0",
            network_disabled=True,
            labels={
                SIDECAR_LABEL: "1",
                TARGET_LABEL: container_id,
                OWNER_LABEL: f"{socket.gethostname()}:{os.getpid()}",
            },
            host_config=self.api.create_host_config(mounts=[mount]),
        )["Id"]
        try:
            self._request("remove the links", self.api.start, helper)
            code = (self._call(self.api.wait, helper, timeout=30) or {}).get("StatusCode")
        finally:
            self.remove_container(helper)
        if code != 0:
            raise EngineRequestError(
                f"cannot remove the links: the container that removes them exited {code}",
                explanation=f"the container that removes them exited {code}",
            )
        return True

    # -- creating and running containers, exec ------------------------------------------------

    def _request(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Calls docker-py as _call does; an engine's refusal says what could not be done."""
        try:
            return self._call(fn, *args, **kwargs)
        except EngineRequestError as exc:
            raise EngineRequestError(
                f"cannot {what}: {exc.explanation}", status=exc.status, explanation=exc.explanation
            ) from exc

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
        """Creates (does not start) a container, as `docker create` does.

        Args:
            tty: Whether it has a TTY (`-t`).
            bind: (a file on the engine's host, where it shows in the container), read-only.
            ulimits: (name as in --ulimit, soft, hard) for each limit to set.
            limits: Memory and CPU limits, as HostConfig keys (models.LIMIT_KEYS).
            init: Whether the engine runs its init (Docker's tini) as the container's main
                process; Docker also mounts that init at /sbin/docker-init.

        Returns:
            The new container's id.

        Raises:
            EngineRequestError: When the engine refuses (status 404: the image, or a container
                whose namespaces it should join, is missing).
        """
        host_config = self.api.create_host_config(
            pid_mode=pid_mode,
            network_mode=network_mode,
            ipc_mode=ipc_mode,
            cap_add=cap_add or None,
            cap_drop=cap_drop or None,
            privileged=privileged,
            auto_remove=auto_remove,
            init=init or None,
            ulimits=_ulimits(ulimits),
            mounts=_read_only_mounts(bind),
        )
        host_config.update(limits or {})  # the engine's own keys, as inspect gave them
        answer = self._request(
            "create the container",
            self.api.create_container,
            image,
            command=command,
            entrypoint=entrypoint,
            name=name,
            user=user,
            stdin_open=stdin_open,
            tty=tty,
            environment=env,
            labels=dict(labels or {}),
            host_config=host_config,
        )
        return str(answer["Id"])

    def start(self, container_id: str) -> None:
        """Starts a created or stopped container.

        Raises:
            EngineRequestError: When the engine refuses (its explanation says why).
        """
        self._request("start the container", self.api.start, container_id)

    def attach(self, container_id: str, *, tty: bool = False) -> Stream:
        """A stream attached to a container's stdin, stdout and stderr; attach before start to
        read everything it prints. `tty` for a container made with one (its bytes come
        unframed).

        Raises:
            EngineRequestError: When the engine refuses (Podman prepares the container here,
                so its start errors can surface here).
        """
        sock = self._request(
            "attach to the container",
            self.api.attach_socket,
            container_id,
            params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1, "detachKeys": DETACH_KEYS},
        )
        return Stream(sock, tty=tty)

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
        """Creates an exec in a running container, as the first half of `docker exec` does.

        Returns:
            The exec's id.

        Raises:
            EngineRequestError: When the container is gone or refuses.
        """
        answer = self._request(
            "run in the container",
            self.api.exec_create,
            container_id,
            argv,
            stdin=stdin,
            tty=tty,
            environment=env,
            user=user,
            detach_keys=DETACH_KEYS,
        )
        return str(answer["Id"])

    def exec_start(self, exec_id: str, *, tty: bool = False) -> Stream:
        """Starts an exec and returns its stream (stdin, and its output).

        Raises:
            EngineRequestError: When the engine refuses.
        """
        sock = self._request("start the exec", self.api.exec_start, exec_id, tty=tty, socket=True)
        return Stream(sock, tty=tty)

    def exec_resize(self, exec_id: str, rows: int, cols: int) -> None:
        """Sets the size of an exec's TTY.

        Raises:
            EngineRequestError: When the exec has ended (or the engine refuses).
        """
        self._request("resize the terminal", self.api.exec_resize, exec_id, height=rows, width=cols)

    def resize_container(self, container_id: str, rows: int, cols: int) -> None:
        """Sets the size of a container's own TTY.

        Raises:
            EngineRequestError: When the container has ended (or the engine refuses).
        """
        self._request("resize the terminal", self.api.resize, container_id, height=rows, width=cols)

    def stopped_from_outside(self, container_id: str, since: float) -> bool:
        """Whether a container was killed (`docker kill`, `stop`, `rm -f`) or killed for its
        memory since `since` (a time.time()): its engine's events say so."""
        filters = {"container": [container_id], "event": ["kill", "oom"]}
        try:
            events = self._request(
                "read the events",
                self.api.events,
                since=since,
                until=time.time(),
                filters=filters,
                decode=True,
            )
            return any(True for _ in events)
        except CdebugError:
            return False

    def wait_exit(self, container_id: str) -> int | None:
        """Blocks until a running container exits; its exit code (None when the engine
        cannot say: it went away, or the container had gone)."""
        try:
            answer = self._request(
                "wait for the container", self.api.wait, container_id, condition="not-running"
            )
        except CdebugError:
            return None
        code = answer.get("StatusCode") if isinstance(answer, dict) else None
        return int(code) if isinstance(code, int) else None

    def exec_inspect(self, exec_id: str) -> ExecState:
        """Whether an exec still runs, and its exit code once it has ended.

        Raises:
            EngineRequestError: When the engine has forgotten it.
        """
        raw = self._request("inspect the exec", self.api.exec_inspect, exec_id)
        code = raw.get("ExitCode")
        return ExecState(
            id=exec_id,
            running=bool(raw.get("Running")),
            exit_code=int(code) if code is not None and not raw.get("Running") else None,
            pid=int(raw.get("Pid") or 0),
        )

    def wait_removed(self, container_id: str, timeout: float) -> bool:
        """Waits until the engine has removed a container (an --rm one that is ending).

        Returns:
            Whether it is gone (False when `timeout` passed first).
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                # In slices of a second, with a look in between: a wait that begins as the
                # engine removes the container can miss it and last its whole timeout (a
                # quit took 10 s now and then).
                self._request(
                    "wait for the container",
                    self.api.wait,
                    container_id,
                    timeout=1,
                    condition="removed",
                )
            except EngineRequestError as exc:
                return exc.not_found
            except EngineUnavailableError:
                pass
            else:
                return True
            try:
                self._call(self.api.inspect_container, container_id)
            except EngineRequestError as exc:
                if exc.not_found:
                    return True
            except EngineUnavailableError:
                return False
            if time.monotonic() >= deadline:
                return False

    def archive(self, container_id: str, path: str) -> Iterator[bytes] | None:
        """A path of a container (created or running) as a tar stream, through the archive API;
        None when the path does not exist. It runs nothing in the container.

        Raises:
            EngineRequestError: When the engine refuses.
            EngineUnavailableError: When the connection breaks, as the stream is read too.
        """
        try:
            stream, _stat = self._request(
                "read the container's files", self.api.get_archive, container_id, path
            )
        except EngineRequestError as exc:
            if exc.not_found:
                return None
            raise
        return self._chunks(stream)

    def stat_path(self, container_id: str, path: str) -> PathStat | None:
        """What a path of a container is, as `docker cp` stats it (HEAD on the archive API):
        it runs nothing in the container. None when the path does not exist.

        Raises:
            EngineRequestError: When the engine refuses otherwise.
        """
        import base64
        import json

        url = f"{self.api.base_url}/v{self.api.api_version}/containers/{container_id}/archive"
        res = self._request("stat the path", self.api.head, url, params={"path": path})
        if res.status_code == 404:
            return None
        if res.status_code != 200:
            raise EngineRequestError(
                f"the engine answers {res.status_code} to a stat of {path}",
                status=res.status_code,
            )
        raw = json.loads(base64.b64decode(res.headers.get("X-Docker-Container-Path-Stat", "")))
        mode = int(raw.get("mode") or 0)
        # Go's os.FileMode: the type bits above the permissions.
        kind = "file"
        if mode & (1 << 31):
            kind = "dir"
        elif mode & (1 << 27):
            kind = "link"
        elif mode & ((1 << 26) | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19)):
            kind = "other"
        return PathStat(
            name=str(raw.get("name") or ""),
            size=int(raw.get("size") or 0),
            kind=kind,
            link_target=str(raw.get("linkTarget") or ""),
        )

    def put_archive(self, container_id: str, path: str, tar_bytes: bytes) -> None:
        """Extracts a tar archive into a directory of a container (created or running), as
        `docker cp` does.

        Raises:
            EngineRequestError: When the engine refuses (status 404: no such directory).
        """
        self._request(
            "copy into the container", self.api.put_archive, container_id, path, tar_bytes
        )

    def _chunks(self, stream: Iterator[bytes]) -> Iterator[bytes]:
        try:
            yield from stream
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise _engine_error(exc, self.address) from exc

    def sidecars(self) -> list[Container]:
        """Every sidecar that any cdebug-tui made on this engine, by its label."""
        raw = self._call(self.api.containers, all=True, filters={"label": SIDECAR_LABEL})
        return self._rows(raw)

    def orphaned_sidecars(self) -> list[Container]:
        """Sidecars whose owning process, on this host, is gone."""
        return [c for c in self.sidecars() if _orphaned(c.label(OWNER_LABEL))]

    # -- images ----------------------------------------------------------------------------

    def images(self) -> list[ImageInfo]:
        """The local images that have tags, but cdebug-tui's own debug copies' (a session's
        working image, removed with it: no toolkit, nothing to debug)."""
        out = []
        for img in self._call(self.api.images):
            tags = tuple(familiar_ref(t) for t in img.get("RepoTags") or () if t != "<none>:<none>")
            if COPY_LABEL in (img.get("Labels") or {}):
                continue
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
        except EngineRequestError as exc:
            if exc.not_found:
                return None
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
        except EngineRequestError as exc:
            raise ImageUnavailableError(
                f"cannot pull {ref}: {_short_error(exc.explanation)}"
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

    # -- the container explorer (issue 11): inspect, stats, actions ---------------------------

    def details(self, container_id: str) -> ContainerDetails:
        """What `docker inspect` says about a container, grouped as a person reads it.

        Raises:
            TargetNotFoundError: When there is no such container.
        """
        return _details(self.name, self._inspect(container_id))

    def stats(self, container_id: str) -> StatsSample:
        """One reading of a container's resource use: a single request (stream=false), never a
        stream per container, and one-shot where the engine knows it (API 1.41+), so that the
        engine answers at once instead of sampling twice, a second apart. Rates come from two
        of these readings (cdebug_tui.engine.stats).

        Raises:
            TargetNotFoundError: When the container is gone.
            EngineUnavailableError: When the engine does not answer.
        """
        one_shot = None if self.is_podman or _api_older(self.api, "1.41") else True
        try:
            raw = self._call(self.api.stats, container_id, stream=False, one_shot=one_shot)
        except EngineRequestError as exc:
            if exc.not_found:
                raise TargetNotFoundError(f"no such container: {container_id}") from exc
            raise EngineUnavailableError(
                f"the engine cannot read the stats of {container_id[:12]}: {exc.explanation}"
            ) from exc
        sample = _stats_sample(self.name, container_id, raw or {})
        if self._mem_total is None:
            try:
                self._mem_total = int(self._call(self.api.info).get("MemTotal") or 0)
            except CdebugError:
                self._mem_total = 0
        if sample.memory_limit and sample.memory_limit < (self._mem_total or 0):
            sample = dataclasses.replace(sample, memory_limited=True)
        return sample

    def act(self, container_id: str, action: ContainerAction, *, timeout: int = 10) -> None:
        """Starts, stops, restarts, pauses, unpauses, kills or removes a container.

        cdebug-tui's own sidecars are refused: they belong to a session, which removes them.

        Args:
            container_id: The container.
            action: What to do.
            timeout: Seconds stop and restart give the container before they kill it.

        Raises:
            ActionRefusedError: For a sidecar, or when the engine refuses (with its reason).
            TargetNotFoundError: When the container is gone.
        """
        info = self.details(container_id)
        if info.is_sidecar:
            raise ActionRefusedError(
                f"{info.name} is a cdebug-tui sidecar: close its session tab instead"
            )
        calls: dict[ContainerAction, Callable[[], Any]] = {
            ContainerAction.START: lambda: self.api.start(container_id),
            ContainerAction.STOP: lambda: self.api.stop(container_id, timeout=timeout),
            ContainerAction.RESTART: lambda: self.api.restart(container_id, timeout=timeout),
            ContainerAction.PAUSE: lambda: self.api.pause(container_id),
            ContainerAction.UNPAUSE: lambda: self.api.unpause(container_id),
            ContainerAction.KILL: lambda: self.api.kill(container_id),
            ContainerAction.REMOVE: lambda: self.api.remove_container(container_id, force=True),
        }
        try:
            # stop and restart wait up to `timeout` for the container: the call may too.
            self._call(calls[action])
        except EngineRequestError as exc:
            if exc.not_found:
                raise TargetNotFoundError(f"no such container: {info.name}") from exc
            why = exc.explanation.strip()
            raise ActionRefusedError(f"cannot {action} {info.name}: {why}") from exc

    # -- end of the container explorer's block ------------------------------------------------

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
        changes = commit_changes(labels)
        try:
            raw = self._call(
                self.api.commit,
                container_id,
                repository=repo,
                tag=tag,
                pause=False,
                changes=changes,
                message=COPY_COMMENT,
            )
        except EngineRequestError as exc:
            if exc.not_found:
                raise TargetNotFoundError(f"no such container: {container_id}") from exc
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
        bind: tuple[str, str] | None = None,
        env: list[str] | None = None,
        limits: Mapping[str, Any] | None = None,
        ulimits: list[tuple[str, int, int]] | None = None,
    ) -> str:
        """Creates (does not start) a container that waits on its stdin, as `docker create -i
        --rm` does: it ends, and the engine removes it, when its attached stdin closes.
        `bind`: (a file on the engine's host, where it shows in the container), read-only; the
        engine refuses a source it does not have (a Mount, not a Binds entry, which it would
        make as an empty directory). `env`: its environment, when not the image's. `limits`
        and `ulimits`: the original's, as create_container takes them.

        Returns:
            The container's id.

        Raises:
            CopyError: When the engine refuses (a volume or network that is gone, say).
        """
        host_config = self.api.create_host_config(
            volumes_from=[volumes_from] if volumes_from else None,
            network_mode=network_mode,
            auto_remove=True,
            mounts=_read_only_mounts(bind),
            ulimits=_ulimits(ulimits),
        )
        host_config.update(limits or {})
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
                environment=env,
                host_config=host_config,
            )
        except EngineRequestError as exc:
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
        except EngineRequestError as exc:
            raise ImageUnavailableError(f"cannot read {image}: {exc.explanation}") from exc
        return str(raw["Id"])

    def copy_into(self, container_id: str, path: str, data: bytes) -> None:
        """Extracts a tar archive into a container (created or running) at `path`.

        Raises:
            CopyError: When the engine refuses.
        """
        try:
            self._call(self.api.put_archive, container_id, path, data)
        except EngineRequestError as exc:
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
        except EngineRequestError as exc:
            raise CopyError(f"cannot attach to {container_id[:12]}: {exc.explanation}") from exc
        return raw_socket(sock)

    def start_copy(self, container_id: str) -> None:
        """Starts a created debug copy.

        Raises:
            CopyError: When the engine refuses (a bind mount's source gone, say).
        """
        try:
            self._call(self.api.start, container_id)
        except EngineRequestError as exc:
            raise CopyError(f"cannot start {container_id[:12]}: {exc.explanation}") from exc

    def remove_image(self, image_id: str) -> None:
        """Removes an image (and its tags); an image already gone is fine.

        Raises:
            CopyError: When the engine refuses (a container still uses it).
        """
        try:
            self._call(self.api.remove_image, image_id, force=True, noprune=False)
        except EngineRequestError as exc:
            if exc.not_found:
                return
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


# -- the container explorer (issue 11): parsing the list, inspect and stats ------------------

_HEALTH_IN_STATUS = re.compile(r"\((healthy|unhealthy|health: starting)\)")
_EXIT_IN_STATUS = re.compile(r"^(?:Exited|Restarting) \((-?\d+)\)")


def _read_only_mounts(bind: tuple[str, str] | None) -> list[docker.types.Mount] | None:
    """(a file on the engine's host, where it shows in the container), as docker-py's mounts
    take it, read-only: a Mount, not a bind, is refused when its source is missing."""
    if bind is None:
        return None
    return [docker.types.Mount(bind[1], bind[0], type="bind", read_only=True)]


def _ulimits(ulimits: list[tuple[str, int, int]] | None) -> list[docker.types.Ulimit] | None:
    """(name, soft, hard) ulimits as docker-py takes them; None for none."""
    return [docker.types.Ulimit(name=n, soft=s, hard=h) for n, s, h in ulimits or ()] or None


def _explorer_row_fields(c: Mapping[str, Any]) -> dict[str, Any]:
    """The list row's ports, health and exit code, from what `containers/json` says."""
    status = str(c.get("Status") or "")
    health = _HEALTH_IN_STATUS.search(status)
    exited = _EXIT_IN_STATUS.match(status)
    return {
        "ports": _ports_of_row(c.get("Ports") or ()),
        "health": health.group(1).replace("health: ", "") if health else None,
        "exit_code": int(exited.group(1)) if exited else None,
    }


def _ports_of_row(raw: Any) -> tuple[PublishedPort, ...]:
    seen: dict[tuple[int, str, int | None], PublishedPort] = {}
    for p in raw:
        public = p.get("PublicPort")
        binding = PublishedPort(
            private_port=int(p.get("PrivatePort") or 0),
            protocol=str(p.get("Type") or "tcp"),
            host_ip=str(p.get("IP") or ""),
            public_port=int(public) if public else None,
        )
        # The engine lists a port once for 0.0.0.0 and once for ::: one entry says it.
        key = (binding.private_port, binding.protocol, binding.public_port)
        if key not in seen or seen[key].host_ip in ("::", ""):
            seen[key] = binding
    return tuple(sorted(seen.values(), key=lambda b: (b.public_port or 0, b.private_port)))


def _ports_of_inspect(raw: Mapping[str, Any] | None) -> tuple[PublishedPort, ...]:
    rows = []
    for spec, bindings in (raw or {}).items():
        port, _, proto = str(spec).partition("/")
        for b in bindings or ():
            rows.append(
                {
                    "PrivatePort": port,
                    "Type": proto or "tcp",
                    "IP": b.get("HostIp"),
                    "PublicPort": b.get("HostPort"),
                }
            )
    return _ports_of_row(rows)


def _security_opt(opts: tuple[str, ...], key: str) -> str | None:
    for opt in opts:
        k, sep, v = opt.partition("=" if "=" in opt else ":")
        if k == key:
            return v if sep else ""
    return None


def _details(engine: str, raw: Mapping[str, Any]) -> ContainerDetails:
    cfg = raw.get("Config") or {}
    host = raw.get("HostConfig") or {}
    state = raw.get("State") or {}
    health = state.get("Health") or {}
    net = raw.get("NetworkSettings") or {}
    restart = host.get("RestartPolicy") or {}
    sec = tuple(host.get("SecurityOpt") or ())
    seccomp = _security_opt(sec, "seccomp")
    env = []
    for item in cfg.get("Env") or ():
        k, _, v = str(item).partition("=")
        env.append((k, v))
    mounts = tuple(
        Mount(
            kind=str(m.get("Type") or ""),
            source=str(m.get("Source") or m.get("Name") or ""),
            destination=str(m.get("Destination") or ""),
            writable=bool(m.get("RW", True)),
            name=str(m.get("Name") or ""),
        )
        for m in raw.get("Mounts") or ()
    )
    # tmpfs mounts are not in Mounts: HostConfig.Tmpfs has them (destination -> options).
    mounts += tuple(
        Mount("tmpfs", "tmpfs", dest, writable="ro" not in str(opts).split(","))
        for dest, opts in (host.get("Tmpfs") or {}).items()
    )
    networks = tuple(
        NetworkInfo(
            name=name,
            ip=f"{n.get('IPAddress')}/{n.get('IPPrefixLen')}" if n.get("IPAddress") else "",
            ipv6=str(n.get("GlobalIPv6Address") or ""),
            gateway=str(n.get("Gateway") or ""),
            mac=str(n.get("MacAddress") or ""),
            aliases=tuple(a for a in (n.get("Aliases") or ()) + (n.get("DNSNames") or ()) if a),
        )
        for name, n in sorted((net.get("Networks") or {}).items())
    )
    probes = tuple(
        HealthProbe(
            exit_code=int(p.get("ExitCode") or 0),
            output=str(p.get("Output") or ""),
            start=_parse_time(p.get("Start")),
            end=_parse_time(p.get("End")),
        )
        for p in (health.get("Log") or ())[-5:]
    )
    healthcheck = cfg.get("Healthcheck") or {}
    return ContainerDetails(
        engine=engine,
        id=str(raw["Id"]),
        name=str(raw.get("Name") or "").lstrip("/"),
        image=familiar_ref(str(cfg.get("Image") or "")),
        image_id=str(raw.get("Image") or ""),
        created=_parse_time(raw.get("Created")),
        entrypoint=tuple(cfg.get("Entrypoint") or ()),
        cmd=tuple(cfg.get("Cmd") or ()),
        user=str(cfg.get("User") or ""),
        workdir=str(cfg.get("WorkingDir") or ""),
        env=tuple(env),
        mounts=mounts,
        networks=networks,
        network_mode=str(host.get("NetworkMode") or ""),
        ports=_ports_of_inspect(net.get("Ports")),
        exposed=tuple(sorted(cfg.get("ExposedPorts") or {})),
        labels=tuple(sorted((cfg.get("Labels") or {}).items())),
        restart_policy=str(restart.get("Name") or "no"),
        restart_max=int(restart.get("MaximumRetryCount") or 0),
        restart_count=int(raw.get("RestartCount") or 0),
        health_status=str(health["Status"]) if health.get("Status") else None,
        health_failing_streak=int(health.get("FailingStreak") or 0),
        health_test=tuple(healthcheck.get("Test") or ()),
        health_probes=probes,
        status=str(state.get("Status") or ""),
        exit_code=int(state.get("ExitCode") or 0),
        oom_killed=bool(state.get("OOMKilled")),
        error=str(state.get("Error") or ""),
        pid=int(state.get("Pid") or 0),
        started_at=_parse_time(state.get("StartedAt")),
        finished_at=_parse_time(state.get("FinishedAt")),
        memory_limit=int(host.get("Memory") or 0),
        memory_reservation=int(host.get("MemoryReservation") or 0),
        memory_swap=int(host.get("MemorySwap") or 0),
        nano_cpus=int(host.get("NanoCpus") or 0),
        cpu_shares=int(host.get("CpuShares") or 0),
        cpu_quota=int(host.get("CpuQuota") or 0),
        cpu_period=int(host.get("CpuPeriod") or 0),
        cpuset_cpus=str(host.get("CpusetCpus") or ""),
        pids_limit=int(host.get("PidsLimit") or 0),
        privileged=bool(host.get("Privileged")),
        cap_add=tuple(host.get("CapAdd") or ()),
        cap_drop=tuple(host.get("CapDrop") or ()),
        seccomp=("default" if seccomp is None else seccomp or "default"),
        apparmor=str(raw.get("AppArmorProfile") or ""),
        no_new_privileges=any(o.startswith("no-new-privileges") for o in sec)
        and _security_opt(sec, "no-new-privileges") != "false",
        readonly_rootfs=bool(host.get("ReadonlyRootfs")),
        security_opt=sec,
    )


def _stats_sample(engine: str, container_id: str, raw: Mapping[str, Any]) -> StatsSample:
    cpu = raw.get("cpu_stats") or {}
    usage = cpu.get("cpu_usage") or {}
    mem = raw.get("memory_stats") or {}
    mem_stats = mem.get("stats") or {}
    # As the docker CLI: the page cache the kernel can drop is not counted as used.
    cache = mem_stats.get("inactive_file", mem_stats.get("total_inactive_file", 0)) or 0
    used = int(mem.get("usage") or 0)
    used = used - int(cache) if int(cache) < used else used
    rx = tx = 0
    for n in (raw.get("networks") or {}).values():
        rx += int(n.get("rx_bytes") or 0)
        tx += int(n.get("tx_bytes") or 0)
    read = write = 0
    for entry in (raw.get("blkio_stats") or {}).get("io_service_bytes_recursive") or ():
        op = str(entry.get("op") or "").lower()
        if op == "read":
            read += int(entry.get("value") or 0)
        elif op == "write":
            write += int(entry.get("value") or 0)
    online = int(cpu.get("online_cpus") or len(usage.get("percpu_usage") or ()) or 0)
    return StatsSample(
        engine=engine,
        id=container_id,
        taken=time.monotonic(),
        cpu_total_ns=int(usage.get("total_usage") or 0),
        system_ns=int(cpu.get("system_cpu_usage") or 0),
        online_cpus=online,
        memory_usage=used,
        memory_limit=int(mem.get("limit") or 0),
        net_rx=rx,
        net_tx=tx,
        block_read=read,
        block_write=write,
        pids=int((raw.get("pids_stats") or {}).get("current") or 0),
        # Read at Go's zero time: the engine has nothing, the container does not run.
        running=not str(raw.get("read") or "").startswith("0001-01-01"),
    )


def _api_older(api: Any, version: str) -> bool:
    return bool(docker.utils.version_lt(str(api._version), version))
