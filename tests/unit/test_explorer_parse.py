"""Tests the explorer's pure parts: list-row fields, stats rates, plots, secrets, sort order."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from cdebug_tui.engine.client import _explorer_row_fields, _stats_sample
from cdebug_tui.engine.models import ContainerEvent, container_event
from cdebug_tui.engine.readings import Container, ContainerAction, PublishedPort, StatsSample
from cdebug_tui.engine.stats import StatsHistory, counted, cpu_percent, format_bytes
from cdebug_tui.ui.container_actions import actions_for
from cdebug_tui.ui.secrets import MASK, looks_secret
from cdebug_tui.ui.widgets.stats_view import plot_lines


def _sample(taken: float, cpu: int, system: int, rx: int = 0, mem: int = 100) -> StatsSample:
    return StatsSample("e", "c", taken, cpu, system, 2, mem, 1000, rx, 0, 0, 0)


def test_a_die_event_carries_the_exit_code() -> None:
    from cdebug_tui.engine.models import container_event

    raw = {
        "Type": "container",
        "Action": "die",
        "Actor": {"ID": "abc", "Attributes": {"name": "web", "exitCode": "137"}},
        "timeNano": 1_700_000_000_000_000_000,
    }
    event = container_event(raw, "docker")
    assert event is not None and (event.action, event.name, event.exit_code) == ("die", "web", 137)
    raw["Action"], raw["Actor"] = "start", {"ID": "abc", "Attributes": {"name": "web"}}
    assert (event := container_event(raw, "docker")) is not None and event.exit_code is None


def test_a_row_read_too_early_does_not_show_its_event() -> None:
    """Docker's list can lag its events; the explorer reads such a row again."""

    def row(state: str) -> Container:
        return Container("e", "c", "web", "nginx", state, "", datetime.now())

    def event(action: str) -> ContainerEvent:
        return ContainerEvent("e", "c", action, 0.0)

    assert not event("pause").shown_by(row("running"))
    assert event("pause").shown_by(row("paused"))
    assert not event("unpause").shown_by(row("paused"))
    assert event("start").shown_by(row("running"))
    assert not event("die").shown_by(row("running"))
    assert event("die").shown_by(row("exited")) and event("stop").shown_by(row("restarting"))
    assert not event("destroy").shown_by(row("exited")) and event("destroy").shown_by(None)
    assert event("rename").shown_by(row("running")) and event("pause").shown_by(None)
    healthy = container_event(
        {"Type": "container", "Action": "health_status: healthy", "Actor": {"ID": "c"}}, "e"
    )
    assert healthy is not None and healthy.action == "health_status"
    assert not healthy.shown_by(row("running"))
    assert healthy.shown_by(replace(row("running"), health="healthy"))


def test_row_fields_from_the_status_text() -> None:
    row = {
        "Status": "Up 2 minutes (unhealthy)",
        "Ports": [
            {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
            {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
            {"PrivatePort": 53, "Type": "udp"},
        ],
    }
    fields = _explorer_row_fields(row)
    assert fields["health"] == "unhealthy" and fields["exit_code"] is None
    assert [str(p) for p in fields["ports"]] == ["53/udp", "8080->80/tcp"]
    assert _explorer_row_fields({"Status": "Up 1 second (health: starting)"})["health"] == (
        "starting"
    )
    exited = _explorer_row_fields({"Status": "Exited (137) 5 seconds ago"})
    assert exited["exit_code"] == 137 and exited["health"] is None
    assert str(PublishedPort(80, "tcp", "127.0.0.1", 3000)) == "127.0.0.1:3000->80/tcp"


def test_stats_sample_counts_what_docker_stats_counts() -> None:
    raw = {
        "cpu_stats": {
            "cpu_usage": {"total_usage": 5_000},
            "system_cpu_usage": 90_000,
            "online_cpus": 4,
        },
        "memory_stats": {"usage": 10_000, "limit": 50_000, "stats": {"inactive_file": 4_000}},
        "networks": {"eth0": {"rx_bytes": 10, "tx_bytes": 20}, "eth1": {"rx_bytes": 1}},
        "blkio_stats": {
            "io_service_bytes_recursive": [
                {"op": "Read", "value": 7},
                {"op": "write", "value": 9},
                {"op": "Total", "value": 16},
            ]
        },
        "pids_stats": {"current": 3},
    }
    s = _stats_sample("e", "c", raw)
    assert (s.cpu_total_ns, s.system_ns, s.online_cpus) == (5_000, 90_000, 4)
    assert s.memory_usage == 6_000 and s.memory_limit == 50_000
    assert (s.net_rx, s.net_tx, s.block_read, s.block_write, s.pids) == (11, 20, 7, 9, 3)
    # A stopped container's stats are empty: zeros, not an error.
    assert _stats_sample("e", "c", {}).memory_usage == 0


def test_cpu_percent_and_rates_from_two_samples() -> None:
    a = _sample(10.0, 1_000_000_000, 100_000_000_000)
    b = _sample(12.0, 2_000_000_000, 104_000_000_000, rx=4096, mem=300)
    # 1 s of CPU out of 4 s of host CPU time, on 2 CPUs: half a core.
    assert cpu_percent(a, b) == 50.0
    history = StatsHistory()
    assert history.add(a) is None
    point = history.add(b)
    assert point is not None and point.net_rx_rate == 2048 and point.memory_usage == 300
    assert point.memory_percent == 30.0
    # A counter that went back (a restart) is no negative rate.
    c = _sample(14.0, 10, 105_000_000_000, rx=0)
    point = history.add(c)
    assert point is not None and point.net_rx_rate == 0 and point.cpu_percent == 0
    assert format_bytes(1536) == "1.5KiB" and format_bytes(64 << 20) == "64MiB"


def test_plot_draws_the_limit_and_values_above_it() -> None:
    lines = [line.plain for line in plot_lines([10, 50, 100], width=5, height=4, limit=50)]
    assert len(lines) == 4 and all(len(line) == 5 for line in lines)
    # The limit (half of the top, 100) is a dashed line where no bar is.
    assert "┈" in lines[2] and "┈" not in lines[0]
    assert lines[0][-1] == "█" and lines[3][-1] == "█"  # 100: a full bar
    assert lines[0][-2] == " "  # 50 reaches the limit, not the top
    assert "┈" in plot_lines([], 3, 2, limit=1.0)[0].plain  # no data yet: the limit alone


def test_a_rate_plot_shows_background_chatter_as_a_sliver() -> None:
    """A few hundred bytes a second beside nothing were full bars (the scale ran from zero to
    the largest value); the scale's top is at least RATE_FLOOR."""
    from cdebug_tui.ui.widgets.stats_view import RATE_FLOOR

    chatter = [line.plain for line in plot_lines([0, 300, 2000], 3, 2, None, floor=RATE_FLOOR)]
    assert chatter == ["   ", "  ▂"]
    busy = [line.plain for line in plot_lines([0, 4e6, 2e6], 3, 2, None, floor=RATE_FLOOR)]
    assert busy[0][1] != " " and busy[1][1] == "█"  # a real rate still fills the plot


def test_secrets_are_recognised_by_name_or_value() -> None:
    for name in ("DB_PASSWORD", "API_KEY", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "SSH_KEY"):
        assert looks_secret(name, "x"), name
    assert looks_secret("DATABASE_URL", "postgres://app:s3cret@db:5432/app")
    for name, value in (("PATH", "/bin"), ("MODE", "prod"), ("HOME", "/root")):
        assert not looks_secret(name, value)
    assert not looks_secret("PASSWORD", "")  # nothing to hide
    # cdebug-tui's own, in its sidecar's processes: a session's id is shown in plain elsewhere.
    assert not looks_secret("CDEBUG_SESSION", "cc0a11af7c")
    assert looks_secret("SESSION_SECRET", "x")
    assert MASK.strip("•") == ""


def test_actions_offered_for_each_state() -> None:
    assert ContainerAction.START not in actions_for("running")
    assert actions_for("paused")[0] is ContainerAction.UNPAUSE
    assert actions_for("exited") == [ContainerAction.START, ContainerAction.REMOVE]
    assert [a.past for a in ContainerAction] == [
        "started",
        "stopped",
        "restarted",
        "paused",
        "unpaused",
        "killed",
        "removed",
    ]
    assert ContainerAction.STOP.progressive == "stopping"
    assert ContainerAction.REMOVE.progressive == "removing"


def test_counts_say_their_noun_in_the_right_number() -> None:
    assert counted(1, "line") == "1 line" and counted(0, "line") == "0 lines"
    assert counted(1204, "line") == "1,204 lines"
    assert counted(1, "process", "processes") == "1 process"
    assert counted(6, "process", "processes") == "6 processes"


def test_process_details_and_internals_mask_secrets_as_inspect_does() -> None:
    """The environment shown in a process's details and the Internals panel (beside a shell
    that may be shared or recorded) masks what inspect masks; `v` in the details shows it.
    Internals showed DB_PASSWORD=hunter2 while inspect masked it."""
    from rich.console import Console

    from cdebug_tui.engine.readings import ProcessDetails
    from cdebug_tui.ui.screens.process import render_details
    from cdebug_tui.ui.secrets import mask_env

    env = ("APP_MODE=production", "DB_PASSWORD=hunter2", "DATABASE_URL=postgres://u:pw@db/x")
    assert mask_env(env) == ["APP_MODE=production", f"DB_PASSWORD={MASK}", f"DATABASE_URL={MASK}"]
    details = ProcessDetails(1, ("/app/server",), env, "/app", "/app/server", (), (), (), ())
    console = Console(width=120, record=True)

    def shown(revealed: bool) -> str:
        console.print(render_details(details, strace=True, revealed=revealed))
        return console.export_text()

    masked = shown(False)
    assert "APP_MODE=production" in masked and "hunter2" not in masked and "u:pw" not in masked
    assert "DB_PASSWORD=hunter2" in shown(True)


def test_signals_are_linuxs_whatever_this_hosts_are() -> None:
    """A kill event names its signal, and an exit code above 128 the signal behind it, by
    Linux's numbers: the containers run Linux (under Docker Desktop on a Mac too)."""
    from cdebug_tui.ui.screens.events import exit_meaning

    raw = {
        "Type": "container",
        "Action": "kill",
        "Actor": {"ID": "c1", "Attributes": {"signal": "10", "name": "api"}},
        "timeNano": 1_700_000_000_000_000_000,
    }
    event = container_event(raw, "default")
    assert event is not None and event.detail == "SIGUSR1"
    assert exit_meaning(139) == "exit 139 (SIGSEGV)" and exit_meaning(134) == "exit 134 (SIGABRT)"
    assert exit_meaning(3) == "exit 3" and exit_meaning(255) == "exit 255"
    rt = container_event({**raw, "Actor": {"ID": "c1", "Attributes": {"signal": "40"}}}, "d")
    assert rt is not None and rt.detail == "SIGRTMIN+6"
    renamed = {
        **raw,
        "Action": "rename",
        "Actor": {"ID": "c1", "Attributes": {"oldName": "/a", "name": "b"}},
    }
    event = container_event(renamed, "d")
    assert event is not None and event.detail == "a → b"
