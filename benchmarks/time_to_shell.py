"""Provides the time-to-shell benchmark: `cdebug-tui exec -it` against raw docker commands, and
on a stopped target (a debug copy) against a running one."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import exit_on_signals  # noqa: E402
from cdebug_tui.engine import demo  # noqa: E402
from cdebug_tui.engine.client import Engine  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "7"))
#: What a user types: the installed command (its script imports cdebug_tui.cli; `python -m`
#: would add runpy and __main__, 5 ms that no user pays).
CDEBUG_TUI = [os.path.join(os.path.dirname(sys.executable), "cdebug-tui")]
#: cdebug-tui exec -it to a prompt, at most this many times docker run -it's time.
GOAL = 1.5
# ash ends its prompt with a cursor-position query when it edits lines.
PROMPT = re.compile(rb"[#$] (\x1b\[6n)?$")


def time_to_prompt(
    argv: list[str], timeout: float = 30, env: dict[str, str] | None = None
) -> float:
    """Seconds from fork to the first prompt on a terminal; the shell is then told to exit."""
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(argv[0], argv, {**os.environ, **(env or {})})
    buf = b""
    try:
        while True:
            left = start + timeout - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no prompt from {argv}: {buf[-200:]!r}")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                raise RuntimeError(f"{argv} ended before its prompt: {buf[-300:]!r}") from None
            buf += chunk
            if PROMPT.search(buf):
                elapsed = time.perf_counter() - start
                break
        os.write(fd, b"exit\r")
        os.waitpid(pid, 0)
        return elapsed
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)


def import_cost(module: str) -> float:
    """Seconds a fresh Python spends importing a module (median of three)."""
    samples = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            check=True,
        ).stderr.splitlines()
        samples.append(int(out[-1].split("|")[1]) / 1e6)
    return statistics.median(samples)


def explain_steps(target: str, image: str) -> list[tuple[str, float]]:
    """The steps `exec -it --explain` prints, with their times: on a terminal, as the
    benchmark's runs are (a session without one is not a direct one, see DebugSession)."""
    with tempfile.TemporaryFile() as err:
        pid, fd = pty.fork()
        if pid == 0:
            os.dup2(err.fileno(), 2)
            argv = [*CDEBUG_TUI, "exec", "-it", "--explain", "-q", "--image", image, target]
            os.execvp(argv[0], argv + ["true"])
        try:
            while True:
                try:
                    if not os.read(fd, 65536):
                        break
                except OSError:
                    break  # the terminal closed: `true` has ended
            os.waitpid(pid, 0)
        finally:
            os.close(fd)
        err.seek(0)
        out = err.read().decode(errors="replace")
    return [
        (m.group(1), float(m.group(2)) / 1000)
        for m in re.finditer(r"^# (.+?) \((\d+) ms\)", out, re.M)
    ]


def median_of(argv: list[str], env: dict[str, str] | None = None) -> float:
    time_to_prompt(argv, env=env)  # warm-up: caches, page cache, the toolkit classification
    return statistics.median(time_to_prompt(argv, env=env) for _ in range(RUNS))


def exec_imports() -> str:
    """Which heavy modules `cdebug-tui exec` imports on its way to a local engine."""
    code = (
        "import sys, cdebug_tui.cli, cdebug_tui.engine.session, cdebug_tui.engine.unixapi; "
        "print(' '.join(m for m in ('docker', 'requests', 'urllib3', 'textual') "
        "if m in sys.modules) or 'none of docker, requests, urllib3, textual')"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def compile_package() -> None:
    """Byte-compiles cdebug_tui, as pip does when it installs it: under
    PYTHONDONTWRITEBYTECODE (set on some machines) every run compiled each module it imported
    that had changed since its last .pyc, 30-40 ms that no installed copy pays."""
    import compileall

    import cdebug_tui

    compileall.compile_dir(os.path.dirname(cdebug_tui.__file__), quiet=1)


def main() -> None:
    compile_package()
    engine = Engine()
    image = demo.ensure_toolkit(engine)
    name = f"cdebug-bench-{uuid.uuid4().hex[:6]}"
    shell_name = f"{name}-shell"
    stopped_name = f"{name}-stopped"
    demo.ensure_demo_target(engine)  # builds the demo image when it is missing
    try:
        engine.api.create_container(demo.DEMO_IMAGE, name=name)
        engine.api.start(name)
        engine.api.create_container(image, name=shell_name, command=["sleep", "3600"])
        engine.api.start(shell_name)
        engine.api.create_container(demo.DEMO_IMAGE, name=stopped_name)
        engine.api.start(stopped_name)
        engine.api.kill(stopped_name)  # an `Exited (137)` shell-less container
        cases = {
            "docker run -it (shared ns)": [
                "docker",
                "run",
                "-it",
                "--rm",
                "--pid",
                f"container:{name}",
                "--network",
                f"container:{name}",
                image,
                "sh",
            ],
            "docker exec -it (has a shell)": ["docker", "exec", "-it", shell_name, "sh"],
            "cdebug-tui exec -it (stopped)": [
                *CDEBUG_TUI,
                "exec",
                "-it",
                "-q",
                "--image",
                image,
                stopped_name,
            ],
        }
        exec_argv = [*CDEBUG_TUI, "exec", "-it", "-q", "--image", image]
        results = {label: median_of(argv) for label, argv in cases.items()}
        results["cdebug-tui exec -it"] = median_of([*exec_argv, name])
        # The same with docker-py as the client throughout (what tcp:// and ssh:// engines use).
        results["cdebug-tui exec -it (docker-py)"] = median_of(
            [*exec_argv, name], env={"CDEBUG_TUI_DOCKER_PY": "1"}
        )
        base = results["docker run -it (shared ns)"]
        print(f"time to the first prompt, median of {RUNS} runs (toolkit {image})")
        for label, t in results.items():
            print(f"  {label:34s} {t * 1000:7.0f} ms   {t / base:5.2f}x docker run -it")
        ratio = results["cdebug-tui exec -it"] / base
        verdict = "met" if ratio <= GOAL else "NOT met"
        print(f"goal: cdebug-tui exec -it at most {GOAL}x docker run -it: {ratio:.2f}x, {verdict}")
        copy = results["cdebug-tui exec -it (stopped)"] / results["cdebug-tui exec -it"]
        print(
            f"goal: a stopped target (a debug copy) at most 2x a running one: {copy:.2f}x, "
            + ("met" if copy <= 2 else "NOT met")
        )
        print("where cdebug-tui's time goes:")
        print(f"  import cdebug_tui.cli            {import_cost('cdebug_tui.cli') * 1000:7.0f} ms")
        print(f"  import docker (docker-py)        {import_cost('docker') * 1000:7.0f} ms")
        print(f"  exec's path imports: {exec_imports()}")
        steps = explain_steps(name, image)
        for title, seconds in steps:
            print(f"  {title:32s} {seconds * 1000:7.0f} ms")
        # The session's modules load while the engine starts the sidecar (in its step).
        rest = results["cdebug-tui exec -it"] - sum(t for _, t in steps)
        print(f"  the rest: interpreter, imports,  {rest * 1000:7.0f} ms")
        print("    the shell from its start to its prompt")
        print("where the time goes on a stopped target:")
        for title, seconds in explain_steps(stopped_name, image):
            print(f"  {title[:48]:48s} {seconds * 1000:7.0f} ms")
    finally:
        for c in (name, shell_name, stopped_name):
            engine.remove_container(c)


if __name__ == "__main__":
    exit_on_signals()
    main()
