"""Tests the command line's parsing: usage errors, exec's arguments, completion of commands."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from cdebug_tui.cli import _tui_parser, build_parser

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cdebug_tui", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["exec"], "required: TARGET"),
        (["exec", "--mode", "sideways", "web"], "invalid choice: 'sideways'"),
        (["exec", "--image"], "expected one argument"),
        (["toolkit"], "required: ACTION"),
        (["toolkit", "make"], "invalid choice: 'make'"),
        (["cleanup", "now"], "unrecognized arguments: now"),
        (["exec", "--bogus", "web"], "--bogus (see `cdebug-tui exec --help`)"),
        (["demo", "--tui"], "unrecognized arguments: --tui"),
        (["completion", "tcsh"], "invalid choice: 'tcsh'"),
        (["--engine"], "expected one argument"),
        (["--image", "x", "exec", "web"], "--image goes after exec"),
        (["exce", "web", "ls"], "unknown command 'exce': did you mean 'exec'?"),
        (
            ["exec", "--privileged", "--profile", "restricted", "web"],
            "--privileged and --profile restricted contradict each other",
        ),
    ],
)
def test_usage_errors_exit_125_on_one_line(args: list[str], needle: str) -> None:
    """As docker does: 125, which `exec` callers can tell from their command's own exit 2.

    DOCKER_HOST points nowhere: a usage error must be found before any engine is asked.
    """
    r = run(*args, env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert r.returncode == 125, (r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("cdebug-tui: error: ") and needle in lines[0]
    assert r.stdout == ""


def test_options_after_the_target_belong_to_the_command() -> None:
    ns = build_parser().parse_args(["exec", "-it", "--image", "x", "web", "ls", "-la", "-u", "/"])
    assert ns.tty and ns.interactive and ns.image == "x" and ns.user is None
    assert (ns.target, ns.command) == ("web", ["ls", "-la", "-u", "/"])
    # --help after TARGET is the command's, not ours.
    ns = build_parser().parse_args(["exec", "web", "ls", "--help"])
    assert ns.command == ["ls", "--help"]
    assert build_parser().parse_args(["exec", "-i", "web"]).command == []


def test_engine_before_or_after_the_command() -> None:
    p = build_parser()
    assert p.parse_args(["--engine", "podman", "exec", "web"]).engine == "podman"
    assert p.parse_args(["exec", "--engine=podman", "web"]).engine == "podman"
    assert p.parse_args(["cleanup", "--engine", "ctx"]).engine == "ctx"
    assert p.parse_args(["--engine", "a", "toolkit", "build", "r"]).ref == "r"
    assert p.parse_args(["exec", "podman/web"]).target == "podman/web"
    assert _tui_parser().parse_args(["--image", "tools", "web"]).app_image == "tools"


def test_exec_with_stdin_closed_is_one_line() -> None:
    """`exec ... <&-`: no stdin at all (sys.stdin None) is one line and 125, not a traceback
    (`exec -t` asked it whether it was a terminal)."""
    r = subprocess.run(
        f"exec {shlex.quote(sys.executable)} -m cdebug_tui exec -t web true <&-",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"},
    )
    assert r.returncode == 125, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("cdebug-tui: error: "), r.stderr


def _complete(line: str, tmp_path: Path, env: dict[str, str] | None = None) -> list[str]:
    """What the shell would offer for `line` with the cursor at its end (argcomplete's hook)."""
    out = tmp_path / "completions"
    r = subprocess.run(
        [sys.executable, "-m", "cdebug_tui"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={
            **os.environ,
            **(env or {}),
            "_ARGCOMPLETE": "1",
            "COMP_LINE": line,
            "COMP_POINT": str(len(line)),
            "_ARGCOMPLETE_STDOUT_FILENAME": str(out),
            "_ARGCOMPLETE_IFS": "\n",
        },
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # silent: nothing may land on the user's command line
    return out.read_text().split("\n") if out.read_text() else []


def test_commands_complete(tmp_path: Path) -> None:
    env = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    assert {"exec", "toolkit", "demo", "cleanup", "completion"} <= set(
        _complete("cdebug-tui ", tmp_path, env)
    )
    assert [c.strip() for c in _complete("cdebug-tui cl", tmp_path, env)] == ["cleanup"]
    assert [c.strip() for c in _complete("cdebug-tui completion f", tmp_path, env)] == ["fish"]
    offered = [c.strip() for c in _complete("cdebug-tui exec --profile n", tmp_path, env)]
    assert offered == ["netadmin"]


def test_completion_is_silent_when_the_engine_is_down(tmp_path: Path) -> None:
    """No engine at the address: no container names, no message, no delay worth a Tab."""
    names = _complete(
        "cdebug-tui exec web", tmp_path, {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    )
    assert names == []


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell: str) -> None:
    r = run("completion", shell)
    assert r.returncode == 0 and "cdebug-tui" in r.stdout and "_ARGCOMPLETE" in r.stdout
