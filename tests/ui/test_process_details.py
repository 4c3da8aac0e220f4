"""Tests a process's details as a person reads them (issue 14): a node target's process in
full, and tracing a process with strace in a new tab when the toolkit has strace."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
from textual.geometry import Region
from textual.widgets import Static

from cdebug_tui.ui.app import CdebugApp
from cdebug_tui.ui.screens.process import ProcessScreen
from cdebug_tui.ui.widgets.session_pane import SessionPane
from tests.ui.helpers import active_pane, run, terminal_text, wait_for, wait_for_panels

pytestmark = pytest.mark.engine

#: The node target's port: it listens on loopback only, so that a socket is among its files.
PORT = 3000
#: What node runs (`-e`): a server on loopback, and a timer that keeps the event loop busy.
SCRIPT = f'require("net").createServer().listen({PORT}, "127.0.0.1"); setInterval(() => {{}}, 1000)'
#: A long last argument: the details must show the command line whole, never cut.
LONG_ARG = "--config=" + ",".join(f"option-{i:03d}=value-{i:03d}" for i in range(24)) + ",end"
#: What the target's command is after node's own entrypoint.
COMMAND = ["-e", SCRIPT, "--", LONG_ARG]
#: An environment variable set on the container, to find among the process's environment.
ENV = {"CDEBUG_TEST_GREETING": "hello-from-issue-14"}


def _run_node(run_target: Any, node_image: str) -> Any:
    """The node target, as a distroless node service runs: uid 65532, in /app, no shell."""
    return run_target(node_image, COMMAND, network_mode="none", environment=ENV)


def shown_sections(screen: ProcessScreen) -> dict[str, str]:
    """The details as drawn on the screen (every row, scrolled into view or not): the text
    right of each heading, by heading, one line per drawn line."""
    body = screen.query_one("#process-body", Static)
    strips = body.render_lines(Region(0, 0, body.size.width, body.size.height))
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for strip in strips:
        line = strip.text
        heading = line[:14].strip()  # the headings' column is 14 wide (render_details)
        if heading:
            current = sections.setdefault(heading, [])
        current.append(line[14:].strip())
    return {k: "\n".join(v).strip("\n") for k, v in sections.items()}


def _squeezed(text: str) -> str:
    """Text without its whitespace: a long line wraps at its spaces on the screen."""
    return "".join(text.split())


async def _open_details(pilot: Any, app: CdebugApp, pane: SessionPane) -> ProcessScreen:
    """p, the node process under the cursor, Enter: its details, read."""
    await wait_for_panels(pilot, pane)
    panel = pane.processes
    node = await wait_for(
        pilot,
        lambda: next(
            (p for p in panel.processes if p.command.startswith("/nodejs/bin/node ")), None
        ),
        "the node process in the list",
        detail=lambda: f"readings {panel.refreshes}: {panel.error}",
    )
    await wait_for(pilot, lambda: app.focused is pane.view, "the terminal")
    await pilot.press("ctrl+right_square_bracket")
    await pilot.press("p")
    await wait_for(pilot, lambda: app.focused is panel, "the processes focused")
    panel.move_cursor(row=panel.get_row_index(str(node.pid)))
    await pilot.press("enter")
    screen = await wait_for(
        pilot, lambda: isinstance(app.screen, ProcessScreen) and app.screen, "the details"
    )
    assert screen.pid == node.pid
    await wait_for(
        pilot,
        lambda: screen.details is not None and screen.strace is not None,
        "the details read",
        detail=lambda: str(screen.query_one("#process-body", Static).render()),
    )
    # Drawn whole: the last section ("trace") is among the lines.
    await wait_for(pilot, lambda: "trace" in shown_sections(screen), "the details drawn")
    return screen


def test_a_node_process_in_full(
    engine: Any, run_target: Any, node_image: str, busybox_image: str
) -> None:
    """Enter on a node target's process (shell-less, like gcr.io/distroless/nodejs) shows its
    whole command line, however long; its environment with the container's variable; its
    working directory, user and executable; its listening socket among its open files; its
    limits and cgroup; and that the busybox toolkit has no strace to trace it with."""
    target = _run_node(run_target, node_image)

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(160, 45)) as pilot:
            pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
            screen = await _open_details(pilot, app, pane)
            assert screen.details is not None
            assert screen.details.argv == ("/nodejs/bin/node", *COMMAND)

            shown = shown_sections(screen)

            # The command line, whole: the script and the long argument to its last character.
            # It reads as a shell would take it (quoted), folded over the lines it needs.
            command = shown["command line"]
            assert _squeezed(command) == _squeezed(shlex.join(screen.details.argv)), command
            assert _squeezed(SCRIPT) in _squeezed(command), command
            assert _squeezed(command).endswith(_squeezed(LONG_ARG)), command
            assert "…" not in command and "..." not in command
            assert shown["executable"] == "/nodejs/bin/node"
            assert shown["working dir"] == "/app"
            assert "uid 65532" in shown["state"] and "S (sleeping)" in shown["state"]
            env = shown["environment"].splitlines()
            assert f"CDEBUG_TEST_GREETING={ENV['CDEBUG_TEST_GREETING']}" in env, env
            assert "PATH=/usr/local/bin:/usr/bin:/bin" in env, env
            files = shown["open files"].splitlines()
            assert any(
                re.fullmatch(rf"\d+ socket:\[\d+\]  tcp 127\.0\.0\.1:{PORT} LISTEN", f)
                for f in files
            ), files
            assert any(f.endswith(" anon_inode:[eventpoll]") for f in files), files  # its loop
            assert "Max open files" in shown["limits"]
            cgroups = shown["cgroup"].splitlines()
            assert cgroups and all(re.fullmatch(r"\d+:[\w,=]*:/\S*", c) for c in cgroups), cgroups
            # Its own cgroup namespace shows "/", the host's shows the container's cgroup.
            assert all(c.endswith(":/") or target.id in c for c in cgroups), cgroups
            assert shown["trace"] == "the toolkit has no strace"

    run(body())


def test_t_traces_a_process_with_strace_in_a_new_tab(
    engine: Any, run_target: Any, node_image: str, strace_toolkit: str
) -> None:
    """With a toolkit that has strace, the details offer t; t opens a new session tab that
    runs `strace -f -p PID` on the process, and its terminal shows strace attached to it and
    the system calls node's event loop makes."""
    target = _run_node(run_target, node_image)

    async def body() -> None:
        app = CdebugApp(target=target.name, image=strace_toolkit)
        async with app.run_test(size=(160, 45)) as pilot:
            pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
            screen = await _open_details(pilot, app, pane)
            assert screen.strace is True
            assert shown_sections(screen)["trace"] == "t traces it with strace in a new tab"
            pid = screen.pid

            await pilot.press("t")
            trace = await wait_for(
                pilot,
                lambda: next((p for p in app.sessions() if p is not pane), None),
                "a second session tab",
            )
            assert trace.command == ("strace", "-f", "-p", str(pid))
            await wait_for(pilot, lambda: active_pane(app) is trace, "the trace tab shown")
            await wait_for(pilot, lambda: trace.state == "running", "the trace session", 60)
            # What scrolled by is kept: the attach line goes up as the calls come.
            seen: set[str] = set()
            attached = f"strace: Process {pid} attached"
            # `[pid N] ` when strace follows several threads (node has its workers).
            call = re.compile(
                rf"^(\[pid +{pid}\] )?(epoll_p?wait|futex|clock_nanosleep)\(", re.MULTILINE
            )

            def traced() -> bool:
                text = terminal_text(trace)
                if attached in text:
                    seen.add("attached")
                if call.search(text):
                    seen.add("call")
                return seen == {"attached", "call"}

            await wait_for(
                pilot,
                traced,
                f"{attached!r} and a system call of node's event loop in the trace tab",
                detail=lambda: f"seen {seen}, the tab shows {terminal_text(trace)[-600:]!r}",
            )
            assert pane.state == "running"  # the first session goes on beside the trace

    run(body())
