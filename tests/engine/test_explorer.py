"""Tests the explorer's engine calls (issue 11) on the real engine: inspect, stats, actions."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cdebug_tui.engine.models import SIDECAR_LABEL
from cdebug_tui.engine.readings import ContainerAction
from cdebug_tui.engine.stats import StatsHistory
from cdebug_tui.errors import ActionRefusedError, TargetNotFoundError
from tests.engine.helpers import wait_for
from tests.explorer_fixtures import make_container

__all__ = ["make_container"]  # a fixture: imported to be found, not called

pytestmark = pytest.mark.engine

BUSY = ["sh", "-c", "while :; do :; done"]


def test_details_group_what_inspect_says(
    engine: Any, make_container: Callable[..., str], busybox_image: str, tmp_path: Path
) -> None:
    """Every group of the inspect view comes from the container's real configuration."""
    cid = make_container(
        busybox_image,
        ["sleep", "3600"],
        environment={"DB_PASSWORD": "hunter2", "MODE": "prod"},
        labels={"com.example.team": "payments"},
        user="1000:1000",
        working_dir="/tmp",
        ports=[8080],
        healthcheck={
            "test": ["CMD-SHELL", "echo probe-ok"],
            "interval": 1_000_000_000,
            "start_period": 0,
        },
        host={
            "binds": {str(tmp_path): {"bind": "/data", "mode": "ro"}},
            "tmpfs": {"/scratch": "size=1m"},
            "port_bindings": {8080: ("127.0.0.1", None)},
            "mem_limit": "64m",
            "nano_cpus": 500_000_000,
            "cap_drop": ["NET_RAW"],
            "cap_add": ["SYS_PTRACE"],
            "read_only": True,
            "restart_policy": {"Name": "on-failure", "MaximumRetryCount": 3},
            "pids_limit": 50,
        },
    )
    wait_for(lambda: engine.details(cid).health_probes, 30, "a first health probe")
    d = engine.details(cid)
    assert d.id == cid and d.image == busybox_image
    assert d.cmd == ("sleep", "3600") and d.user == "1000:1000" and d.workdir == "/tmp"
    assert ("DB_PASSWORD", "hunter2") in d.env and ("MODE", "prod") in d.env
    assert ("com.example.team", "payments") in d.labels
    mounts = {m.destination: m for m in d.mounts}
    assert mounts["/data"].source == str(tmp_path) and not mounts["/data"].writable
    assert mounts["/scratch"].kind == "tmpfs"
    [port] = d.ports
    assert port.private_port == 8080 and port.host_ip == "127.0.0.1" and port.public_port
    assert str(port) == f"127.0.0.1:{port.public_port}->8080/tcp"
    [net] = d.networks
    assert net.name == "bridge" and net.ip.count(".") == 3
    assert d.restart_policy == "on-failure" and d.restart_max == 3 and d.restart_count == 0
    assert d.health_test == ("CMD-SHELL", "echo probe-ok")
    assert d.health_probes[-1].exit_code == 0 and "probe-ok" in d.health_probes[-1].output
    assert d.status == "running" and d.pid > 0 and d.started_at is not None
    assert not d.oom_killed and d.exit_code == 0
    assert d.memory_limit == 64 << 20 and d.cpu_limit == 0.5 and d.pids_limit == 50
    assert d.cap_drop == ("NET_RAW",) and d.cap_add == ("SYS_PTRACE",)
    assert d.readonly_rootfs and not d.privileged and d.seccomp == "default"


def test_list_rows_carry_ports_health_and_exit_codes(
    engine: Any, make_container: Callable[..., str], busybox_image: str
) -> None:
    healthy = make_container(
        busybox_image,
        ["sleep", "3600"],
        ports=[80],
        healthcheck={"test": ["CMD-SHELL", "true"], "interval": 1_000_000_000},
        host={"port_bindings": {80: None}},
    )
    failed = make_container(busybox_image, ["sh", "-c", "exit 3"])
    wait_for(lambda: engine.container(failed).state == "exited", 30, "the exit")
    wait_for(lambda: engine.container(healthy).health == "healthy", 30, "a healthy status")
    row = engine.container(healthy)
    # The engine may publish it twice (IPv4 and IPv6, each its own host port), as docker ps.
    assert {p.private_port for p in row.ports} == {80} and all(p.public_port for p in row.ports)
    assert row.exit_code is None
    assert engine.container(failed).exit_code == 3


def test_a_container_whose_start_failed_shows_its_exit_code(
    engine: Any, make_container: Callable[..., str], busybox_image: str
) -> None:
    """An entrypoint that is not there: the engine leaves the container `created`, its code
    (127) and error in its inspect only. The list's full read and a debug copy say so; they
    said `created`, like a container never started."""
    import docker

    from cdebug_tui.engine.copy import CopySource, find

    broken = make_container(busybox_image, None, start=False, entrypoint=["/no/such/binary"])
    never = make_container(busybox_image, ["true"], start=False)
    with pytest.raises(docker.errors.APIError):
        engine.api.start(broken)
    rows = {c.id: c for c in engine.list_containers(shells=False, restarts=True)}
    assert rows[broken].state == "created" and rows[broken].exit_code == 127
    assert rows[never].state == "created" and rows[never].exit_code is None
    assert engine.container(broken).exit_code == 127
    source = find(engine, broken)
    assert isinstance(source, CopySource)
    assert source.describe().endswith("created, its start failed (127)")


def test_list_rows_count_a_crash_loop(
    engine: Any, make_container: Callable[..., str], busybox_image: str
) -> None:
    """A container its restart policy keeps starting shows how often, and the code it ended
    with while it waits to start again; started by hand, it counts from 0 again."""
    cid = make_container(
        busybox_image,
        ["sh", "-c", "sleep 0.3; exit 3"],
        host={"restart_policy": {"Name": "always"}},
    )
    row = wait_for(
        lambda: (r := engine.container(cid)).state == "restarting" and r.restarts >= 2 and r,
        60,
        "two restarts, caught between runs",
    )
    assert row.exit_code == 3
    assert row.restarts <= engine.details(cid).restart_count
    # The quick list (the app's first read) does not inspect; the full one does.
    [quick] = [c for c in engine.list_containers(shells=False) if c.id == cid]
    [full] = [c for c in engine.list_containers(shells=False, restarts=True) if c.id == cid]
    assert quick.restarts == 0 and full.restarts >= 2
    engine.api.update_container(cid, restart_policy={"Name": "no"})
    engine.api.stop(cid, timeout=0)
    wait_for(lambda: engine.container(cid).state == "exited", 30, "the stop")
    engine.api.start(cid)
    assert engine.container(cid).restarts == 0


def test_stats_change_under_load(
    engine: Any, make_container: Callable[..., str], busybox_image: str
) -> None:
    """A busy loop shows as CPU use, an idle container as none; the memory limit is known."""
    busy = make_container(busybox_image, BUSY, host={"mem_limit": "32m"})
    idle = make_container(busybox_image, ["sleep", "3600"])
    histories = {busy: StatsHistory(), idle: StatsHistory()}

    def busy_shows() -> bool:
        for cid, h in histories.items():
            h.add(engine.stats(cid))
        time.sleep(0.5)  # a sampling interval, not a wait for a condition
        latest = histories[busy].latest
        # 5%, not 100%: on a shared machine (load 15 on 2 cores here) the loop gets a share.
        return latest is not None and latest.cpu_percent > 5

    wait_for(busy_shows, 30, "the busy loop's CPU use")
    idle_point = histories[idle].latest
    assert idle_point is not None and idle_point.cpu_percent < 1
    busy_sample = histories[busy].last
    assert busy_sample is not None and busy_sample.memory_limited
    assert busy_sample.memory_limit == 32 << 20 and 0 < busy_sample.memory_usage < 32 << 20
    assert histories[idle].last is not None and not histories[idle].last.memory_limited


def test_a_stopped_container_has_no_live_stats(
    engine: Any, make_container: Callable[..., str], busybox_image: str
) -> None:
    """A stopped container's stats are no reading: the engine answers zeros (no cores, no
    memory), which the Stats view showed as `MEM 0B no limit (host 0B)`."""
    cid = make_container(busybox_image, ["sleep", "3600"])
    history = StatsHistory()
    history.add(engine.stats(cid))
    assert engine.stats(cid).running and not history.stopped
    engine.api.kill(cid)
    wait_for(lambda: not engine.stats(cid).running, 30, "the stats of a stopped container")
    assert history.add(engine.stats(cid)) is None
    assert history.stopped and history.last is None


def test_every_action(
    engine: Any, make_container: Callable[..., str], distroless_image: str
) -> None:
    # The distroless target's server ends at once on SIGTERM and never forks (a shell loop
    # that forks `sleep` can make the cgroup freezer give up under load: "unable to freeze").
    cid = make_container(distroless_image, None)

    def state() -> str:
        return str(engine.details(cid).status)

    engine.act(cid, ContainerAction.STOP)
    assert state() == "exited"
    engine.act(cid, ContainerAction.START)
    assert state() == "running"
    pid = engine.details(cid).pid
    engine.act(cid, ContainerAction.RESTART)
    assert state() == "running" and engine.details(cid).pid != pid
    engine.act(cid, ContainerAction.PAUSE)
    assert state() == "paused"
    engine.act(cid, ContainerAction.UNPAUSE)
    assert state() == "running"
    engine.act(cid, ContainerAction.KILL)
    wait_for(lambda: state() == "exited", 10, "the kill")
    assert engine.details(cid).exit_code == 137
    engine.act(cid, ContainerAction.REMOVE)
    with pytest.raises(TargetNotFoundError):
        engine.details(cid)


def test_the_engine_refusing_an_action_is_one_clear_error(
    engine: Any, make_container: Callable[..., str], busybox_image: str, distroless_image: str
) -> None:
    cid = make_container(distroless_image, None)
    name = engine.details(cid).name
    with pytest.raises(ActionRefusedError, match=rf"cannot unpause {name}: .*not paused"):
        engine.act(cid, ContainerAction.UNPAUSE)
    broken = make_container(busybox_image, ["/no/such/binary"], start=False)
    with pytest.raises(ActionRefusedError, match="cannot start .*no/such/binary"):
        engine.act(broken, ContainerAction.START)
    engine.api.remove_container(cid, force=True)
    with pytest.raises(TargetNotFoundError):
        engine.act(cid, ContainerAction.STOP)
    with pytest.raises(TargetNotFoundError):
        engine.stats(cid)


def test_actions_are_refused_on_sidecars(
    engine: Any, make_container: Callable[..., str], distroless_image: str
) -> None:
    cid = make_container(distroless_image, None, labels={SIDECAR_LABEL: "1"})
    for action in ContainerAction:
        with pytest.raises(ActionRefusedError, match="sidecar"):
            engine.act(cid, action)
    assert engine.details(cid).status == "running"
