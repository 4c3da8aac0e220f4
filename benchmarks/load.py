"""Provides the load benchmark: 20 flooding sessions in one app beside a list of 300 containers."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import exit_on_signals  # noqa: E402
from cdebug_tui.engine import demo  # noqa: E402
from cdebug_tui.engine.client import Engine  # noqa: E402
from cdebug_tui.engine.models import SIDECAR_LABEL, TARGET_LABEL  # noqa: E402
from cdebug_tui.ui.app import CdebugApp  # noqa: E402
from cdebug_tui.ui.widgets.container_list import ContainerListPanel  # noqa: E402

SESSIONS = int(os.environ.get("BENCH_SESSIONS", "20"))
CONTAINERS = int(os.environ.get("BENCH_CONTAINERS", "300"))
KEYS = int(os.environ.get("BENCH_KEYS", "40"))
FLOOD_SECONDS = float(os.environ.get("BENCH_FLOOD_SECONDS", "10"))
LABEL = "io.cdebug-tui.bench"


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def until(
    pilot: Any,
    condition: Callable[[], Any],
    what: str,
    timeout: float = 120,
    detail: Callable[[], str] | None = None,
) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}: {detail() if detail else ''}")
        await pilot.pause(0.01)
    return value


async def echo_latencies(pilot: Any, pane: Any, count: int) -> list[float]:
    """Seconds from a key event (as the terminal driver posts it) to its echo in the emulator.

    The key is posted to the app as a real keystroke is, not through Pilot.press, which also
    waits for the app to be idle; the screen is drawn at its next frame (at most 1/60 s later).
    """
    from textual import events

    screen = pane.view.terminal.screen
    out = []
    for i in range(count):
        char = "abcdefghij"[i % 10]
        x = screen.cursor.x
        start = time.perf_counter()
        pilot.app.post_message(events.Key(char, char))
        deadline = start + 30
        while screen.cursor.x == x and time.perf_counter() < deadline:
            await asyncio.sleep(0.0005)
        out.append(time.perf_counter() - start)
        await asyncio.sleep(0.02)  # a typist's pace, not a paste
    await pilot.press("ctrl+u")  # clear the line again
    return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def report(label: str, values: list[float]) -> None:
    print(
        f"  {label:34s} p50 {statistics.median(values) * 1000:6.1f} ms"
        f"   p99 {pct(values, 99) * 1000:6.1f} ms   max {max(values) * 1000:6.1f} ms"
    )


async def scenario(engine: Engine, image: str, targets: list[str]) -> None:
    app = CdebugApp()
    async with app.run_test(size=(200, 60)) as pilot:
        panel = app.query_one(ContainerListPanel)
        t0 = time.perf_counter()
        await until(
            pilot,
            lambda: sum(1 for c in panel.containers.values() if c.label(LABEL)) >= CONTAINERS,
            "the list",
        )
        print(
            f"list of {len(panel.containers)} containers shown in "
            f"{(time.perf_counter() - t0) * 1000:.0f} ms"
        )
        base_rss = rss_mib()
        panes = [app.open_session(t, t, image) for t in targets]
        t0 = time.perf_counter()
        await until(
            pilot,
            lambda: all(p.state != "starting" for p in panes),
            "the sessions",
            300,
            lambda: ", ".join(sorted(p.state for p in panes)),
        )
        failed = [p for p in panes if p.state != "running"]
        if failed:
            raise RuntimeError(f"{len(failed)} sessions did not start: {failed[0].state}")
        print(f"{len(panes)} sessions started in {time.perf_counter() - t0:.1f} s")
        probe = panes[0]
        app.tabs.active = probe.id or ""
        # A tab started in the background has no last focus of its own yet: t, as a user types.
        await until(pilot, lambda: app.tabs.active == probe.id, "the first tab")
        probe.view.focus()
        await until(pilot, lambda: app.focused is probe.view, "the terminal's focus")
        await until(pilot, lambda: "#" in "".join(probe.view.terminal.display()), "a prompt")
        idle_rss = rss_mib()
        idle = await echo_latencies(pilot, probe, KEYS)
        sessions = [p.session for p in panes[1:] if p.session is not None]
        for session in sessions:
            session.write(b"yes\n")
        await pilot.pause(2)
        flood = await echo_latencies(pilot, probe, KEYS)
        deadline = time.monotonic() + FLOOD_SECONDS
        while time.monotonic() < deadline:
            await pilot.pause(0.5)
        flood_rss = rss_mib()
        flood_lines = sum(len(p.view.terminal.screen.history) for p in panes[1:])
        for session in sessions:
            session.write(b"\x03")
        print(
            "keystroke to echo on the emulated screen of the front session (goal beside 19"
            " flooding background sessions: p50 < 100 ms)"
        )
        report("idle", idle)
        report(f"while {len(panes) - 1} sessions flood (yes)", flood)
        p50 = statistics.median(flood) * 1000
        idle50 = max(statistics.median(idle) * 1000, 0.001)
        print(
            f"  beside {len(panes) - 1} floods p50 {p50:.1f} ms ({p50 / idle50:.1f}x idle) -> "
            + ("MET" if p50 < 100 else "NOT MET")
        )
        print(
            f"memory (RSS): {base_rss:.0f} MiB with the list, {idle_rss:.0f} MiB with "
            f"{len(panes)} idle sessions (+{(idle_rss - base_rss) / len(panes):.1f} MiB each), "
            f"{flood_rss:.0f} MiB after {FLOOD_SECONDS:.0f} s of flood "
            f"({flood_lines} scrollback lines kept)"
        )
        t0 = time.perf_counter()
        app.end_sessions(panes)
        await until(
            pilot,
            lambda: (
                not engine.api.containers(all=True, filters={"label": SIDECAR_LABEL})
                or all(not p.alive for p in panes)
            ),
            "the sessions to end",
            120,
        )
        print(f"closing them all took {time.perf_counter() - t0:.1f} s")


def main() -> None:
    engine = Engine()
    image = demo.ensure_toolkit(engine)
    demo.ensure_demo_target(engine)
    run_id = uuid.uuid4().hex[:6]
    made: list[str] = []
    targets: list[str] = []
    try:
        for i in range(CONTAINERS):
            name = f"cdebug-bench-load-{run_id}-{i:03d}"
            cid = engine.api.create_container(
                demo.DEMO_IMAGE,
                name=name,
                labels={LABEL: run_id},
                host_config=engine.api.create_host_config(network_mode="none"),
            )["Id"]
            made.append(cid)
            if i < SESSIONS:
                engine.api.start(cid)
                targets.append(name)
        asyncio.run(scenario(engine, image, targets))
        left = [
            c
            for t in made
            for c in engine.api.containers(
                all=True, filters={"label": [SIDECAR_LABEL, f"{TARGET_LABEL}={t}"]}
            )
        ]
        print(f"sidecars left after closing: {len(left)}")
    finally:
        for cid in made:
            engine.remove_container(cid)


if __name__ == "__main__":
    exit_on_signals()
    main()
