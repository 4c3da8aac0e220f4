"""Tests the app on what does not run: Enter on a crashed container opens a session on a copy."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import docker.errors
import pytest
from textual.widgets import DataTable

from cdebug_tui.ui.app import CdebugApp
from cdebug_tui.ui.widgets.container_list import ContainerListPanel
from tests.conftest import RUN_ID, TEST_LABEL
from tests.engine.test_stopped import copies_of, snapshot
from tests.ui.helpers import (
    active_pane,
    pick_toolkit,
    run,
    terminal_text,
    type_text,
    wait_for,
    wait_for_prompt,
)

pytestmark = pytest.mark.engine


@pytest.fixture
def crasher(engine: Any, crasher_image: str) -> Iterator[Any]:
    """Makes shell-less containers that write /tmp/crash.log and exit 3 (restarted by `policy`
    when given); removes them, their copies and images at the end."""
    made: list[str] = []

    def make(policy: str | None = None) -> str:
        cid = engine.api.create_container(
            crasher_image,
            name=f"cdebug-test-crashed-{RUN_ID}-{uuid.uuid4().hex[:6]}",
            labels={TEST_LABEL: RUN_ID},
            host_config=engine.api.create_host_config(
                restart_policy={"Name": policy} if policy else None
            ),
        )["Id"]
        made.append(cid)
        engine.api.start(cid)
        return str(cid)

    yield make
    for cid in made:
        for image in copies_of(engine, cid)[1]:
            try:
                engine.api.remove_image(image, force=True)
            except docker.errors.APIError:
                pass
        engine.api.remove_container(cid, force=True, v=True)


@pytest.fixture
def crashed(engine: Any, crasher: Any) -> Any:
    """A shell-less container that wrote /tmp/crash.log and exited 3."""
    cid = crasher()
    engine.api.wait(cid, timeout=30)
    return engine.inspect(cid)


async def debug_from_list(pilot: Any, cid: str, name: str, toolkit: str) -> Any:
    """Filters the list to a container, Enter, picks the toolkit: its session tab, running."""
    app = pilot.app
    panel = app.query_one(ContainerListPanel)
    await wait_for(pilot, lambda: panel.row(cid) is not None, "the container's row")
    await pilot.press("slash")
    await type_text(pilot, name)
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.focused is panel.query_one(DataTable), "the list")
    await pilot.press("enter")
    await pick_toolkit(pilot, toolkit)
    pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
    await wait_for(pilot, lambda: pane.state == "running", "the session on a copy", 90)
    return pane


def test_enter_on_a_crashed_container_debugs_a_copy(
    engine: Any, crashed: Any, busybox_image: str
) -> None:
    """Enter on an `Exited (3)` row, a toolkit: the tab says COPY and what it shares, the
    crash log is readable, `entrypoint --run` crashes again with 3; closing the tab leaves the
    original as it was and no copy or image behind."""
    before = snapshot(engine, crashed.id)

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(160, 48)) as pilot:
            pane = await debug_from_list(pilot, crashed.id, crashed.name, busybox_image)
            header = str(pane.query_one(".session-header").render())
            assert "COPY" in header
            assert f"a debug copy of container {crashed.name}, exited (3)" in header
            # Within the width: the header cuts the rest of the line.
            assert "discarded" in header.splitlines()[1][: app.size.width - 4], header
            await wait_for_prompt(pilot, pane)
            await type_text(pilot, "cat /tmp/crash.log; entrypoint --run; echo code=$?")
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: "code=3" in terminal_text(pane),
                "the crash again",
            )
            text = terminal_text(pane)
            assert "crashed as uid=65532 in /app mode=production" in text
            assert "fatal: cannot reach the database" in text
            assert copies_of(engine, crashed.id)[1], "the committed image, while it runs"
            # The list marks the original's row: the copy is no row of it.
            panel = app.query_one(ContainerListPanel)
            await wait_for(
                pilot,
                lambda: panel.sessions == {f"{app.engine.name}/{crashed.id}": 1},
                "the original's row marked",
                detail=lambda: panel.sessions,
            )
            await pilot.press("ctrl+right_square_bracket")
            # The Logs view shows the original's log, the crash's last words (the copy's own
            # log is empty: it only holds the shell).
            from cdebug_tui.ui.widgets.log_view import LogsPanel

            await pilot.press("l")
            logs = await wait_for(
                pilot, lambda: next(iter(pane.query(LogsPanel)), None), "the Logs"
            )
            await wait_for(
                pilot,
                lambda: any("cannot reach the database" in ln.text for ln in logs.view.lines),
                "the original's crash in the log",
                30,
            )
            assert logs.container_id == crashed.id
            await pilot.press("x")
            from cdebug_tui.ui.screens.confirm import ConfirmScreen

            asked = await wait_for(
                pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen, "x asks"
            )
            # What goes with the session, before it is lost: the copy and what was written.
            assert f"the debug copy {pane.session.copy.name} is removed" in asked.question
            await pilot.press("y")
            await wait_for(
                pilot,
                lambda: copies_of(engine, crashed.id) == ([], []),
                "the copy and its image to go",
            )

    run(body())
    assert snapshot(engine, crashed.id) == before


def test_palette_debugs_an_image_with_a_profile(
    engine: Any, distroless_image: str, busybox_image: str
) -> None:
    """ ":" opens the palette; "Debug an image" lists local images; the picker's profile is the
    session's; the throwaway container is gone when the tab closes, the image stays."""
    from textual.command import CommandList, CommandPalette
    from textual.widgets import Select

    from cdebug_tui.ui.screens.picker import ToolkitPickerScreen

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_for(pilot, lambda: app.engine is not None, "the engine")
            await wait_for(pilot, lambda: app.focused is not None, "the focus")
            await pilot.press("colon")
            await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
            await type_text(pilot, f"{RUN_ID}/distroless")

            def listed() -> bool:
                commands = app.screen.query_one(CommandList)
                return any(
                    distroless_image in str(commands.get_option_at_index(i).prompt)
                    for i in range(commands.option_count)
                )

            await wait_for(pilot, listed, "the image in the palette")
            # What its Enter runs (Pilot's Enter in the palette raced its list's highlight).
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette), "closed")
            app.debug_image(distroless_image)
            picker = await wait_for(
                pilot,
                lambda: app.screen if isinstance(app.screen, ToolkitPickerScreen) else None,
                "the picker",
            )
            picker.query_one("#picker-profile", Select).value = "netadmin"
            await wait_for(pilot, lambda: picker.profile == "netadmin", "the profile chosen")
            await pick_toolkit(pilot, busybox_image)
            pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            await wait_for(pilot, lambda: pane.state == "running", "the session on an image", 90)
            assert pane.session is not None and pane.session.spec.profile == "netadmin"
            header = str(pane.query_one(".session-header").render())
            assert f"a debug copy of image {distroless_image}" in header
            assert "profile netadmin" in header
            await wait_for_prompt(pilot, pane)
            await type_text(pilot, "ls /app")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "config.json" in terminal_text(pane), "the image's files")
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("x", "y")
            await wait_for(
                pilot,
                lambda: copies_of(engine, distroless_image) == ([], []),
                "the throwaway container to go",
            )

    run(body())
    assert engine.image_id(distroless_image)


def test_enter_on_a_crash_loop_debugs_a_copy_between_two_runs(
    engine: Any, crasher: Any, busybox_image: str
) -> None:
    """Enter on a container its restart policy keeps restarting (a crash loop) opens the
    picker, not a refusal, and a session on a copy: its crash log is there to read."""
    from tests.engine.helpers import wait_for as engine_wait

    cid = crasher("always")
    # Six restarts in, the engine waits 6.4 s before the next: time enough to pick.
    engine_wait(
        lambda: engine.inspect(cid).restarting and engine.details(cid).restart_count >= 6,
        60,
        "a crash loop",
    )
    name = engine.inspect(cid).name

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(160, 48)) as pilot:
            pane = await debug_from_list(pilot, cid, name, busybox_image)
            header = str(pane.query_one(".session-header").render())
            assert f"a debug copy of container {name}, restarting after exit 3" in header
            # The palette's commands (events, stopping the loop) are for the original.
            from cdebug_tui.ui.container_actions import ContainerCommands, selected_target

            target = selected_target(app)
            assert target is not None and (target.id, target.name) == (cid, name)
            names = [c[0] for c in ContainerCommands(app.screen)._commands()]
            assert f"Events of {name}" in names and f"Stop {name}" in names, names
            await wait_for_prompt(pilot, pane)
            await type_text(pilot, "cat /tmp/crash.log")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "crashed as uid=65532" in terminal_text(pane), "the log")

    run(body())


def test_n_on_a_copys_tab_opens_a_shell_in_the_same_copy(
    engine: Any, crashed: Any, busybox_image: str
) -> None:
    """`n` in a running tab on a debug copy: another shell in the same copy, which sees the
    first one's writes (it made a second copy, which saw none); the copy stays while either
    tab runs and goes, with its image, with the last."""

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(160, 48)) as pilot:
            first = await debug_from_list(pilot, crashed.id, crashed.name, busybox_image)
            await wait_for_prompt(pilot, first)
            await type_text(pilot, "echo from-the-first > /tmp/shared")
            await pilot.press("enter")
            await pilot.press("ctrl+right_square_bracket", "n")
            second = await wait_for(
                pilot, lambda: next((p for p in app.sessions() if p is not first), None), "n"
            )
            await wait_for(pilot, lambda: second.state == "running", "its session", 60)
            assert second.session is not None and second.session.copy is first.session.copy
            assert len(copies_of(engine, crashed.id)[0]) == 1
            await wait_for_prompt(pilot, second)
            await type_text(pilot, "cat /tmp/shared")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "from-the-first" in terminal_text(second), "its write")
            # The first tab closes: the copy stays for the second.
            app.tabs.active = first.id
            await pilot.press("ctrl+right_square_bracket", "x", "y")
            await wait_for(pilot, lambda: first not in app.sessions(), "the first tab to close")
            assert second.state == "running"
            assert [len(found) for found in copies_of(engine, crashed.id)] == [1, 1]
            app.tabs.active = second.id
            await pilot.press("ctrl+right_square_bracket", "x", "y")
            await wait_for(
                pilot,
                lambda: copies_of(engine, crashed.id) == ([], []),
                "the copy and its image to go with the last tab",
                30,
            )

    run(body())
