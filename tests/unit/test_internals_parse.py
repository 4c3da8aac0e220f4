"""Tests the internals parser on readings of both cgroup versions and on a real mountinfo."""

from __future__ import annotations

from cdebug_tui.engine.internals import decode_caps, parse_internals, parse_mountinfo_line

V2 = """\
ns pid pid:[1] pid:[1]
ns net net:[2] net:[2]
ns mnt mnt:[3] mnt:[4]
ns time
status 1 Uid:\t65532\t65532\t65532\t65532
status 1 CapEff:\t0000000000000000
status 1 CapBnd:\t00000000a80425fb
status 1 Seccomp:\t2
status 1 NoNewPrivs:\t1
status 7 Uid:\t0\t0\t0\t0
status 7 CapEff:\t00000000a80c25fb
status 7 CapBnd:\t00000000a80c25fb
apparmor 1 docker-default (enforce)
cmdline /nodejs/bin/node server.js
cgroup 0::/system.slice/docker-abc.scope
cg memory.max 134217728
cg memory.current 5242880
cg cpu.max 50000 100000
cg pids.max max
cg pids.current 7
mount 72 48 0:39 / / rw,relatime - overlay overlay rw,lowerdir=/l/A:/l/B:/l/C,upperdir=/u,workdir=/w
mount 80 72 8:1 /v /data rw - ext4 /dev/sda1 rw
"""


def test_cgroup_v2_and_security() -> None:
    i = parse_internals(
        V2, host_ns=None, readonly_rootfs=False, privileged=False, host_pid=9, sup="7"
    )
    assert [(r.kind, r.shared) for r in i.namespaces] == [
        ("pid", True),
        ("net", True),
        ("mnt", False),
    ]
    assert i.cgroup.version == 2 and i.cgroup.memory_limit == 128 << 20
    assert i.cgroup.memory_current == 5 << 20
    assert i.cgroup.cpu_quota == 0.5
    assert i.cgroup.pids_max is None and i.cgroup.pids_current == 7
    assert i.target.seccomp == "filter" and i.target.no_new_privs
    assert i.target.apparmor == "docker-default (enforce)"
    assert i.added_caps == ("CAP_SYS_PTRACE",)
    assert i.pid1_cmdline == "/nodejs/bin/node server.js"
    root, data = i.mounts
    assert "3 read-only image layer(s)" in root.what
    assert data.mount_point == "/data" and "volume or bind mount" in data.what


def test_decode_caps() -> None:
    assert decode_caps(0) == ()
    assert decode_caps(1 << 19 | 1) == ("CAP_CHOWN", "CAP_SYS_PTRACE")


def test_mountinfo_with_optional_fields_and_spaces() -> None:
    row = parse_mountinfo_line(
        "36 35 98:0 /mnt1 /my\\040dir rw,noatime master:1 shared:2 - tmpfs tmpfs rw,size=64k"
    )
    assert row is not None
    assert row.mount_point == "/my dir" and row.fstype == "tmpfs"
    assert parse_mountinfo_line("garbage") is None
