"""Provides the fault benchmark: how soon a session ends after its target stops, pauses, dies."""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import exit_on_signals  # noqa: E402
from cdebug_tui.engine import demo  # noqa: E402
from cdebug_tui.engine.client import Engine  # noqa: E402
from cdebug_tui.engine.models import SessionSpec  # noqa: E402
from cdebug_tui.engine.session import start_session  # noqa: E402

RUNS = 3
GOAL = 2.0


def one(engine: Engine, image: str, fault: str) -> tuple[float, float]:
    """(seconds from the fault's API call, seconds after the target was frozen or gone)."""
    name = f"cdebug-bench-fault-{uuid.uuid4().hex[:6]}"
    engine.api.create_container(demo.DEMO_IMAGE, name=name)
    engine.api.start(name)
    try:
        session = start_session(
            engine,
            SessionSpec(target=name, image=image, tty=False, interactive=True, command=("cat",)),
        )
        ended = threading.Event()

        def drain() -> None:
            while session.read()[1]:
                pass
            ended.set()

        threading.Thread(target=drain, daemon=True).start()
        called = time.perf_counter()
        if fault == "pause":
            engine.api.pause(name)
            # The target is frozen once the engine has answered.
            reference = time.perf_counter()
        else:
            if fault == "kill":
                engine.api.kill(name)
            else:
                # A PID 1 without a SIGTERM handler ignores it: the engine kills it after the
                # timeout. The session can only end once the target's processes are gone.
                engine.api.stop(name, timeout=1)
            engine.api.wait(name)
            reference = time.perf_counter()
        ended.wait(30)
        end = time.perf_counter()
        session.close()
        # The session often ends before `docker wait` returns: count that as no delay.
        return end - called, max(0.0, end - reference)
    finally:
        engine.remove_container(name)


def main() -> None:
    engine = Engine()
    image = demo.ensure_toolkit(engine)
    demo.ensure_demo_target(engine)
    baseline = []
    for _ in range(RUNS):
        # The baseline: how long the engine itself takes to report a kill (docker kill + wait).
        name = f"cdebug-bench-fault-{uuid.uuid4().hex[:6]}"
        engine.api.create_container(demo.DEMO_IMAGE, name=name)
        engine.api.start(name)
        start = time.perf_counter()
        engine.api.kill(name)
        engine.api.wait(name)
        baseline.append(time.perf_counter() - start)
        engine.remove_container(name)
    base = statistics.median(baseline)
    print(
        f"time from the fault (the target frozen, or its processes gone) to the session's end,"
        f" median of {RUNS} (goal: under {GOAL} s)"
    )
    print(f"  baseline: docker kill + docker wait          {base * 1000:7.0f} ms")
    print("  fault  from the API call           after the target was frozen/gone  goal")
    for fault in ("kill", "stop", "pause"):
        runs = [one(engine, image, fault) for _ in range(RUNS)]
        call = statistics.median(r[0] for r in runs)
        after = statistics.median(r[1] for r in runs)
        verdict = "met" if after < GOAL else "NOT met"
        print(
            f"  {fault:6s} {call * 1000:7.0f} ms ({call / base:4.1f}x baseline)"
            f" {after * 1000:12.0f} ms                      {verdict}"
        )


if __name__ == "__main__":
    exit_on_signals()
    main()
