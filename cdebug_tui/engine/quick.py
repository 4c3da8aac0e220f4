"""Provides exec's quick start: a direct sidecar made and started before the rest loads."""

from __future__ import annotations

import importlib
import os
import socket
import time

from cdebug_tui.engine import basics
from cdebug_tui.engine.entrypoint import resolve_user
from cdebug_tui.engine.entrypoint import script as entrypoint_script
from cdebug_tui.engine.stream import Stream
from cdebug_tui.engine.unixhttp import Pending, UnixAPI, container_body, quote
from cdebug_tui.errors import CdebugError, EngineRequestError

# `cdebug-tui exec -it` on Docker at this host's socket: the session's modules (its dataclasses,
# the session, the toolkit cache) take 35-45 ms to import, a third of what `docker run -it`
# takes to a prompt. Its sidecar is made here, with the standard library and these light
# modules, and the engine starts it while they load (begin sends the start and returns).
# Anything out of the ordinary (another engine, -u, a stopped target, an image to pull, a
# profile) is left to the usual way, which says what is wrong as always; nothing is made then.

#: Where the docker CLI looks when nothing else is configured (engines.DEFAULT_SOCKET).
_DEFAULT_SOCKET = "/var/run/docker.sock"


class _Target:
    """What the entrypoint script reads of the target (as models.TargetInfo has it)."""

    def __init__(self, raw: dict) -> None:
        cfg = raw.get("Config") or {}
        self.name = (raw.get("Name") or "").lstrip("/")
        self.user = cfg.get("User") or ""
        self.workdir = cfg.get("WorkingDir") or "/"
        self.env = tuple(cfg.get("Env") or ())
        self.entrypoint = tuple(cfg.get("Entrypoint") or ())
        self.cmd = tuple(cfg.get("Cmd") or ())


class QuickStart:
    """A direct session's sidecar for the current engine, once begin() has made it: created,
    attached (its TTY) and being started.

    Attributes:
        path: The engine's socket.
        headers: Its ping's headers (what engine it is).
        target: The target's inspect, as the engine answered it.
        image: The toolkit, as used (the local busybox for a default one that is not here).
        image_id: Its id.
        notice: What the user is told about the toolkit, or None.
        session_id: The session's id, in the sidecar's name, labels and environment.
        body: The create's body.
        entry: The sidecar's `CDEBUG_ENTRYPOINT=...` variable.
        host_init: This host's tini, bound into the sidecar.
        sidecar_id: The sidecar ("" until it is made).
        stream: Its TTY's stream (the supervisor's, then the shell's).
        times: When each step began and ended (time.monotonic()), by title.
        adopted: Whether a session has taken the sidecar over (it removes it on a failure).
    """

    def __init__(self, path: str, headers: dict[str, str]) -> None:
        self.path = path
        self.headers = headers
        self.api = UnixAPI(path, 60)
        self.target: dict = {}
        self.image = ""
        self.image_id = ""
        self.notice: str | None = None
        self.session_id = ""
        self.body: dict = {}
        self.entry = ""
        self.host_init = ""
        self.sidecar_id = ""
        self.stream: Stream | None = None
        self.adopted = False
        self.times: dict[str, tuple[float, float]] = {}
        #: The name it is made under when cdebug-tui chose it (an abandon() before the
        #: create's answer removes it by that name); None for the user's own.
        self._own_name: str | None = None
        self._start: Pending | None = None

    def begin(
        self,
        target: str,
        *,
        image: str,
        name: str | None = None,
        privileged: bool = False,
        env: tuple[str, ...] = (),
    ) -> bool:
        """Makes and starts a direct session's sidecar for `exec -it TARGET`, as
        session._prepare makes one for a direct session with the profile `general`, when that
        can be done here. The caller has checked what the command line asks for (-it at a
        terminal, no -u, no --engine, the profile `general`).

        Args:
            env: The shell's own variables (`-e`), KEY=VALUE each.

        Returns:
            Whether it did; nothing is made when not.
        """
        try:
            return self._begin(target, image, name, privileged, env)
        except (CdebugError, OSError, ValueError, KeyError, TypeError):
            self.abandon()
            return False
        except BaseException:
            self.abandon()
            raise

    def _begin(
        self, target: str, image: str, name: str | None, privileged: bool, env: tuple[str, ...]
    ) -> bool:
        api = self.api
        t0 = time.monotonic()
        status, raw = api.request("GET", f"/containers/{quote(target)}/json")
        if status != 200 or not isinstance(raw, dict):
            return False
        state, host = raw.get("State") or {}, raw.get("HostConfig") or {}
        if not state.get("Running") or state.get("Paused") or state.get("Restarting"):
            return False
        if host.get("PidMode") == "host":
            return False
        info = _Target(raw)
        host_init = basics.host_init_path()
        if not host_init or not basics.exportable((*info.env, *env)):
            return False
        self.target = raw
        self.times["find the target"] = (t0, time.monotonic())

        t0 = time.monotonic()
        found = _image_id(api, image)
        if found is None and image == basics.DEFAULT_TOOLKIT:
            found = _image_id(api, basics.LOCAL_TOOLKIT)
            if found is not None:
                self.notice = basics.local_toolkit_notice(image)
                image = basics.LOCAL_TOOLKIT
        if found is None:
            return False
        self.image, self.image_id = image, found
        self.times["toolkit image"] = (t0, time.monotonic())

        passwd: str | None = None
        if info.user and not info.user.replace(":", "").isdigit():
            passwd = _passwd(api, raw["Id"])
            if passwd is None:
                return False  # not a plain file, or unreadable: the usual way says what it is
        self.entry = entry_env(raw, passwd)
        self.session_id = os.urandom(5).hex()
        self.host_init = host_init
        sidecar_name, self.body = create_body(
            raw,
            image=image,
            session_id=self.session_id,
            name=name,
            privileged=privileged,
            host_init=host_init,
            entry=self.entry,
        )
        self._own_name = None if name else sidecar_name
        t0 = time.monotonic()
        create = api.begin(
            "create the container", "POST", "/containers/create", {"name": sidecar_name}, self.body
        )
        _load_meanwhile()
        try:
            answer = create.result()
        except CdebugError:
            self._own_name = None  # not made: the name may be another's
            return False  # the usual way tries again, and says why
        self.sidecar_id = str(answer["Id"])
        self.times["create the sidecar"] = (t0, time.monotonic())
        t0 = time.monotonic()
        params = {
            "stdin": 1,
            "stdout": 1,
            "stderr": 1,
            "stream": 1,
            "detachKeys": basics.DETACH_KEYS,
        }
        path = f"/containers/{self.sidecar_id}/attach"
        self.stream = Stream(api.hijack("attach to the container", path, params), tty=True)
        self._start = api.begin(
            "start the container", "POST", f"/containers/{self.sidecar_id}/start"
        )
        self.times["start the sidecar"] = (t0, t0)
        return True

    def started(self) -> None:
        """Waits until the engine has started the sidecar.

        Raises:
            EngineRequestError: When it refused (its explanation says why).
        """
        if self._start is not None:
            start, self._start = self._start, None
            start.result()
            self.times["start the sidecar"] = (self.times["start the sidecar"][0], time.monotonic())

    def abandon(self) -> None:
        """Removes what begin() made, before a session took it over (nothing was linked yet:
        the supervisor waits for its plan)."""
        if self.stream is not None:
            self.stream.close()
        if self._start is not None:
            self._start.close()
        which = self.sidecar_id or self._own_name
        if which:
            try:
                self.api.request("DELETE", f"/containers/{quote(which)}", {"force": "true"})
            except CdebugError:
                pass  # the engine went: nothing we can remove


def _load_meanwhile() -> None:
    """Imports, while the engine creates the sidecar (10-15 ms), the toolkit cache's path
    (platformdirs, 7 ms), which the session needs next: the engine's start, which comes
    next, is slower beside imports. More here (the dataclasses) delayed the start more than
    it spared it (measured: 10 ms slower)."""
    importlib.import_module("platformdirs")


def current(env: dict[str, str] | os._Environ[str]) -> QuickStart | None:
    """A QuickStart for the current engine when it is Docker on this host's socket, as the
    docker CLI would use it with no context; None for any other (engines.discover knows them).
    """
    path = default_socket(env)
    if path is None or env.get("CDEBUG_TUI_DOCKER_PY"):
        return None
    try:
        status, headers = UnixAPI(path, 60).headers("/_ping")
    except CdebugError:
        return None  # the usual way says why
    server = headers.get("server", "")
    if status != 200 or not server.startswith("Docker/") or "libpod-api-version" in headers:
        return None
    return QuickStart(path, headers)


def default_socket(env: dict[str, str] | os._Environ[str]) -> str | None:
    """The current engine's socket when it is a local one the docker CLI would use with no
    context (engines.discover's first engine then); None for anything else."""
    host = env.get("DOCKER_HOST", "")
    if host:
        return host.removeprefix("unix://") if host.startswith("unix://") else None
    folder = env.get("DOCKER_CONFIG") or os.path.join(
        env.get("HOME") or os.path.expanduser("~"), ".docker"
    )
    name = env.get("DOCKER_CONTEXT") or basics.current_context(folder) or "default"
    return _DEFAULT_SOCKET if name == "default" else None


def create_body(
    raw: dict,
    *,
    image: str,
    session_id: str,
    name: str | None,
    privileged: bool,
    host_init: str,
    entry: str,
) -> tuple[str, dict]:
    """The sidecar's name and create body for a direct session on the target `raw` (its
    inspect), with the profile `general`: what session._prepare asks the engine for (a test
    holds the two equal).

    Args:
        entry: The `CDEBUG_ENTRYPOINT=...` variable.
    """
    target_id = str(raw["Id"])
    host = raw.get("HostConfig") or {}
    cap_add, cap_drop = basics.sidecar_caps(
        tuple(host.get("CapAdd") or ()), tuple(host.get("CapDrop") or ())
    )
    body = container_body(
        image,
        entrypoint=list(basics.SUPERVISOR_ENTRYPOINT),
        user="0",
        stdin_open=True,
        env=[
            f"CDEBUG_SESSION={session_id}",
            "CDEBUG_TARGET_PID=1",
            f"CDEBUG_SUPERVISOR={basics.script('supervisor.sh')}",
            f"CDEBUG_REAPER={basics.script('reaper.sh')}",
            entry,
            "CDEBUG_DIRECT=1",
        ],
        labels={
            basics.SIDECAR_LABEL: "1",
            basics.TARGET_LABEL: target_id,
            basics.OWNER_LABEL: f"{socket.gethostname()}:{os.getpid()}",
            basics.SESSION_LABEL: session_id,
        },
        pid_mode=f"container:{target_id}",
        network_mode=f"container:{target_id}",
        ipc_mode=basics.sidecar_ipc_mode(target_id, host.get("IpcMode") or ""),
        cap_add=list(cap_add),
        cap_drop=list(cap_drop),
        privileged=privileged or bool(host.get("Privileged")),
        auto_remove=True,
        tty=True,
        bind=(host_init, basics.INIT_PATH),
    )
    target_name = (raw.get("Name") or "").lstrip("/")
    return name or basics.sidecar_name(target_name, session_id), body


def entry_env(raw: dict, passwd: str | None) -> str:
    """`CDEBUG_ENTRYPOINT=<script>` for the target `raw` (its inspect), as
    session._entrypoint_env writes it; `passwd` is its /etc/passwd when its user is a name."""
    info = _Target(raw)
    try:
        uid_gid: tuple[int, int] | None = resolve_user(info.user, passwd) if info.user else (0, 0)
    except CdebugError:
        uid_gid = None
    return "CDEBUG_ENTRYPOINT=" + entrypoint_script(info, uid_gid=uid_gid, target_pid=1)


def _image_id(api: UnixAPI, ref: str) -> str | None:
    status, raw = api.request("GET", f"/images/{quote(ref)}/json")
    return str(raw["Id"]) if status == 200 and isinstance(raw, dict) else None


def _passwd(api: UnixAPI, container_id: str) -> str | None:
    """The target's /etc/passwd when it is a plain file (the archive's first member)."""
    try:
        resp = api.open_stream(
            "GET", f"/containers/{container_id}/archive", {"path": "/etc/passwd"}
        )
    except EngineRequestError:
        return None
    try:
        data = resp.read()
    finally:
        resp.close()
    # A tar: one 512-byte header (name, size in octal at 124, type at 156), then the file.
    if len(data) < 512 or data[156:157] not in (b"0", b"\0"):
        return None
    size = int(data[124:136].split(b"\0", 1)[0].strip() or b"0", 8)
    return data[512 : 512 + size].decode(errors="replace")
