"""Tests the real app with Pilot against real containers on the real engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest
from textual.widgets import Button, DataTable, Input, Static, TabbedContent

from cdebug_tui.ui.app import CdebugApp
from cdebug_tui.ui.screens.confirm import ConfirmScreen
from cdebug_tui.ui.screens.picker import ToolkitPickerScreen
from cdebug_tui.ui.screens.preview import FilePreviewScreen
from cdebug_tui.ui.settings import settings_path
from cdebug_tui.ui.widgets.container_list import ContainerListPanel
from cdebug_tui.ui.widgets.footer import AppFooter
from cdebug_tui.ui.widgets.session_pane import SessionPane
from tests.conftest import sidecars_of
from tests.ui.helpers import (
    active_pane,
    describe,
    pick_toolkit,
    run,
    terminal_text,
    type_text,
    wait_for,
    wait_for_panels,
    wait_for_prompt,
)

pytestmark = pytest.mark.engine


def test_the_app_module_does_not_import_docker() -> None:
    """docker-py loads in a worker after the first frame, never at import time."""
    code = "import sys, cdebug_tui.ui.app, cdebug_tui.ui.launch; print('docker' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "False", out.stderr


def test_list_is_live_filters_and_keeps_the_cursor(
    engine: Any, run_target: Any, distroless_image: str
) -> None:
    first = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp()
        notes: list[str] = []
        async with app.run_test(size=(160, 48)) as pilot:
            app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
            panel = app.query_one(ContainerListPanel)
            table = app.query_one("#containers", DataTable)
            await wait_for(pilot, lambda: panel.row(first.id) is not None, "the target's row")
            row = panel.row(first.id)
            assert row.has_shell is False or row.has_shell is None
            await wait_for(
                pilot, lambda: panel.row(first.id).has_shell is False, "the no-shell probe"
            )

            # `/` filters as you type; Esc clears the filter.
            await pilot.press("slash")
            await type_text(pilot, first.name)
            await wait_for(pilot, lambda: table.row_count == 1, "the filter to leave one row")
            await pilot.press("escape")
            assert panel.filter_text == "" and table.row_count >= 1

            # The cursor stays on its container while others appear, stop and go.
            table.move_cursor(row=[c.id for c in panel.visible_rows()].index(first.id))
            t0 = time.monotonic()
            second = run_target(distroless_image, network_mode="none")
            await wait_for(pilot, lambda: panel.row(second.id) is not None, "the new row", 10)
            appeared = time.monotonic() - t0
            assert panel.selected() is not None and panel.selected().id == first.id  # type: ignore[union-attr]
            engine.api.stop(second.id, timeout=1)
            await wait_for(pilot, lambda: not panel.row(second.id).running, "the stopped row", 10)
            assert panel.selected().id == first.id  # type: ignore[union-attr]
            # Stopped containers sort after running ones; Enter offers a debug copy of them.
            ids = [c.id for c in panel.visible_rows()]
            assert ids.index(second.id) > ids.index(first.id)
            # Other engineers' containers may come and go on a shared engine: index afresh.
            table.move_cursor(row=[c.id for c in panel.visible_rows()].index(second.id))
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ToolkitPickerScreen), "picker")
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, ToolkitPickerScreen), "back")
            table.move_cursor(row=[c.id for c in panel.visible_rows()].index(first.id))
            engine.api.remove_container(second.id, force=True)
            await wait_for(pilot, lambda: panel.row(second.id) is None, "the row to go", 10)
            assert panel.selected().id == first.id  # type: ignore[union-attr]
        assert appeared < 3.0, f"a new container took {appeared:.1f}s to show"

    run(body())


def test_debug_session_end_to_end(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """Filter, pick, type into the shell, read the panels, two sessions, exit, quit: no sidecar."""
    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(160, 48)) as pilot:
            panel = app.query_one(ContainerListPanel)
            await wait_for(pilot, lambda: panel.row(target.id) is not None, "the target's row")
            await pilot.press("slash")
            await type_text(pilot, target.name)
            await pilot.press("enter")  # leaves the filter for the list
            await wait_for(
                pilot,
                lambda: app.focused is panel.query_one(DataTable),
                "the list",
                detail=lambda: f"focus {app.focused} filter {panel.filter_text!r}",
            )
            await pilot.press("enter")  # opens the picker
            await pick_toolkit(pilot, busybox_image)
            pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            await wait_for(pilot, lambda: pane.state == "running", "the session to start", 60)
            assert pane.session is not None and pane.session.mode == "root"
            # The focus moves on the next idle of the app, after the state.
            await wait_for(pilot, lambda: app.focused is pane.view, "the terminal's focus")
            assert json.loads(settings_path().read_text())["last_toolkit"] == busybox_image

            # Keys reach the shell; the target's files are its `/`.
            await wait_for_prompt(pilot, pane)
            await type_text(pilot, "ls /")
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: "app" in terminal_text(pane) and "etc" in terminal_text(pane),
                "the target's files in the terminal",
            )
            await type_text(pilot, "sleep 100")
            await pilot.press("enter")
            await pilot.pause(0.2)
            await pilot.press("ctrl+c")
            await type_text(pilot, "echo done-$((40+2))")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "done-42" in terminal_text(pane), "ctrl+c to reach sleep")
            # ctrl+p is the shell's (history), not a command palette's.
            await pilot.press("ctrl+p", "enter")
            await wait_for(
                pilot, lambda: terminal_text(pane).count("done-42") >= 2, "ctrl+p to recall"
            )

            # The target's PID 1 in the processes panel.
            await wait_for(
                pilot,
                lambda: any(
                    p.pid == 1 and p.command == "/app/server" for p in pane.processes.processes
                ),
                "PID 1 in the processes panel",
            )
            assert pane.processes.get_row("1")[5].plain.endswith("/app/server")

            # ctrl+] leaves the terminal; the tree opens /app on Enter, lazily.
            await pilot.press("ctrl+right_square_bracket")
            assert app.focused is pane.processes
            tree = pane.rootfs
            await wait_for(
                pilot,
                lambda: any(n.data and n.data.name == "app" for n in tree.root.children),
                "/ in the tree",
            )
            app_node = next(n for n in tree.root.children if n.data and n.data.name == "app")
            assert not app_node.children  # not read until opened
            tree.focus()
            tree.move_cursor(app_node)
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: any(n.data and n.data.name == "server" for n in app_node.children),
                "/app's entries",
            )
            server = next(n for n in app_node.children if n.data and n.data.name == "server")
            tree.move_cursor(server)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, FilePreviewScreen), "a preview")
            assert app.screen.data.startswith(b"\x7fELF")  # type: ignore[attr-defined]
            await pilot.press("escape")

            # A second session on the same target; the picker remembers the toolkit.
            await pilot.press("ctrl+pagedown")
            assert app.query_one(TabbedContent).active == "tab-list"
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ToolkitPickerScreen), "picker")
            assert app.screen.query_one("#picker-input", Input).value == busybox_image
            await pilot.press("enter")  # the highlighted option: the last one used
            second = await wait_for(
                pilot, lambda: (p := active_pane(app)) is not None and p is not pane and p, "tab 2"
            )
            await wait_for(pilot, lambda: second.state == "running", "the second session", 60)
            assert len(sidecars_of(engine, target.id)) == 2, describe(app)

            # Switch tabs from inside the terminal, and with the mouse.
            await wait_for(pilot, lambda: app.focused is second.view, "the second's terminal")
            # Each tab keeps its own last focus: the first one's was its files tree.
            await pilot.press("ctrl+pageup")
            assert active_pane(app) is pane
            await wait_for(pilot, lambda: app.focused is tree, "the first tab's tree")
            await pilot.click(f"#--content-tab-{second.id}")
            await wait_for(pilot, lambda: active_pane(app) is second, "a click on tab 2")
            await wait_for(pilot, lambda: app.focused is second.view, "the second's terminal")
            await pilot.click(f"#--content-tab-{pane.id}")
            await wait_for(pilot, lambda: active_pane(app) is pane, "a click on tab 1")
            await wait_for(pilot, lambda: app.focused is tree, "the tree again")
            await pilot.press("t")
            await wait_for(pilot, lambda: app.focused is pane.view, "the terminal's focus")

            # Exiting the shell ends the session and removes its sidecar.
            await type_text(pilot, "exit 3")
            await pilot.press("enter")
            await wait_for(pilot, lambda: pane.state == "ended", "the session to end")
            assert pane.exit_code == 3
            await wait_for(pilot, lambda: len(sidecars_of(engine, target.id)) == 1, "sidecar gone")
            header = str(pane.query_one(".session-header").render())
            assert "session ended (exit code 3)" in header
            # Out of the ended terminal, so that x works at once (focus() lands on the next turn).
            await wait_for(pilot, lambda: app.focused is not pane.view, "the focus to leave it")
            # Its terminal takes no keys now: neither its title nor the footer offers t.
            assert pane.view.border_title == "the shell ended: n opens a new session"
            await pilot.pause()
            footer = app.screen.query_one(AppFooter).render().plain
            assert "New session" in footer and "Terminal" not in footer
            await pilot.press("x")
            await wait_for(pilot, lambda: pane not in app.query(SessionPane), "the tab to close")
            # The next session shows, not the list, its terminal focused.
            await wait_for(pilot, lambda: active_pane(app) is second, "the next session")
            await wait_for(pilot, lambda: app.focused is second.view, "its terminal")

            # Quitting with a session open asks once, then removes every sidecar.
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("q")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            question = str(app.screen.query_one("#confirm-question", Static).render())
            assert "1 debug session is open" in question and "removing its sidecar" in question
            await pilot.press("y")
            deadline = time.monotonic() + 30
            while app.return_code is None and time.monotonic() < deadline:
                await pilot.pause(0.05)
        assert sidecars_of(engine, target.id) == []

    run(body())


def test_target_given_on_the_command_line_opens_a_session(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(80, 24)) as pilot:
            pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
            assert pane.session is not None
            assert pane.session.target.id == target.id
            # The start was shown step by step, each with the command a learner could type.
            steps = pane.query_one(".steps-log").render()
            assert "create the sidecar" in str(steps) and "$ docker" in str(steps)
            # Closing the tab ends the session.
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("x", "y")  # y: End it
            await wait_for(
                pilot, lambda: not sidecars_of(engine, target.id), "the sidecar to go", 30
            )

    run(body())


def test_a_session_starting_in_the_background_leaves_the_user_where_they_are(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """Open a second session, go back to the first before it has started: when it starts, its
    tab stays in the background and the keys still reach the first terminal."""
    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(160, 48)) as pilot:
            first = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            await wait_for(pilot, lambda: first.state == "running", "the session", 60)
            second = app.open_session(target.id, target.name, busybox_image)
            await wait_for(pilot, lambda: active_pane(app) is second, "the second tab")
            assert second.state == "starting"
            await pilot.press("ctrl+pageup")
            await wait_for(pilot, lambda: app.focused is first.view, "the first terminal")
            await wait_for(pilot, lambda: second.state == "running", "the second session", 60)
            await pilot.pause()
            assert active_pane(app) is first
            assert app.focused is first.view
            await type_text(pilot, "echo still-$((20+1))")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "still-21" in terminal_text(first), "the first shell")
            assert "still-21" not in terminal_text(second)

    run(body())


def test_a_failed_pull_offers_the_local_toolkit(run_target: Any, distroless_image: str) -> None:
    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(120, 40)) as pilot:
            panel = app.query_one(ContainerListPanel)
            await wait_for(pilot, lambda: panel.row(target.id) is not None, "the target's row")
            panel.filter_text = target.name
            panel.rebuild()
            await pilot.press("enter")
            # Port 1 refuses at once: the pull fails without waiting for a network timeout.
            await pick_toolkit(pilot, "localhost:1/cdebug-nothing:1")
            picker = app.screen
            button = picker.query_one("#use-local", Button)
            await wait_for(pilot, lambda: button.display, "the fallback button", 30)
            status = str(picker.query_one("#picker-status").render())
            assert "cannot pull" in status
            assert isinstance(app.screen, ToolkitPickerScreen)  # not a dead end: still open
            await pilot.press("escape")
            assert not isinstance(app.screen, ToolkitPickerScreen)
            assert not app.query(SessionPane)

    run(body())


def test_a_session_that_cannot_start_is_a_message_not_a_crash(
    engine: Any, run_target: Any, distroless_image: str
) -> None:
    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        # A shell-less toolkit: the target's own image has no sh.
        app = CdebugApp(target=target.id, image=distroless_image)
        async with app.run_test(size=(120, 40)) as pilot:
            pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            await wait_for(pilot, lambda: pane.state == "failed", "the failure", 60)
            assert app.is_running
        assert not sidecars_of(engine, target.id)

    run(body())


def test_side_tabs_show_the_steps_and_the_internals(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """Beside the terminal: Target (processes, files), Steps (as commands), Internals (read
    only once its tab is opened)."""
    from cdebug_tui.ui.widgets.internals import InternalsView
    from cdebug_tui.ui.widgets.step_log import StepLog

    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(160, 48)) as pilot:
            pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
            await wait_for_panels(pilot, pane)
            assert not pane.query(InternalsView)  # nothing read before anyone looks
            await pilot.click(f"#--content-tab-side-steps-{pane.number}")
            log = pane.query_one(StepLog)
            await wait_for(pilot, lambda: log.display and log.region.height > 0, "the steps")
            titles = [step.title for step in log.steps]
            assert "create the sidecar" in titles and "start the shell" in titles
            await pilot.click(f"#--content-tab-side-internals-{pane.number}")
            view = await wait_for(
                pilot, lambda: next(iter(pane.query(InternalsView)), None), "the internals"
            )
            await wait_for(
                pilot,
                lambda: view.internals is not None,
                "a reading",
                30,
                detail=lambda: str(view.query_one("#internals-status", Static).render()),
            )
            # ctrl+] from the terminal lands in the side tab that is showing.
            pane.view.focus()
            await pilot.press("ctrl+right_square_bracket")
            assert app.focused is not None and view in app.focused.ancestors_with_self
            await pilot.press("p")
            assert app.focused is pane.processes
            await pilot.press("ctrl+right_square_bracket")  # only ever leaves the terminal
            assert app.focused is pane.processes
            await pilot.press("t")
            assert app.focused is pane.view

    run(body())


def test_the_picker_pulls_with_progress_then_starts_the_session(
    engine: Any, registry: Any, run_target: Any, distroless_image: str
) -> None:
    """A toolkit that is not on the engine is pulled in the picker, per layer, with a bar."""
    import uuid

    from cdebug_tui.engine.toolkit import DEFAULT_PATH, busybox_rootfs_tar, host_busybox
    from tests.conftest import RUN_ID, _tar_with_file

    # An image of its own, with a layer no other image has: it must be downloaded here.
    unique = uuid.uuid4().hex[:8]
    busybox = host_busybox()
    assert busybox is not None
    ref = registry.add_image(
        f"cdebug-test-{RUN_ID}/picker-{unique}",
        "v1",
        [busybox_rootfs_tar(busybox), _tar_with_file(f"etc/picker-{unique}", unique.encode())],
        {"Env": [f"PATH={DEFAULT_PATH}"], "Cmd": ["sh"]},
    )
    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(120, 40)) as pilot:
            panel = app.query_one(ContainerListPanel)
            await wait_for(pilot, lambda: panel.row(target.id) is not None, "the target's row")
            panel.filter_text = target.name
            panel.rebuild()
            await pilot.press("enter")
            # Kept before the pull: a fast pull closes the picker before the next line runs.
            picker = await wait_for(
                pilot,
                lambda: app.screen if isinstance(app.screen, ToolkitPickerScreen) else None,
                "the picker",
            )
            await pick_toolkit(pilot, ref)
            pane = await wait_for(pilot, lambda: active_pane(app), "the session tab", 60)
            # The layers it had to download reported progress (the busybox base may be on the
            # engine already, brought by another image; the last layer is this image's own).
            assert 1 <= len(picker._layers) <= 2
            await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
            assert pane.image == ref

    try:
        run(body())
    finally:
        engine.api.remove_image(ref, force=True)


def test_toolkit_mode_is_shown_with_its_reason(
    run_target: Any, distroless_image: str, dynamic_toolkit: str
) -> None:
    """A dynamically linked toolkit cannot run in the target's root: the header says toolkit
    mode and why, and the panels still read the target."""
    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp(target=target.name, image=dynamic_toolkit)
        async with app.run_test(size=(160, 48)) as pilot:
            pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
            await wait_for_panels(pilot, pane)
            header = str(pane.query_one(".session-header").render())
            assert "toolkit mode" in header and "dynamically linked" in header
            await wait_for(
                pilot,
                lambda: any(p.command == "/app/server" for p in pane.processes.processes),
                "PID 1 read through a coreutils toolkit",
                detail=lambda: f"readings {pane.processes.refreshes}: {pane.processes.error}",
            )

    run(body())


def test_a_filter_typed_in_one_burst_filters(run_target: Any, distroless_image: str) -> None:
    """`/name` and Enter arriving in one read (a fast typist, ssh, a paste) filter the list by
    the name: no key goes to the table (where `s` toggled the sidecars and Enter opened the
    row under the cursor)."""
    from textual import events

    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(160, 30)) as pilot:
            panel = app.query_one(ContainerListPanel)
            await wait_for(pilot, lambda: panel.row(target.id) is not None, "the row")
            names = {"/": "slash", "-": "minus", "\r": "enter"}
            # Posted without waiting in between: queued together, as a burst is.
            for ch in "/" + target.name + "\r":
                key = names.get(ch, ch)
                app.post_message(events.Key(key, None if key == "enter" else ch))
            box = app.query_one("#filter", Input)
            await wait_for(pilot, lambda: box.value == target.name, "the name in the filter")
            await wait_for(
                pilot,
                lambda: [c.id for c in panel.visible_rows()] == [target.id],
                "the list filtered",
            )
            # The burst's Enter ends in the filter, which hands the focus back to the table.
            await wait_for(pilot, lambda: app.focused is panel.query_one(DataTable), "the table")
            assert not panel.show_sidecars
            assert not isinstance(app.screen, ToolkitPickerScreen)
            # Escape (clear) then `/name` at once: a new filter. The Escape's focus on the
            # table came after the `/`, which the name's letters then reached.
            app.post_message(events.Key("escape", None))
            for ch in "/" + target.name[:-2]:
                app.post_message(events.Key(names.get(ch, ch), ch))
            await wait_for(
                pilot,
                lambda: box.value == target.name[:-2],
                "the new filter",
                detail=lambda: box.value,
            )
            assert app.focused is box

    run(body())


def test_the_typeahead_check_at_the_apps_end_is_quiet() -> None:
    """The typeahead check runs on a timer: one that fired as the app ended, its screens
    gone, raised ScreenStackError (a traceback as the app quit; seen once in CI's run)."""

    async def body() -> CdebugApp:
        app = CdebugApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
        return app

    app = run(body())
    app._check_typeahead()  # what the timer calls: nothing to check, nothing raised
