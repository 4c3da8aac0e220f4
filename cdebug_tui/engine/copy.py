"""Provides debug copies: throwaway containers of a stopped container or an image, to join."""

from __future__ import annotations

import dataclasses
import io
import os
import posixpath
import shlex
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cdebug_tui.engine import toolkit as tk
from cdebug_tui.engine.models import (
    COPY_COMMENT,
    COPY_LABEL,
    OWNER_LABEL,
    SIDECAR_LABEL,
    TARGET_LABEL,
    Mount,
    TargetInfo,
    limit_flags,
    validate_image_ref,
)

if TYPE_CHECKING:
    from cdebug_tui.engine.client import Engine, ProgressCallback

from cdebug_tui.errors import (
    CdebugError,
    CopyError,
    EngineRequestError,
    ImageUnavailableError,
    SessionError,
    TargetNotFoundError,
    ToolkitError,
)

if TYPE_CHECKING:
    from cdebug_tui.engine.session import DebugSession

#: Container states a copy is made for: the container has a filesystem but no process.
STOPPED_STATES = ("exited", "created", "dead")
#: The tag committed images get: `cdebug-tui/copy:<copy id>`.
COPY_REPOSITORY = "cdebug-tui/copy"
AddStep = Callable[[str, str, float, str], None]


@dataclass(frozen=True)
class CopySource:
    """What a debug copy is made of: a stopped container (as it stopped), or an image.

    Attributes:
        kind: "container" or "image".
        name: The container's name, or the image reference as given.
        image_id: The image to copy, for an image.
        original: The stopped container, for a container.
        entrypoint, cmd, user, workdir, env: What the engine ran (or would run) as its main
            process, for `entrypoint`.
    """

    kind: str
    name: str
    image_id: str
    original: TargetInfo | None
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    user: str
    workdir: str
    env: tuple[str, ...]

    def describe(self) -> str:
        """`container api, exited (1)` or `image my/app:1.2`."""
        if self.original is not None:
            o = self.original
            state = o.state
            if o.state == "exited":
                state = f"exited ({o.exit_code})"
            elif o.restarting:
                state = f"restarting after exit {o.exit_code}"
            elif o.state == "created" and o.exit_code:
                state = f"created, its start failed ({o.exit_code})"
            return f"container {o.name}, {state}"
        return f"image {self.name}"

    @property
    def shared(self) -> tuple[Mount, ...]:
        """The volumes and bind mounts the copy shares with the original (by reference)."""
        return self.original.mounts if self.original is not None else ()


def find(
    engine: Engine,
    name: str,
    *,
    notice: Callable[[str], None] | None = None,
    on_progress: ProgressCallback | None = None,
) -> TargetInfo | CopySource:
    """Finds what TARGET names: a container that runs (debugged as it is), a stopped or
    restarting one or an image (debugged through a copy). A container wins over an image of
    the same name.

    Raises:
        TargetNotFoundError: When it names neither (an image that cannot be pulled either).
        AmbiguousTargetError: When a prefix matches several containers.
    """
    try:
        target = engine.resolve(name)
    except TargetNotFoundError as not_found:
        try:
            return _image_source(engine, name, on_progress, not_found)
        except TargetNotFoundError as exc:
            # Neither: most often a container's name mistyped (`docker exec` users type names).
            close = close_container_names(engine, name)
            if not close:
                raise
            # The pull's reason, short: the line is about the name.
            hint = exc.hint.split(" (", 1)[0] if exc.hint else None
            raise TargetNotFoundError(
                f"{exc.message}; did you mean {' or '.join(close)}?", hint=hint
            ) from exc
    if notice is not None:
        say_if_an_image_too(engine, name, notice)
    if target.restarting:
        pass  # a crash loop: between its runs there is nothing to join, and each run is short
    elif target.running or target.paused:
        return target
    elif target.state not in STOPPED_STATES:
        return target  # removing, or a state we do not know: check_target says why not
    return container_source(target)


def container_source(target: TargetInfo) -> CopySource:
    """A copy of a container that does not run (stopped, restarting), as it is now."""
    return CopySource(
        kind="container",
        name=target.name,
        image_id=target.image_id,
        original=target,
        entrypoint=target.entrypoint,
        cmd=target.cmd,
        user=target.user,
        workdir=target.workdir,
        env=target.env,
    )


def close_container_names(engine: Engine, name: str) -> list[str]:
    """The engine's containers named like `name` (a typo, another case), closest first; []
    when there are none, or the engine cannot list them."""
    import difflib

    from cdebug_tui.engine.subreaper import OWN_LABELS

    try:
        # Never cdebug-tui's own: a sidecar's or a copy's name was suggested for a typo.
        names = engine.container_names(OWN_LABELS)
    except CdebugError:
        return []
    same = [n for n in names if n.lower() == name.lower()]
    if same:
        return same
    # The closest, and those nearly as close: names that share only a prefix with it
    # (`retrial-dl` for `retrial-exitd`) are no suggestion.
    scored = sorted(
        ((difflib.SequenceMatcher(None, name, n).ratio(), n) for n in names), reverse=True
    )
    best = scored[0][0] if scored else 0.0
    return [n for r, n in scored[:3] if r >= 0.75 and r >= best - 0.05]


def say_if_an_image_too(engine: Engine, name: str, notice: Callable[[str], None]) -> None:
    """Tells the user when the container `name` names is not all it names: an image too."""
    if _local_image(engine, name):
        notice(f"{name} names a container and an image: debugging the container")


def _local_image(engine: Engine, name: str) -> str | None:
    try:
        return engine.image_id(name)
    except ImageUnavailableError:
        return None  # not an image reference at all


def _image_source(
    engine: Engine,
    name: str,
    on_progress: ProgressCallback | None,
    not_found: TargetNotFoundError,
) -> CopySource:
    try:
        validate_image_ref(name)
    except ImageUnavailableError:
        raise not_found from None
    image_id = engine.image_id(name)
    if image_id is None:
        try:
            image_id = engine.pull(name, on_progress)
        except ImageUnavailableError as exc:
            reason = str(exc).removeprefix(f"cannot pull {name}: ")
            raise TargetNotFoundError(
                f"no such container or image: {name}", hint=f"cannot pull it: {reason}"
            ) from exc
    cfg = engine.image_config(image_id)
    return CopySource(
        kind="image",
        name=name,
        image_id=image_id,
        original=None,
        entrypoint=tuple(cfg.get("Entrypoint") or ()),
        cmd=tuple(cfg.get("Cmd") or ()),
        user=str(cfg.get("User") or ""),
        workdir=str(cfg.get("WorkingDir") or "/"),
        env=tuple(cfg.get("Env") or ()),
    )


class DebugCopy:
    """A running copy that a session's sidecar joins; removed, with its image, at the end.

    Its main process is the toolkit's static busybox as `cat`, reading a stdin that this
    process holds: when cdebug-tui ends, however it ends, `cat` ends and the engine removes
    the copy (AutoRemove). The committed image carries an owner label, so that
    `cdebug-tui cleanup` (and the app at start) removes one a killed cdebug-tui left.
    """

    def __init__(
        self,
        engine: Engine,
        source: CopySource,
        copy_id: str,
        name: str,
        container_id: str,
        image_id: str,
        stdin: socket.socket | None,
        target: TargetInfo,
    ) -> None:
        self.engine = engine
        self.source = source
        self.copy_id = copy_id
        self.name = name
        self.container_id = container_id
        #: The image committed for the copy ("" for a copy of an image: that one is the user's).
        self.image_id = image_id
        self._stdin = stdin
        #: The copy as the session sees it: its id and PID, the original's command and user.
        self.target = target
        self._lock = threading.Lock()
        self._removed = False
        self._done = threading.Event()
        self._watcher: Any = None
        #: The sessions in the copy (a tab's `n` opens another in the same one): it goes with
        #: the last of them.
        self._holders: list[DebugSession] = []
        #: The original's `docker diff` when it was committed (make_copy sets it).
        self.original_changes: dict[str, str] = {}

    def changes_since_image(self, copy_changes: dict[str, str]) -> dict[str, str]:
        """The copy's `docker diff` (path: A, C or D), against the original's image: with a
        commit, the engine compares the copy with the committed image, which hid what the
        original wrote before it stopped (its crash log) from the files panel's marks."""
        if not self.image_id or self.source.original is None:
            return copy_changes  # a copy of an image, or of its image as it is: the same
        merged = dict(self.original_changes)
        for path, kind in copy_changes.items():
            before = merged.get(path)
            if before == "A" and kind == "D":
                del merged[path]  # added by the original, removed in the copy: as the image
            elif before == "A":
                continue  # added by the original, changed since: still added
            elif before == "D" and kind == "A":
                merged[path] = "C"  # removed by the original, made again: changed
            else:
                merged[path] = kind
        return merged

    def banner_parts(self) -> list[str]:
        """What the user must know, most important first: what this is a copy of, what it
        shares with the original (writes there are real), that the rest is discarded, what
        its files are. A narrow header keeps the first ones."""
        what = f"a debug copy of {self.source.describe()}"
        original = self.source.original
        if original is None:
            return [
                what,
                "changes are discarded at the end",
                "a new container of the image, with its env, workdir and user",
            ]
        made = "as created" if original.state == "created" else "as it stopped"
        if original.restarting:
            made = "as they were between two runs"
        shared = self.source.shared
        if not shared:
            # That its changes go comes before that nothing is shared: the header of an
            # 80-column tab kept the latter only.
            return [
                what,
                "changes are discarded at the end",
                "shares nothing with the original",
                f"its files {made}",
            ]
        mounts = "; ".join(m.describe() for m in shared)
        shares = f"shares with the original (changes there are real): {mounts}"
        return [what, shares, "other changes are discarded at the end", f"its files {made}"]

    def banner(self) -> str:
        """banner_parts as one line (the CLI's first)."""
        return "; ".join(self.banner_parts())

    @property
    def removed(self) -> bool:
        """Whether the copy is gone, or going."""
        return self._removed

    def hold(self, session: DebugSession) -> None:
        """Counts a session in the copy: it stays until the last one is released.

        Raises:
            SessionError: When the copy has gone (its last session ended meanwhile).
        """
        with self._lock:
            if self._removed:
                raise SessionError(f"the debug copy {self.name} has gone")
            self._holders.append(session)

    def release(self, session: DebugSession, timeout: float = 10.0) -> None:
        """A session in the copy ended: the copy goes with the last one."""
        with self._lock:
            if session in self._holders:
                self._holders.remove(session)
            last = not self._holders
        if last:
            self.remove(timeout)

    def watch_original(self) -> None:
        """Ends the copy's sessions when the original container is removed (the copy would
        outlive what it is a copy of, its volumes with it). Once per copy."""
        original = self.source.original
        if original is None or self._watcher is not None:
            return
        stream = self.engine.events(container=original.id)
        self._watcher = stream

        def watch() -> None:
            try:
                for event in stream:
                    if event.action == "destroy":
                        with self._lock:
                            held = list(self._holders)
                        for session in held:
                            session.ended_reason = f"the original {original.name} was removed"
                            session.close()
                        return
            except CdebugError:
                pass  # the engine went away: the sessions' own readers see that

        threading.Thread(target=watch, name=f"watch-{original.short_id}", daemon=True).start()

    def remove(self, timeout: float = 10.0) -> None:
        """Removes the copy and the image committed for it. Idempotent (a second caller waits
        for the first); never raises."""
        with self._lock:
            removing = self._removed
            self._removed = True
        if removing:
            self._done.wait(timeout + 5)  # another thread removes it: wait for the end
            return
        try:
            if self._watcher is not None:
                self._watcher.close()
            _remove(self.engine, self.container_id, self.image_id, self._stdin, timeout)
        finally:
            self._done.set()


def _remove(
    engine: Engine,
    container_id: str,
    image_id: str,
    stdin: socket.socket | None,
    timeout: float,
) -> None:
    if stdin is not None:
        # EOF on the copy's stdin: its `cat` ends and the engine removes the copy.
        try:
            stdin.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        stdin.close()
    if container_id:
        engine.wait_removed(container_id, timeout=min(timeout, 3.0) if stdin else 1.0)
        try:
            engine.remove_container(container_id, remove_volumes=True)
        except CdebugError:
            pass
    if image_id:
        deadline = time.monotonic() + timeout
        while True:
            try:
                engine.remove_image(image_id)
                return
            except CopyError:
                # The engine is still removing the copy that uses it.
                if time.monotonic() > deadline:
                    return
                time.sleep(0.1)
            except CdebugError:
                return


def make_copy(
    engine: Engine,
    source: CopySource,
    *,
    toolkit: str,
    toolkit_id: str,
    add_step: AddStep,
) -> DebugCopy:
    """Makes and starts a debug copy; on any failure nothing is left behind.

    Args:
        engine: The engine of the source.
        source: What to copy (see find()).
        toolkit: The toolkit image, whose static busybox keeps the copy waiting.
        toolkit_id: Its id.
        add_step: Called with each step taken, as a command a learner could type.

    Raises:
        CopyError: When the engine refuses to commit, create or start the copy.
        ToolkitError: When neither the toolkit nor the host has a static busybox.
    """
    _check_mounts(engine, source)
    copy_id = os.urandom(5).hex()
    owner = f"{socket.gethostname()}:{os.getpid()}"
    of = source.original.id if source.original is not None else source.name
    labels = {COPY_LABEL: of, OWNER_LABEL: owner}
    committed = ""
    container_id = ""
    stdin: socket.socket | None = None
    short = (source.original.name if source.original is not None else _ref_name(source.name))[:40]
    name = f"{short}-copy-{copy_id[:6]}"
    waiter_dir = f"/.cdebug-copy-{copy_id}"
    original_changes: dict[str, str] = {}
    try:
        image = source.image_id
        #: The original's environment, for a copy of its image as it is (a commit has it).
        env: list[str] | None = None
        if source.original is not None:
            t0 = time.monotonic()
            how = "restarting" if source.original.restarting else "stopped"
            try:
                original_changes = engine.changed_paths(source.original.id)
            except EngineRequestError as exc:
                raise CopyError(f"cannot read {source.name}'s changes: {exc.explanation}") from exc
            if not original_changes:
                # Nothing written: its image is its files as it stopped, and a commit (50-60
                # ms, then an image to remove) would copy nothing more.
                env = list(source.env)
                add_step(
                    f"look for the {how} container's changes",
                    f"docker diff {source.original.name}",
                    t0,
                    "none: the copy runs its image as it is, with its environment",
                )
            else:
                ref = f"{COPY_REPOSITORY}:{copy_id}"
                committed = engine.commit(source.original.id, ref, labels)
                image = committed
                add_step(
                    f"commit the {how} container to an image",
                    f"docker diff {source.original.name}  # it wrote files\n"
                    f"docker commit --pause=false -m {shlex.quote(COPY_COMMENT)} "
                    f"--change 'LABEL {COPY_LABEL}={of[:12]}' "
                    f"{source.original.name} {ref}",
                    t0,
                    f"{committed[:19]}: its files as it stopped, its env, workdir and user",
                )
        t0 = time.monotonic()
        read_waiter, where, cached = waiter_binary(engine, toolkit, toolkit_id, owner)
        add_step("take a static busybox to keep the copy waiting", f"# {where}", t0, "")

        volumes_from = source.original.id if source.original is not None else None
        network = _network_of(source.original)
        shown_image = image[:19] if source.original is not None else source.name
        waiter_at = f"{waiter_dir}/cat"
        # The cached busybox, bound from this host when the engine is on it: copying it in
        # (docker cp) took 85-95 ms whatever its size, as long as the bind's whole start.
        bind = cached if cached is not None and _binds_run(engine) else None
        info: TargetInfo | None = None
        for bound in (True, False) if bind is not None else (False,):
            cmd = ["docker", "create", "-i", "--rm", "--name", name, "--user", "0"]
            if volumes_from:
                cmd += ["--volumes-from", source.original.name if source.original else ""]
            cmd += ["--network", network, "--entrypoint", waiter_at]
            if source.original is not None:
                cmd += limit_flags(source.original.limits, source.original.ulimits)
            if env is not None and source.original is not None:
                # The original's environment, by reference: its values may be secrets.
                fmt = "'{{join .Config.Env \"\\n\"}}'"
                cmd.append(f"--env-file <(docker inspect --format {fmt} {source.original.name})")
            t0 = time.monotonic()
            try:
                container_id = engine.create_copy(
                    image,
                    name=name,
                    entrypoint=[waiter_at],
                    labels={**labels, SIDECAR_LABEL: "1", TARGET_LABEL: of},
                    volumes_from=volumes_from,
                    network_mode=network,
                    bind=(bind, waiter_at) if bound and bind is not None else None,
                    env=env,
                    limits=dict(source.original.limits) if source.original else None,
                    ulimits=list(source.original.ulimits) if source.original else None,
                )
            except CopyError:
                if bound:
                    continue  # the engine does not see this host's files (a remote host)
                raise
            if bound:
                cmd.append(f"--mount type=bind,src={bind},dst={waiter_at},readonly")
            add_step(
                "create the copy (not started)",
                " ".join([*cmd, shown_image]),
                t0,
                container_id[:12],
            )
            if not bound:
                t0 = time.monotonic()
                try:
                    waiter = read_waiter()
                except OSError as exc:
                    raise CopyError(f"cannot read the busybox for the copy: {exc}") from exc
                engine.copy_into(container_id, "/", _waiter_tar(waiter_dir, waiter))
                add_step(
                    "put the busybox into the copy (no shell needed in it)",
                    f"docker cp ./busybox {name}:{waiter_at}",
                    t0,
                    "",
                )
            t0 = time.monotonic()
            stdin = engine.attach_stdin(container_id)
            try:
                engine.start_copy(container_id)
                info = engine.inspect(container_id)
            except CopyError:
                if not bound:
                    raise
                info = None
            if bound and (info is None or not info.running):
                # The engine has a file there that it cannot run (not ours, or a security
                # label that forbids it): this copy goes, and the next gets it copied in.
                _remove(engine, container_id, "", stdin, timeout=10.0)
                stdin = None
                name = f"{name}-b"  # this one's name may still be being removed
                container_id = ""
                continue
            add_step(
                "start the copy: busybox cat waits on a stdin that cdebug-tui holds",
                f"docker start -ai {name}  # when it ends, cat ends and --rm removes the copy",
                t0,
                "",
            )
            break
        if info is None or not info.running:
            state = info.state if info is not None else "gone"
            raise CopyError(f"the copy of {source.name} stopped at once ({state})")
        target = dataclasses.replace(
            info,
            entrypoint=source.entrypoint,
            cmd=source.cmd,
            user=source.user,
            workdir=source.workdir,
            mounts=source.shared,
        )
        copy = DebugCopy(engine, source, copy_id, name, container_id, committed, stdin, target)
        # What the original had written when it was committed: a crash loop's next run
        # writes on, in the original, not in the copy.
        copy.original_changes = original_changes
        return copy
    except BaseException:
        _remove(engine, container_id, committed, stdin, timeout=10.0)
        raise


def _binds_run(engine: Engine) -> bool:
    """Whether a copy may run a file bound from this host: an engine on a local socket (it
    may still not see the file: make_copy then copies it in), and no SELinux enforcing, whose
    labels keep containers from running a file of the user's cache."""
    if not engine.address.startswith("unix://"):
        return False
    try:
        with open("/sys/fs/selinux/enforce", "rb") as f:
            return f.read(1) != b"1"
    except OSError:
        return True  # no SELinux


def _check_mounts(engine: Engine, source: CopySource) -> None:
    """Refuses a copy whose bind mount's source is gone from this host: the engine would make
    it anew, empty, on the host, for the copy (checked only for an engine on this host).

    Raises:
        CopyError: Naming the mount.
    """
    if not engine.address.startswith("unix://"):
        return
    for m in source.shared:
        if m.kind == "bind" and not os.path.exists(m.source):
            raise CopyError(
                f"{source.name}'s bind mount {m.source} (at {m.destination}) is gone from the host"
            )


def _ref_name(ref: str) -> str:
    """A container-name-safe part of an image reference: `my/app:1.2` -> `app`."""
    last = ref.rsplit("/", 1)[-1].split("@")[0].split(":")[0]
    return "".join(c if c.isalnum() or c in "_.-" else "-" for c in last) or "image"


def _network_of(original: TargetInfo | None) -> str:
    """The copy's network: the original's own, never another container's (which may run)."""
    mode = original.network_mode if original is not None else ""
    if not mode or mode == "default" or mode.startswith("container:"):
        return "bridge"
    return mode


def _waiter_tar(directory: str, busybox: bytes) -> bytes:
    import tarfile  # here: a running target's exec path makes no copy (5 ms of imports)

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(directory.lstrip("/"))
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
        info = tarfile.TarInfo(posixpath.join(directory.lstrip("/"), "cat"))
        info.size = len(busybox)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(busybox))
    return buf.getvalue()


def waiter_binary(
    engine: Engine, toolkit: str, toolkit_id: str, owner: str
) -> tuple[Callable[[], bytes], str, str | None]:
    """A static busybox: the toolkit's own (read once, then cached), else the host's.

    Returns:
        (what reads the binary, where it came from, the executable file that holds it on this
        host or None). Read only when it is copied in: a copy that binds the file spares the
        read (8-10 ms).

    Raises:
        ToolkitError: When neither the toolkit nor the host has one.
    """
    digest = toolkit_id.rpartition(":")[2]
    if not digest.isalnum():
        import hashlib  # an id that is no digest (a copy's needs none: 5 ms of imports)

        digest = hashlib.sha256(toolkit_id.encode()).hexdigest()
    cached = tk.cache_dir() / f"busybox-{digest[:24]}"
    if cached.is_file():
        where = f"{toolkit}'s static busybox (cached in {cached})"
        return cached.read_bytes, where, _runnable(cached)
    found = _toolkit_busybox(engine, toolkit_id, owner)
    if found is not None:
        path, data = found
        where = f"docker cp $(docker create {toolkit}):{path} ./busybox"
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.chmod(0o755)  # bound into copies, where it runs (see make_copy)
            tmp.replace(cached)
        except OSError:
            # A cache we cannot write costs the next copy one read.
            return lambda: data, where, None
        return lambda: data, where, str(cached)
    host = tk.host_busybox()
    if host is not None:
        where = f"cp {host} ./busybox  # the toolkit has no static one"
        return Path(host).read_bytes, where, _runnable(Path(host), ours=False)
    raise ToolkitError(
        f"the toolkit {toolkit} has no static busybox to keep a debug copy waiting",
        hint=f"--image {tk.DEFAULT_TOOLKIT}, or cdebug-tui toolkit build",
    )


def _runnable(path: Path, *, ours: bool = True) -> str | None:
    """`path` when all may run it (our cache is made so, if written before copies ran it in
    place; the host's own files are left as they are), else None."""
    try:
        if path.stat().st_mode & 0o555 != 0o555:
            if not ours:
                return None
            path.chmod(0o755)
    except OSError:
        return None
    return str(path)


def _toolkit_busybox(engine: Engine, toolkit_id: str, owner: str) -> tuple[str, bytes] | None:
    """The path and bytes of a static busybox on the toolkit's PATH, read without running it."""
    cid = engine.create_stopped(toolkit_id, {SIDECAR_LABEL: "1", OWNER_LABEL: owner})
    try:
        fs = tk._Fs(engine, cid)
        seen: set[str] = set()
        for d in tk.image_path(engine, toolkit_id).split(":"):
            for name in ("busybox", "sh"):
                real = fs.resolve(posixpath.join(d or "/", name))
                if not real or real in seen:
                    continue
                seen.add(real)
                data = fs.head(real)
                if tk.elf_interpreter(data) == "" and b"BusyBox v" in data:
                    return real, data
        return None
    finally:
        try:
            engine.remove_container(cid)
        except CdebugError:
            pass
