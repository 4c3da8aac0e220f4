"""Tests the app in a real terminal (tmux), where the driver's timing is a terminal's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import sidecars_of
from tests.waiting import wait_for

pytestmark = pytest.mark.engine

CDEBUG_TUI = str(Path(sys.executable).parent / "cdebug-tui")


class Tmux:
    """One tmux session running a command, on a server of its own."""

    def __init__(self, command: list[str], width: int, height: int) -> None:
        self.socket = f"cdebug-test-{uuid.uuid4().hex[:8]}"
        # The size is the server's default before the command starts: a pane made at 80x24
        # and resized at once can resize it before it listens for SIGWINCH.
        size = ["-x", str(width), "-y", str(height)]
        self.run(
            *("start-server", ";", "set-option", "-g", "default-size", f"{width}x{height}", ";"),
            *("new-session", "-d", *size, *command),
        )

    def run(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        ).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", *keys)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def tmux_app(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> Iterator[tuple[Tmux, Any]]:
    if shutil.which("tmux") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tmux is missing (scripts/setup-engine.sh installs it)")
        pytest.skip("tmux is missing")
    target = run_target(distroless_image, network_mode="none")
    # COLUMNS and LINES would fix the app's size (pytest's environment has them in tmux).
    command = ["env", "-u", "COLUMNS", "-u", "LINES", CDEBUG_TUI, "--image", busybox_image]
    tmux = Tmux([*command, target.name], 160, 45)
    try:
        yield tmux, target
    finally:
        tmux.close()
        wait_for(lambda: not sidecars_of(engine, target.id), 30, "the sidecar gone")


def test_a_resize_across_the_panels_width_tells_the_shell_one_size(
    tmux_app: tuple[Tmux, Any],
) -> None:
    """Narrowing the window hides the side panels, widening shows them: the shell is told the
    new size once. It was first told one computed with the panels of the old width (160 -> 100
    said 158 columns, then 98; 100 -> 160 said 60, which cut what the screen showed there)."""
    tmux, target = tmux_app
    wait_for(lambda: "/app #" in tmux.screen(), 60, lambda: f"the prompt: {tmux.screen()}")
    # A program that prints each size it is told (SIGWINCH), as a full-screen one redraws.
    tmux.keys("sh -c 'trap \"echo WINCH \\$(stty size)\" WINCH; while :; do sleep 0.1; done'")
    tmux.keys("Enter")
    wait_for(lambda: "Target" in tmux.screen(), 30, lambda: f"the panels: {tmux.screen()}")

    def shell() -> list[str]:
        """The lines inside the terminal's box."""
        rows = [line for line in tmux.screen().splitlines() if line.startswith("│")]
        return [row[1:].split("│", 1)[0].rstrip() for row in rows]

    def told() -> list[str]:
        return [line.removeprefix("WINCH ") for line in shell() if line.startswith("WINCH ")]

    for width, height, size in ((100, 40, "33 98"), (160, 45, "38 98"), (100, 40, "33 98")):
        before = len(told())
        tmux.run("resize-window", "-x", str(width), "-y", str(height))
        wait_for(
            lambda s=size, b=before: s in told()[b:],  # type: ignore[misc]
            30,
            lambda s=size: f"WINCH {s}: {tmux.screen()}",  # type: ignore[misc]
        )
        assert told()[before:] == [size], (width, told()[before:])
        # What the screen showed is whole: a size in between cut every line at its width.
        assert any(line.endswith("built-in shell (ash)") for line in shell()), shell()
    tmux.keys("C-c")


def test_ctrl_bracket_t_and_a_command_in_one_burst_reach_the_shell(
    tmux_app: tuple[Tmux, Any],
) -> None:
    """`ctrl+] t echo ... Enter` sent at once, as tmux (and a fast typist over ssh) deliver
    keys: ctrl+] leaves the terminal, t comes back and the command is the shell's. The keys
    after t went to the panels (`e` opened an explanation); tmux splits such a burst over
    reads as it likes, so it is sent again and again."""
    tmux, target = tmux_app
    wait_for(lambda: "/app #" in tmux.screen(), 60, lambda: f"the prompt: {tmux.screen()}")
    for n in range(8):
        tmux.keys("C-]", "t", f"echo burst-{n}-$((6*7))", "Enter")
        wait_for(
            lambda n=n: f"burst-{n}-42" in tmux.screen(),  # type: ignore[misc]
            30,
            lambda: f"the command's output: {tmux.screen()}",
        )
        assert "What is this" not in tmux.screen()
