"""Tests the container list's filter as a person types it: the cursor lands on what was meant."""

from __future__ import annotations

from dataclasses import replace

from cdebug_tui.ui.widgets.container_list import ContainerListPanel, ContainerTableView
from tests.ui.helpers import run, wait_for
from tests.ui.test_list_width import _containers, _ListApp


def test_the_filter_puts_the_cursor_on_the_first_name_that_matches() -> None:
    """`/busy` with the cursor on a container whose image is busybox puts the cursor on the
    container named ...-busy (it stayed put, and l, Enter or D then acted on the other one);
    Esc clears the filter and keeps the cursor where it is."""

    async def body() -> None:
        app = _ListApp()
        async with app.run_test(size=(160, 12)) as pilot:
            base = _containers()[0]
            rows = [
                replace(base, id="a" * 64, name="trial-bbcrash", image="tools/busybox:local"),
                replace(base, id="b" * 64, name="trial-busy", image="distroless/app:1"),
                replace(base, id="c" * 64, name="trial-web", image="distroless/app:1"),
            ]
            panel = app.query_one(ContainerListPanel)
            panel.set_containers(rows, engine="docker")
            table = app.query_one(ContainerTableView)
            await wait_for(pilot, lambda: table.row_count == 3, "the rows")
            table.focus()
            await pilot.press("home")  # trial-bbcrash, first by name
            assert (s := panel.selected()) is not None and s.name == "trial-bbcrash"
            await pilot.press("slash", *"busy")
            await wait_for(pilot, lambda: table.row_count == 2, "the filtered rows")
            assert (s := panel.selected()) is not None and s.name == "trial-busy"
            await pilot.press("enter", "escape")
            await wait_for(pilot, lambda: table.row_count == 3, "every row again")
            assert (s := panel.selected()) is not None and s.name == "trial-busy"

    run(body())
