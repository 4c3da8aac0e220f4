"""Tests the session tab as a person uses it: layout on resizes, every view by key, tabs."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets._footer import FooterKey

from cdebug_tui.ui.app import CdebugApp
from tests.ui.helpers import active_pane, run, wait_for

pytestmark = pytest.mark.engine


def _help_visible(app: CdebugApp) -> bool:
    """Whether `? Help` is drawn whole inside the footer's width."""
    width = app.size.width
    return any(
        k.action == "help" and k.region.width > 0 and k.region.right <= width
        for k in app.query(FooterKey)
    )


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
            assert pane.side.display and pane.side.size.width > 0
            await pilot.resize_terminal(100, 30)
            await wait_for(pilot, lambda: not pane.side.display, "the panels to hide at 100")
            await pilot.resize_terminal(160, 45)
            await wait_for(pilot, lambda: pane.side.display, "the panels back at 160")
            await wait_for(pilot, lambda: pane.side.size.width > 30, "the panels drawn")

            # A new session at 160 columns opens with its panels.
            second = app.open_session(target.id, target.name, busybox_image, engine=app.engine)
            await wait_for(pilot, lambda: second.state == "running", "the second session", 60)
            await wait_for(pilot, lambda: second.side.size.width > 30, "its panels drawn")

            # `b` hides them in this tab only, and the choice survives resizes.
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("b")
            assert not second.side.display
            await pilot.resize_terminal(100, 30)
            await pilot.resize_terminal(160, 45)
            await pilot.pause()
            assert not second.side.display
            assert pane.side.display  # the other tab follows the width
            await pilot.press("b")  # the next b
            assert second.side.display

            # 80x24: help stays visible; panels shown with b give the focused one the rows.
            await pilot.resize_terminal(80, 24)
            await wait_for(pilot, lambda: _help_visible(app), "? Help in the footer at 80x24")
            assert second.side.display  # still by the last b
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
    from cdebug_tui.ui.widgets.step_log import StepLog

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
            # With the panels hidden, a view's key shows them again.
            await pilot.press("b")
            assert not pane.side.display
            await pilot.press("s")
            assert pane.side.display and pane.shown_side == "steps"

            # The list marks the target; a second session; digits switch.
            panel = app.query_one(ContainerListPanel)
            await wait_for(pilot, lambda: panel.sessions, "the list's session mark")
            second = app.open_session(target.id, target.name, busybox_image, engine=app.engine)
            await wait_for(pilot, lambda: second.state == "running", "the second session", 60)
            label = app.tabs.get_tab(second).label
            assert str(label).startswith("2 ") and target.name[:20] in str(label)
            await wait_for(pilot, lambda: 2 in panel.sessions.values(), "2 sessions marked")
            await wait_for(pilot, lambda: app.focused is second.view, "its terminal focused")
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("1")
            await wait_for(pilot, lambda: active_pane(app) is pane, "1 to show the first tab")
            await wait_for(pilot, lambda: app.focused is pane.view, "its terminal focused")
            # A tab shown focuses its terminal, where digits are the shell's: leave it first.
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("2")
            await wait_for(pilot, lambda: active_pane(app) is second, "2 to show the second")
            await wait_for(pilot, lambda: app.focused is second.view, "its terminal focused")
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("0")
            assert app.tabs.active == "tab-list"
            assert app.focused is panel.query_one(DataTable)
            await pilot.press("1")
            await wait_for(pilot, lambda: app.focused is pane.view, "the first terminal")
            await pilot.press("ctrl+right_square_bracket")
            # x on the first: the second shows, numbered 1 now.
            await pilot.press("x")
            await wait_for(pilot, lambda: active_pane(app) is second, "the next session")
            assert str(app.tabs.get_tab(second).label).startswith("1 ")
            await wait_for(pilot, lambda: 1 in panel.sessions.values(), "1 session marked")
            await wait_for(pilot, lambda: app.focused is second.view, "its terminal focused")
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("x")
            await wait_for(pilot, lambda: app.tabs.active == "tab-list", "the list, at last")
            await wait_for(pilot, lambda: not panel.sessions, "no mark left")

    run(body())
