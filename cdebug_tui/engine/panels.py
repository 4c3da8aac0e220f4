"""Provides the readers behind the session panels: the target's processes and root filesystem.

Everything is read through a running session's sidecar (`session.run`), which shares the
target's PID namespace: the target's processes are in the sidecar's `/proc`, and the target's
root filesystem is at `/proc/1/root`. The shell commands stick to what both busybox and GNU
coreutils toolkits offer (`sh`, `cat`, `stat -c`, `head -c`); the parsing happens here, in Python.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Iterable
from typing import Protocol

from cdebug_tui.engine.models import Process, RootfsEntry
from cdebug_tui.errors import SessionError

#: Where the sidecar sees the target's root filesystem.
TARGET_ROOT = "/proc/1/root"
#: Clock ticks per second of /proc/PID/stat; 100 on every Linux that containers run on.
CLOCK_TICKS = 100
#: The names of the links a root-mode session puts into the target's `/`; hidden from the tree.
LINK_PREFIX = ".cdebug-"

_KINDS = {
    "d": "dir",
    "-": "file",
    "l": "link",
    "c": "char",
    "b": "block",
    "p": "fifo",
    "s": "socket",
}

# One `sh -c` for the whole process table: a fork per process would cost more than the
# reading. `$$` is printed so that the listing can leave itself (and its `cat`s) out.
_PROCESS_SCRIPT = r"""
echo "==SELF $$"
echo "==UPTIME"; cat /proc/uptime
echo "==PASSWD"; cat "/proc/$1/root/etc/passwd"
for p in /proc/[0-9]*; do
  echo "==PID ${p#/proc/}"
  cat "$p/stat"
  echo "==STATUS"
  cat "$p/status"
  echo "==CMDLINE"
  cat "$p/cmdline"
  echo
done
echo "==END"
"""

# `stat -c` formats are the same in busybox and coreutils; %N differs only in its quoting,
# which QUOTING_STYLE=literal turns off in coreutils (busybox always quotes).
_LIST_SCRIPT = r"""
cd "$1" || exit 3
passwd="/proc/$2/root/etc/passwd"
set -- * .[!.]* ..?*
echo "==PASSWD"; cat "$passwd"
echo "==STAT"
QUOTING_STYLE=literal stat -c '%A/%s/%u/%g/%n/%N' -- "$@"
echo "==END"
"""


class SessionRunner(Protocol):
    """The part of a DebugSession the panels use: running a command in the sidecar."""

    def run(self, argv: list[str], timeout: float = 10.0) -> tuple[int, bytes, bytes]:
        """Runs a command in the sidecar; returns (exit code, stdout, stderr)."""
        ...


class ProcessList(list[Process]):
    """A process table, with the target's uptime when it was read (for the next CPU rates).

    Attributes:
        uptime: Seconds since the machine booted, from the target's /proc/uptime.
    """

    uptime: float = 0.0


def parse_passwd(text: str) -> dict[int, str]:
    """User names by uid, from the text of an /etc/passwd."""
    users: dict[int, str] = {}
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) >= 3 and parts[2].isdigit():
            users.setdefault(int(parts[2]), parts[0])
    return users


def _sections(data: bytes) -> Iterable[tuple[str, bytes]]:
    """Splits the scripts' output at its `==NAME value` marker lines."""
    name = ""
    body: list[bytes] = []
    for line in data.split(b"\n"):
        if line.startswith(b"=="):
            yield name, b"\n".join(body)
            name, body = line[2:].decode(errors="replace"), []
        else:
            body.append(line)
    yield name, b"\n".join(body)


def parse_stat(text: str) -> tuple[str, str, int, int, int] | None:
    """The fields of /proc/PID/stat the panel shows.

    Returns:
        (comm, state, ppid, utime + stime ticks, start time in ticks), or None when malformed.
    """
    # The command name is in parentheses and may hold spaces and parentheses itself.
    open_, close = text.find("("), text.rfind(")")
    if open_ < 0 or close < 0:
        return None
    comm = text[open_ + 1 : close]
    rest = text[close + 1 :].split()
    if len(rest) < 20:
        return None
    try:
        return comm, rest[0], int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[19])
    except ValueError:
        return None


def parse_status(text: str) -> tuple[int, int]:
    """(real uid, resident memory in bytes) from /proc/PID/status; kernel threads have no RSS."""
    uid, rss = 0, 0
    for line in text.splitlines():
        if line.startswith("Uid:"):
            fields = line.split()
            uid = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
        elif line.startswith("VmRSS:"):
            fields = line.split()
            rss = int(fields[1]) * 1024 if len(fields) > 1 and fields[1].isdigit() else 0
    return uid, rss


def parse_processes(data: bytes, previous: list[Process] | None = None) -> ProcessList:
    """Parses the process script's output into processes, with CPU rates against `previous`.

    Without a previous sample, the CPU% is the average over the process's lifetime, as `ps`
    shows it; with one, it is the rate since that sample, as `top` shows it.
    """
    self_pid = -1
    uptime = 0.0
    users: dict[int, str] = {}
    raw: dict[int, dict[str, bytes]] = {}
    current: dict[str, bytes] | None = None
    for name, body in _sections(data):
        key, _, value = name.partition(" ")
        if key == "SELF":
            self_pid = int(value) if value.isdigit() else -1
        elif key == "UPTIME":
            try:
                uptime = float(body.split()[0])
            except (IndexError, ValueError):
                uptime = 0.0
        elif key == "PASSWD":
            users = parse_passwd(body.decode(errors="replace"))
        elif key == "PID" and value.isdigit():
            current = raw.setdefault(int(value), {})
            current["stat"] = body
        elif key in ("STATUS", "CMDLINE") and current is not None:
            current[key.lower()] = body
    prev_ticks: dict[int, int] = {p.pid: p.cpu_ticks for p in previous or ()}
    prev_uptime = getattr(previous, "uptime", 0.0) if previous is not None else 0.0
    elapsed = uptime - prev_uptime if prev_uptime else 0.0
    out = ProcessList()
    out.uptime = uptime
    for pid, files in sorted(raw.items()):
        stat = parse_stat(files.get("stat", b"").decode(errors="replace"))
        if stat is None:
            continue  # The process ended between the glob and the cat.
        comm, state, ppid, ticks, start = stat
        if self_pid in (pid, ppid):
            continue
        uid, rss = parse_status(files.get("status", b"").decode(errors="replace"))
        cmdline = files.get("cmdline", b"").rstrip(b"\n").rstrip(b"\0")
        command = cmdline.replace(b"\0", b" ").decode(errors="replace").strip() or f"[{comm}]"
        if elapsed > 0 and pid in prev_ticks:
            cpu = max(0.0, (ticks - prev_ticks[pid]) / CLOCK_TICKS / elapsed * 100)
        else:
            lifetime = uptime - start / CLOCK_TICKS
            cpu = ticks / CLOCK_TICKS / lifetime * 100 if lifetime > 0 else 0.0
        out.append(
            Process(
                pid=pid,
                ppid=ppid,
                uid=uid,
                user=users.get(uid, str(uid)),
                state=state,
                cpu_percent=round(cpu, 1),
                rss_bytes=rss,
                command=command,
                cpu_ticks=ticks,
            )
        )
    return out


def process_tree(processes: list[Process]) -> list[tuple[int, Process]]:
    """Orders processes as a tree, parents before their children.

    Returns:
        (depth, process) pairs, depth 0 for processes whose parent is not in the list.
    """
    pids = {p.pid for p in processes}
    children: dict[int, list[Process]] = {}
    roots: list[Process] = []
    for p in sorted(processes, key=lambda p: p.pid):
        if p.ppid in pids and p.ppid != p.pid:
            children.setdefault(p.ppid, []).append(p)
        else:
            roots.append(p)
    out: list[tuple[int, Process]] = []
    seen: set[int] = set()
    stack = [(0, p) for p in reversed(roots)]
    while stack:
        depth, p = stack.pop()
        if p.pid in seen:
            continue
        seen.add(p.pid)
        out.append((depth, p))
        stack.extend((depth + 1, c) for c in reversed(children.get(p.pid, [])))
    return out


def list_processes(session: SessionRunner, previous: list[Process] | None = None) -> ProcessList:
    """The target's processes, PIDs as the target sees them, with users from its /etc/passwd.

    Args:
        session: A running debug session.
        previous: The last sample (a ProcessList), for CPU rates since then.

    Raises:
        SessionError: When the sidecar cannot list them.
    """
    pid = _target_pid(session)
    code, out, err = session.run(["sh", "-c", _PROCESS_SCRIPT, "cdebug-ps", str(pid)], timeout=10)
    if b"==END" not in out:
        raise SessionError(f"cannot list the target's processes: {_first_line(err, code)}")
    processes = parse_processes(out, previous)
    if pid != 1:
        # The host's PID namespace (--pid host): every process of the host is there; the
        # target's are its main process and what descends from it.
        keep = {pid}
        for p in sorted(processes, key=lambda p: p.pid):
            if p.ppid in keep:
                keep.add(p.pid)
        kept = ProcessList(p for p in processes if p.pid in keep)
        kept.uptime = processes.uptime
        return kept
    return processes


def _target_pid(session: object) -> int:
    """The target's main process as the sidecar sees it: 1, or its host PID (--pid host)."""
    return int(getattr(session, "target_pid", 1))


def target_root(session: object) -> str:
    """Where the sidecar sees the target's root filesystem."""
    return f"/proc/{_target_pid(session)}/root"


def _link_target(name: str, quoted: str) -> str | None:
    """The link target in stat's %N (`'name' -> 'target'` in busybox, unquoted in coreutils)."""
    at = quoted.find(" -> ", len(name))
    if at < 0:
        return None
    target = quoted[at + 4 :]
    if quoted.startswith("'") and target.startswith("'") and target.endswith("'"):
        target = target[1:-1]
    return target


def parse_listing(
    data: bytes, path: str, changes: dict[str, str] | None = None
) -> list[RootfsEntry]:
    """Parses the listing script's output for one directory of the target.

    Args:
        data: The script's stdout.
        path: The directory, as the target sees it.
        changes: `docker diff` kinds by path, to mark changed entries and list deleted ones.

    Returns:
        Entries sorted directories first, then by name.
    """
    users: dict[int, str] = {}
    lines: list[str] = []
    for name, body in _sections(data):
        if name == "PASSWD":
            users = parse_passwd(body.decode(errors="replace"))
        elif name == "STAT":
            lines = body.decode(errors="replace").splitlines()
    changes = changes or {}
    entries: dict[str, RootfsEntry] = {}
    for line in lines:
        fields = line.split("/", 5)
        if len(fields) < 6 or not fields[0] or not fields[1].isdigit():
            continue
        mode, size, uid, gid, name, quoted = fields
        if name in (".", "..") or (path == "/" and name.startswith(LINK_PREFIX)):
            # The root-mode links are cdebug-tui's own, not the target's.
            continue
        kind = _KINDS.get(mode[0], "file")
        full = posixpath.join(path, name)
        entries[name] = RootfsEntry(
            path=full,
            name=name,
            kind=kind,
            size=int(size),
            mode=mode,
            uid=int(uid) if uid.isdigit() else 0,
            gid=int(gid) if gid.isdigit() else 0,
            owner=users.get(int(uid), uid) if uid.isdigit() else uid,
            link_target=_link_target(name, quoted) if kind == "link" else None,
            change=changes.get(full),
        )
    for changed, kind in changes.items():
        name = posixpath.basename(changed)
        if kind == "D" and posixpath.dirname(changed) == path and name not in entries:
            entries[name] = RootfsEntry(
                path=changed,
                name=name,
                kind="file",
                size=0,
                mode="----------",
                uid=0,
                gid=0,
                owner="",
                change="D",
            )
    return sorted(entries.values(), key=lambda e: (not e.is_dir, e.name))


def list_dir(session: SessionRunner, path: str) -> list[RootfsEntry]:
    """One directory of the target's root filesystem, read when the tree opens it.

    Entries that `docker diff` reports as added or changed carry `change`; deleted ones are
    listed with change "D".

    Args:
        session: A running debug session (its `engine` and `target` give `docker diff`).
        path: An absolute path as the target sees it.

    Raises:
        SessionError: When the directory cannot be read.
    """
    path = posixpath.normpath("/" + path.lstrip("/"))
    real = target_root(session) + ("" if path == "/" else path)
    argv = ["sh", "-c", _LIST_SCRIPT, "cdebug-ls", real, str(_target_pid(session))]
    code, out, err = session.run(argv, timeout=10)
    if code == 3 or b"==END" not in out:
        raise SessionError(f"cannot read {path}: {_first_line(err, code)}")
    return parse_listing(out, path, _changes(session))


def _changes(session: object) -> dict[str, str]:
    """`docker diff` of the session's target, by path; empty when it cannot be read."""
    engine = getattr(session, "engine", None)
    target = getattr(session, "target", None)
    if engine is None or target is None:
        return {}
    try:
        return {c.path: c.kind for c in engine.diff(target.id)}
    except Exception:  # noqa: BLE001 - the markers are a bonus; the listing still stands
        return {}


def preview_file(session: SessionRunner, path: str, limit: int = 64 * 1024) -> bytes:
    """The first `limit` bytes of a file of the target.

    Raises:
        SessionError: When it cannot be read (missing, a directory, no permission).
    """
    path = posixpath.normpath("/" + path.lstrip("/"))
    code, out, err = session.run(
        ["sh", "-c", f"head -c {int(limit)} {shlex.quote(target_root(session) + path)}"], timeout=10
    )
    if code != 0:
        raise SessionError(f"cannot read {path}: {_first_line(err, code)}")
    return out


def _first_line(err: bytes, code: int) -> str:
    text = err.decode(errors="replace").strip()
    return text.splitlines()[-1] if text else f"exit code {code}"
