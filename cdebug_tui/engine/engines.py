"""Provides engine discovery (Docker contexts, DOCKER_HOST, Podman sockets) and EngineRegistry."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cdebug_tui.engine.basics import current_context
from cdebug_tui.engine.models import TargetInfo
from cdebug_tui.errors import CdebugError, EngineUnavailableError, TargetNotFoundError

if TYPE_CHECKING:
    # Imported where an engine is connected: discovery and shell completion need no docker-py.
    from cdebug_tui.engine.client import Engine
    from cdebug_tui.engine.readings import Container

__all__ = [
    "DEFAULT_SOCKET",
    "EngineConfig",
    "EngineRegistry",
    "EngineStatus",
    "TLSFiles",
    "connect",
    "discover",
    "docker_config_dir",
    "split_target",
]

#: Where the docker CLI looks when nothing else is configured.
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
#: Podman's Docker-compatible socket when `podman.socket` runs as root.
PODMAN_ROOTFUL_SOCKET = "/run/podman/podman.sock"

Source = Literal["context", "env", "podman", "default", "address"]


@dataclass(frozen=True)
class TLSFiles:
    """TLS material for a tcp:// engine, as a Docker context or DOCKER_CERT_PATH holds it."""

    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    #: Whether to verify the engine's certificate (a context's SkipTLSVerify is the opposite).
    verify: bool = True


@dataclass(frozen=True)
class DockerContext:
    """A Docker context's docker endpoint, as docker-py's ContextAPI reads it.

    Attributes:
        name: The context's name (never `default`, which is not stored).
        host: Its endpoint's address.
        tls: Its TLS material when docker-py found a CA, a certificate and a key.
    """

    name: str
    host: str
    tls: TLSFiles | None = None


@dataclass(frozen=True)
class EngineConfig:
    """One engine the user has configured, before anything is connected.

    Attributes:
        name: What the user calls it: a context name, `default`, `podman`, or an address.
        address: unix:///path, tcp://host:port or ssh://[user@]host[:port].
        source: Where it was found: a Docker context, DOCKER_HOST, a Podman socket, the
            built-in default, or an address given on the command line.
        tls: TLS material for tcp:// (None: plain TCP or not TCP at all).
        current: Whether it is the engine the docker CLI would use now.
    """

    name: str
    address: str
    source: Source
    tls: TLSFiles | None = None
    current: bool = False


@dataclass(frozen=True)
class EngineStatus:
    """Whether an engine answers, and why not when it does not."""

    name: str
    address: str
    reachable: bool
    reason: str = ""
    is_podman: bool = False


def docker_config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The docker CLI's configuration directory: $DOCKER_CONFIG, else ~/.docker."""
    env = os.environ if env is None else env
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"])
    return Path(env.get("HOME") or Path.home()) / ".docker"


def _context_id(name: str) -> str:
    # The docker CLI stores each context under the SHA-256 of its name.
    import hashlib  # here: most runs read no context (5 ms of the exec path's imports)

    return hashlib.sha256(name.encode()).hexdigest()


def _contexts(config_dir: Path) -> list[EngineConfig]:
    """The stored contexts, sorted by name: names and hosts as docker-py's ContextAPI reads
    them, TLS as the docker CLI takes it.

    Our own reading (_read_contexts) stays for what docker-py lacks:
    - TLS: docker-py keeps a context's TLS only when ca, cert and key all exist (the CLI takes a
      CA alone), and reads an absent SkipTLSVerify as true (the CLI: false, so it verifies);
    - where: docker-py finds the directory through config.json only ($DOCKER_CONFIG/config.json,
      else ~/.docker's, else ./contexts), and only in the process's environment;
    - a corrupt meta.json fails docker-py's whole list; the CLI skips it;
    - speed: no contexts directory, no docker-py import (shell completion, exec's start).
    The current context (DOCKER_HOST, DOCKER_CONTEXT) is discover()'s: docker-py ignores both.
    """
    ours = _read_contexts(config_dir)
    if not ours or not (config_dir / "config.json").is_file() or config_dir != docker_config_dir():
        return ours
    from cdebug_tui.engine.client import docker_contexts

    read = docker_contexts()
    if read is None:
        return ours
    tls = {c.name: c.tls for c in ours}
    return [EngineConfig(c.name, c.host, "context", tls.get(c.name)) for c in read]


def _read_contexts(config_dir: Path) -> list[EngineConfig]:
    """The contexts under config_dir/contexts, sorted by name; unreadable ones are skipped."""
    meta_root = config_dir / "contexts" / "meta"
    out: list[EngineConfig] = []
    if not meta_root.is_dir():
        return out
    for meta in sorted(meta_root.glob("*/meta.json")):
        try:
            data = json.loads(meta.read_text())
        except (OSError, ValueError):
            continue  # A half-written or foreign file: the docker CLI would fail on it too.
        name = data.get("Name")
        endpoint = ((data.get("Endpoints") or {}).get("docker")) or {}
        host = endpoint.get("Host")
        if not isinstance(name, str) or not isinstance(host, str) or not host:
            continue
        tls = None
        tls_dir = config_dir / "contexts" / "tls" / _context_id(name) / "docker"
        files = {f: tls_dir / f"{f}.pem" for f in ("ca", "cert", "key")}
        if host.startswith("tcp://") and (
            any(p.is_file() for p in files.values()) or endpoint.get("SkipTLSVerify")
        ):
            tls = TLSFiles(
                ca=str(files["ca"]) if files["ca"].is_file() else None,
                cert=str(files["cert"]) if files["cert"].is_file() else None,
                key=str(files["key"]) if files["key"].is_file() else None,
                verify=not endpoint.get("SkipTLSVerify", False),
            )
        out.append(EngineConfig(name=name, address=host, source="context", tls=tls))
    return sorted(out, key=lambda c: c.name)


def _requested_context(env: Mapping[str, str], config_dir: Path) -> str:
    """The context the docker CLI would use: `default` under DOCKER_HOST, else DOCKER_CONTEXT,
    else config.json's currentContext, else `default`."""
    if env.get("DOCKER_HOST"):
        return "default"
    return env.get("DOCKER_CONTEXT") or current_context(str(config_dir)) or "default"


def _env_tls(env: Mapping[str, str]) -> TLSFiles | None:
    """TLS for DOCKER_HOST as the docker CLI takes it: DOCKER_TLS_VERIFY and DOCKER_CERT_PATH."""
    verify = env.get("DOCKER_TLS_VERIFY", "") not in ("", "0")
    cert_path = env.get("DOCKER_CERT_PATH")
    if not verify and not cert_path:
        return None
    base = Path(cert_path) if cert_path else docker_config_dir(env)
    return TLSFiles(
        ca=str(base / "ca.pem"),
        cert=str(base / "cert.pem"),
        key=str(base / "key.pem"),
        verify=verify,
    )


def _podman_sockets(env: Mapping[str, str], rootful: str) -> list[EngineConfig]:
    out = []
    if Path(rootful).is_socket():
        out.append(EngineConfig(name="podman", address=f"unix://{rootful}", source="podman"))
    # Podman's own rule for its rootless socket (not platformdirs': Podman decides the path).
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime:
        rootless = Path(runtime) / "podman" / "podman.sock"
        if rootless.is_socket() and str(rootless) != rootful:
            name = "podman-rootless" if out else "podman"
            out.append(EngineConfig(name=name, address=f"unix://{rootless}", source="podman"))
    return out


def canonical_address(address: str) -> str:
    """An address in one spelling per engine: unix sockets by their real path."""
    if address.startswith("unix://"):
        path = address[len("unix://") :]
        return "unix://" + os.path.realpath(path)
    if address.startswith("npipe://"):
        return address
    return address.rstrip("/")


def discover(
    env: Mapping[str, str] | None = None, *, podman_socket: str = PODMAN_ROOTFUL_SOCKET
) -> list[EngineConfig]:
    """Every engine the user has configured, the current one first, one entry per address.

    The current engine is chosen as the docker CLI chooses it: DOCKER_HOST (the `default`
    context at that address) overrides everything; else DOCKER_CONTEXT names a context; else
    `currentContext` in config.json; else `default`. Then the other contexts by name, then
    Podman's sockets when they exist.

    Args:
        env: The environment to read (DOCKER_HOST, DOCKER_CONTEXT, DOCKER_CONFIG, HOME,
            XDG_RUNTIME_DIR); the process's by default.
        podman_socket: Where rootful Podman's socket is.
    """
    env = os.environ if env is None else env
    config_dir = docker_config_dir(env)
    contexts = _contexts(config_dir)
    by_name = {c.name: c for c in contexts}
    host = env.get("DOCKER_HOST", "")
    if host:
        default = EngineConfig("default", host, "env", _env_tls(env))
    else:
        default = EngineConfig("default", DEFAULT_SOCKET, "default")

    current_name = _requested_context(env, config_dir)
    if current_name != "default" and current_name not in by_name:
        # The docker CLI refuses to run then; listing every engine, we fall back to default
        # and say nothing here: connect() by that name reports it.
        current_name = "default"

    ordered: list[EngineConfig] = []
    current = default if current_name == "default" else by_name[current_name]
    ordered.append(
        EngineConfig(current.name, current.address, current.source, current.tls, current=True)
    )
    if current_name != "default":
        ordered.append(default)
    ordered += [c for c in contexts if c.name not in (current_name, "default")]
    ordered += _podman_sockets(env, podman_socket)

    seen: set[str] = set()
    out = []
    for cfg in ordered:
        key = canonical_address(cfg.address)
        if key in seen:
            continue
        seen.add(key)
        out.append(cfg)
    return out


def unknown_context(
    env: Mapping[str, str] | None = None, configs: list[EngineConfig] | None = None
) -> str | None:
    """The context that DOCKER_CONTEXT (or config.json's currentContext) names when no such
    context exists, and DOCKER_HOST does not override it; None otherwise. The docker CLI
    refuses to run then, rather than use another engine.

    Args:
        env: As for discover.
        configs: discover's answer for that environment, when the caller has it already.
    """
    env = os.environ if env is None else env
    configs = discover(env) if configs is None else configs
    name = _requested_context(env, docker_config_dir(env))
    # discover puts the current engine first: the requested context, when it exists.
    return None if name == "default" or (configs and configs[0].name == name) else name


def connect(config: EngineConfig, timeout: int = 60) -> Engine:
    """An Engine for a configuration, named after it; it is not pinged.

    Raises:
        EngineUnavailableError: When the address or the TLS material is malformed.
    """
    from cdebug_tui.engine.client import Engine

    return Engine(name=config.name, base_url=config.address, timeout=timeout, tls=config.tls)


def split_target(target: str, names: set[str] | list[str]) -> tuple[str | None, str]:
    """Splits `NAME/CONTAINER` into (engine name, container) when NAME is a known engine.

    Container names cannot contain '/', so a known prefix is unambiguous; anything else is
    a plain container reference.
    """
    name, sep, rest = target.partition("/")
    if sep and rest and name in names:
        return name, rest
    return None, target


class EngineRegistry:
    """One Engine per configured engine, connected lazily; one engine failing spares the rest.

    Args:
        configs: The engines to offer; discover() by default.
    """

    def __init__(self, configs: list[EngineConfig] | None = None, timeout: int = 60) -> None:
        self.configs: list[EngineConfig] = list(discover() if configs is None else configs)
        #: The current context when it names none that exists (see unknown_context).
        self.missing_context = unknown_context(configs=self.configs) if configs is None else None
        self.timeout = timeout
        self._engines: dict[str, Engine] = {}
        self._status: dict[str, EngineStatus] = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        """The engines' names, the current one first."""
        return [c.name for c in self.configs]

    @property
    def current(self) -> EngineConfig:
        """The engine used when none is named."""
        for c in self.configs:
            if c.current:
                return c
        return self.configs[0]

    def config(self, name: str | None) -> EngineConfig:
        """The configuration for a name, or for an address (known or not); None: the current.

        Raises:
            EngineUnavailableError: When it is neither a known name nor an address.
        """
        if name is None:
            if self.missing_context:
                raise EngineUnavailableError(
                    f"context {self.missing_context!r} not found (the current one, as "
                    "DOCKER_CONTEXT or docker context use set it)",
                    hint="docker context ls; or name an engine with --engine",
                )
            return self.current
        for c in self.configs:
            if c.name == name:
                return c
        if "://" in name:
            key = canonical_address(name)
            for c in self.configs:
                if canonical_address(c.address) == key:
                    return c
            cfg = EngineConfig(name=name, address=name, source="address")
            self.configs.append(cfg)
            return cfg
        raise EngineUnavailableError(
            f"no engine named {name!r}",
            hint="known: " + ", ".join(self.names) + "; or give an address such as unix:///path",
        )

    def get(self, name: str | None = None, *, check: bool = False) -> Engine:
        """The Engine for a name (or address), connected once and kept.

        Connecting asks the engine (/version); a kept engine is not asked again unless `check`
        says so (a reconnection, a status): every caller pinging made a round trip per call.

        Raises:
            EngineUnavailableError: When it is unknown or does not answer; the reason is kept
                for status().
        """
        cfg = self.config(name)
        with self._lock:
            engine = self._engines.get(cfg.name)
        if engine is None:
            try:
                engine = connect(cfg, self.timeout)
            except CdebugError as exc:
                self._status[cfg.name] = EngineStatus(cfg.name, cfg.address, False, str(exc))
                raise
            with self._lock:
                engine = self._engines.setdefault(cfg.name, engine)
        elif check:
            try:
                engine.ping()
            except CdebugError as exc:
                self._status[cfg.name] = EngineStatus(cfg.name, cfg.address, False, str(exc))
                raise
        self._status[cfg.name] = EngineStatus(cfg.name, cfg.address, True, "", engine.is_podman)
        return engine

    def status(self, name: str) -> EngineStatus:
        """Whether one engine answers now (it asks the engine)."""
        cfg = self.config(name)
        try:
            self.get(cfg.name, check=True)
        except CdebugError:
            pass
        return self._status[cfg.name]

    def statuses(self) -> list[EngineStatus]:
        """Every engine's status now, in the registry's order."""
        return [self.status(c.name) for c in self.configs]

    def last_status(self, name: str) -> EngineStatus | None:
        """The status as last seen, without asking the engine; None before the first contact."""
        return self._status.get(name)

    def list_containers(self, *, shells: bool = True) -> tuple[list[Container], list[EngineStatus]]:
        """Every container of every engine that answers, each row naming its engine.

        Returns:
            (the rows, engine by engine in the registry's order; the statuses of all engines,
            the unreachable ones with their reason).
        """
        rows: list[Container] = []
        statuses = []
        for cfg in self.configs:
            try:
                engine = self.get(cfg.name)
                rows += engine.list_containers(shells=shells)
            except CdebugError as exc:
                self._status[cfg.name] = EngineStatus(cfg.name, cfg.address, False, str(exc))
            statuses.append(self._status[cfg.name])
        return rows, statuses

    def resolve(self, target: str, engine: str | None = None) -> tuple[Engine, TargetInfo]:
        """Finds a target given as CONTAINER or NAME/CONTAINER, on the named engine or the
        current one.

        Raises:
            EngineUnavailableError: When the engine is unknown or does not answer.
            TargetNotFoundError: When the container is not on it.
            CdebugError: When NAME/ and `engine` name two different engines.
        """
        prefix, container = split_target(target, set(self.names))
        if prefix is not None and engine is not None and self.config(engine).name != prefix:
            raise CdebugError(f"{target!r} names engine {prefix!r} but --engine says {engine!r}")
        eng = self.get(prefix or engine)
        try:
            return eng, eng.resolve(container)
        except TargetNotFoundError as exc:
            raise TargetNotFoundError(f"{exc.message} on engine {eng.name}") from exc

    def close(self) -> None:
        """Closes every connection made."""
        with self._lock:
            engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            engine.close()


def container_names(
    name: str | None = None, timeout: float = 1.0, *, running: bool = False
) -> list[str]:
    """The names of an engine's containers, running or stopped, as `exec` takes them (a name or
    address; None: the current one), without cdebug-tui's own sidecars, copies and helpers;
    `running`: the running ones only.

    Raises:
        EngineUnavailableError: When the engine is unknown or does not answer in time.
    """
    from cdebug_tui.engine.subreaper import OWN_LABELS

    return _ask(name, timeout, lambda engine: engine.container_names(OWN_LABELS, running=running))


def image_names(name: str | None = None, timeout: float = 1.0) -> list[str]:
    """The names (`repository:tag`) of an engine's images, as `docker images` lists them.

    Raises:
        EngineUnavailableError: When the engine is unknown or does not answer in time.
    """
    return _ask(name, timeout, lambda engine: engine.image_names())


def _ask(name: str | None, timeout: float, question: Callable[[Any], list[str]]) -> list[str]:
    """Asks an engine (a name or address; None: the current one) for a list of names, for
    shell completion, which calls this on every Tab: a local engine over its socket without
    docker-py (UnixAPI answers these as Engine does), any other through Engine."""
    from cdebug_tui.engine.unixapi import UnixAPI, socket_path

    cfg = EngineRegistry(discover()).config(name)
    path = socket_path(cfg.address)
    if path is not None:
        return question(UnixAPI(path, timeout))
    engine = connect(cfg, timeout=max(1, round(timeout)))
    try:
        return question(engine)
    finally:
        engine.close()
