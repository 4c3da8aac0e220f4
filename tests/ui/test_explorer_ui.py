"""Tests the explorer's views and keys (issue 11) with Pilot on the real engine: the list's
columns, sorting and stats, inspect, stats, actions with their confirmation, the palette."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.command import CommandList, CommandPalette
from textual.widgets import DataTable, Static
from textual.widgets._toast import Toast

from cdebug_tui.engine.models import SIDECAR_LABEL
from cdebug_tui.errors import TargetNotFoundError
from cdebug_tui.ui.app import CdebugApp
from cdebug_tui.ui.screens.confirm import ConfirmScreen
from cdebug_tui.ui.screens.inspect import InspectScreen
from cdebug_tui.ui.screens.stats import StatsScreen
from cdebug_tui.ui.secrets import MASK
from cdebug_tui.ui.widgets.container_list import ContainerListPanel, ContainerTableView
from cdebug_tui.ui.widgets.stats_view import StatsView
from tests.conftest import RUN_ID
from tests.engine.helpers import wait_for as engine_wait
from tests.explorer_fixtures import make_container
from tests.ui.helpers import (
    active_pane,
    notes_of,
    run,
    type_text,
    wait_for,
    wait_for_panels,
)

__all__ = ["make_container"]  # a fixture: imported to be found, not called

pytestmark = pytest.mark.engine

BUSY = ["sh", "-c", "while :; do :; done"]


def _cell(app: CdebugApp, cid: str, column: str) -> str:
    """The text of one cell of a container's row ("" when the row is not shown)."""
    panel = app.query_one(ContainerListPanel)
    table = app.query_one(ContainerTableView)
    row = panel.row(cid)
    if row is None:
        return ""
    key = f"{row.engine}/{cid}"
    if key not in table.rows:
        return ""
    value = table.get_cell(key, column)
    return value.plain if isinstance(value, Text) else str(value)


async def _open_stats(pilot: Any, cid: str) -> StatsView:
    """The list's `S` on a container: its stats screen's view."""
    app = pilot.app
    await _select(pilot, cid)
    await pilot.press("S")
    screen = await wait_for(
        pilot,
        lambda: app.screen if isinstance(app.screen, StatsScreen) else None,
        "the stats screen",
    )
    return screen.query_one(StatsView)


async def _select(pilot: Any, cid: str) -> None:
    """Puts the list's cursor on a container's row, as j/k would."""
    app = pilot.app
    panel = app.query_one(ContainerListPanel)
    await wait_for(pilot, lambda: panel.row(cid) is not None, "the container's row")
    table = app.query_one(ContainerTableView)
    table.focus()
    key = f"{panel.row(cid).engine}/{cid}"
    table.move_cursor(row=panel._order.index(key))
    await wait_for(
        pilot, lambda: (s := panel.selected()) is not None and s.id == cid, "the cursor on it"
    )


async def _confirmation(pilot: Any, what: str) -> ConfirmScreen:
    """Waits for the confirmation question and returns its screen."""
    app = pilot.app
    return await wait_for(
        pilot, lambda: app.screen if isinstance(app.screen, ConfirmScreen) else None, what
    )


def test_list_columns_stats_and_sort(
    engine: Any, make_container: Callable[..., str], busybox_image: str
) -> None:
    """A busy container shows its CPU and its memory against its limit, its health and its
    published port; an exited one its exit code; o sorts by the next column, a click on a
    header by that column, twice reverses."""
    busy = make_container(
        busybox_image,
        BUSY,
        ports=[80],
        healthcheck={"test": ["CMD-SHELL", "true"], "interval": 1_000_000_000},
        host={"mem_limit": "32m", "port_bindings": {80: ("127.0.0.1", None)}},
    )
    failed = make_container(busybox_image, ["sh", "-c", "exit 3"])

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(200, 60)) as pilot:
            panel = app.query_one(ContainerListPanel)
            await wait_for(pilot, lambda: panel.row(busy) is not None, "the rows")
            await wait_for(
                pilot, lambda: _cell(app, busy, "cpu").endswith("%"), "the CPU column", 30
            )
            await wait_for(pilot, lambda: _cell(app, busy, "mem").endswith("%"), "MEM of limit")
            await wait_for(pilot, lambda: _cell(app, busy, "health") == "healthy", "HEALTH", 30)
            assert "->80/tcp" in _cell(app, busy, "ports")
            await wait_for(pilot, lambda: _cell(app, failed, "state") == "exited (3)", "exit code")
            assert _cell(app, failed, "cpu") == "-"
            # Only the running rows on screen are read: never the exited one.
            wanted = {i for _, i in app.stats.wanted}
            assert busy in wanted and failed not in wanted

            for _ in range(6):  # default -> name -> state -> up -> shell -> image -> cpu
                await pilot.press("o")
            assert panel.sort_column == "cpu" and panel.sort_reverse
            table = app.query_one(ContainerTableView)
            assert table.columns[
                next(k for k in table.columns if k.value == "cpu")
            ].label.plain == ("CPU ↓")
            await pilot.pause()
            cpus = [
                h.latest.cpu_percent
                for c in panel.visible_rows()
                if (h := app.stats.history((c.engine, c.id))) is not None
                and h.latest is not None
                and c.running
            ]
            assert cpus == sorted(cpus, reverse=True)

            # A click on the NAME header sorts by name; a second click reverses.
            x = sum(
                col.get_render_width(table)
                for key, col in table.columns.items()
                if key.value == "marker"
            )
            await pilot.click(ContainerTableView, offset=(x + 2, 0))
            await wait_for(pilot, lambda: panel.sort_column == "name", "a sort by name")
            names = [c.name.lower() for c in panel.visible_rows()]
            assert names == sorted(names) and not panel.sort_reverse
            await pilot.click(ContainerTableView, offset=(x + 2, 0))
            await wait_for(pilot, lambda: panel.sort_reverse, "the order reversed")
            names = [c.name.lower() for c in panel.visible_rows()]
            assert names == sorted(names, reverse=True)

    run(body())


def test_list_shows_the_code_of_a_start_that_failed(
    engine: Any, make_container: Callable[..., str], busybox_image: str
) -> None:
    """A container whose entrypoint is not there stays `created`: its row says `created
    (127)` once the list's full read is in, as an exited one says its code."""
    import docker

    broken = make_container(busybox_image, None, start=False, entrypoint=["/no/such/binary"])
    with pytest.raises(docker.errors.APIError):
        engine.api.start(broken)

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(200, 60)) as pilot:
            # "" until its row is in; "created" until the list's full read is.
            await wait_for(
                pilot, lambda: _cell(app, broken, "state") == "created (127)", "its code", 30
            )
            # Its log is empty, as it never ran: the Logs say why, which only inspect said.
            from tests.ui.test_logs_ui import _open_logs, _status

            logs = await _open_logs(pilot, app, broken)
            await wait_for(
                pilot,
                lambda: 'created, its start failed (127): exec: "/no/such/binary"' in _status(logs),
                "why it never ran",
                detail=lambda: _status(logs),
            )
            assert "no such file or directory" in _status(logs)

    run(body())


def test_list_says_a_container_was_killed_for_memory(
    engine: Any, make_container: Callable[..., str], busybox_image: str
) -> None:
    """A container the kernel killed for memory: `exited (137) OOMKilled`, as k9s says it
    (137 alone is any SIGKILL; only inspect said why), and its log's end says so too."""
    hog = ["sh", "-c", "head -c 209715200 /dev/zero | tail -n 1"]
    cid = make_container(busybox_image, hog, host={"mem_limit": 16 << 20})
    engine.api.wait(cid, timeout=60)
    assert engine.inspect(cid).oom_killed

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(200, 60)) as pilot:
            await wait_for(
                pilot, lambda: _cell(app, cid, "state") == "exited (137) OOMKilled", "why", 30
            )
            # When it stopped, as `docker ps` says "Exited (137) 5 seconds ago".
            up = _cell(app, cid, "up")
            assert up.endswith("s ago") and up[:-5].isdigit(), up
            from tests.ui.test_logs_ui import _open_logs, _status

            logs = await _open_logs(pilot, app, cid)
            await wait_for(
                pilot, lambda: "exited (137, OOMKilled)" in _status(logs), "the log's end"
            )

    run(body())


def test_up_counts_from_the_start_the_engine_recorded(
    engine: Any, make_container: Callable[..., str], busybox_image: str
) -> None:
    """UP is counted from the container's own start (inspect's StartedAt), not from the
    list's "Up 17 minutes", which said 16m for 17m59s (and 2h for 2h59m)."""
    from datetime import datetime

    cid = make_container(busybox_image, ["sleep", "3600"])
    raw = engine.api.inspect_container(cid)["State"]["StartedAt"]
    started = datetime.fromisoformat(raw[:26].rstrip("Z") + "+00:00").timestamp()

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(200, 60)) as pilot:
            panel = app.query_one(ContainerListPanel)

            def counted_from() -> float | None:
                row = panel.row(cid)
                return panel.started.get(f"{row.engine}/{cid}") if row else None

            await wait_for(
                pilot,
                lambda: (t := counted_from()) is not None and abs(t - started) < 0.01,
                "the engine's start time",
                30,
                detail=lambda: f"{counted_from()} against {started}",
            )

    run(body())


def test_a_young_containers_age_counts_the_seconds(
    engine: Any, make_container: Callable[..., str], busybox_image: str
) -> None:
    """UP counts a new container's seconds as they pass, and once it stopped how long ago by
    the second: it was redrawn every 10 s, and a trial saw `5s` stay for five seconds, then
    `12s` (and `2s ago` for five seconds, then `6s ago`)."""
    cid = make_container(busybox_image, ["sleep", "3600"])

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(200, 60)) as pilot:
            await wait_for(pilot, lambda: _cell(app, cid, "up").endswith("s"), "its age")
            seen: set[str] = set()

            def three() -> bool:
                seen.add(_cell(app, cid, "up"))
                return len(seen) >= 3

            await wait_for(pilot, three, "three ages in a row", 8, detail=lambda: str(seen))
            # Stopped, how long ago counts by the second too.
            engine.api.kill(cid)
            await wait_for(pilot, lambda: _cell(app, cid, "up").endswith("s ago"), "ago")
            seen.clear()
            await wait_for(pilot, three, "three agos in a row", 8, detail=lambda: str(seen))

    run(body())


def test_list_counts_a_crash_loop(
    engine: Any, make_container: Callable[..., str], busybox_image: str
) -> None:
    """A container caught in a crash loop before the app started shows its restarts, and the
    count goes on as the engine restarts it while the app watches."""
    looping = make_container(
        busybox_image,
        ["sh", "-c", "sleep 0.3; exit 3"],
        host={"restart_policy": {"Name": "always"}},
    )
    calm = make_container(busybox_image, ["sleep", "3600"])
    engine_wait(lambda: engine.container(looping).restarts >= 1, 30, "a first restart")

    def restarts() -> int:
        match = re.search(r"↻(\d+)$", _cell(app, looping, "state"))
        return int(match.group(1)) if match else 0

    app = CdebugApp()

    async def body() -> None:
        async with app.run_test(size=(200, 60)) as pilot:
            await wait_for(pilot, lambda: restarts() >= 1, "the restarts shown", 30)
            seen = restarts()
            # The engine's delay doubles at each restart: the next may be half a minute off.
            await wait_for(pilot, lambda: restarts() > seen, "a restart counted live", 90)
            assert "↻" not in _cell(app, calm, "state")

    run(body())


def test_notifications_leave_the_status_line_readable(engine: Any) -> None:
    """A toast sits above the list's status line (its counts, its hidden columns), not on it."""
    app = CdebugApp()

    async def body() -> None:
        async with app.run_test(size=(120, 30), notifications=True) as pilot:
            panel = app.query_one(ContainerListPanel)
            await wait_for(pilot, lambda: panel.loaded, "the list")
            app.notify("cdebug-demo is running: ctrl+p lists what applies", title="cannot start")
            await wait_for(pilot, lambda: app.screen.query(Toast), "the toast")
            toast = app.screen.query_one(Toast).region
            status = app.query_one("#list-status").region
            assert toast.bottom <= status.y, (toast, status)
            # The same again, while it shows (a key pressed twice): one toast, not a pile.
            app.notify("cdebug-demo is running: ctrl+p lists what applies", title="cannot start")
            await pilot.pause()
            assert len(app.screen.query(Toast)) == 1

    run(body())


def test_events_tell_how_a_container_ended_and_follow_it(
    engine: Any, make_container: Callable[..., str], busybox_image: str
) -> None:
    """E shows what the engine kept of a container (its start, the kill's signal, the exit
    code), then what comes while it is open; Esc leaves and the stream ends with it."""
    from cdebug_tui.ui.screens.events import EventsScreen

    cid = make_container(busybox_image, ["sleep", "3600"])
    engine.api.kill(cid, signal="SIGKILL")
    engine_wait(lambda: engine.container(cid).state == "exited", 30, "the kill")
    app = CdebugApp()

    async def body() -> None:
        async with app.run_test(size=(160, 40)) as pilot:
            await _select(pilot, cid)
            await pilot.press("E")
            screen = await wait_for(
                pilot, lambda: isinstance(app.screen, EventsScreen) and app.screen, "E's screen"
            )
            await wait_for(
                pilot,
                lambda: any("die" in r and "exit 137" in r for r in screen.rows_text()),
                "the exit code, with its meaning",
                detail=lambda: screen.rows_text(),
            )
            rows = screen.rows_text()
            events = [r.split()[1] for r in rows]
            assert events[:4] == ["create", "start", "kill", "die"], rows
            assert "SIGKILL" in rows[2] and "exit 137 (SIGKILL)" in rows[3]
            engine.api.start(cid)
            await wait_for(
                pilot,
                lambda: [r.split()[1] for r in screen.rows_text()][4:] == ["start"],
                "the new start, live",
                detail=lambda: screen.rows_text(),
            )
            status = str(screen.query_one("#events-status", Static).render())
            assert status.startswith("5 events · following"), status
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, EventsScreen), "back")
            await wait_for(
                pilot,
                lambda: not [w for w in app.workers if w.group == "events-view" and w.is_running],
                "the events' stream to end with the screen",
            )

    run(body())


def test_stats_follow_the_rows_on_screen(
    engine: Any, make_container: Callable[..., str], busybox_image: str
) -> None:
    """With more rows than the screen shows, only those on screen are read; scrolled away,
    they are read no more, and the rows that came into view are."""
    prefix = f"cdebug-test-rows-{RUN_ID}-{uuid.uuid4().hex[:4]}"
    ids = [
        make_container(busybox_image, ["sleep", "3600"], name=f"{prefix}-{i:02d}")
        for i in range(16)
    ]

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(160, 16)) as pilot:
            panel = app.query_one(ContainerListPanel)
            await wait_for(pilot, lambda: all(panel.row(i) for i in ids), "the rows")
            await pilot.press("slash")
            await type_text(pilot, prefix)
            await pilot.press("enter")
            await wait_for(pilot, lambda: len(panel.visible_rows()) == 16, "the filter")
            first, last = ids[0], ids[-1]
            wanted = lambda: {i for _, i in app.stats.wanted}  # noqa: E731
            await wait_for(pilot, lambda: first in wanted() and last not in wanted(), "top rows")
            assert len(wanted()) < 16
            await wait_for(pilot, lambda: app.stats.history(("default", first)), "a reading")
            await pilot.press("G")  # to the bottom
            await wait_for(pilot, lambda: last in wanted() and first not in wanted(), "scrolled")
            history = app.stats.history(("default", first))
            assert history is not None
            # A round under way when the list scrolled may still bring its reading.
            rounds = app.stats.rounds
            await wait_for(pilot, lambda: app.stats.rounds >= rounds + 1, "that round", 30)
            points = len(history.points)
            rounds = app.stats.rounds
            await wait_for(pilot, lambda: app.stats.rounds >= rounds + 2, "two more rounds", 30)
            assert len(history.points) == points, "a row scrolled away was still read"
            await wait_for(pilot, lambda: _cell(app, last, "mem") not in ("", "-"), "its MEM")

    run(body())


def test_inspect_masks_secrets_copies_values_and_says_when_removed(
    engine: Any, make_container: Callable[..., str], busybox_image: str, tmp_path: Path
) -> None:
    cid = make_container(
        busybox_image,
        ["sleep", "3600"],
        environment={"DB_PASSWORD": "hunter2", "MODE": "prod"},
        labels={"com.example.team": "payments", "com.example.note": "n" * 250 + " the end"},
        host={"binds": {str(tmp_path): {"bind": "/data", "mode": "ro"}}, "mem_limit": "64m"},
    )

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(160, 60)) as pilot:
            await _select(pilot, cid)
            # e explains what the list shows, and in inspect what inspect shows.
            from cdebug_tui.ui.screens.explain import ExplainScreen

            async def explained() -> str:
                await pilot.press("e")
                shown = await wait_for(
                    pilot, lambda: isinstance(app.screen, ExplainScreen) and app.screen, "e"
                )
                await pilot.press("escape")
                await wait_for(pilot, lambda: not isinstance(app.screen, ExplainScreen), "back")
                return str(shown.topic)

            assert await explained() == "containers"
            await pilot.press("i")
            screen = await wait_for(
                pilot,
                lambda: app.screen if isinstance(app.screen, InspectScreen) else None,
                "the inspect screen",
            )
            await wait_for(pilot, lambda: screen.rows, "the inspect rows", 30)
            assert await explained() == "inspect"
            table = screen.query_one(DataTable)
            # End and Home go down and up the rows (DataTable's move along the columns).
            await pilot.press("end")
            assert table.cursor_row == table.row_count - 1 > 0
            await pilot.press("home")
            assert table.cursor_row == 0

            def shown(key: str) -> str:
                i = next(n for n, r in enumerate(screen.rows) if r.key == key)
                return str(table.get_row_at(i)[1])

            groups = [r.group for r in screen.rows if not r.key and not r.value]
            assert groups[:3] == ["Container", "Command", "Environment (3)"]
            assert shown("DB_PASSWORD") == MASK and shown("MODE") == "prod"
            assert shown("com.example.team") == "payments"
            assert shown("memory limit") == "64MiB"
            assert f"{tmp_path} -> /data  ro" in [r.value for r in screen.rows]
            from cdebug_tui.ui.widgets.footer import AppFooter

            footer = screen.query_one(AppFooter)
            assert " v Show secrets " in footer.text()
            await pilot.press("v")
            assert shown("DB_PASSWORD") == "hunter2"
            # The footer's v says what it does next (it said Reveal secrets, revealed).
            await wait_for(pilot, lambda: " v Hide secrets " in footer.text(), "Hide")
            await pilot.press("v")
            assert shown("DB_PASSWORD") == MASK
            await wait_for(pilot, lambda: " v Show secrets " in footer.text(), "Show")

            # c copies the value under the cursor (the real one, masked or not).
            table.move_cursor(row=next(n for n, r in enumerate(screen.rows) if r.key == "id"))
            await pilot.press("c")
            assert app.clipboard == cid

            # A value its column cuts is shown whole below the table while the cursor is on it.
            value = screen.query_one("#inspect-value", Static)
            assert not value.display
            row = next(n for n, r in enumerate(screen.rows) if r.key == "com.example.note")
            table.move_cursor(row=row)
            await wait_for(pilot, lambda: value.display, "the whole value")
            assert str(value.render()).endswith("n the end") and value.region.height >= 2
            # In the table it ends in `…`, within the window: → had to scroll the names away.
            assert table.virtual_size.width <= table.scrollable_content_region.width
            assert any(
                "…" in "".join(seg.text for seg in table.render_line(y))
                for y in range(table.size.height)
            )
            table.move_cursor(row=row - 1)
            await wait_for(pilot, lambda: not value.display, "a value that fits: no line")

            engine.api.remove_container(cid, force=True)
            title = screen.query_one("#inspect-title", Static)
            await wait_for(pilot, lambda: "removed" in str(title.render()), "removed", 20)
            assert shown("DB_PASSWORD") == MASK  # what was read stays
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, InspectScreen), "back")

    run(body())


def test_stats_screen_draws_use_against_limits_and_survives_removal(
    engine: Any, make_container: Callable[..., str], busybox_image: str
) -> None:
    cid = make_container(busybox_image, BUSY, host={"mem_limit": "32m", "nano_cpus": 500_000_000})

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(160, 48)) as pilot:
            view = await _open_stats(pilot, cid)
            # The list behind it is hidden: only this container is read now.
            await wait_for(pilot, lambda: app.stats.wanted == {("default", cid)}, "one reading")

            def text(selector: str) -> str:
                return str(view.query_one(selector, Static).render())

            await wait_for(pilot, lambda: "limit 0.5 CPU = 50%" in text(".stats-cpu-title"), "CPU")
            await wait_for(pilot, lambda: "of limit 32MiB" in text(".stats-mem-title"), "MEM")
            history = app.stats.history(("default", cid))
            await wait_for(
                pilot,
                lambda: history is not None and any(p.cpu_percent > 1 for p in history.points),
                "the busy loop's CPU in the plot",
                30,
            )
            # The plot's bars and its limit line are drawn.
            from cdebug_tui.ui.widgets.stats_view import LimitPlot

            plot = view.query_one(".stats-cpu", LimitPlot)
            assert plot.limit == 50.0 and max(plot.values) > 1

            engine.api.remove_container(cid, force=True)
            await wait_for(pilot, lambda: "was removed" in text(".stats-status"), "removed", 20)
            rounds = app.stats.rounds
            await wait_for(pilot, lambda: app.stats.rounds > rounds or not app.stats.wanted, "")
            assert ("default", cid) not in app.stats.wanted
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, StatsScreen), "back")

    run(body())


def test_stats_of_an_exited_container_say_so_before_any_reading(
    engine: Any, make_container: Callable[..., str], busybox_image: str
) -> None:
    """`S` on an exited container says `not running: no live readings` from what inspect
    says, not after the first round of readings (1.4 s of `reading the first samples…`)."""
    cid = make_container(busybox_image, ["sh", "-c", "exit 5"])
    engine.api.wait(cid, timeout=30)

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(160, 48)) as pilot:
            view = await _open_stats(pilot, cid)
            status = view.query_one(".stats-status", Static)
            await wait_for(
                pilot, lambda: "not running: no live readings" in str(status.render()), "said"
            )
            # From inspect: the poller has read nothing of it yet.
            assert app.stats.history(("default", cid)) is None

    run(body())


def test_every_action_asks_first_and_reports(
    engine: Any, make_container: Callable[..., str], distroless_image: str
) -> None:
    cid = make_container(distroless_image, None)
    name = engine.details(cid).name

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(160, 48)) as pilot:
            notes = notes_of(app)
            panel = app.query_one(ContainerListPanel)
            await _select(pilot, cid)

            def status() -> str:
                try:
                    return str(engine.details(cid).status)
                except TargetNotFoundError:
                    return "removed"

            async def act(key: str, state: str, done: str | None) -> None:
                await _select(pilot, cid)
                await pilot.press(key)
                confirm = await _confirmation(pilot, f"the confirmation of {key}")
                assert name in confirm.question
                await pilot.press("y" if done else "n")
                if done:
                    # What the user reads: the notification; and what the engine says.
                    await wait_for(pilot, lambda: f"{name} {done}" in notes, done, 30)
                assert status() == state, (key, notes[-3:])
                if state != "removed":  # the row shows it before the next key is meant for it
                    await wait_for(pilot, lambda: panel.row(cid).state == state, state, 30)

            await act("X", "running", None)  # asked, refused: nothing happens
            assert not any("stopping" in n for n in notes)
            await act("X", "exited", "stopped")
            await act("U", "running", "started")
            await act("P", "paused", "paused")
            await wait_for(pilot, lambda: panel.row(cid).state == "paused", "the row paused", 30)
            assert _cell(app, cid, "up") not in ("", "-")  # Up ... (Paused), as docker ps says
            await act("P", "running", "unpaused")  # on a paused container, P unpauses
            await act("R", "running", "restarted")
            await act("K", "exited", "killed")
            assert engine.details(cid).exit_code == 137
            # What does not apply is refused at once, unasked: a stop of an exited container
            # said "stopped".
            for key in ("X", "P", "K"):
                await pilot.press(key)
                await wait_for(
                    pilot, lambda: notes[-1] == f"{name} is exited: ctrl+p lists what applies", key
                )
                assert not isinstance(app.screen, ConfirmScreen)
            await act("D", "removed", "removed")
            await wait_for(pilot, lambda: panel.row(cid) is None, "the row gone", 30)

    run(body())


def test_the_palette_lists_actions_for_the_selected_container(
    engine: Any, make_container: Callable[..., str], distroless_image: str
) -> None:
    cid = make_container(distroless_image, None)
    name = engine.details(cid).name

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(160, 48)) as pilot:
            panel = app.query_one(ContainerListPanel)
            await _select(pilot, cid)
            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: CommandPalette.is_open(app), "the palette")
            await type_text(pilot, "stop")
            commands = app.screen.query_one(CommandList)

            def listed() -> list[str]:
                return [o.hit.text for o in commands.options if hasattr(o, "hit")]

            await wait_for(pilot, lambda: f"Stop {name}" in listed(), "the stop command")
            await pilot.press("enter")
            confirm = await _confirmation(pilot, "the confirmation")
            assert f"Stop {name}?" in confirm.question
            await pilot.press("y")
            await wait_for(pilot, lambda: panel.row(cid).state == "exited", "stopped", 30)

    run(body())


def test_sidecars_are_refused_and_engine_refusals_are_one_line(
    engine: Any, make_container: Callable[..., str], busybox_image: str, distroless_image: str
) -> None:
    sidecar = make_container(distroless_image, None, labels={SIDECAR_LABEL: "1"})
    broken = make_container(busybox_image, ["/no/such/binary"], start=False)

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(160, 48)) as pilot:
            notes = notes_of(app)
            panel = app.query_one(ContainerListPanel)
            await wait_for(pilot, lambda: panel.row(sidecar) is not None, "the rows")
            await pilot.press("s")  # sidecars shown
            await _select(pilot, sidecar)
            await pilot.press("X")
            await wait_for(pilot, lambda: any("sidecar" in n for n in notes), "the refusal")
            assert not isinstance(app.screen, ConfirmScreen)
            assert engine.details(sidecar).status == "running"
            # The palette offers a sidecar's inspect and stats, not actions it would refuse.
            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: CommandPalette.is_open(app), "the palette")
            commands = app.screen.query_one(CommandList)
            sname = engine.details(sidecar).name
            listed = lambda: [o.hit.text for o in commands.options if hasattr(o, "hit")]  # noqa: E731
            await wait_for(pilot, lambda: f"Inspect {sname}" in listed(), "the commands")
            assert not any(t.startswith(("Stop ", "Restart ", "Kill ")) for t in listed())
            await pilot.press("escape")
            await wait_for(pilot, lambda: not CommandPalette.is_open(app), "the palette gone")

            await _select(pilot, broken)
            await pilot.press("U")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirm")
            await pilot.press("y")
            await wait_for(
                pilot, lambda: any("cannot start" in n for n in notes), "the engine's refusal", 30
            )
            assert any("no/such/binary" in n for n in notes)
            assert app.is_running and not isinstance(app.screen, ConfirmScreen)

    run(body())


def test_a_session_tab_has_the_targets_stats(
    run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(160, 48)) as pilot:
            pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
            await wait_for_panels(pilot, pane)
            await pilot.click(f"#--content-tab-side-stats-{pane.number}")
            view = await wait_for(
                pilot, lambda: next(iter(pane.query(StatsView)), None), "the view"
            )
            assert view.container_id == target.id
            title = view.query_one(".stats-mem-title", Static)
            await wait_for(pilot, lambda: "MEM" in str(title.render()), "the target's memory", 30)
            # No limit: the plot's scale is said, or its bars read as memory maxed out.
            assert re.search(r"no limit \(host .+\) · the plot's top \d", str(title.render()))

    run(body())


def test_events_show_what_the_app_heard_after_the_engine_forgot_it(
    engine: Any, make_container: Callable[..., str], busybox_image: str
) -> None:
    """Docker keeps its latest 256 events, of all containers: after a busy moment elsewhere,
    E on a container still shows its kill and its exit, as the app heard them while it ran,
    in order with what the engine still holds, each once."""
    from cdebug_tui.ui.screens.events import EventsScreen

    quiet = make_container(busybox_image, ["sleep", "3600"])  # its events, before the app's
    cid = make_container(busybox_image, ["sleep", "3600"])
    busy = make_container(busybox_image, ["sleep", "3600"])
    app = CdebugApp()

    async def body() -> None:
        async with app.run_test(size=(160, 40)) as pilot:
            await _select(pilot, cid)
            await asyncio.to_thread(engine.api.kill, cid, signal="SIGKILL")
            await wait_for(
                pilot,
                lambda: any(
                    e.action == "die" for e in app.event_history.get((app.engine.name, cid), ())
                ),
                "the app to hear the kill",
            )

            def busy_elsewhere() -> None:
                for _ in range(95):  # 285 events: the engine's buffer holds 256
                    exec_id = engine.api.exec_create(busy, ["true"])["Id"]
                    engine.api.exec_start(exec_id)  # exec_create, exec_start, exec_die

            await asyncio.to_thread(busy_elsewhere)
            kept = await asyncio.to_thread(
                lambda: [
                    e
                    for e in engine.api.events(since=1, until=time.time(), decode=True)
                    if e.get("id") == cid
                ]
            )
            assert kept == [], "the engine still holds the target's events"
            await asyncio.to_thread(engine.api.start, cid)
            await pilot.press("E")
            screen = await wait_for(
                pilot, lambda: isinstance(app.screen, EventsScreen) and app.screen, "E's screen"
            )
            await wait_for(
                pilot,
                lambda: [r.split()[1] for r in screen.rows_text()] == ["kill", "die", "start"],
                "the kill and exit heard, then the start",
                detail=lambda: screen.rows_text(),
            )
            assert "exit 137 (SIGKILL)" in screen.rows_text()[1]
            status = str(screen.query_one("#events-status", Static).render())
            assert "as this app heard them" in status, status

            # A container whose events the engine forgot, and the app never heard: said so
            # (the line said "reading the events the engine kept…" for good).
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, EventsScreen), "the list")
            await _select(pilot, quiet)
            await pilot.press("E")
            screen = await wait_for(
                pilot, lambda: isinstance(app.screen, EventsScreen) and app.screen, "E again"
            )
            line = screen.query_one("#events-status", Static)
            await wait_for(
                pilot,
                lambda: str(line.render()).startswith("no events kept by the engine"),
                "no events, said",
                detail=lambda: str(line.render()),
            )
            assert screen.rows_text() == []

    run(body())
