"""Tests the engine's pure parts: ELF headers, users, PATH, image references, arguments."""

from __future__ import annotations

import shutil

import pytest

from cdebug_tui.engine.client import split_image_ref, validate_image_ref
from cdebug_tui.engine.models import SessionSpec, TargetInfo
from cdebug_tui.engine.sidecar import merge_path, resolve_user, sidecar_config
from cdebug_tui.engine.toolkit import elf_interpreter, host_busybox
from cdebug_tui.errors import ImageUnavailableError, UserNotFoundError
from tests.conftest import unavailable

PASSWD = "root:x:0:0:root:/root:/bin/sh\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n"


def test_elf_interpreter_of_host_binaries() -> None:
    busybox = host_busybox()
    if busybox is None:
        unavailable("no static busybox on this host (Debian: busybox-static)")
    with open(busybox, "rb") as f:
        assert elf_interpreter(f.read()) == ""
    dash = shutil.which("dash") or shutil.which("ls")
    assert dash
    with open(dash, "rb") as f:
        assert elf_interpreter(f.read()).startswith("/lib")
    assert elf_interpreter(b"#!/bin/sh\necho hi\n" * 10) is None


def test_resolve_user() -> None:
    assert resolve_user("nonroot", PASSWD) == (65532, 65532)
    assert resolve_user("65532", PASSWD) == (65532, 65532)
    assert resolve_user("1000", PASSWD) == (1000, 0)  # unknown: group 0, as docker exec -u
    assert resolve_user("1000:5", None) == (1000, 5)
    with pytest.raises(UserNotFoundError, match="no user 'bob'"):
        resolve_user("bob", PASSWD)


def test_merge_path_keeps_the_targets_first() -> None:
    assert merge_path("/nodejs/bin:/usr/bin", "/bin:/usr/bin", "/.cdebug-x") == (
        "/nodejs/bin:/usr/bin:/.cdebug-x/bin:/.cdebug-x/usr/bin"
    )
    assert merge_path(None, "/bin", "/.cdebug-x") == "/.cdebug-x/bin"


@pytest.mark.parametrize(
    "ref", ["busybox", "busybox:musl", "nixery.dev/shell/ps/strace/curl", "localhost:5000/a/b:1"]
)
def test_valid_image_refs(ref: str) -> None:
    validate_image_ref(ref)


@pytest.mark.parametrize("ref", ["", "Busybox", "a b", "x::y", "-bad"])
def test_invalid_image_refs(ref: str) -> None:
    with pytest.raises(ImageUnavailableError, match="invalid image reference"):
        validate_image_ref(ref)


def test_split_image_ref() -> None:
    assert split_image_ref("busybox:musl") == ("busybox", "musl")
    assert split_image_ref("localhost:5000/tools") == ("localhost:5000/tools", None)
    assert split_image_ref("nixery.dev/shell/ps") == ("nixery.dev/shell/ps", None)


def _target(**kw: object) -> TargetInfo:
    base: dict[str, object] = dict(
        engine="docker",
        id="f" * 64,
        name="web",
        image="img",
        image_id="sha256:1",
        state="running",
        running=True,
        paused=False,
        restarting=False,
        pid=42,
        user="65532",
        workdir="/app",
        env=("PATH=/app/bin",),
        entrypoint=("/app/server",),
        cmd=(),
        privileged=False,
        cap_add=(),
        cap_drop=(),
        readonly_rootfs=False,
        pid_mode="",
        ipc_mode="private",
        network_mode="default",
        security_opt=(),
    )
    base.update(kw)
    return TargetInfo(**base)  # type: ignore[arg-type]


def test_sidecar_privileged_only_when_asked_or_the_target_is() -> None:
    # (Privileged containers cannot start in this sandbox, so this checks the configuration.)
    assert not sidecar_config(SessionSpec("web"), _target(), "bb").privileged
    assert sidecar_config(SessionSpec("web", privileged=True), _target(), "bb").privileged
    assert sidecar_config(SessionSpec("web"), _target(privileged=True), "bb").privileged


def test_sidecar_keeps_the_targets_capabilities_and_adds_ptrace() -> None:
    cfg = sidecar_config(
        SessionSpec("web"), _target(cap_add=("NET_ADMIN",), cap_drop=("ALL", "SYS_PTRACE")), "bb"
    )
    assert cfg.cap_add == ("NET_ADMIN", "SYS_PTRACE")
    assert cfg.cap_drop == ("ALL",)
    assert cfg.pid_mode == cfg.network_mode == "container:" + "f" * 64
    assert cfg.ipc_mode is None
    assert sidecar_config(SessionSpec("web"), _target(ipc_mode="shareable"), "bb").ipc_mode
    run = cfg.docker_create_command()
    assert "--cap-add SYS_PTRACE" in run and "--pid container:" in run and "--privileged" not in run
    # What a learner could type: create (not run -d), then start attached; the script whole.
    assert run.startswith("docker create -i --rm ") and "-d" not in run.split()
    assert '-e CDEBUG_SUPERVISOR="$(cat supervisor.sh)"' in run
    # The shell's command runs the reaper's script from the sidecar's environment: typed by
    # hand, the sidecar needs it too.
    assert '-e CDEBUG_REAPER="$(cat reaper.sh)"' in run
    assert cfg.docker_start_command() == f"docker start -a -i {cfg.name}"
    assert "printenv CDEBUG_SUPERVISOR > supervisor.sh" in cfg.supervisor_hint()
    assert "printenv CDEBUG_REAPER > reaper.sh" in cfg.supervisor_hint()


def test_profiles_as_kubectl_debug_has_them() -> None:
    """netadmin adds NET_ADMIN and NET_RAW; sysadmin is --privileged (it cannot start in this
    sandbox, so the configuration is what is checked); restricted drops everything else."""
    net = sidecar_config(SessionSpec("web", profile="netadmin"), _target(), "bb")
    assert set(net.cap_add) == {"SYS_PTRACE", "NET_ADMIN", "NET_RAW"} and not net.privileged
    sysadmin = sidecar_config(SessionSpec("web", profile="sysadmin"), _target(), "bb")
    assert sysadmin.privileged and "--privileged" in sysadmin.docker_create_command()
    restricted = sidecar_config(SessionSpec("web", profile="restricted"), _target(), "bb")
    assert restricted.cap_drop == ("ALL",) and "NET_ADMIN" not in restricted.cap_add
    assert "SYS_CHROOT" in restricted.cap_add and not restricted.privileged


def test_host_pid_target_is_joined_at_its_host_pid() -> None:
    cfg = sidecar_config(SessionSpec("web"), _target(pid_mode="host", pid=4242), "bb")
    assert cfg.pid_mode == "host" and cfg.target_pid == 4242
    assert "CDEBUG_TARGET_PID=4242" in cfg.env


def test_an_engine_error_names_containers_by_their_short_id() -> None:
    """The engine's "Container <64 digits> is not running" wrapped a notification over three
    lines; the short id (as docker ps shows it) says the same."""
    from cdebug_tui.errors import EngineRequestError

    full = "40e47f4c" + "0" * 49 + "faa6645"
    err = EngineRequestError(f"cannot pause: Container {full} is not running", status=409)
    assert str(err) == "cannot pause: Container 40e47f4c0000 is not running"
    assert err.explanation == str(err)
    # A digest or a path stays whole: the user may need it as it is.
    digest = EngineRequestError(f"no image sha256:{full} at /var/lib/docker/image/{full}")
    assert str(digest).count(full) == 2


def test_a_sidecar_start_refused_says_why() -> None:
    """runc's words for a target that died as the sidecar joined name a missing file too:
    they were taken for a toolkit without a shell, and a crash loop's session failed."""
    from cdebug_tui.engine.session import start_error
    from cdebug_tui.errors import SessionError, TargetNotRunningError, ToolkitError

    died = (
        "failed to create shim task: OCI runtime create failed: runc create failed: unable to "
        "create new parent process: namespace path: lstat /proc/332/ns/net: no such file or "
        "directory: unknown"
    )
    error = start_error(died, "busybox:musl", "api")
    assert isinstance(error, TargetNotRunningError)
    assert str(error).startswith("api stopped before the sidecar could join it")
    no_sh = (
        "OCI runtime create failed: runc create failed: unable to start container process: "
        'exec: "sh": executable file not found in $PATH: unknown'
    )
    assert isinstance(start_error(no_sh, "scratch-tools", "api"), ToolkitError)
    other = start_error("cgroup: permission denied", "busybox:musl", "api")
    assert type(other) is SessionError and "permission denied" in str(other)
