"""Provides the readers behind the session panels: the target's processes and root filesystem.

Everything is read through a running session's sidecar, which shares the target's PID
namespace: the target's processes are in the sidecar's `/proc`, and the target's root
filesystem is at `/proc/1/root` (`/proc/<its host PID>/root` for --pid host). One long-lived
shell of the sidecar, `sh -s cdebug-tui-reader` (PanelReader), answers every reading, so that
the user's `ps` shows one plainly named process rather than a new script each second. The shell
commands stick to what both busybox and GNU coreutils toolkits offer (`sh`, `cat`, `stat -c`,
`head -c`); the parsing happens here, in Python.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import shlex
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cdebug_tui.engine.ports import proc_net_ip
from cdebug_tui.engine.readings import OpenFile, Process, ProcessDetails, RootfsEntry
from cdebug_tui.errors import CdebugError, SessionError

if TYPE_CHECKING:
    from cdebug_tui.engine.session import DebugSession

#: The reader's name in the target's `ps`: `sh -s cdebug-tui-reader`.
READER_NAME = "cdebug-tui-reader"

#: Clock ticks per second of /proc/PID/stat; 100 on every Linux that containers run on.
CLOCK_TICKS = 100
#: The names of the links a root-mode session puts into the target's `/`; hidden from the tree.
LINK_PREFIX = ".cdebug-"

#: Where a record of the listing's `stat -c` begins: a line that does not is the rest of a
#: name with a newline in it (a name holds any byte but `/` and NUL).
_STAT_RECORD = re.compile(r"[-a-zA-Z?][-a-zA-Z]{9}/\d+/")

_KINDS = {
    "d": "dir",
    "-": "file",
    "l": "link",
    "c": "char",
    "b": "block",
    "p": "fifo",
    "s": "socket",
}

# The whole process table in one reading, with the shell's builtins where they do (a fork per
# file would cost more than the reading); only the command lines, which hold NULs, need `cat`.
# `$$` is printed so that the listing can mark the reader and leave its own `cat`s out.
_PROCESS_SCRIPT = r"""
echo "==SELF $$"
echo "==UPTIME"; read -r l < /proc/uptime; echo "$l"
echo "==PASSWD"; while IFS= read -r l; do echo "$l"; done < "/proc/$1/root/etc/passwd"
for p in /proc/[0-9]*; do
  read -r l < "$p/stat" 2>/dev/null || continue
  echo "==PID ${p#/proc/}"
  echo "$l"
  echo "==STATUS"
  while IFS= read -r l; do echo "$l"; done < "$p/status"
  echo "==CMDLINE"
  cat "$p/cmdline"
  echo
done 2>/dev/null
echo "==END"
"""

# One process in full, for its details; `$1` is its PID.
_DETAILS_SCRIPT = r"""
p=/proc/$1
[ -d "$p" ] || { echo "==GONE"; exit 0; }
echo "==CMDLINE"; head -c 65536 "$p/cmdline"
echo; echo "==ENVIRON"; head -c 65536 "$p/environ" || echo "==ERROR environ: cannot read"
echo; echo "==CWD"; readlink "$p/cwd" || echo "==ERROR cwd: cannot read"
echo "==EXE"; readlink "$p/exe"
echo "==STATUS"; cat "$p/status"
echo "==LIMITS"; cat "$p/limits"
echo "==CGROUP"; cat "$p/cgroup"
echo "==FD"; ls -l "$p/fd/" || echo "==ERROR open files: cannot read"
for n in tcp tcp6 udp udp6 unix; do echo "==NET $n"; cat "$p/net/$n"; done
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
QUOTING_STYLE=literal stat -c '%A/%s/%u/%g/%t/%T/%n/%N' -- "$@"
echo "==END"
"""


class PanelReader:
    """One long-lived shell in the sidecar that runs the panels' readings, one at a time.

    It is `sh -s cdebug-tui-reader`, reading its commands from its stdin: each reading is
    written to it and ends with a marker line that the reader waits for. A reader that died
    (or a reading that timed out, which closes it) is started again at the next reading. It runs
    under the session's reaper, as the shell does: a reading's subshell left running when the
    session ends is killed and reaped with it, not left to the target's PID 1 as a zombie.
    """

    def __init__(self, session: DebugSession) -> None:
        # Weak: the readers' table is keyed weakly by session, and a value that held its key
        # would keep every ended session (and its scrollback) alive.
        self._session = weakref.ref(session)
        self.pid = 0
        self._stream: Any = None
        self._lock = threading.Lock()
        self._seq = 0
        self._closed = False

    @property
    def session(self) -> DebugSession:
        session = self._session()
        if session is None:
            raise SessionError("the session has ended")
        return session

    def _open(self) -> Any:
        from cdebug_tui.engine.stream import Stream

        session = self.session
        argv = session.reaped(["sh", "-s", READER_NAME], f"{session.session_id}-reader")
        _, sock = session.engine.open_exec(session.sidecar_id, argv)
        stream = Stream(sock, tty=False)
        self._stream = stream
        self.pid = 0
        return stream

    def request(self, script: str, args: Iterable[str] = (), timeout: float = 10.0) -> bytes:
        """Runs `script` (its `$1`... set to `args`) in a subshell of the reader; its stdout.

        Raises:
            SessionError: When the reader cannot be started or the reading times out.
        """
        with self._lock, self.session.busy():
            if self._closed:
                raise SessionError("the session has ended")
            stream = self._stream if self._stream is not None else self._open()
            self._seq += 1
            end = f"==CDEBUG-READ-END {self._seq}".encode()
            quoted = " ".join(shlex.quote(a) for a in args)
            # A subshell, so that the script's `cd` or `exit` leave the reader as it was.
            command = f"( set -- {quoted}\n{script}\n) 2>/dev/null; echo; echo '{end.decode()}'\n"
            try:
                stream.write(command.encode())
                out = b""
                deadline = time.monotonic() + timeout
                while end not in out:
                    left = deadline - time.monotonic()
                    if left <= 0 or not stream.ready(left):
                        raise SessionError("a reading of the sidecar timed out")
                    kind, data = stream.read()
                    if not data:
                        raise SessionError("the sidecar's reader ended")
                    if kind == 1:
                        out += data
            except (OSError, SessionError) as exc:
                self._drop()
                raise SessionError(str(exc) or type(exc).__name__) from exc
            body = out[: out.rindex(end)]
            return body[:-1] if body.endswith(b"\n") else body  # the echo before the marker

    def _drop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass

    def close(self) -> None:
        """Ends the reader (its stdin closes; the shell exits)."""
        with self._lock:
            self._closed = True
            self._drop()


_readers: weakref.WeakKeyDictionary[DebugSession, PanelReader] = weakref.WeakKeyDictionary()
_readers_lock = threading.Lock()


def reader_of(session: DebugSession) -> PanelReader:
    """The session's reader (its shell starts at the first reading)."""
    with _readers_lock:
        reader = _readers.get(session)
        if reader is None:
            reader = _readers[session] = PanelReader(session)
        return reader


def close_reader(session: DebugSession) -> None:
    """Ends the session's reader, if it has one (the sidecar's end would end it too)."""
    with _readers_lock:
        reader = _readers.pop(session, None)
    if reader is not None:
        reader.close()


def _read(
    session: DebugSession, script: str, args: Iterable[str] = (), timeout: float = 10.0
) -> bytes:
    """A reading's stdout, through the session's reader."""
    return reader_of(session).request(script, args, timeout)


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
    commands = {
        pid: files.get("cmdline", b"").replace(b"\0", b" ").decode(errors="replace")
        for pid, files in raw.items()
    }
    prev_uptime = getattr(previous, "uptime", 0.0) if previous is not None else 0.0
    elapsed = uptime - prev_uptime if prev_uptime else 0.0
    out = ProcessList()
    out.uptime = uptime
    # The reading itself: the reader's subshell (its child) and that one's `cat`s.
    parents = {
        pid: parse_stat(f.get("stat", b"").decode(errors="replace")) for pid, f in raw.items()
    }
    reading = {pid for pid, st in parents.items() if st is not None and st[2] == self_pid}
    reading |= {pid for pid, st in parents.items() if st is not None and st[2] in reading}
    for pid, files in sorted(raw.items()):
        stat = parents[pid]
        if stat is None:
            continue  # The process ended between the glob and the cat.
        comm, state, ppid, ticks, start = stat
        if pid in reading:
            continue
        uid, rss = parse_status(files.get("status", b"").decode(errors="replace"))
        cmdline = files.get("cmdline", b"").rstrip(b"\n").rstrip(b"\0")
        command = cmdline.replace(b"\0", b" ").decode(errors="replace").strip() or f"[{comm}]"
        argv0 = posixpath.basename(cmdline.split(b"\0", 1)[0].decode(errors="replace"))
        forked = bool(cmdline and comm and argv0[:15] != comm)
        own = "" if forked else own_role(pid, ppid, command, self_pid, commands)
        if forked:
            # Not what its command line says (comm holds 15 characters): a busybox applet the
            # shell forked without an exec (`yes &` read as the shell's own line), a script
            # by its name. As busybox ps shows it: {yes} /bin/sh.
            command = f"{{{comm}}} {command}"
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
                # A fork that is not what its command line says is the user's job (the debug
                # shell's `yes &`), not the shell: its command line is the shell's.
                own=own,
            )
        )
    return out


def own_role(pid: int, ppid: int, command: str, reader: int, commands: dict[int, str]) -> str:
    """What a process is when it is cdebug-tui's own, else "".

    Args:
        pid: The process.
        ppid: Its parent.
        command: Its command line, spaces for NULs.
        reader: The panel reader's PID.
        commands: Every process's command line by PID, to follow the parents.
    """
    if pid == reader:
        return "panel reader"
    if "cdebug-supervisor" in command:
        return "supervisor"
    # The debug shell and the panel reader run under tini (-s, reaping their orphans) and a
    # reaper script, so that a session leaves no process and no zombie in the target
    # (sidecar.py, subreaper.py). Their command lines name the reader too: these go first.
    if "cdebug-tui-init" in command:
        return "reaper (tini)"
    if "cdebug-reaper" in command:
        return "reaper"
    if READER_NAME in command:
        return "panel reader"
    if "/.cdebug-copy-" in command:
        # A debug copy's PID 1: the busybox cat that keeps the copy of a stopped container up.
        return "debug copy's placeholder"
    parent = commands.get(ppid, "")
    if "/.cdebug-" in command and parent.strip() == command:
        # A fork of the debug shell that runs no program of its own: the user's subshell
        # (`( ...; sleep 60 ) &`), shown as theirs, not as a second debug shell.
        return ""
    if "/.cdebug-" in command or "cdebug-anchor" in command:
        return "debug shell" if "/.cdebug-" in command else "anchor"
    if "cdebug-supervisor" in parent:
        return "supervisor's helper"
    if _SHELL_REAPER.search(parent) and READER_NAME not in parent:
        # In toolkit mode the shell is the toolkit's /bin/sh, by no path of ours: it is the
        # command of the reaper tagged with the session alone (a panel's runs add -rN).
        return "debug shell"
    return ""


#: The reaper of a session's shell (its tag, the session's id, then `run`).
_SHELL_REAPER = re.compile(r"cdebug-reaper-[0-9a-f]+ run ")


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


def list_processes(session: DebugSession, previous: list[Process] | None = None) -> ProcessList:
    """The target's processes, PIDs as the target sees them, with users from its /etc/passwd.

    Args:
        session: A running debug session.
        previous: The last sample (a ProcessList), for CPU rates since then.

    Raises:
        SessionError: When the sidecar cannot list them.
    """
    pid = session.target_pid
    out = _read(session, _PROCESS_SCRIPT, [str(pid)])
    if b"==END" not in out:
        raise SessionError("cannot list the target's processes")
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


def target_root(session: DebugSession) -> str:
    """Where the sidecar sees the target's root filesystem (through its main process)."""
    return f"/proc/{session.target_pid}/root"


def process_details(session: DebugSession, pid: int) -> ProcessDetails:
    """One process in full: command line, environment, working directory, open files and
    sockets, limits, cgroup; read from /proc/PID through the sidecar.

    Raises:
        SessionError: When the process is gone or nothing could be read.
    """
    out = _read(session, _DETAILS_SCRIPT, [str(int(pid))])
    if b"==GONE" in out.split(b"\n", 1)[0] or b"==END" not in out:
        raise SessionError(f"process {pid} has ended")
    return parse_details(pid, out)


def parse_details(pid: int, data: bytes) -> ProcessDetails:
    """Parses the details script's output."""
    parts: dict[str, bytes] = {}
    nets: dict[str, str] = {}
    errors: list[str] = []
    for name, body in _sections(data):
        key, _, value = name.partition(" ")
        if key == "NET":
            nets[value] = body.decode(errors="replace")
        elif key == "ERROR":
            errors.append(value)
        else:
            parts[key] = body

    def text(key: str) -> str:
        return parts.get(key, b"").decode(errors="replace").strip("\n")

    argv = tuple(a.decode(errors="replace") for a in parts.get("CMDLINE", b"").split(b"\0") if a)
    environ = tuple(
        e.decode(errors="replace") for e in parts.get("ENVIRON", b"").strip(b"\n").split(b"\0") if e
    )
    status = tuple(
        (k.strip(), v.strip())
        for line in text("STATUS").splitlines()
        if ":" in line
        for k, _, v in [line.partition(":")]
    )
    sockets = parse_sockets(nets)
    files = []
    for line in text("FD").splitlines():
        left, arrow, target = line.partition(" -> ")
        if not arrow or not left.split():
            continue
        fd = left.split()[-1]
        if not fd.isdigit():
            continue
        inode = target[8:-1] if target.startswith("socket:[") else ""
        files.append(OpenFile(int(fd), target, sockets.get(inode, "")))
    return ProcessDetails(
        pid=pid,
        argv=argv,
        environ=environ,
        cwd=text("CWD"),
        exe=text("EXE"),
        status=status,
        limits=tuple(text("LIMITS").splitlines()),
        cgroup=tuple(text("CGROUP").splitlines()),
        files=tuple(sorted(files, key=lambda f: f.fd)),
        errors=tuple(errors),
    )


#: TCP states as /proc/net/tcp numbers them (include/net/tcp_states.h).
_TCP_STATES = {
    "01": "ESTABLISHED",
    "02": "SYN_SENT",
    "03": "SYN_RECV",
    "04": "FIN_WAIT1",
    "05": "FIN_WAIT2",
    "06": "TIME_WAIT",
    "07": "CLOSE",
    "08": "CLOSE_WAIT",
    "09": "LAST_ACK",
    "0A": "LISTEN",
    "0B": "CLOSING",
}


def _address(hex_addr: str) -> str:
    """`0100007F:1F90` as `127.0.0.1:8080` (IPv6 in brackets); the kernel's words are host
    order, little-endian on every machine containers run on."""
    host, _, port = hex_addr.partition(":")
    ip = proc_net_ip(host)
    return f"[{ip}]:{int(port, 16)}" if ":" in ip else f"{ip}:{int(port, 16)}"


def parse_sockets(nets: dict[str, str]) -> dict[str, str]:
    """Sockets by inode, described: "tcp 0.0.0.0:8080 LISTEN", "unix /run/app.sock".

    Args:
        nets: The text of /proc/PID/net/{tcp,tcp6,udp,udp6,unix} by name.
    """
    out: dict[str, str] = {}
    for kind in ("tcp", "tcp6", "udp", "udp6"):
        for line in nets.get(kind, "").splitlines()[1:]:
            f = line.split()
            if len(f) < 10:
                continue
            try:
                local, remote = _address(f[1]), _address(f[2])
            except ValueError:
                continue
            state = _TCP_STATES.get(f[3], f[3]) if kind.startswith("tcp") else ""
            where = local if state == "LISTEN" or remote.endswith(":0") else f"{local} → {remote}"
            out[f[9]] = f"{kind} {where} {state}".strip()
    for line in nets.get("unix", "").splitlines()[1:]:
        f = line.split()
        if len(f) >= 7:
            out[f[6]] = "unix " + (f[7] if len(f) > 7 else "(unnamed)")
    return out


def send_signal(session: DebugSession, pid: int, signal: str) -> None:
    """Sends a signal (a name: TERM, KILL, HUP, ...) to a process of the target.

    Raises:
        SessionError: When kill fails (no such process, not permitted).
    """
    if not signal.isalnum():
        raise SessionError(f"no such signal: {signal}")
    out = _read(session, f'kill -{signal} "$1" 2>&1; echo "==CODE $?"', [str(int(pid))])
    text = out.decode(errors="replace")
    if "==CODE 0" not in text:
        reason = text.split("==CODE")[0].strip() or "kill failed"
        raise SessionError(f"cannot send SIG{signal} to {pid}: {reason}")


def toolkit_has(session: DebugSession, command: str) -> bool:
    """Whether the toolkit (the sidecar's own root) has a command, e.g. strace."""
    try:
        out = _read(session, 'command -v "$1" && echo "==FOUND"', [command])
    except CdebugError:
        return False
    return b"==FOUND" in out


def _device(major: str, minor: str) -> tuple[int, int] | None:
    """A device file's numbers, from stat's %t and %T (hexadecimal)."""
    try:
        return int(major, 16), int(minor, 16)
    except ValueError:
        return None


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
            # At newlines only: splitlines() also splits at \r, \f and more, which names hold.
            lines = body.decode(errors="replace").split("\n")
    changes = changes or {}
    records: list[str] = []
    for line in lines:
        if records and not _STAT_RECORD.match(line):
            records[-1] += "\n" + line
        else:
            records.append(line)
    entries: dict[str, RootfsEntry] = {}
    for record in records:
        fields = record.split("/", 7)
        if len(fields) < 8 or not fields[0] or not fields[1].isdigit():
            continue
        mode, size, uid, gid, major, minor, name, quoted = fields
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
            device=_device(major, minor) if kind in ("char", "block") else None,
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


def list_dir(
    session: DebugSession, path: str, changes: dict[str, str] | None = None
) -> list[RootfsEntry]:
    """One directory of the target's root filesystem, read when the tree opens it.

    Entries that `docker diff` reports as added or changed carry `change`; deleted ones are
    listed with change "D".

    Args:
        session: A running debug session (its `engine` and `target` give `docker diff`).
        path: An absolute path as the target sees it.
        changes: `docker diff` as read last (see changes_of); None reads it now.

    Raises:
        SessionError: When the directory cannot be read.
    """
    path = posixpath.normpath("/" + path.lstrip("/"))
    real = target_root(session) + ("" if path == "/" else path)
    out = _read(session, _LIST_SCRIPT, [real, str(session.target_pid)])
    if b"==END" not in out:
        raise SessionError(f"cannot read {path}: no such directory, or not allowed")
    return parse_listing(out, path, changes_of(session) if changes is None else changes)


def changed_entries(
    session: DebugSession, changes: dict[str, str], limit: int = 50
) -> dict[str, RootfsEntry]:
    """What `docker diff` reports added or changed, read as the tree lists it (size, mode,
    owner), by path: a reading per directory, of the first `limit` directories."""
    by_dir: dict[str, set[str]] = {}
    for path, kind in changes.items():
        if kind != "D":
            by_dir.setdefault(posixpath.dirname(path), set()).add(path)
    out: dict[str, RootfsEntry] = {}
    for folder in sorted(by_dir)[:limit]:
        try:
            entries = list_dir(session, folder, changes)
        except CdebugError:
            continue  # gone since the diff: the tree shows the path alone
        out.update((e.path, e) for e in entries if e.path in by_dir[folder])
    return out


def changes_of(session: DebugSession) -> dict[str, str]:
    """`docker diff` of the session's target, by path, without cdebug-tui's own links (the
    root-mode `/.cdebug-*`); for a debug copy, against the original's image (what the
    original wrote included); empty when it cannot be read."""
    try:
        changes = {c.path: c.kind for c in session.engine.diff(session.target.id)}
        if session.copy is not None:
            changes = session.copy.changes_since_image(changes)
    except CdebugError:
        return {}  # the markers are a bonus; the listing still stands
    return {p: k for p, k in changes.items() if not p.startswith("/" + LINK_PREFIX)}


def preview_file(session: DebugSession, path: str, limit: int = 64 * 1024) -> bytes:
    """The first `limit` bytes of a file of the target.

    Raises:
        SessionError: When it cannot be read (missing, a directory, no permission).
    """
    path = posixpath.normpath("/" + path.lstrip("/"))
    out = _read(
        session, 'head -c "$1" "$2" && echo "==OK"', [str(int(limit)), target_root(session) + path]
    )
    if not out.endswith(b"==OK\n"):
        raise SessionError(f"cannot read {path}: no such file, or not allowed")
    return out[: out.rindex(b"==OK\n")]


class _ChunkReader(io.RawIOBase):
    """A readable file over an iterator of byte chunks (the archive API's stream), for
    tarfile's streaming mode: nothing is held in memory but one chunk."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self._chunks = iter(chunks)
        self._buf = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            try:
                self._buf = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]  # a view: the rest of a chunk is not copied at each read
        return n


def free_name(directory: Path, name: str) -> Path:
    """`name` in `directory`, or name-1, name-2, ... (before its extension) when taken."""
    lead = "." if name.startswith(".") else ""  # .config.tar: .config-1.tar, not .config.tar-1
    stem, dot, ext = name[len(lead) :].partition(".")
    path = directory / name
    n = 0
    while path.exists() or path.is_symlink():
        n += 1
        path = directory / f"{lead}{stem}-{n}{dot}{ext}"
    return path


#: Links followed, at most, to the file they name (the engine resolves a whole chain at once).
_LINKS_FOLLOWED = 8


def save_from_target(
    session: DebugSession,
    path: str,
    directory: Path,
    cancelled: Callable[[], bool] = lambda: False,
) -> tuple[Path, str, int]:
    """Saves a file of the target, or a directory as a tar archive, in `directory` of this
    host, as `docker cp` reads it: through the engine's archive API, which runs nothing in the
    target; a link, what it names. The file is new, of mode 0600 (what it holds may be secret),
    never over another, and appears whole or not at all.

    Returns:
        The file written, the path saved (a link's target) and the size in bytes.

    Raises:
        SessionError: When the target has no such file, or not one to save, or `cancelled()`
            said so midway.
        CdebugError: When the engine fails as the file is read.
        OSError: When the file cannot be written (nothing is left behind).
    """
    engine, cid = session.engine, session.target.id
    path = posixpath.normpath("/" + path.lstrip("/"))
    # Named as the path asked for, a link's too (`docker cp -L`): its content is what it names.
    asked = posixpath.basename(path) or "rootfs"
    stat = engine.stat_path(cid, path)
    for _ in range(_LINKS_FOLLOWED):
        if stat is None or stat.kind != "link" or not stat.link_target:
            break
        path = stat.link_target
        stat = engine.stat_path(cid, path)
    if stat is None and path.startswith(("/proc/", "/sys/")):
        # Kernel files the archive API does not reach (/proc/cpuinfo): read through the
        # sidecar, as the preview does; they are small.
        data = preview_file(session, path, 64 << 20)
        dest, size = _write_new(directory, asked, lambda out: out.write(data))
        return dest, path, size
    if stat is None:
        raise SessionError(f"cannot save {path}: the target has no such file")
    if stat.kind not in ("file", "dir"):
        raise SessionError(f"cannot save {path}: a device, fifo or socket, not a file")
    is_dir = stat.kind == "dir"
    stream = engine.archive(cid, path)
    if stream is None:
        raise SessionError(f"cannot save {path}: the target has no such file")
    name = asked + (".tar" if is_dir else "")
    dest, size = _write_new(
        directory, name, lambda out: _copy_out(stream, out, is_dir, path, cancelled)
    )
    return dest, path, size


def _write_new(directory: Path, name: str, write: Callable[[Any], int]) -> tuple[Path, int]:
    """A new file of mode 0600 named `name` (or a free name beside it), filled by `write`
    (which returns the size) in a hidden part file that takes its name only once whole;
    nothing is left on failure."""
    part = directory / f".{name}.{os.getpid()}-{os.urandom(3).hex()}.part"
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            size = write(out)
        return _settle(part, directory, name), size
    finally:
        part.unlink(missing_ok=True)


def _copy_out(
    stream: Iterable[bytes], out: Any, is_dir: bool, path: str, cancelled: Callable[[], bool]
) -> int:
    """Writes the archive as it comes (a directory), or the one file in it; returns the size."""
    import tarfile  # here: only a save needs it

    size = 0
    if is_dir:
        chunks: Iterable[bytes] = stream
    else:
        try:
            tar = tarfile.open(fileobj=_ChunkReader(stream), mode="r|")
            member = tar.next()
            source = tar.extractfile(member) if member and member.isfile() else None
        except tarfile.TarError as exc:
            raise SessionError(f"cannot save {path}: {exc}") from exc
        if source is None:
            raise SessionError(f"cannot save {path}: not a regular file")
        chunks = iter(lambda: source.read(1 << 20), b"")
    for chunk in chunks:
        if cancelled():
            raise SessionError(f"the save of {path} was cancelled")
        out.write(chunk)
        size += len(chunk)
    return size


def _settle(part: Path, directory: Path, name: str) -> Path:
    """Gives the finished file its name: a new one, never another file's, even if one came
    meanwhile (a link fails when the name is taken; rename would overwrite)."""
    while True:
        dest = free_name(directory, name)
        try:
            os.link(part, dest)
            return dest
        except FileExistsError:
            continue
        except OSError:
            if dest.exists():
                continue
            os.rename(part, dest)  # a filesystem without hard links
            return dest
