"""Provides toolkit images: presets, acquisition, the local busybox build, what binaries need."""

from __future__ import annotations

import io
import json
import os
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cdebug_tui.engine.basics import DEFAULT_TOOLKIT, LOCAL_TOOLKIT, elf_interpreter
from cdebug_tui.errors import ImageUnavailableError, ToolkitError

if TYPE_CHECKING:
    import tarfile

    from cdebug_tui.engine.client import Engine, ProgressCallback

PRESETS = (
    "busybox:musl",
    "busybox:latest",
    "nixery.dev/shell/ps/strace/curl",
    "alpine",
    "nicolaka/netshoot",
)
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Where a static busybox is found on common hosts (Debian's busybox-static installs /bin/busybox).
HOST_BUSYBOX = ("/bin/busybox", "/usr/bin/busybox", "/usr/local/bin/busybox")

STATIC = "static"
NIX = "nix"
DYNAMIC = "dynamic"


@dataclass(frozen=True)
class ToolkitProfile:
    """What a toolkit image's binaries need, which decides how its shell can reach the target.

    Attributes:
        kind: "static" (runs anywhere), "nix" (needs the toolkit's /nix/store) or "dynamic"
            (needs the toolkit's own libraries, so it cannot run inside the target's root).
        reason: One line saying why, naming the binary that decided it.
        path: The toolkit's PATH.
    """

    image_id: str
    kind: str
    reason: str
    path: str


def cache_dir() -> Path:
    """cdebug-tui's cache: toolkit profiles, the engine's tini, copies' busybox."""
    import platformdirs

    # $XDG_CACHE_HOME/cdebug-tui on Linux, ~/Library/Caches/cdebug-tui on macOS.
    return Path(platformdirs.user_cache_dir("cdebug-tui"))


def _cache_file() -> Path:
    return cache_dir() / "toolkits.json"


def _load_cache() -> dict[str, Any]:
    try:
        return dict(json.loads(_cache_file().read_text()))
    except (OSError, ValueError):
        return {}


def cached_profile(image_id: str) -> ToolkitProfile | None:
    raw = _load_cache().get(image_id)
    try:
        return ToolkitProfile(**raw) if raw else None
    except TypeError:
        return None


def _store_profile(profile: ToolkitProfile) -> None:
    cache = _load_cache()
    cache[profile.image_id] = asdict(profile)
    path = _cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(cache))
        tmp.replace(path)
    except OSError:
        pass  # A cache we cannot write only costs the next run one classification.


class _Fs:
    """Reads a created container's files through the archive API, following symlinks."""

    def __init__(self, engine: Engine, container_id: str) -> None:
        self.engine = engine
        self.cid = container_id
        self.budget = 96 << 20  # bytes we accept to stream while classifying

    def _archive(self, path: str) -> Iterator[tuple[tarfile.TarInfo, bytes]]:
        stream = self.engine.archive(self.cid, path)
        if stream is None:
            return
        import tarfile  # here: the exec path reads no archive as a rule (tarfile, shutil: 5 ms)

        raw = _StreamReader(stream)
        with tarfile.open(fileobj=raw, mode="r|") as tar:
            for member in tar:
                head = b""
                if member.isfile():
                    f = tar.extractfile(member)
                    # Whole files: the tar stream passes over them anyway, and patchelf (as
                    # Nix builds use) puts PT_INTERP near the end of the file.
                    head = f.read(16 << 20) if f else b""
                yield member, head
                if raw.consumed > self.budget:
                    return

    def resolve(self, path: str, hops: int = 16) -> str | None:
        """Follows symlinks in the last component (and absolute ones) as the toolkit would."""
        for _ in range(hops):
            found = next(self._archive(path), None)
            if found is None:
                return None
            member, _ = found
            if not member.issym():
                return path
            target = member.linkname
            path = posixpath.normpath(
                target
                if target.startswith("/")
                else posixpath.join(posixpath.dirname(path), target)
            )
        return None

    def head(self, path: str) -> bytes:
        for member, head in self._archive(path):
            return head if member.isfile() else b""
        return b""


class _StreamReader(io.RawIOBase):
    """Adapts the engine's chunk iterator to the file object tarfile streams from."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buf = b""
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        self.consumed += n
        return n


def image_path(engine: Engine, image_id: str) -> str:
    """The toolkit's PATH, as its image sets it (DEFAULT_PATH when it sets none)."""
    env = engine.image_config(image_id).get("Env") or []
    return next((e[5:] for e in env if e.startswith("PATH=")), "") or DEFAULT_PATH


def classify(engine: Engine, image_id: str, container_id: str) -> ToolkitProfile:
    """Finds out what a toolkit's binaries need, from a created (not started) container.

    It reads the ELF headers of `sh` and of the files in the toolkit's PATH directories: a
    glibc target may well run a Debian toolkit's `sh` while `strace` fails there for want of
    its libraries, so what the binaries are decides, not whether one of them starts. The
    profile (with the PATH) is cached by image id: a known toolkit costs no engine call.

    Raises:
        ToolkitError: When the image has no shell.
    """
    cached = cached_profile(image_id)
    if cached is not None:
        return cached
    path = image_path(engine, image_id)
    fs = _Fs(engine, container_id)
    sh = None
    for d in path.split(":"):
        sh = fs.resolve(posixpath.join(d or "/", "sh"))
        if sh:
            break
    if sh is None:
        raise ToolkitError("the toolkit image has no shell (no sh on its PATH)")
    interp = elf_interpreter(fs.head(sh))
    profile = _profile_from(image_id, path, sh, interp)
    if profile.kind != DYNAMIC:
        # The shell alone does not decide: look at every binary on PATH, the first dynamic
        # one decides. Directories that are links (/bin -> /usr/bin) are read once.
        seen: set[str] = set()
        for d in path.split(":"):
            real = fs.resolve(d) if d else None
            if not real or real in seen:
                continue
            seen.add(real)
            for member, head in fs._archive(real):
                if not member.isfile():
                    continue
                i = elf_interpreter(head)
                if i and not i.startswith("/nix/store/"):
                    name = posixpath.join(posixpath.dirname(real), member.name)
                    profile = ToolkitProfile(
                        image_id, DYNAMIC, f"{name} is dynamically linked against {i}", path
                    )
                    break
            if profile.kind == DYNAMIC:
                break
    _store_profile(profile)
    return profile


def _profile_from(image_id: str, path: str, sh: str, interp: str | None) -> ToolkitProfile:
    if interp is None:
        return ToolkitProfile(image_id, STATIC, f"{sh} is not an ELF binary we can judge", path)
    if interp == "":
        return ToolkitProfile(image_id, STATIC, f"{sh} is statically linked", path)
    if interp.startswith("/nix/store/"):
        return ToolkitProfile(image_id, NIX, f"{sh} runs from the toolkit's /nix/store", path)
    return ToolkitProfile(image_id, DYNAMIC, f"{sh} is dynamically linked against {interp}", path)


def host_busybox() -> str | None:
    """The host's static busybox, if it has one."""
    import shutil

    for candidate in HOST_BUSYBOX:
        real = shutil.which(candidate) if not os.path.isabs(candidate) else candidate
        if real and os.path.isfile(real):
            with open(real, "rb") as f:
                if elf_interpreter(f.read(8192)) == "":
                    return real
    return None


def busybox_rootfs_tar(busybox: str) -> bytes:
    """A root filesystem with a static busybox at /bin/busybox and a link per applet."""
    import subprocess
    import tarfile

    applets = subprocess.run(
        [busybox, "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("bin", "tmp", "etc"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
        tar.add(busybox, arcname="bin/busybox")
        for applet in applets:
            if applet == "busybox" or "/" in applet:
                continue
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type = tarfile.SYMTYPE
            info.linkname = "busybox"
            tar.addfile(info)
    return buf.getvalue()


def build_local_toolkit(engine: Engine, ref: str = LOCAL_TOOLKIT) -> str:
    """Builds a toolkit image from the host's static busybox, as `docker import` would.

    Returns:
        The image's id.

    Raises:
        ImageUnavailableError: When the host has no static busybox.
    """
    busybox = host_busybox()
    if busybox is None:
        raise ImageUnavailableError(
            "no static busybox on this host to build a local toolkit from",
            hint="install one (Debian: busybox-static) or make an image reachable",
        )
    return engine.import_rootfs(
        busybox_rootfs_tar(busybox),
        ref,
        changes=[f"ENV PATH={DEFAULT_PATH}", 'CMD ["/bin/sh"]'],
    )


def ensure_image(
    engine: Engine,
    image: str,
    progress: ProgressCallback | None,
    notice: Callable[[str], None] | None = None,
) -> tuple[str, str]:
    """Makes sure a toolkit image is on the engine, pulling it or building the local busybox.

    Returns:
        (the reference used, the image id).

    Raises:
        ImageUnavailableError: When it is neither present nor pullable (nor buildable locally,
            for the default toolkit).
    """
    image_id = engine.image_id(image)
    if image_id:
        return image, image_id
    if image == DEFAULT_TOOLKIT and (local := engine.image_id(LOCAL_TOOLKIT)):
        # Offline hosts would wait on the registry at every start; the local build serves.
        if notice:
            notice(f"{image} is not here; using {LOCAL_TOOLKIT} (docker pull {image} to use it)")
        return LOCAL_TOOLKIT, local
    try:
        return image, engine.pull(image, progress)
    except ImageUnavailableError as exc:
        if image not in (DEFAULT_TOOLKIT, LOCAL_TOOLKIT):
            raise ImageUnavailableError(
                str(exc),
                hint=f"the local busybox toolkit works offline: --image {LOCAL_TOOLKIT}",
            ) from exc
        local = engine.image_id(LOCAL_TOOLKIT)
        if local is None:
            if notice:
                notice(
                    f"{image} cannot be pulled; building {LOCAL_TOOLKIT} from the host's busybox"
                )
            local = build_local_toolkit(engine)
        elif notice:
            notice(f"{image} cannot be pulled; using {LOCAL_TOOLKIT}")
        return LOCAL_TOOLKIT, local
