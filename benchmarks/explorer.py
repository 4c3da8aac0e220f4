"""Provides the explorer benchmark: the app's idle CPU beside running containers, stats on
against stats off in the same run, and what stats cost the engine, for 50 and 300 containers."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import exit_on_signals  # noqa: E402
from cdebug_tui.engine import demo  # noqa: E402
from cdebug_tui.engine.client import Engine  # noqa: E402
from cdebug_tui.ui.app import CdebugApp  # noqa: E402
from cdebug_tui.ui.widgets.container_list import ContainerListPanel  # noqa: E402

FEW = int(os.environ.get("BENCH_RUNNING", "50"))
MANY = int(os.environ.get("BENCH_CONTAINERS", "300"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "6"))
LABEL = "io.cdebug-tui.bench"
#: The engine's processes: what a stats read makes work (dockerd asks containerd, which asks
#: the container's shim).
ENGINE_PROCESSES = ("dockerd", "containerd", "containerd-shim-runc-v2", "containerd-shim")


def engine_cpu_seconds() -> float:
    """CPU seconds used so far by every process of the engine on this host."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        if name in ENGINE_PROCESSES or name.startswith("containerd-shim"):
            fields = stat[stat.rindex(")") + 2 :].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def idle_cpu(stats_on: bool, rows: int, size: tuple[int, int]) -> dict[str, float]:
    """The app's and the engine's CPU (percent of one core) while the app sits idle."""
    app = CdebugApp()
    app.stats.enabled = stats_on
    async with app.run_test(size=size) as pilot:
        panel = app.query_one(ContainerListPanel)
        deadline = time.monotonic() + 120
        while sum(1 for c in panel.containers.values() if c.label(LABEL) and c.running) < rows:
            if time.monotonic() > deadline:
                raise TimeoutError("the list did not show the containers")
            await pilot.pause(0.1)
        await asyncio.sleep(WARMUP)
        if stats_on:
            # Steady state: the first round (each read waits on the engine) has finished.
            deadline = time.monotonic() + 120
            while app.stats.rounds < 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
        rounds0 = app.stats.rounds
        reads0 = sum(len(h.points) for h in app.stats.histories.values())
        wall0, cpu0, eng0 = time.monotonic(), time.process_time(), engine_cpu_seconds()
        await asyncio.sleep(SECONDS)
        wall = time.monotonic() - wall0
        cpu = time.process_time() - cpu0
        eng = engine_cpu_seconds() - eng0
        reads = sum(len(h.points) for h in app.stats.histories.values()) - reads0
        return {
            "app": 100 * cpu / wall,
            "engine": 100 * eng / wall,
            "rounds": app.stats.rounds - rounds0,
            "reads": reads,
            "wanted": len(app.stats.wanted),
        }


def line(label: str, r: dict[str, float], base: dict[str, float] | None) -> None:
    ratio = f"{r['app'] / base['app']:.2f}x" if base and base["app"] else "1.00x"
    extra = f"  +{r['app'] - base['app']:.2f} points" if base else ""
    print(
        f"  {label:44s} app {r['app']:5.2f}% of a core ({ratio}{extra})"
        f"   engine {r['engine']:5.1f}%   {int(r['reads'])} reads in {int(r['rounds'])} rounds"
        f" ({int(r['wanted'])} rows read)"
    )


async def scenarios(engine: Engine, made: list[str]) -> None:
    print(f"idle CPU over {SECONDS:.0f} s (process CPU time / wall time; engine = dockerd, ")
    print("containerd and the shims, all of this host's containers included)")
    print(f"{FEW} running containers, a 200x60 screen:")
    off = await idle_cpu(False, FEW, (200, 60))
    line("stats off (baseline)", off, None)
    on = await idle_cpu(True, FEW, (200, 60))
    line("stats on", on, off)
    goal = "met" if on["app"] <= 2.0 else "NOT met"
    print(f"  goal: at most 2% of one core with stats on: {goal} ({on['app']:.2f}%)")

    for cid in made[FEW:]:
        engine.api.start(cid)
    print(f"{MANY} running containers:")
    off = await idle_cpu(False, MANY, (200, 60))
    line("stats off (baseline)", off, None)
    on = await idle_cpu(True, MANY, (200, 60))
    line("stats on, 200x60 (the rows on screen are read)", on, off)
    tall = await idle_cpu(True, MANY, (200, MANY + 20))
    line(f"stats on, 200x{MANY + 20} (all {MANY} rows on screen)", tall, off)
    per_read = (tall["app"] - off["app"]) / max(1.0, tall["reads"] / SECONDS)
    print(f"  one stats read costs the app about {per_read * 10:.2f} ms of CPU")


def _interrupted(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # so that `finally` removes the containers (timeout sends TERM)


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupted)
    engine = Engine()
    demo.ensure_demo_target(engine)
    run_id = uuid.uuid4().hex[:6]
    made: list[str] = []
    try:
        for i in range(MANY):
            cid = engine.api.create_container(
                demo.DEMO_IMAGE,
                name=f"cdebug-bench-expl-{run_id}-{i:03d}",
                labels={LABEL: run_id},
                host_config=engine.api.create_host_config(network_mode="none"),
            )["Id"]
            made.append(cid)
            if i < FEW:
                engine.api.start(cid)
        asyncio.run(scenarios(engine, made))
    finally:
        for cid in made:
            engine.remove_container(cid)


if __name__ == "__main__":
    exit_on_signals()
    main()
