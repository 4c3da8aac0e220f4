"""Tests the session tab as a person uses it: layout on resizes, every view by key, tabs."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest

from cdebug_tui.ui.app import CdebugApp
from cdebug_tui.ui.widgets.footer import AppFooter
from cdebug_tui.ui.widgets.step_log import StepLog
from tests.conftest import sidecars_of
from tests.ui.helpers import active_pane, at_prompt, run, wait_for, wait_for_panels

pytestmark = pytest.mark.engine


def _help_visible(app: CdebugApp) -> bool:
    """Whether `? Help` is drawn whole inside the footer's width."""
    footer = app.query_one(AppFooter)
    return footer.region.right <= app.size.width and footer.text().rstrip().endswith("? Help")


def test_side_panels_follow_the_width_on_every_resize_and_b_per_tab(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """Panels hide below 110 columns and come back above, on every resize; a new tab at 160
    columns has them; `b` overrides the rule for its tab until the next `b`; at 80x24 `? Help`
    shows in the footer and the Target view gives its rows to the focused panel."""
    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(160, 45)) as pilot:
            pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
            await wait_for_panels(pilot, pane)
            await wait_for(pilot, lambda: pane.side.size.width > 30, "the panels drawn")
            assert pane.panels_shown
            await pilot.resize_terminal(100, 30)
            await wait_for(pilot, lambda: not pane.panels_shown, "the panels to hide at 100")
            await pilot.resize_terminal(160, 45)
            await wait_for(pilot, lambda: pane.panels_shown, "the panels back at 160")
            await wait_for(pilot, lambda: pane.side.size.width > 30, "the panels drawn")

            # Narrowed while a side view has the focus: the focus leaves the hidden view, and
            # the tab's keys work (they went to the hidden view and did nothing).
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("P")
            await wait_for(
                pilot,
                lambda: app.focused is not None and pane.side in app.focused.ancestors,
                "the Ports view focused",
            )
            await pilot.resize_terminal(100, 30)
            await wait_for(pilot, lambda: not pane.panels_shown, "the panels to hide at 100")
            await pilot.press("t")
            await wait_for(pilot, lambda: app.focused is pane.view, "t to enter the terminal")
            await pilot.resize_terminal(160, 45)
            await wait_for(pilot, lambda: pane.panels_shown, "the panels back at 160")

            # A new session at 160 columns opens with its panels.
            second = app.open_session(target.id, target.name, busybox_image, engine=app.engine)
            await wait_for(pilot, lambda: second.state == "running", "the second session", 60)
            await wait_for_panels(pilot, second)
            await wait_for(pilot, lambda: second.side.size.width > 30, "its panels drawn")

            # A tab left with the focus in its panels and narrowed in the background: shown
            # again, it does not give the focus back to a hidden panel (whose keys the footer
            # offered, and which took the tab's keys).
            def in_panels(tab: Any) -> bool:
                return app.focused is not None and tab.side in app.focused.ancestors

            await pilot.press("ctrl+pageup")
            await wait_for(pilot, lambda: active_pane(app) is pane, "the first tab")
            await pilot.press("ctrl+right_square_bracket", "f")
            await wait_for(pilot, lambda: in_panels(pane), "its files focused")
            await pilot.press("ctrl+pagedown")
            await wait_for(pilot, lambda: app.focused is second.view, "the second's terminal")
            await pilot.resize_terminal(100, 30)
            await wait_for(pilot, lambda: not second.panels_shown, "the panels to hide at 100")
            await pilot.press("ctrl+pageup")
            await wait_for(pilot, lambda: active_pane(app) is pane, "the first tab again")
            await wait_for(pilot, lambda: not pane.panels_shown, "its panels hidden")
            await pilot.pause()
            assert app.focused is not None and not in_panels(pane)
            await pilot.resize_terminal(160, 45)
            await wait_for(pilot, lambda: pane.panels_shown, "the panels back at 160")
            await pilot.press("ctrl+pagedown")
            await wait_for(pilot, lambda: app.focused is second.view, "the second's terminal")

            # `b` hides them in this tab only, and the choice survives resizes.
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("b")
            assert not second.panels_shown
            await pilot.resize_terminal(100, 30)
            await pilot.resize_terminal(160, 45)
            await pilot.pause()
            assert not second.panels_shown
            assert pane.panels_shown  # the other tab follows the width
            await pilot.press("b")  # the next b
            assert second.panels_shown

            # 80x24: help stays visible; panels shown with b give the focused one the rows.
            await pilot.resize_terminal(80, 24)
            await wait_for(pilot, lambda: _help_visible(app), "? Help in the footer at 80x24")
            assert second.panels_shown  # still by the last b
            await pilot.press("b")
            await pilot.press("b")
            await pilot.press("p")
            await wait_for(
                pilot,
                lambda: second.processes.size.height >= 8 and second.rootfs.size.height <= 3,
                "the processes to take the rows",
                detail=lambda: f"{second.processes.size} {second.rootfs.size}",
            )
            await pilot.press("f")
            await wait_for(
                pilot,
                lambda: second.rootfs.size.height >= 8 and second.processes.size.height <= 3,
                "the files to take the rows",
                detail=lambda: f"{second.processes.size} {second.rootfs.size}",
            )
            await pilot.resize_terminal(160, 45)
            await wait_for(pilot, lambda: _help_visible(app), "? Help at 160 columns")

    run(body())


def test_b_after_a_narrowing_gives_the_panels_their_focus_back(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """The files focused, the window narrowed below 110 columns: the panels hide and the
    header takes the focus; `b` shows them again with the files focused (the header kept it,
    and the footer offered the tab's keys only)."""
    from cdebug_tui.ui.widgets.session_pane import SessionHeaderView

    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(160, 45)) as pilot:
            pane = await at_prompt(pilot, app, panels=True)
            await pilot.press("ctrl+right_square_bracket", "f")
            files = await wait_for(
                pilot,
                lambda: (
                    app.focused is not None
                    and pane.rootfs in app.focused.ancestors_with_self
                    and app.focused
                ),
                "the files focused",
            )
            await pilot.resize_terminal(100, 30)
            await wait_for(pilot, lambda: not pane.panels_shown, "the panels hidden at 100")
            assert app.focused is pane.query_one(SessionHeaderView)
            await pilot.press("b")
            await wait_for(
                pilot, lambda: pane.panels_shown and app.focused is files, "the files again"
            )

    run(body())


def test_panels_on_a_window_too_narrow_for_both_take_the_terminals_place(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """At 60 columns `b` (or a view's key) shows the panels in the terminal's place, whole on
    the screen (beside it they ran off its right edge, below 72 columns), and `t` brings the
    terminal back with its size kept (an ended session's too); widened, the two are side by
    side again, and narrowed while the terminal has the keys, the terminal stays."""
    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(60, 24)) as pilot:
            pane = await at_prompt(pilot, app)
            terminal = pane.query_one(".terminal-column")
            slot = pane.query_one(".side-slot")
            size = (pane.view.rows, pane.view.cols)
            await pilot.press("ctrl+right_square_bracket", "b")
            await wait_for(pilot, lambda: pane.panels_built and pane.panels_shown, "the panels")
            await pilot.pause()
            assert not terminal.display
            assert slot.region.x >= 0 and slot.region.right <= 60, slot.region
            assert pane.processes.region.right <= 60 and pane.processes.region.width >= 50
            await pilot.press("t")
            await wait_for(pilot, lambda: app.focused is pane.view, "the terminal")
            await pilot.pause()
            assert terminal.display and not pane.panels_shown
            assert terminal.region.right <= 60 and (pane.view.rows, pane.view.cols) == size
            await pilot.press("ctrl+right_square_bracket", "s")  # a view's key: the same
            await wait_for(pilot, lambda: pane.shown_side == "steps", "the steps")
            await pilot.pause()
            assert not terminal.display and slot.region.right <= 60
            await pilot.resize_terminal(120, 30)
            await wait_for(pilot, lambda: bool(terminal.display), "the terminal beside them")
            await pilot.pause()
            assert pane.panels_shown and terminal.region.right <= slot.region.x
            # Narrowed while the terminal has the keys: it stays, and the panels go.
            await pilot.press("t")
            await wait_for(pilot, lambda: app.focused is pane.view, "the terminal's keys")
            await pilot.resize_terminal(60, 24)
            await wait_for(pilot, lambda: not pane.panels_shown, "the panels to go")
            await pilot.pause()
            assert terminal.display and app.focused is pane.view
            # The width decides again: wide, they are back beside it.
            await pilot.resize_terminal(120, 30)
            await wait_for(pilot, lambda: pane.panels_shown, "the panels back at 120")
            await pilot.resize_terminal(60, 24)
            await wait_for(pilot, lambda: not pane.panels_shown, "the panels gone at 60")
            # An ended session's panels in the terminal's place: t still brings it back,
            # with the shell's last lines.
            await pilot.press("ctrl+right_square_bracket", "s")
            await wait_for(pilot, lambda: not terminal.display, "the panels in its place")
            engine.api.kill(target.id)
            await wait_for(pilot, lambda: pane.state == "ended", "the end of the session", 30)
            await pilot.press("t")
            await wait_for(pilot, lambda: bool(terminal.display), "the ended terminal back")
            assert not pane.panels_shown

    run(body())


def test_every_view_by_key_digits_marks_and_closing(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """p, f, s and i show Target (processes, files), Steps and Internals without a click; e
    explains the view shown; tabs carry their place and target; digits switch tabs; the list
    marks containers with a session; x shows the next session, not the list."""
    from textual.widgets import DataTable

    from cdebug_tui.ui.screens.explain import ExplainScreen
    from cdebug_tui.ui.widgets.container_list import ContainerListPanel
    from cdebug_tui.ui.widgets.internals import InternalsView

    target = run_target(distroless_image, network_mode="none")

    async def explained(pilot: Any, app: CdebugApp) -> str:
        before = app.focused
        await pilot.press("e")
        screen = await wait_for(
            pilot, lambda: isinstance(app.screen, ExplainScreen) and app.screen, "e"
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ExplainScreen), "closed")
        await wait_for(pilot, lambda: app.focused is before, "the focus back where it was")
        return str(screen.topic)

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(160, 45)) as pilot:
            pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("s")
            await wait_for(
                pilot,
                lambda: (
                    app.focused is not None
                    and pane.query_one(StepLog) in app.focused.ancestors_with_self
                ),
                "the steps, focused",
            )
            assert pane.shown_side == "steps"
            assert await explained(pilot, app) == "steps"
            await pilot.press("i")
            view = await wait_for(
                pilot, lambda: next(iter(pane.query(InternalsView)), None), "the internals"
            )
            await wait_for(
                pilot,
                lambda: app.focused is not None and view in app.focused.ancestors_with_self,
                "the internals focused",
            )
            assert await explained(pilot, app) == "internals"
            await pilot.press("f")
            await wait_for(pilot, lambda: app.focused is pane.rootfs, "the files focused")
            assert pane.shown_side == "target"
            assert await explained(pilot, app) == "rootfs"
            await pilot.press("p")
            assert app.focused is pane.processes
            assert await explained(pilot, app) == "processes"
            # l is the Logs view from every panel, the processes too (their details are → and
            # Enter).
            await pilot.press("l")
            await wait_for(pilot, lambda: pane.shown_side == "logs", "l: the Logs view")
            # e explains the Logs, Ports and Stats views too (where what they show comes from).
            for key, side in (("l", "logs"), ("P", "ports"), ("S", "stats")):
                await pilot.press(key)
                await wait_for(
                    pilot,
                    lambda side=side: (
                        pane.shown_side == side
                        and app.focused is not None
                        and pane.side.get_pane(f"side-{side}-{pane.number}")
                        in app.focused.ancestors
                    ),
                    f"the {side} view focused",
                )
                assert await explained(pilot, app) == side
            await pilot.press("l")
            # With the panels hidden, a view's key shows them again.
            await pilot.press("b")
            assert not pane.panels_shown
            await pilot.press("s")
            assert pane.panels_shown and pane.shown_side == "steps"

            # The list marks the target; a second session; digits switch.
            panel = app.query_one(ContainerListPanel)
            await wait_for(pilot, lambda: panel.sessions, "the list's session mark")
            second = app.open_session(target.id, target.name, busybox_image, engine=app.engine)
            await wait_for(pilot, lambda: second.state == "running", "the second session", 60)
            await wait_for_panels(pilot, second)
            label = app.tabs.get_tab(second).label
            # A long name is cut in its middle, with a sign: the end tells targets apart.
            name = target.name
            assert len(name) > 20 and str(label) == f"2 {name[:9]}…{name[-10:]}", str(label)
            await wait_for(pilot, lambda: 2 in panel.sessions.values(), "2 sessions marked")
            await wait_for(pilot, lambda: app.focused is second.view, "its terminal focused")
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("1")
            await wait_for(pilot, lambda: active_pane(app) is pane, "1 to show the first tab")
            # Each tab keeps its own last focus (issue 12): the first one's was its Steps view,
            # outside the terminal, where digits are the app's.

            def own_focus(p: Any) -> bool:
                f = app.focused
                return f is not None and f is not p.view and p in f.ancestors

            await wait_for(pilot, lambda: own_focus(pane), "its own focus, back")
            await pilot.press("2")
            await wait_for(pilot, lambda: active_pane(app) is second, "2 to show the second")
            await wait_for(pilot, lambda: own_focus(second), "its focus, outside its terminal")
            await pilot.press("0")
            assert app.tabs.active == "tab-list"
            assert app.focused is panel.query_one(DataTable)
            await pilot.press("1")
            await wait_for(pilot, lambda: own_focus(pane), "the first tab's focus")
            # x on a running shell asks first (what runs in it would end): n keeps it.
            from cdebug_tui.ui.screens.confirm import ConfirmScreen

            await pilot.press("x")
            asked = await wait_for(
                pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen, "x's question"
            )
            assert "End the debug session on" in asked.question
            await pilot.press("n")
            await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "kept")
            assert pane in app.sessions() and pane.state == "running"
            await wait_for(pilot, lambda: own_focus(pane), "its focus again")
            # x y on the first: the second shows, numbered 1 now.
            await pilot.press("x", "y")
            await wait_for(pilot, lambda: active_pane(app) is second, "the next session")
            assert str(app.tabs.get_tab(second).label).startswith("1 ")
            await wait_for(pilot, lambda: 1 in panel.sessions.values(), "1 session marked")
            await wait_for(pilot, lambda: own_focus(second), "its focus")
            await pilot.press("x", "y")
            await wait_for(pilot, lambda: app.tabs.active == "tab-list", "the list, at last")
            await wait_for(pilot, lambda: not panel.sessions, "no mark left")

    run(body())


def test_steps_read_as_commands_and_a_stopped_target_is_said_so(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """At 80 columns, beside the terminal, each step's title keeps to one line, its time beside
    or under it; the steps are docker create then docker start -a -i, and o shows the
    supervisor's script in full; when the target stops, the header says "the target stopped
    (exit code N)" on one line and the panels say they show the last reading."""
    from textual.widgets import Static

    from cdebug_tui.engine.sidecar import SUPERVISOR_SCRIPT
    from cdebug_tui.ui.widgets.step_log import StepItem

    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(80, 24)) as pilot:
            pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
            await wait_for(pilot, lambda: app.focused is pane.view, "the terminal")
            # The target has no /bin/sh: said in the 80 columns, the link's words giving way.
            header = pane.query_one(".session-header", Static)
            said, warning = str(header.render()), "root mode; the target has no /bin/sh"
            assert warning in said and said.index(warning) + len(warning) <= 80, said
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("b")  # the panels beside the terminal: 36 columns for them
            await pilot.press("s")
            items = await wait_for(pilot, lambda: list(pane.query(StepItem)), "the steps")
            assert pane.view.region.width > 0 and items[0].region.width < 40
            await wait_for(pilot, lambda: items[-1].region.height > 0, "the steps drawn")
            for item in items:
                title, time = item.query_one(".step-title"), item.query_one(".step-time")
                # Beside the title or under it, never over it; and a title that fits the
                # panel's width takes one line (beside the time it wrapped a word per line).
                assert title.region.right < time.region.x or title.region.bottom <= time.region.y, (
                    item.step.title
                )
                if len(item.step.title) + 4 <= item.content_size.width:
                    assert title.region.height == 1, (item.step.title, title.region)
                # Wrapped or not, the title keeps to its column, right of its number: a second
                # line started at the left edge, under the number.
                assert title.region.x == item.content_region.x + 4, (title.region, item.region)
            total = pane.query_one(".step-total", Static)
            said = str(total.render())
            assert said.endswith("to the end of the last")
            # On as many lines as it needs: one line cut it at 36 columns.
            assert total.region.height >= -(-len(said) // total.content_size.width)
            commands = [i.step.command for i in items]
            create = next(c for c in commands if c.startswith("docker create "))
            # The sidecar is created, then started: never `docker run -d` then `docker start`
            # (the reaper's step runs a throwaway `docker run --init` to borrow tini).
            assert not any(c.startswith("docker run -d") for c in commands)
            assert commands.index(create) < next(
                i for i, c in enumerate(commands) if c.startswith("docker start -a -i ")
            )
            script = items[[i.step.command for i in items].index(create)].query_one(".step-script")
            assert not script.display
            await pilot.press("o")
            assert script.display
            assert SUPERVISOR_SCRIPT.strip().splitlines()[-1] in str(script.render())

            engine.api.kill(target.id)
            await wait_for(pilot, lambda: pane.state == "ended", "the end of the session", 30)
            await wait_for(
                pilot,
                lambda: "the target stopped (exit code 137)" in str(header.render()),
                "the target's exit code in the header",
                detail=lambda: str(header.render()),
            )
            assert header.region.height == 1
            assert "last reading" in str(pane.processes.border_title)
            assert "the target stopped" in str(pane.processes.border_subtitle)
            assert "last reading" in str(pane.rootfs.border_title)
            # Its log is still there to read, opened after the end (it said "read once the
            # session runs", which could not happen any more).
            from cdebug_tui.ui.widgets.log_view import LogsPanel

            await pilot.press("l")
            await wait_for(pilot, lambda: pane.query(LogsPanel), "the stopped target's log")

    run(body())


@pytest.mark.parametrize("how", ["removed", "restarted"])
def test_a_target_removed_under_a_session_is_said_so_with_its_exit_code(
    how: str, engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """`docker rm -f TARGET` (or `docker restart -t 0`) during a session: the header says the
    target was removed (restarted), and the exit code it died with (it said "stopped (exit
    code ?)": the engine sends die before destroy, and the container was gone before its code
    was read; a restarted one was said stopped while the list showed it running)."""
    from textual.widgets import Static

    target = run_target(distroless_image, network_mode="none")
    said = "the target was removed" if how == "removed" else "the target restarted"

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(160, 45)) as pilot:
            pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
            if how == "removed":
                engine.api.remove_container(target.id, force=True)
            else:
                engine.api.restart(target.id, timeout=0)
            await wait_for(pilot, lambda: pane.state == "ended", "the end of the session", 30)
            header = pane.query_one(".session-header", Static)
            await wait_for(
                pilot,
                # docker restart -t 0: SIGTERM, which the server takes (0), then SIGKILL (137).
                lambda: any(f"{said} (exit code {c})" in str(header.render()) for c in (0, 137)),
                "the removal and the exit code in the header",
                detail=lambda: str(header.render()),
            )
            # n opens a new session on the target: not on one that is gone (it tried to
            # pull the removed target's id as an image); a restarted one takes it.
            gone = how == "removed"
            assert ("n new session" in str(header.render())) is not gone
            assert (pane.view.border_title == "the shell ended: its target is gone") is gone
            assert pane.check_action("reopen", ()) is not gone
            if not gone:
                pane.focus()
                await pilot.press("n")
                await wait_for(pilot, lambda: len(app.sessions()) == 2, "a new session's tab")
                # Removed afterwards, ended and restarted as it was: no n any more (it was
                # offered, and tried to pull the removed target's id as an image).
                engine.api.remove_container(target.id, force=True)
                await wait_for(
                    pilot,
                    lambda: (
                        pane.check_action("reopen", ()) is False
                        and pane.view.border_title == "the shell ended: its target is gone"
                        and "n new session" not in str(header.render())
                    ),
                    "n gone with the target",
                )

    run(body())
    assert sidecars_of(engine, target.id) == []


def test_file_marks_follow_the_targets_changes_and_changed_only_is_a_tree(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """After `touch /tmp/x; rm /app/config.json` in the shell, the tree's rows are marked
    without reopening anything (~ /tmp, - config.json in the opened /app), and c shows what
    docker diff reports as a tree."""
    from tests.ui.helpers import type_text, wait_for_prompt

    target = run_target(distroless_image, network_mode="none")

    def row(node: Any, name: str) -> Any:
        return next((n for n in node.children if n.data and n.data.name == name), None)

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(160, 45)) as pilot:
            pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
            await wait_for_panels(pilot, pane)
            tree = pane.rootfs
            app_dir = await wait_for(pilot, lambda: row(tree.root, "app"), "/app in the tree")
            app_dir.expand()
            await wait_for(pilot, lambda: row(app_dir, "config.json"), "/app's entries")
            await wait_for(pilot, lambda: app.focused is pane.view, "the terminal")
            await wait_for_prompt(pilot, pane)
            await type_text(pilot, "echo twelve-bytes > /tmp/cdebug-new; rm /app/config.json")
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: (n := row(tree.root, "tmp")) and str(n.label).lstrip().startswith("~"),
                "/tmp marked changed",
                detail=lambda: str([str(n.label) for n in tree.root.children]),
            )
            await wait_for(
                pilot,
                lambda: (
                    (n := row(app_dir, "config.json")) and str(n.label).lstrip().startswith("-")
                ),
                "config.json marked deleted in the opened /app",
                detail=lambda: str([str(n.label) for n in app_dir.children]),
            )
            assert str(app_dir.label).lstrip().startswith("~")

            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("f")
            await pilot.press("c")
            assert tree.changed_only
            await wait_for(
                pilot,
                lambda: (t := row(tree.root, "tmp")) and row(t, "cdebug-new"),
                "the changed-only tree",
            )
            names = {n.data.name for n in tree.root.children if n.data}
            assert names == {"tmp", "app"}, names
            # With its size (13: twelve-bytes and its newline), mode and owner, as in the whole
            # tree (every size read 0).
            await wait_for(
                pilot,
                lambda: "13 -rw-r--r-- root" in str(row(row(tree.root, "tmp"), "cdebug-new").label),
                "the new file's size, mode and owner",
                detail=lambda: str(row(row(tree.root, "tmp"), "cdebug-new").label),
            )
            assert str(row(row(tree.root, "app"), "config.json").label).lstrip().startswith("-")
            await pilot.press("c")
            await wait_for(pilot, lambda: row(tree.root, "etc"), "every file again")

    run(body())


def test_ctrl_s_saves_a_target_file_or_directory_on_this_host(
    engine: Any,
    run_target: Any,
    distroless_image: str,
    busybox_image: str,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ctrl+s in the files of a shell-less target saves the file under the cursor in the
    working directory, byte for byte, readable by its owner only; again, beside it, never over
    it; a directory as a tar archive. A deleted file is refused, and nothing is written."""
    import tarfile

    from tests.ui.helpers import notes_of, type_text, wait_for_prompt

    monkeypatch.chdir(tmp_path)
    target = run_target(distroless_image, network_mode="none")
    original = engine.read_file(target.id, "/app/config.json")

    def row(node: Any, name: str) -> Any:
        return next((n for n in node.children if n.data and n.data.name == name), None)

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        notes = notes_of(app)
        async with app.run_test(size=(160, 45)) as pilot:
            pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
            await wait_for_panels(pilot, pane)
            await wait_for_prompt(pilot, pane)
            tree = pane.rootfs
            app_dir = await wait_for(pilot, lambda: row(tree.root, "app"), "/app in the tree")
            app_dir.expand()
            config = await wait_for(pilot, lambda: row(app_dir, "config.json"), "/app's files")
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("f")
            for name in ("config.json", "config-1.json"):
                tree.move_cursor(config)
                await pilot.press("ctrl+s")
                saved = tmp_path / name
                said = f"to {saved} ("
                await wait_for(pilot, lambda s=said: any(s in n for n in notes), f"{name} saved")
                assert saved.read_bytes() == original
                assert saved.stat().st_mode & 0o777 == 0o600
            tree.move_cursor(app_dir)
            await pilot.press("ctrl+s")
            archive = tmp_path / "app.tar"
            await wait_for(pilot, lambda: any(str(archive) in n for n in notes), "app.tar")
            with tarfile.open(archive) as tar:
                assert "app/config.json" in tar.getnames()

            await pilot.press("t")
            await type_text(pilot, "rm /app/config.json")
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: (
                    (n := row(app_dir, "config.json")) and str(n.label).lstrip().startswith("-")
                ),
                "config.json marked deleted",
            )
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("f")
            tree.move_cursor(row(app_dir, "config.json"))
            before = sorted(tmp_path.iterdir())
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: "nothing to save" in notes[-1], "the refusal")
            assert sorted(tmp_path.iterdir()) == before

    run(body())


def test_a_process_in_full_a_signal_after_confirming_and_cdebugs_own_marked(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """The list counts cdebug-tui's machinery and `o` lists it, each row saying what it is;
    Enter on PID 1 shows its command line, working directory, environment, limits, cgroup and
    open files; → on a `sleep` of the shell, s, KILL and y end it; t says the toolkit has no
    strace."""
    from textual.widgets import OptionList, Static

    from cdebug_tui.ui.screens.confirm import ConfirmScreen
    from cdebug_tui.ui.screens.process import SIGNALS, ProcessScreen
    from tests.ui.helpers import type_text, wait_for_prompt

    target = run_target(distroless_image, network_mode="none")
    notes: list[str] = []

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(160, 45)) as pilot:
            app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
            pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
            await wait_for(pilot, lambda: app.focused is pane.view, "the terminal")
            await wait_for_prompt(pilot, pane)
            await type_text(pilot, "sleep 301 & ( sleep 302; true ) &")
            await pilot.press("enter")
            await wait_for_panels(pilot, pane)
            panel = pane.processes
            sleeper = await wait_for(
                pilot,
                lambda: next((p for p in panel.processes if p.command == "sleep 301"), None),
                "the shell's sleep in the list",
            )
            # cdebug-tui's machinery is counted, not listed: the shell and its sleep are.
            listed = {row.value for row in panel.rows}
            assert str(sleeper.pid) in listed
            machinery = [p for p in panel.processes if p.own in ("supervisor", "panel reader")]
            assert len(machinery) >= 2 and not listed & {str(p.pid) for p in machinery}
            assert "of cdebug-tui's hidden (o)" in str(panel.border_subtitle)
            shell = next(p for p in panel.processes if p.own == "debug shell")
            assert "cdebug-tui's debug shell" in str(panel.get_row(str(shell.pid))[5])
            # The user's subshell, a fork of the shell with its command line, is theirs.
            inner = await wait_for(
                pilot,
                lambda: next((p for p in panel.processes if p.command == "sleep 302"), None),
                "the subshell's sleep in the list",
            )
            subshell = next(p for p in panel.processes if p.pid == inner.ppid)
            assert subshell.ppid == shell.pid and subshell.command == shell.command
            assert not subshell.own and str(subshell.pid) in {row.value for row in panel.rows}

            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("p")
            await wait_for(pilot, lambda: app.focused is panel, "the processes focused")
            # o lists them, each saying what it is.
            await pilot.press("o")
            rows = {p.own: str(panel.get_row(str(p.pid))[5]) for p in panel.processes if p.own}
            assert "cdebug-tui's panel reader" in rows["panel reader"], rows
            assert "cdebug-tui's supervisor" in rows["supervisor"], rows
            assert "hidden" not in str(panel.border_subtitle)
            # Home and End go to the first and last row (Home did nothing, and Enter then
            # opened the row the cursor was still on).
            await wait_for(pilot, lambda: app.focused is panel, "the processes focused")
            await pilot.press("end")
            assert panel.cursor_row == panel.row_count - 1 > 0
            await pilot.press("home")
            assert panel.cursor_row == 0
            panel.move_cursor(row=panel.get_row_index("1"))
            await pilot.press("enter")
            screen = await wait_for(
                pilot, lambda: isinstance(app.screen, ProcessScreen) and app.screen, "details"
            )
            await wait_for(pilot, lambda: screen.details is not None, "the details read", 30)
            shown = str(screen.query_one("#process-body", Static).render())
            for part in ("/app/server", "APP_MODE=production", "Max open files", "0::/"):
                assert part in shown or part in str(screen.details), part
            assert screen.details is not None and screen.details.cwd == "/app"
            await pilot.press("t")
            assert any("no strace" in n for n in notes)
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, ProcessScreen), "closed")

            panel.move_cursor(row=panel.get_row_index(str(sleeper.pid)))
            await pilot.press("right")
            screen = await wait_for(
                pilot, lambda: isinstance(app.screen, ProcessScreen) and app.screen, "details"
            )
            assert screen.pid == sleeper.pid
            await pilot.press("s")
            signals = screen.query_one(OptionList)
            await wait_for(pilot, lambda: app.focused is signals, "the signals")
            kill = [name for name, _ in SIGNALS].index("KILL")
            signals.highlighted = kill
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "a confirmation")
            assert next(p for p in panel.processes if p.pid == sleeper.pid)  # not yet
            await pilot.press("y")
            await wait_for(
                pilot,
                lambda: not any(p.pid == sleeper.pid and p.state != "Z" for p in panel.processes),
                "the sleep to end",
            )
            # The note follows the signal from a worker; the panel's reading may come first.
            await wait_for(
                pilot, lambda: any(f"sent SIGKILL to {sleeper.pid}" in n for n in notes), "a note"
            )

    run(body())


def test_a_misspelt_toolkit_suggests_the_closest_local_images(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """`.../busybx:latest` cannot be pulled (no registry here): the picker offers the local
    `.../busybox:latest`, and Enter on that suggestion starts the session with it."""
    from textual.widgets import Button, DataTable, Input

    from cdebug_tui.ui.screens.picker import ToolkitPickerScreen
    from cdebug_tui.ui.widgets.container_list import ContainerListPanel

    target = run_target(distroless_image, network_mode="none")
    typo = busybox_image.replace("busybox", "busybx")

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(160, 45)) as pilot:
            panel = app.query_one(ContainerListPanel)
            await wait_for(pilot, lambda: panel.row(target.id) is not None, "the target's row")
            table = panel.query_one(DataTable)
            table.move_cursor(row=[c.id for c in panel.visible_rows()].index(target.id))
            table.focus()
            await wait_for(pilot, lambda: app.focused is table and app.engine, "the list")
            await pilot.press("enter")
            screen = await wait_for(
                pilot,
                lambda: isinstance(app.screen, ToolkitPickerScreen) and app.screen,
                "the picker",
            )
            # The typo set at once: a key at a time is slow on a loaded machine.
            field = screen.query_one("#picker-input", Input)
            field.value = typo
            field.focus()
            await wait_for(pilot, lambda: app.focused is field, "the picker's field")
            await pilot.press("enter")
            button = await wait_for(
                pilot,
                lambda: next(iter(screen.query(".suggestion")), None),
                "a suggestion",
                60,
                detail=lambda: str(screen.query_one("#picker-status").render()),
            )
            assert isinstance(button, Button) and button.name == busybox_image
            await wait_for(pilot, lambda: app.focused is button, "the suggestion focused")
            await pilot.press("enter")
            pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            assert pane.image == busybox_image
            await wait_for(pilot, lambda: pane.state == "running", "the session", 60)

    run(body())


def test_the_panels_come_after_the_prompt_and_leave_the_shell_its_size(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """A new tab draws the shell first; its side panels come after the prompt, in the place
    kept for them: the terminal keeps its size, so the shell is never resized under the user."""
    from tests.ui.helpers import terminal_text, type_text, wait_for_prompt

    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(160, 45)) as pilot:
            pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            await wait_for_prompt(pilot, pane)
            view = pane.view
            await wait_for(pilot, lambda: view.region.area > 0, "the terminal laid out")
            size, region = (view.rows, view.cols), view.region
            await wait_for_panels(pilot, pane)
            await wait_for(pilot, lambda: pane.side.region.width > 30, "the panels drawn")
            assert (view.rows, view.cols) == size and view.region == region
            assert pane.side.region.x >= region.right  # beside the terminal, not over it
            await type_text(pilot, "stty size")
            await pilot.press("enter")
            answer = f"{size[0]} {size[1]}"
            await wait_for(pilot, lambda: answer in terminal_text(pane), f"stty size: {answer}")

    run(body())


def test_plus_and_minus_resize_the_panels_and_the_shell_sees_it(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """+ widens the side panels past their default cap, - narrows them and at the least hides
    them; + brings them back. The shell's size follows each step."""
    from tests.ui.helpers import terminal_text, type_text, wait_for_prompt

    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(260, 40)) as pilot:
            pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            await wait_for_prompt(pilot, pane)
            await wait_for_panels(pilot, pane)
            await wait_for(pilot, lambda: pane.side.size.width > 30, "the panels drawn")
            default = pane.side.size.width
            assert default <= 90  # the default's cap

            async def shell_columns(key: str) -> int:
                await pilot.press("ctrl+right_square_bracket")
                await pilot.press(key)
                await pilot.press("t")
                await wait_for(pilot, lambda: app.focused is pane.view, "the terminal")
                # The new size reaches the shell through the engine, a moment after the view's:
                # asked again until the shell says the view's width (or the tries run out).
                for attempt in range(20):
                    marker = f"cols-{key}-{attempt}-{len(terminal_text(pane))}"
                    await type_text(pilot, f"echo {marker} $(stty size)")
                    await pilot.press("enter")
                    found = await wait_for(
                        pilot,
                        lambda m=marker: re.search(rf"^{m} \d+ (\d+)", terminal_text(pane), re.M),
                        f"stty size after {key}",
                    )
                    if int(found.group(1)) == pane.view.cols:
                        break
                return int(found.group(1))

            wide = await shell_columns("plus")
            assert pane.side.size.width == 130 > default  # 50% of 260: past the cap
            assert wide == 260 - 130 - 2 == pane.view.cols
            wider = await shell_columns("plus")
            assert pane.side.size.width > 130 and wider < wide
            for _ in range(2):
                await shell_columns("minus")
            narrow = await shell_columns("minus")
            assert pane.panels_shown and narrow > wide  # 25%: the least
            full = await shell_columns("minus")
            assert not pane.panels_shown and full == 260 - 2
            back = await shell_columns("plus")
            assert pane.panels_shown and back == narrow

    run(body())


def test_plus_keeps_the_terminal_its_least_width_at_80_columns(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """At 80 columns `+` widens the side panels only while the terminal keeps its least
    width: a 62% side pushed the panels past the screen's right edge, their text cut."""
    from cdebug_tui.ui.widgets.session_pane import TERMINAL_MIN_WIDTH

    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(80, 24)) as pilot:
            pane = await at_prompt(pilot, app)
            rings: list[bool] = []
            app.bell = lambda: rings.append(True)  # type: ignore[method-assign]
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("b")  # hidden below 110 columns: shown
            await wait_for(pilot, lambda: pane.panels_shown, "the panels shown")
            for _ in range(4):
                await pilot.press("plus")
                await pilot.pause()
            await wait_for(pilot, lambda: rings, "the bell at the widest that fits")
            await pilot.pause()
            assert pane.side.region.right <= 80, pane.side.region
            assert pane.view.size.width >= TERMINAL_MIN_WIDTH - 2

    run(body())


def test_the_app_ends_cleanly_while_a_tab_builds_its_panels(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """Quitting (or closing the tab) as the panels are being built: Textual mounts the widgets
    on their way out without their children; the Steps view crashed the app on that."""
    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(160, 45)) as pilot:
            pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            assert not pane.panels_built  # they come after the prompt, or a second later
            pane.run_worker(pane.build_panels())
            # Mid-build: the Steps view is in the tab, its own children not yet. The loop only
            # yields to the event loop: a Pilot pause would let the build finish first.
            deadline = time.monotonic() + 30
            while not (log := next(iter(pane.query(StepLog)), None)):
                assert time.monotonic() < deadline, "the Steps view never came"
                await asyncio.sleep(0)
            assert not log.children
            app.exit()
        # run_test raises what crashed the app on its way out.

    run(body())
    assert sidecars_of(engine, target.id) == []


def test_closed_tabs_are_let_go(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """Closed tabs, their sessions ended, are freed with their scrollback: the app kept every
    tab it ever had until it quit (a few MiB each; what it keeps from the collector, too)."""
    import weakref

    from tests.ui.helpers import wait_for_prompt

    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(160, 45)) as pilot:
            gone = []
            for n in range(3):
                if n:
                    app.open_session(target.id, target.name, busybox_image)
                tab = await wait_for(pilot, lambda: active_pane(app), "a session tab")
                await wait_for_prompt(pilot, tab)
                await wait_for_panels(pilot, tab)
                gone.append(weakref.ref(tab))
                del tab  # from here on only weak references
                await pilot.press("ctrl+right_square_bracket", "x", "y")
                await wait_for(pilot, lambda: not app.sessions(), "the tab closed")
            await wait_for(pilot, lambda: not sidecars_of(engine, target.id), "the sidecars gone")
            # Freed a moment after a close (the collector's pause is not in the close itself);
            # Textual lets go of the last tab closed a little later.
            await wait_for(pilot, lambda: [t() for t in gone[:-1]] == [None, None], "tabs freed")

    run(body())
