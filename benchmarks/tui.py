"""Provides the TUI's benchmarks: start to first frame, list rebuilds, process table parsing.

Run from the repository root: `python benchmarks/tui.py`. The first frame is measured in a fresh
interpreter, from its first line to the first refresh after mount (the budget is 0.5 s); docker-py
must not be imported by then.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import exit_on_signals  # noqa: E402

FIRST_FRAME = r"""
import time
t0 = time.perf_counter()
import asyncio, sys
from cdebug_tui.ui.app import CdebugApp

class FirstFrameApp(CdebugApp):
    def on_mount(self) -> None:
        self.call_after_refresh(self.first_frame)

    def first_frame(self) -> None:
        print(time.perf_counter() - t0, "docker" in sys.modules)
        self.exit()

asyncio.run(FirstFrameApp().run_async(headless=True, size=(160, 48)))
"""


def first_frame(runs: int = 5) -> tuple[float, bool]:
    """Median seconds from interpreter start to the first frame; whether docker was loaded."""
    times = []
    docker_loaded = False
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", FIRST_FRAME],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            check=True,
        ).stdout.split()
        times.append(float(out[0]))
        docker_loaded |= out[1] == "True"
    return statistics.median(times), docker_loaded


def list_rebuild(rows: int = 500, runs: int = 5) -> float:
    """Median seconds to redraw a list of `rows` containers (as one event does)."""
    import asyncio

    from textual.app import App, ComposeResult

    from cdebug_tui.engine.readings import Container
    from cdebug_tui.ui.widgets.container_list import ContainerListPanel

    now = datetime.now(UTC)
    containers = [
        Container(
            engine="docker",
            id=f"{i:064x}",
            name=f"service-{i:04d}",
            image=f"registry.example/team/app-{i % 40}:1.{i % 7}",
            state="running" if i % 3 else "exited",
            status="Up 2 hours" if i % 3 else "Exited (0) 1 hour ago",
            created=now,
            has_shell=bool(i % 2),
        )
        for i in range(rows)
    ]

    class ListApp(App[None]):
        def compose(self) -> ComposeResult:
            yield ContainerListPanel()

    times: list[float] = []

    async def run() -> None:
        app = ListApp()
        async with app.run_test(size=(160, 48)) as pilot:
            panel = app.query_one(ContainerListPanel)
            panel.set_containers(containers)
            await pilot.pause()
            for _ in range(runs):
                t0 = time.perf_counter()
                panel.update_container(containers[1].id, containers[1])
                times.append(time.perf_counter() - t0)
                await pilot.pause()

    asyncio.run(run())
    return statistics.median(times)


def parse_processes(count: int = 1000, runs: int = 5) -> float:
    """Median seconds to parse a process table of `count` processes and order it as a tree."""
    from cdebug_tui.engine.panels import parse_processes as parse
    from cdebug_tui.engine.panels import process_tree

    parts = [b"==SELF 99999", b"==UPTIME", b"1000.0 1.0", b"==PASSWD", b"root:x:0:0::/:/bin/sh"]
    for pid in range(1, count + 1):
        ppid = max(0, pid // 3)
        parts += [
            f"==PID {pid}".encode(),
            f"{pid} (worker) S {ppid} 1 1 0 -1 0 0 0 0 0 10 5 0 0 20 0 1 0 100 0 0".encode(),
            b"==STATUS",
            b"Uid:\t0\t0\t0\t0\nVmRSS:\t  1024 kB",
            b"==CMDLINE",
            b"/usr/bin/worker\0--id\x00" + str(pid).encode(),
        ]
    data = b"\n".join([*parts, b"==END", b""])
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        process_tree(parse(data))
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _prompt_line(pane: Any) -> str | None:
    """The terminal's line with the shell's prompt on it, once the tab's emulator has it."""
    from cdebug_tui.ui.widgets.terminal import TerminalView

    views = pane.query(TerminalView)  # none until the new tab is built
    if not views:
        return None
    terminal = views.first().terminal
    line = terminal.display()[terminal.screen.cursor.y].strip()
    return line if line.endswith(("#", "$")) else None


ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-B]")


class FramesWritten:
    """The frames an app sends to its terminal, timed: a headless app sends none, so each is
    encoded here as the terminal driver would (Textual's App._display), at the same cost."""

    def __init__(self, app: Any) -> None:
        from textual._compositor import CompositorUpdate

        self.frames: list[tuple[float, str]] = []
        display = app._display

        def encode(screen: Any, renderable: Any) -> None:
            display(screen, renderable)
            if isinstance(renderable, CompositorUpdate) and not app._batch_count:
                text = renderable.render_segments(app.console)
                self.frames.append((time.perf_counter(), ANSI.sub("", text)))

        app._display = encode

    def first_with(self, text: str, since: float) -> float | None:
        """When the first frame after `since` that shows `text` was sent."""
        return next((t for t, frame in self.frames if t >= since and text in frame), None)


def enter_to_prompt(runs: int = 5) -> tuple[float, float, float, float, float]:
    """Median seconds from Enter in the picker to the prompt drawn, picked at once (cold) and
    after the prepared sidecar is up (warm, as after a second of reading); raw `docker run -it`
    with shared namespaces, measured alongside; the longest collector pause in those windows;
    the median from the warm prompt drawn to the side panels drawn (they come after it)."""
    import asyncio
    import gc
    import uuid

    from textual.widgets import Input

    from benchmarks.time_to_shell import time_to_prompt
    from cdebug_tui.engine import demo
    from cdebug_tui.engine.client import Engine
    from cdebug_tui.ui.app import CdebugApp
    from cdebug_tui.ui.screens.picker import ToolkitPickerScreen
    from cdebug_tui.ui.widgets.container_list import ContainerListPanel

    engine = Engine()
    image = demo.ensure_toolkit(engine)
    demo.ensure_demo_target(engine)
    name = f"cdebug-bench-tui-{uuid.uuid4().hex[:6]}"
    engine.api.create_container(demo.DEMO_IMAGE, name=name)
    engine.api.start(name)

    async def until(pilot: Any, condition: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + 60
        while not (value := condition()):
            if time.monotonic() > deadline:
                raise TimeoutError("the benchmark's app did not get there")
            await asyncio.sleep(0.001)
        return value

    from cdebug_tui.ui.settings import save_setting

    save_setting("last_toolkit", image)
    pauses: list[float] = []
    began = [0.0]

    def collector_pause(phase: str, info: dict[str, int]) -> None:
        # The garbage collector's pauses inside the measured windows (the UI waits on them).
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            pauses.append(time.perf_counter() - began[0])

    panels: list[float] = []

    async def one(warm: bool) -> float:
        app = CdebugApp()
        async with app.run_test(size=(160, 48)) as pilot:
            panel = app.query_one(ContainerListPanel)
            await until(pilot, lambda: any(c.name == name for c in panel.containers.values()))
            panel.filter_text = name
            panel.rebuild()
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ToolkitPickerScreen))
            if warm:
                # As after a second of reading: the sidecar up, its tab built behind the picker.
                await until(
                    pilot,
                    lambda: app._staged and all(m.is_set() for _, _, m in app._staged.values()),
                )
                await asyncio.sleep(0.5)  # the rest of that second's reading
            else:
                box = app.screen.query_one("#picker-input", Input)
                box.value = image
                box.focus()
                await pilot.pause()
            from textual import events

            # Posted as the terminal driver posts a key: Pilot.press also waits for idle.
            frames = FramesWritten(app)
            gc.callbacks.append(collector_pause)
            start = time.perf_counter()
            app.post_message(events.Key("enter", "\r"))
            pane = await until(pilot, lambda: next(iter(app.sessions()), None))
            # Shown, not only emulated: the picker gone, the tab in front, its terminal laid
            # out with the prompt; timed at the frame that sent the prompt's line to the
            # terminal, as `docker run -it` is timed at the prompt's bytes.
            prompt = await until(
                pilot,
                lambda: (
                    not isinstance(app.screen, ToolkitPickerScreen)
                    and app.tabs.active == pane.id
                    and pane.view.display
                    and pane.view.region.area > 0
                    and _prompt_line(pane)
                ),
            )
            sent = await until(pilot, lambda: frames.first_with(prompt, start))
            elapsed = sent - start
            gc.callbacks.remove(collector_pause)
            if warm:
                await until(pilot, lambda: pane.panels_built and pane.side.region.area > 0)
                drawn = asyncio.get_running_loop().create_future()
                app.call_after_refresh(drawn.set_result, None)
                await drawn
                panels.append(time.perf_counter() - start - elapsed)
            app.end_sessions(app.sessions())
            await until(pilot, lambda: not any(p.alive for p in app.sessions()))
            return elapsed

    try:
        cold = statistics.median(asyncio.run(one(False)) for _ in range(runs))
        warm = statistics.median(asyncio.run(one(True)) for _ in range(runs))
        raw_argv = [
            "docker", "run", "-it", "--rm", "--pid", f"container:{name}",
            "--network", f"container:{name}", image, "sh",
        ]  # fmt: skip
        time_to_prompt(raw_argv)
        raw = statistics.median(time_to_prompt(raw_argv) for _ in range(runs))
    finally:
        engine.remove_container(name)
    return cold, warm, raw, max(pauses, default=0.0), statistics.median(panels)


def main() -> int:
    seconds, docker_loaded = first_frame()
    print(f"start to first frame: {seconds * 1000:6.0f} ms (budget 500 ms)")
    print(f"docker-py imported by the first frame: {docker_loaded}")
    print(f"list redraw, 500 containers: {list_rebuild() * 1000:6.1f} ms")
    print(f"process table, 1000 processes: {parse_processes() * 1000:6.1f} ms")
    cold, warm, raw, pause, panels = enter_to_prompt()
    print(f"raw docker run -it with shared namespaces, to its prompt: {raw * 1000:6.0f} ms")
    # Issue 13: with the sidecar prepared while the user picked, within 0.5x of docker run.
    for label, t, goal in (
        ("at once (sidecar not ready)", cold, 1.0),
        ("sidecar prepared", warm, 0.5),
    ):
        print(
            f"Enter in the picker to the prompt drawn, {label}: {t * 1000:6.0f} ms, {t / raw:.2f}x "
            f"(goal: within {goal}x, {'met' if t <= raw * goal else 'NOT met'})"
        )
    print(f"longest garbage collector pause in those windows: {pause * 1000:5.1f} ms")
    print(f"the side panels, drawn after the prompt (sidecar prepared): +{panels * 1000:.0f} ms")
    # A benchmark reports; it does not fail the command when a goal is missed.
    return 0


if __name__ == "__main__":
    exit_on_signals()
    raise SystemExit(main())
