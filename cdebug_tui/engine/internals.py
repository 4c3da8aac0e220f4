"""Provides what a learner looks at: namespaces, capabilities, cgroup and mounts, read live."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cdebug_tui.engine.session import DebugSession

NAMESPACES = ("pid", "net", "ipc", "uts", "mnt", "user", "cgroup", "time")

#: What sharing (or not sharing) each namespace means for the debug shell, in one sentence.
NS_SHARED = {
    "pid": "same PID namespace: the shell sees the target's processes, and the target's main "
    "process is PID 1 for it too",
    "net": "same network namespace: the shell sees the target's interfaces, ports and sockets, "
    "and localhost is the target's localhost",
    "ipc": "same IPC namespace: the shell sees the target's shared memory and message queues",
    "uts": "same UTS namespace: the same hostname as the target",
    "mnt": "same mount namespace: the same view of every mount",
    "user": "same user namespace: uid 0 is the same root as the target's (and the host's, "
    "unless the engine remaps users)",
    "cgroup": "same cgroup namespace: the same view of the cgroup tree",
    "time": "same time namespace: the same clocks",
}
NS_SEPARATE = {
    "pid": "separate PID namespace: the shell would not see the target's processes",
    "net": "separate network namespace: the shell has its own interfaces and localhost",
    "ipc": "separate IPC namespace: the target's IPC namespace is private (not shareable), so "
    "the sidecar cannot join it",
    "uts": "separate UTS namespace: the sidecar has its own hostname",
    "mnt": "separate mount namespace: the sidecar has its own root (the toolkit); it reaches "
    "the target's files through /proc/1/root, with the target's mounts",
    "user": "separate user namespace: uids are mapped differently",
    "cgroup": "separate cgroup namespace: the sidecar sees its own cgroup as the root",
    "time": "separate time namespace",
}

#: Linux capability numbers to names (capability.h).
CAPS = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
)  # fmt: skip


def decode_caps(mask: int) -> tuple[str, ...]:
    """Capability names of a bit mask, e.g. from CapEff in /proc/PID/status."""
    names = [f"CAP_{name}" for bit, name in enumerate(CAPS) if mask >> bit & 1]
    names += [f"CAP_{bit}" for bit in range(len(CAPS), 64) if mask >> bit & 1]
    return tuple(names)


@dataclass(frozen=True)
class NamespaceRow:
    kind: str
    target: str
    shell: str
    host: str | None
    shared: bool
    meaning: str


@dataclass(frozen=True)
class ProcessSecurity:
    """One process's credentials and confinement, from /proc/PID/status and attr/current."""

    uid: str
    effective: tuple[str, ...]
    bounding: tuple[str, ...]
    seccomp: str
    no_new_privs: bool
    apparmor: str


@dataclass(frozen=True)
class CgroupInfo:
    path: str
    version: int
    memory_limit: int | None
    memory_current: int | None
    cpu_quota: float | None  # CPUs, e.g. 0.5
    pids_max: int | None
    pids_current: int | None


@dataclass(frozen=True)
class MountRow:
    mount_point: str
    fstype: str
    source: str
    options: str
    what: str


@dataclass(frozen=True)
class Internals:
    """A live reading of the target and the debug shell, for the internals view and --explain."""

    namespaces: tuple[NamespaceRow, ...]
    target: ProcessSecurity
    sidecar: ProcessSecurity
    readonly_rootfs: bool
    privileged: bool
    cgroup: CgroupInfo
    mounts: tuple[MountRow, ...]
    pid1_cmdline: str
    host_pid: int
    #: The target's PID 1 as the host sees it (uid, command), when the engine is local.
    host_view: str | None = None

    @property
    def added_caps(self) -> tuple[str, ...]:
        return tuple(c for c in self.sidecar.bounding if c not in self.target.bounding)

    @property
    def dropped_caps(self) -> tuple[str, ...]:
        return tuple(c for c in self.target.bounding if c not in self.sidecar.bounding)


#: The PID namespace row of a target in the host's PID namespace (--pid host).
HOST_PID_MEANING = (
    "the host's PID namespace (the target runs with --pid host): its main process is host PID "
    "{pid}, not 1; the shell sees every process of the host, the processes panel only the "
    "target's tree, and a kill here can reach any process of the host"
)


def _cgroup_script(tpid: int = 1) -> list[str]:
    """Shell lines that print the target's cgroup path, limits and usage."""
    cg = f"/proc/{tpid}/root/sys/fs/cgroup"
    files = [
        f"{cg}/memory.max", f"{cg}/memory.current", f"{cg}/cpu.max", f"{cg}/pids.max",
        f"{cg}/pids.current", f"{cg}/memory/memory.limit_in_bytes",
        f"{cg}/memory/memory.usage_in_bytes", f"{cg}/cpu/cpu.cfs_quota_us",
        f"{cg}/cpu/cpu.cfs_period_us", f"{cg}/pids/pids.max", f"{cg}/pids/pids.current",
    ]  # fmt: skip
    lines = [f'while IFS= read -r l; do echo "cgroup $l"; done < /proc/{tpid}/cgroup']
    for f in files:
        lines.append(f'[ -r {f} ] && echo "cg {os.path.relpath(f, cg)} $(cat {f})"')
    return lines


def _script(sup: int, tpid: int = 1) -> str:
    ns = " ".join(NAMESPACES)
    lines = [
        f'for n in {ns}; do echo "ns $n $(readlink /proc/{tpid}/ns/$n) '
        f'$(readlink /proc/{sup}/ns/$n)"; done',
        # The target's lines say "1" whatever its PID here (its host PID, for --pid host).
        f"for p in {tpid}:1 {sup}:{sup}; do k=${{p#*:}}; p=${{p%:*}}",
        '  while IFS= read -r l; do echo "status $k $l"; done < /proc/$p/status',
        '  echo "apparmor $k $(cat /proc/$p/attr/current 2>/dev/null)"',
        "done",
        f"echo \"cmdline $(tr '\\0' ' ' < /proc/{tpid}/cmdline)\"",
    ]
    lines += _cgroup_script(tpid)
    lines.append(f'while IFS= read -r l; do echo "mount $l"; done < /proc/{tpid}/mountinfo')
    lines.append("true")
    return "\n".join(lines)


def _read(session: DebugSession, script: str) -> str | None:
    """A reading's output through the session's long-lived reader (one plainly named process
    of the sidecar, not a new exec and script per reading); None when it stopped half-way."""
    from cdebug_tui.engine.panels import reader_of

    out = reader_of(session).request(f"{script}\necho ==INTERNALS-END").decode(errors="replace")
    body, found, _ = out.rpartition("==INTERNALS-END")
    return body if found else None


def read_internals(session: DebugSession) -> Internals:
    """Reads the internals of a session's target and sidecar, live, through the sidecar.

    Raises:
        SessionError: When the sidecar cannot run the reading.
    """
    from cdebug_tui.errors import SessionError

    tpid = session.target_pid
    out = _read(session, _script(session.supervisor_pid, tpid))
    if out is None:
        raise SessionError("cannot read the target's internals: the reading did not finish")
    local = session.engine.address.startswith("unix://")
    internals = parse_internals(
        out,
        host_ns=_host_namespaces() if local else None,
        readonly_rootfs=session.target.readonly_rootfs,
        privileged=session.config.privileged,
        host_pid=session.target.pid,
        sup=str(session.supervisor_pid),
    )
    if tpid != 1:
        rows = tuple(
            replace(row, meaning=HOST_PID_MEANING.format(pid=tpid)) if row.kind == "pid" else row
            for row in internals.namespaces
        )
        internals = replace(internals, namespaces=rows)
    if local:
        internals = replace(internals, host_view=_host_view(session.target.pid))
    return internals


def read_cgroup(session: DebugSession) -> CgroupInfo:
    """Reads only the target's cgroup (limits and current use): cheap enough to poll.

    Raises:
        SessionError: When the sidecar cannot run the reading.
    """
    from cdebug_tui.errors import SessionError

    out = _read(session, "\n".join([*_cgroup_script(session.target_pid), "true"]))
    if out is None:
        raise SessionError("cannot read the target's cgroup: the reading did not finish")
    return parse_cgroup(out)


def parse_cgroup(text: str) -> CgroupInfo:
    """The cgroup part of a reading: the `cgroup` and `cg` lines, as read_cgroup prints them."""
    lines: list[str] = []
    cg: dict[str, str] = {}
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "cgroup":
            lines.append(rest)
        elif kind == "cg":
            key, _, value = rest.partition(" ")
            cg[key] = value.strip()
    return _cgroup(lines, cg)


def _host_view(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        with open(f"/proc/{pid}/status") as f:
            uid = next((line.split()[1] for line in f if line.startswith("Uid:")), "?")
    except OSError:
        return None
    return f"PID {pid}, uid {uid}: {cmdline}"


def _host_namespaces() -> dict[str, str]:
    """cdebug-tui's own namespaces: the host's, when the engine runs on this machine."""
    out = {}
    for kind in NAMESPACES:
        try:
            out[kind] = os.readlink(f"/proc/self/ns/{kind}")
        except OSError:
            continue
    return out


def parse_internals(
    text: str,
    *,
    host_ns: dict[str, str] | None,
    readonly_rootfs: bool,
    privileged: bool,
    host_pid: int,
    sup: str,
) -> Internals:
    ns_rows = []
    status: dict[str, dict[str, str]] = {"1": {}, sup: {}}
    apparmor: dict[str, str] = {}
    cg: dict[str, str] = {}
    cgroup_lines: list[str] = []
    mounts: list[MountRow] = []
    cmdline = ""
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "ns":
            parts = rest.split(" ")
            if len(parts) < 3 or not parts[1]:
                continue  # the kernel has no such namespace (time, on older kernels)
            name, target, shell = parts[0], parts[1], parts[2]
            shared = target == shell
            host = (host_ns or {}).get(name)
            meaning = (NS_SHARED if shared else NS_SEPARATE)[name]
            ns_rows.append(NamespaceRow(name, target, shell, host, shared, meaning))
        elif kind == "status":
            pid, _, field = rest.partition(" ")
            key, _, value = field.partition(":")
            status.setdefault(pid, {})[key] = value.strip()
        elif kind == "apparmor":
            pid, _, value = rest.partition(" ")
            apparmor[pid] = value.strip()
        elif kind == "cmdline":
            cmdline = rest.strip()
        elif kind == "cgroup":
            cgroup_lines.append(rest)
        elif kind == "cg":
            key, _, value = rest.partition(" ")
            cg[key] = value.strip()
        elif kind == "mount":
            row = parse_mountinfo_line(rest)
            if row:
                mounts.append(row)
    return Internals(
        namespaces=tuple(ns_rows),
        target=_security(status.get("1", {}), apparmor.get("1", "")),
        sidecar=_security(status.get(sup, {}), apparmor.get(sup, "")),
        readonly_rootfs=readonly_rootfs,
        privileged=privileged,
        cgroup=_cgroup(cgroup_lines, cg),
        mounts=tuple(mounts),
        pid1_cmdline=cmdline,
        host_pid=host_pid,
    )


def _security(status: dict[str, str], apparmor: str) -> ProcessSecurity:
    seccomp = {"0": "disabled", "1": "strict", "2": "filter"}.get(status.get("Seccomp", ""), "?")
    return ProcessSecurity(
        uid=(status.get("Uid") or "?").split()[0] if status.get("Uid") else "?",
        effective=decode_caps(int(status.get("CapEff", "0") or "0", 16)),
        bounding=decode_caps(int(status.get("CapBnd", "0") or "0", 16)),
        seccomp=seccomp,
        no_new_privs=status.get("NoNewPrivs", "0") == "1",
        apparmor=apparmor or "unconfined or not available",
    )


def _int(value: str | None) -> int | None:
    if value is None or not value.strip().lstrip("-").isdigit():
        return None
    number = int(value)
    # cgroup v1 writes "no limit" as a huge number, v2 as "max".
    return None if number < 0 or number >= 1 << 62 else number


def _cgroup(lines: list[str], cg: dict[str, str]) -> CgroupInfo:
    path = ""
    version = 2 if any(line.startswith("0::") for line in lines) and len(lines) == 1 else 1
    for line in lines:
        _, controllers, p = line.split(":", 2)
        if controllers in ("", "memory") or "memory" in controllers.split(","):
            path = p
    if version == 2:
        quota: float | None = None
        if "cpu.max" in cg:
            q, _, period = cg["cpu.max"].partition(" ")
            if q.isdigit() and period.isdigit():
                quota = int(q) / int(period)
        return CgroupInfo(
            path, 2, _int(cg.get("memory.max")), _int(cg.get("memory.current")), quota,
            _int(cg.get("pids.max")), _int(cg.get("pids.current")),
        )  # fmt: skip
    quota_us = _int(cg.get("cpu/cpu.cfs_quota_us"))
    period_us = _int(cg.get("cpu/cpu.cfs_period_us"))
    quota = quota_us / period_us if quota_us and period_us else None
    return CgroupInfo(
        path, 1, _int(cg.get("memory/memory.limit_in_bytes")),
        _int(cg.get("memory/memory.usage_in_bytes")), quota,
        _int(cg.get("pids/pids.max")), _int(cg.get("pids/pids.current")),
    )  # fmt: skip


def parse_mountinfo_line(line: str) -> MountRow | None:
    """One line of /proc/PID/mountinfo, with a plain sentence on what the mount is."""
    left, sep, right = line.partition(" - ")
    if not sep:
        return None
    fields = left.split()
    rest = right.split()
    if len(fields) < 5 or len(rest) < 2:
        return None
    mount_point = fields[4].replace("\\040", " ")
    fstype, source = rest[0], rest[1]
    options = rest[2] if len(rest) > 2 else ""
    return MountRow(mount_point, fstype, source, options, _what(mount_point, fstype, options))


def _what(mount_point: str, fstype: str, options: str) -> str:
    if mount_point == "/" and fstype == "overlay":
        layers = 0
        for opt in options.split(","):
            if opt.startswith("lowerdir="):
                layers = opt.count(":") + 1
        return (
            f"the container's root: an overlay of {layers} read-only image layer(s) "
            "under one writable layer (what `docker diff` shows)"
        )
    if mount_point.startswith(("/proc/", "/sys/firmware", "/sys/devices/virtual/powercap")):
        return "masked or read-only, so the container cannot read or change kernel settings"
    if mount_point == "/sys/fs/cgroup" and fstype == "tmpfs":
        return "tmpfs holding the cgroup hierarchies below (cgroup v1)"
    if mount_point == "/proc" or fstype == "proc":
        return "proc: the kernel's view of the processes of this PID namespace"
    if fstype == "sysfs":
        return "sysfs: the kernel's devices and settings (read-only in a container)"
    if fstype == "cgroup" or fstype == "cgroup2":
        return "cgroup: where the container's resource limits and usage are kept"
    if fstype == "devpts":
        return "devpts: pseudo-terminals (the container's /dev/pts)"
    if fstype == "mqueue":
        return "mqueue: POSIX message queues of the IPC namespace"
    if mount_point in ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf"):
        return "a file the engine writes for the container's name and DNS, bind-mounted in"
    if fstype == "tmpfs":
        if mount_point == "/dev":
            return "tmpfs: the container's own small /dev"
        if mount_point == "/dev/shm":
            return "tmpfs: shared memory (/dev/shm) of the IPC namespace"
        return "tmpfs: files in memory, gone when the container stops"
    return f"a volume or bind mount ({fstype}) from outside the image"


def human_bytes(n: int | None) -> str:
    if n is None:
        return "no limit"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def summary(internals: Internals, session: DebugSession) -> str:
    """A plain-text summary for `cdebug-tui exec --explain`."""
    t = session.target
    out = [
        f"# the target: {t.name} ({t.short_id}), image {t.image}",
        f"  entrypoint {shlex.join(t.entrypoint) or '-'}  cmd {shlex.join(t.cmd) or '-'}",
        f"  user {t.user or 'root (image default)'}  workdir {t.workdir}",
        f"  PID 1 inside: {internals.pid1_cmdline} (uid {internals.target.uid})",
        f"  on the host: {internals.host_view or f'PID {internals.host_pid} (not readable here)'}",
        "# namespaces (target PID 1 / debug shell / host)",
    ]
    for row in internals.namespaces:
        host = row.host or "-"
        mark = "shared" if row.shared else "separate"
        out.append(f"  {row.kind:6s} {row.target:22s} {row.shell:22s} {host:22s} {mark}")
        out.append(f"         {row.meaning}")
    out.append("# capabilities")
    out.append(f"  target bounding set: {len(internals.target.bounding)} capabilities")
    out.append(f"  sidecar adds: {', '.join(internals.added_caps) or 'nothing'}")
    if internals.dropped_caps:
        out.append(f"  sidecar lacks: {', '.join(internals.dropped_caps)}")
    s = internals.target
    out.append(
        f"  target: seccomp {s.seccomp}, no-new-privileges {'on' if s.no_new_privs else 'off'}, "
        f"AppArmor {s.apparmor}, read-only rootfs {'yes' if internals.readonly_rootfs else 'no'}"
        f", privileged {'yes' if t.privileged else 'no'}"
    )
    cg = internals.cgroup
    cpu = f"{cg.cpu_quota:g} CPUs" if cg.cpu_quota else "no limit"
    out.append(f"# cgroup v{cg.version} {cg.path}")
    out.append(
        f"  memory {human_bytes(cg.memory_current)} used of {human_bytes(cg.memory_limit)}; "
        f"CPU {cpu}; pids {cg.pids_current if cg.pids_current is not None else '?'} of "
        f"{cg.pids_max if cg.pids_max is not None else 'no limit'}"
    )
    out.append("# mounts of the target")
    for m in internals.mounts:
        out.append(f"  {m.mount_point:28s} {m.fstype:8s} {m.what}")
    return "\n".join(out)
