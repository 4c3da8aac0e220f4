"""Provides the logs benchmark: opening a 1 GB log at its tail (time, memory) and searching
a million loaded lines, against `docker logs --tail` and `grep` measured in the same run.

A real container writes the log through the engine's json-file driver (busybox `yes`, about
1 GB of text); the Logs screen (what `l` opens) opens it under Pilot.
Run: `python benchmarks/logs.py [--gb 1.0]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import exit_on_signals  # noqa: E402
from cdebug_tui.engine import demo  # noqa: E402
from cdebug_tui.engine.client import Engine  # noqa: E402
from cdebug_tui.engine.readings import LogLine  # noqa: E402

OPEN_GOAL_S = 1.0
MEMORY_GOAL_MIB = 100.0
SEARCH_GOAL_S = 1.0
SEARCH_LINES = 1_000_000


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def make_big_log(engine: Engine, gigabytes: float) -> tuple[str, int]:
    """A container that has written `gigabytes` GB of 100-character numbered-ish lines and
    waits; returns (its id, the size of its json-file log in bytes)."""
    image = demo.ensure_toolkit(engine, notice=lambda s: None)
    size = int(gigabytes * 1e9)
    # `yes` is the fastest writer busybox has; `cat -n`-like numbering would cost more than
    # the engine's logging itself. The final line marks the end.
    script = (
        f"yes '{'x' * 60} lorem ipsum dolor sit amet' | head -c {size}; "
        "echo; echo the-last-line; exec sleep 100000"
    )
    name = f"cdebug-bench-logs-{uuid.uuid4().hex[:6]}"
    cid = engine.api.create_container(image, ["sh", "-c", script], name=name)["Id"]
    t0 = time.monotonic()
    try:
        engine.api.start(cid)
        while True:
            tail = engine.read_logs(cid, tail=1)
            if tail and tail[-1].text == "the-last-line":
                break
            if time.monotonic() - t0 > 1800:
                raise RuntimeError("the log was not written in 30 minutes")
            time.sleep(2)
    except BaseException:
        engine.remove_container(cid)  # its gigabyte of log with it; main() has no id yet
        raise
    log_path = engine.api.inspect_container(cid)["LogPath"]
    try:
        on_disk = os.path.getsize(log_path)
    except OSError:
        on_disk = 0
    print(
        f"wrote {size / 1e9:.2f} GB of log text in {time.monotonic() - t0:.0f} s "
        f"(json-file on disk: {on_disk / 1e9:.2f} GB)"
    )
    return cid, on_disk


def docker_logs_tail(cid: str, n: int) -> float:
    t0 = time.perf_counter()
    subprocess.run(["docker", "logs", "--tail", str(n), cid], capture_output=True, check=True)
    return time.perf_counter() - t0


async def open_in_app(engine: Engine, cid: str) -> tuple[float, float, float, int]:
    """(seconds to the tail on screen, MiB more memory, seconds for one page up, lines).

    The Logs screen in an app of its own: the full app's list, on an engine shared with a few
    hundred containers that come and go, redraws on every event, and that would be measured
    here too (see README).
    """
    from textual.app import App

    from cdebug_tui.ui.screens.logs import LogsScreen
    from cdebug_tui.ui.widgets.log_view import INITIAL_TAIL, LogsPanel

    class Host(App[None]):
        pass

    app = Host()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(1.0)
        before = rss_mib()
        t0 = time.perf_counter()
        await app.push_screen(LogsScreen(engine, cid, "bench"))
        panel = app.screen.query_one(LogsPanel)
        while len(panel.view.lines) < INITIAL_TAIL:
            await pilot.pause(0.01)
        await pilot.pause()
        opened = time.perf_counter() - t0
        grown = rss_mib() - before
        n = len(panel.view.lines)
        t0 = time.perf_counter()
        await pilot.press("home", "up")
        while len(panel.view.lines) == n:
            await pilot.pause(0.01)
        page = time.perf_counter() - t0
        lines = len(panel.view.lines)
        await pilot.press("escape")
    return opened, grown, page, lines


def search_bench() -> tuple[float, float, float, float, float, float]:
    """Seconds over 1M lines: (indexing them, which the view does as they arrive, the first
    search, a rare word after it, a word in every 5th line, the view's search with its redraw,
    grep -ci)."""
    from cdebug_tui.ui.widgets.log_view import SearchIndex

    words = ("GET /api/items", "POST /login", "healthcheck ok", "cache miss", "db query")
    lines = [
        LogLine(
            "stderr" if i % 50 == 0 else "stdout",
            1_700_000_000_000_000_000 + i * 1000,
            f"{i:08d} level=info {words[i % 5]} took={i % 997}ms user=u{i % 1013}",
        )
        for i in range(SEARCH_LINES)
    ]
    lines[SEARCH_LINES // 3] = LogLine("stderr", 0, "panic: needle in the haystack")

    def timed(fn: Any, *args: Any) -> float:
        t0 = time.perf_counter()
        fn(*args)
        return time.perf_counter() - t0

    builds, firsts, rares, commons = [], [], [], []
    for _ in range(3):
        index = SearchIndex()
        builds.append(timed(index.update, lines))
        firsts.append(timed(index.find, lines, "needle"))
        rares.append(timed(index.find, lines, "haystack"))
        commons.append(timed(index.find, lines, "login"))
    assert SearchIndex().find(lines, "needle") == [SEARCH_LINES // 3]

    async def in_view() -> float:
        from textual.app import App, ComposeResult

        from cdebug_tui.ui.widgets.log_view import LogView

        class One(App[None]):
            def compose(self) -> ComposeResult:
                yield LogView()

        app = One()
        async with app.run_test(size=(160, 48)) as pilot:
            view = app.query_one(LogView)
            view.append(lines)
            await pilot.pause()
            t0 = time.perf_counter()
            count = view.search("needle")
            await pilot.pause()
            took = time.perf_counter() - t0
            assert count == 1
        return took

    view = asyncio.run(in_view())
    with tempfile.NamedTemporaryFile("w", suffix=".log") as f:
        f.write("\n".join(line.text for line in lines))
        f.flush()
        grep = min(
            timed(lambda: subprocess.run(["grep", "-ci", "needle", f.name], capture_output=True))
            for _ in range(3)
        )
    return min(builds), min(firsts), min(rares), min(commons), view, grep


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--gb", type=float, default=1.0, help="log size in GB (default 1)")
    args = p.parse_args()
    if shutil.which("docker") is None:
        print("the docker CLI is needed for the baseline")
        return 1
    engine = Engine()
    cid, _ = make_big_log(engine, args.gb)
    try:
        from cdebug_tui.ui.widgets.log_view import INITIAL_TAIL

        base = statistics.median(docker_logs_tail(cid, INITIAL_TAIL) for _ in range(3))
        opened, grown, page, lines = asyncio.run(open_in_app(engine, cid))
        print(f"\nopening a {args.gb:g} GB log at its tail ({INITIAL_TAIL} lines):")
        print(f"  docker logs --tail {INITIAL_TAIL} (baseline)  {base * 1000:7.0f} ms  1.00x")
        print(
            f"  cdebug-tui Logs view                {opened * 1000:7.0f} ms  "
            f"{opened / base:.2f}x   goal < {OPEN_GOAL_S:.0f} s: "
            f"{'met' if opened < OPEN_GOAL_S else 'NOT met'}"
        )
        print(
            f"  memory added                        {grown:7.1f} MiB        goal < "
            f"{MEMORY_GOAL_MIB:.0f} MiB: {'met' if grown < MEMORY_GOAL_MIB else 'NOT met'}"
        )
        print(f"  one page up (scrolling past the top) {page * 1000:6.0f} ms  -> {lines} lines")
    finally:
        engine.remove_container(cid)
    build, first, rare, common, view, grep = search_bench()
    print(f"\nsearching {SEARCH_LINES:,} loaded lines (smart case, so lower-cased):")
    print(f"  grep -ci over the same text (baseline) {grep * 1000:6.0f} ms  1.00x")
    print(f"  indexing them (as they arrive)         {build * 1000:6.0f} ms")
    print(f"  the first search (joins the chunks)    {first * 1000:6.0f} ms  {first / grep:.2f}x")
    print(f"  the next search, a rare word           {rare * 1000:6.0f} ms  {rare / grep:.2f}x")
    print(f"  the next search, every 5th line        {common * 1000:6.0f} ms  {common / grep:.2f}x")
    print(
        f"  in the view (search, redraw)           {view * 1000:6.0f} ms  {view / grep:.2f}x"
        f"   goal < {SEARCH_GOAL_S:.0f} s: {'met' if view < SEARCH_GOAL_S else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    exit_on_signals()
    sys.exit(main())
