"""Provides what a sidecar is made of, with the standard library only, for exec's quick start."""

from __future__ import annotations

import json
import os
import re
import stat
import struct

# `cdebug-tui exec -it` makes its sidecar before the session's modules load (engine/quick.py):
# what that takes, and the modules that load later share, is here, light to import.

#: The label every sidecar carries, so that it can always be found and removed.
SIDECAR_LABEL = "io.cdebug-tui.sidecar"
#: Labels that say whose sidecar it is: the target's id, the owner's pid and host, the session id.
TARGET_LABEL = "io.cdebug-tui.target"
OWNER_LABEL = "io.cdebug-tui.owner"
SESSION_LABEL = "io.cdebug-tui.session"

#: The detach keys of every exec we start, and of a direct session's attach. The engine holds
#: back a key typed on its own that begins them, until the next key says whether they follow:
#: its default, ctrl+p ctrl+q, held the shell's ctrl+p (history, vi's completion). ctrl+] is
#: cdebug-tui's own key: the app never sends it to a shell (unless tui.json gives its role to
#: another key); a ctrl+] typed alone in `exec -it` waits for the next key. A key that comes
#: with others in one read is never held, and no one types this whole sequence.
DETACH_KEYS = "ctrl-],ctrl-@,ctrl-],ctrl-@,ctrl-],ctrl-@"

DEFAULT_TOOLKIT = "busybox:musl"
#: The toolkit built from the host's static busybox when no registry can be reached.
LOCAL_TOOLKIT = "cdebug-tui/busybox:local"

#: CAP_SYS_PTRACE: a debugger needs it, and without it a root process cannot follow
#: /proc/<pid>/root of a target that runs as another user (distroless images run as 65532).
ADDED_CAPS = ("SYS_PTRACE",)
#: The sidecar's main process: the supervisor, whose script travels in the environment so
#: that `ps` shows one short line for it.
SUPERVISOR_ENTRYPOINT = ("sh", "-c", 'eval "$CDEBUG_SUPERVISOR"', "cdebug-supervisor")

#: A variable's name as the shell's `export` takes it (a direct session's shell gets its
#: environment that way), and names a shell keeps read-only (bash's, when it is the toolkit's
#: sh), which `export` fails on.
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_READ_ONLY = frozenset(("UID", "EUID", "PPID", "BASHOPTS", "SHELLOPTS", "BASH_VERSINFO"))
#: Where the sidecar gets tini: in its own root, never in the target's.
INIT_PATH = "/cdebug-tui-init"
#: Static tinis a Linux host may have (Debian's tini package, Docker's docker-init): lent to a
#: sidecar of an engine on this host that lends none (Podman: its --init needs catatonit).
HOST_INITS = (
    "/usr/bin/tini-static",
    "/usr/local/bin/tini-static",
    "/usr/libexec/docker/docker-init",
    "/usr/bin/docker-init",
    "/usr/local/bin/docker-init",
)
#: ELF e_machine by `uname -m`: a host's binary runs in the engine's containers on this host.
ELF_MACHINES = {"x86_64": 62, "aarch64": 183, "armv7l": 40, "ppc64le": 21, "s390x": 22}


def exportable(env: tuple[str, ...]) -> bool:
    """Whether the shell's `export` takes every KEY=VALUE of `env` (a direct session's shell
    gets its environment that way; the usual session's exec takes any)."""
    return all(
        _ENV_NAME.fullmatch(key) and key not in _READ_ONLY
        for key in (item.partition("=")[0] for item in env)
    )


def current_context(config_dir: str) -> str | None:
    """The context config.json in the docker CLI's directory names as current, or None."""
    try:
        with open(os.path.join(config_dir, "config.json"), encoding="utf-8") as f:
            name = json.load(f).get("currentContext")
    except (OSError, ValueError, AttributeError):
        return None
    return name if isinstance(name, str) and name else None


def local_toolkit_notice(image: str) -> str:
    """What the user is told when the default toolkit is not here and the local build is."""
    return f"{image} is not here; using {LOCAL_TOOLKIT} (docker pull {image} to use it)"


def script(name: str) -> str:
    """One of the sidecar's scripts (supervisor.sh, reaper.sh), beside this module."""
    # A plain file: importlib.resources costs the exec path 5-10 ms of imports (tempfile,
    # zipfile) for two files in the package's directory.
    with open(os.path.join(os.path.dirname(__file__), name), encoding="utf-8") as f:
        return f.read()


def sidecar_name(target_name: str, session_id: str) -> str:
    """The sidecar's container name when the user gives none."""
    return f"cdebug-{target_name[:40]}-{session_id[:6]}"


def sidecar_ipc_mode(target_id: str, target_ipc_mode: str) -> str | None:
    """The IPC namespace the sidecar joins: the target's when it is shareable; None: its own."""
    if target_ipc_mode == "shareable":
        return f"container:{target_id}"
    if target_ipc_mode.startswith("container:"):
        return target_ipc_mode
    return None


def sidecar_caps(
    target_add: tuple[str, ...],
    target_drop: tuple[str, ...],
    profile_add: tuple[str, ...] = (),
    drop_all: bool = False,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The sidecar's (cap_add, cap_drop): the target's own with CAP_SYS_PTRACE and the
    profile's added, or only the profile's (`drop_all`)."""
    if drop_all:
        return profile_add, ("ALL",)
    added = (*ADDED_CAPS, *profile_add)
    cap_add = tuple(dict.fromkeys((*target_add, *added)))
    cap_drop = tuple(c for c in target_drop if c.upper().removeprefix("CAP_") not in added)
    return cap_add, cap_drop


def elf_interpreter(head: bytes) -> str | None:
    """The ELF interpreter (PT_INTERP) named in the first bytes of a file.

    Returns:
        The interpreter's path, "" for a static ELF binary, or None when it is not ELF.
    """
    if len(head) < 64 or head[:4] != b"\x7fELF":
        return None
    is64 = head[4] == 2
    endian = "<" if head[5] == 1 else ">"
    if is64:
        (phoff,) = struct.unpack_from(endian + "Q", head, 0x20)
        phentsize, phnum = struct.unpack_from(endian + "HH", head, 0x36)
    else:
        (phoff,) = struct.unpack_from(endian + "I", head, 0x1C)
        phentsize, phnum = struct.unpack_from(endian + "HH", head, 0x2A)
    for i in range(phnum):
        off = phoff + i * phentsize
        if off + phentsize > len(head):
            break
        (p_type,) = struct.unpack_from(endian + "I", head, off)
        if p_type != 3:  # PT_INTERP
            continue
        if is64:
            (p_offset,) = struct.unpack_from(endian + "Q", head, off + 8)
            (p_filesz,) = struct.unpack_from(endian + "Q", head, off + 32)
        else:
            (p_offset,) = struct.unpack_from(endian + "I", head, off + 4)
            (p_filesz,) = struct.unpack_from(endian + "I", head, off + 16)
        raw = head[p_offset : p_offset + p_filesz]
        if len(raw) < p_filesz:
            return "?"  # not in the bytes we have; dynamic, with an unknown interpreter
        return raw.split(b"\0", 1)[0].decode(errors="replace") or "?"
    return ""


def host_init_path() -> str:
    """The path of this host's static tini (HOST_INITS, links resolved), for a sidecar of an
    engine on this host; "" when it has none."""
    machine = ELF_MACHINES.get(os.uname().machine)
    for path in HOST_INITS:
        real = os.path.realpath(path)
        # tini by its name, resolved: catatonit, Podman's usual init (which a docker-init could
        # be a link to), has no -s (child subreaper) to run as a sidecar's.
        name = os.path.basename(real)
        if not (name.startswith("tini") or name == "docker-init"):
            continue
        try:
            info = os.stat(real)
            # A regular file, executable: never a FIFO that would block.
            if not stat.S_ISREG(info.st_mode) or not info.st_mode & 0o111:
                continue
            with open(real, "rb") as f:
                head = f.read(4096)
        except OSError:
            continue
        # Static (the toolkit's root may have no libc), for this machine.
        if elf_interpreter(head) == "" and int.from_bytes(head[18:20], "little") == machine:
            return real
    return ""
