"""Tests the Logs and Ports views with Pilot, against real containers on the real engine."""

from __future__ import annotations

import socket
import stat
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Static

from cdebug_tui.ui.app import CdebugApp
from cdebug_tui.ui.screens.logs import LogsScreen
from cdebug_tui.ui.widgets.container_list import ContainerListPanel
from cdebug_tui.ui.widgets.footer import AppFooter
from cdebug_tui.ui.widgets.log_view import INITIAL_TAIL, LogsPanel, LogView
from cdebug_tui.ui.widgets.ports import PortsPanel
from tests.conftest import sidecars_of
from tests.ui.helpers import (
    active_pane,
    at_prompt,
    noted_app,
    run,
    screenshot_text,
    type_text,
    wait_for,
    wait_for_prompt,
)

pytestmark = pytest.mark.engine


def _status(panel: LogsPanel) -> str:
    from textual.widgets import Static

    return str(panel.query_one(".logs-status", Static).render())


def _row_text(view: LogView, y: int) -> str:
    return "".join(seg.text for seg in view.render_line(y))


class _ViewAlone(App[None]):
    """The log view alone, for what needs no engine."""

    def compose(self) -> ComposeResult:
        yield LogView()


async def _view_laid_out(pilot: Any, app: _ViewAlone) -> LogView:
    view = app.query_one(LogView)
    await wait_for(pilot, lambda: view.size.height > 0, "the view laid out")
    return view


async def _session_ports(pilot: Any, app: CdebugApp) -> tuple[Any, PortsPanel]:
    """The app's session tab at its prompt, and its Ports view (`P`) with its first reading."""
    pane = await wait_for(pilot, lambda: active_pane(app), "the session tab")
    await wait_for_prompt(pilot, pane)
    await pilot.press("ctrl+right_square_bracket", "P")
    ports = await wait_for(pilot, lambda: next(iter(pane.query(PortsPanel)), None), "ports")
    await wait_for(pilot, lambda: ports.loads >= 1, "the sockets")
    return pane, ports


async def _open_logs(pilot: Any, app: CdebugApp, container_id: str) -> LogsPanel:
    """Puts the list's cursor on a container and presses `l`, as a person does."""
    panel = app.query_one(ContainerListPanel)
    table = app.query_one("#containers", DataTable)
    await wait_for(pilot, lambda: panel.row(container_id) is not None, "the container's row")
    table.focus()
    table.move_cursor(row=[c.id for c in panel.visible_rows()].index(container_id))
    await pilot.press("l")
    return await wait_for(
        pilot,
        lambda: (
            isinstance(app.screen, LogsScreen)
            and next(iter(app.screen.query(LogView)), None)
            and app.screen.query_one(LogsPanel)
        ),
        "the logs screen",
    )


def test_logs_of_an_exited_container_search_timestamps_wrap_save_and_back(
    engine: Any, run_target: Any, app_image: str, tmp_path: Path, monkeypatch: Any
) -> None:
    """`l` on a crashed shell-less container shows its last words, stderr marked; `/` finds
    every match with its count, n/N move between them; t, w, ctrl+s; Esc goes back."""
    monkeypatch.chdir(tmp_path)
    target = run_target(app_image, ["log", "40", "3"], network_mode="none")

    async def body() -> None:
        app = CdebugApp()
        notes: list[str] = []
        async with app.run_test(size=(120, 40)) as pilot:
            app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
            await wait_for(pilot, lambda: not engine.inspect(target.id).running, "the exit")
            panel = await _open_logs(pilot, app, target.id)
            view = panel.view
            await wait_for(pilot, lambda: len(view.lines) == 40, "the 40 lines")
            await wait_for(pilot, lambda: panel.state == "ended", "the end of the live log")
            assert "exited (3): no new lines" in _status(panel) and "40 lines" in _status(panel)
            assert not view.more_above
            # stderr lines carry the red marker, stdout lines none.
            rows = {_row_text(view, y).strip(" ▌"): _row_text(view, y) for y in range(40)}
            assert rows["err 39"].startswith("▌") and rows["out 38"].startswith(" ")
            assert app.focused is view

            await pilot.press("slash")
            await type_text(pilot, "err 1")
            await pilot.press("enter")
            # err 1, 11, 13, 15, 17, 19: the last one is current, the count shows.
            await wait_for(pilot, lambda: len(view.matches) == 6, "six matches")
            assert view.lines[view.matches[view.current]].text == "err 19"
            assert "6/6 matches" in _status(panel)
            await pilot.press("n")
            assert view.lines[view.matches[view.current]].text == "err 1"
            await pilot.press("N", "N")
            assert view.lines[view.matches[view.current]].text == "err 17"
            assert "5/6" in _status(panel)

            await pilot.press("t")
            assert view.show_timestamps and "[time]" in _status(panel)
            await pilot.pause()
            assert any(_row_text(view, y)[1:25].endswith("Z") for y in range(5))
            await pilot.press("w")
            assert view.wrap and "wrap" in _status(panel)

            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: list(tmp_path.glob("*.log")), "the saved file")
            saved = next(tmp_path.glob("*.log"))
            assert stat.S_IMODE(saved.stat().st_mode) == 0o600
            text = saved.read_text()
            assert text.count("\n") == 40 and " stderr err 39\n" in text
            assert any(str(saved) in n for n in notes)

            # e: where a log comes from (and why a file written inside is not in it).
            from cdebug_tui.ui.screens.explain import ExplainScreen

            await pilot.press("e")
            shown = await wait_for(
                pilot, lambda: isinstance(app.screen, ExplainScreen) and app.screen, "e"
            )
            assert shown.topic == "logs"
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen), "the log again")

            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, LogsScreen), "the list")
            assert isinstance(app.focused, DataTable)

    run(body())


def test_a_quiet_container_is_followed_before_its_first_line(
    engine: Any, run_target: Any, distroless_image: str
) -> None:
    """A process that has written nothing yet: the view follows, it is not still "reading"."""
    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(120, 30)) as pilot:
            panel = await _open_logs(pilot, app, target.id)
            await wait_for(pilot, lambda: "following" in _status(panel), "following", 20)
            assert "0 lines" in _status(panel) and "reading" not in _status(panel)
            # Stopped, having written nothing: said so (it read "no new lines").
            engine.api.kill(target.id)
            await wait_for(pilot, lambda: panel.state == "ended", "the end of the log")
            assert "■ exited (137): it logged nothing" in _status(panel), _status(panel)

    run(body())


def test_a_crash_loops_runs_are_marked_apart(engine: Any, run_target: Any, app_image: str) -> None:
    """A container restarted after each crash wrote the same lines each run: the log marks
    where each run ended, with its exit code, both for the runs before the log was opened and
    for one started while it is followed."""
    target = run_target(
        app_image,
        ["log", "3", "4"],
        network_mode="none",
        restart_policy={"Name": "on-failure", "MaximumRetryCount": 2},
    )

    def done() -> bool:
        state = engine.api.inspect_container(target.id)
        return state["RestartCount"] == 2 and state["State"]["Status"] == "exited"

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(120, 30)) as pilot:
            await wait_for(pilot, done, "the third run's crash", 30)
            panel = await _open_logs(pilot, app, target.id)
            view = panel.view
            await wait_for(pilot, lambda: panel.state == "ended", "the end of the live log")
            mark = "──── exited (4) · started again ────"
            run = ["err 1", "out 0", "out 2"]  # the engine orders stdout and stderr apart

            def runs(texts: list[str]) -> list[list[str]]:
                return [sorted(r.split("|")) for r in "|".join(texts).split(f"|{mark}|")]

            texts = [line.text for line in view.lines]
            assert runs(texts) == [run, run, run], texts
            assert "9 lines · 3 runs" in _status(panel)
            rows = [_row_text(view, y).strip() for y in range(12)]
            assert rows[3] == mark

            # Started again by hand while the log is open: that run and the two restarts
            # after it (a start by hand resets the restart count) come after marks.
            engine.api.start(target.id)

            def texts() -> list[str]:
                return [line.text for line in view.lines]

            await wait_for(pilot, lambda: len(runs(texts())) == 6, "the three runs more", 30)
            assert runs(texts()) == [run] * 6, texts()
            await wait_for(pilot, lambda: "18 lines · 6 runs" in _status(panel), "6 runs")

    run(body())


def test_runs_started_by_hand_in_a_row_are_each_marked(
    engine: Any, run_target: Any, app_image: str
) -> None:
    """A container started again the moment it exits (the log's stream has ended, and the
    engine says it runs again before the log looks): that run is marked too (its mark went
    missing), and the count of runs is right."""
    target = run_target(app_image, ["log", "3", "4"], network_mode="none")
    mark = "──── exited (4) · started again ────"

    def exited() -> bool:
        return engine.api.inspect_container(target.id)["State"]["Status"] == "exited"

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(120, 30)) as pilot:
            await wait_for(pilot, exited, "the first run's end")
            panel = await _open_logs(pilot, app, target.id)
            view = panel.view
            await wait_for(pilot, lambda: panel.state == "ended", "the end of the live log")
            for _ in range(8):
                engine.api.start(target.id)
                await wait_for(pilot, exited, "the run's end")
            texts = lambda: [line.text for line in view.lines]  # noqa: E731
            await wait_for(pilot, lambda: len(texts()) == 9 * 3 + 8, "9 runs", 30)
            assert texts().count(mark) == 8
            chunks = "|".join(texts()).split(f"|{mark}|")
            assert [sorted(c.split("|")) for c in chunks] == [["err 1", "out 0", "out 2"]] * 9
            await wait_for(pilot, lambda: "27 lines · 9 runs" in _status(panel), "9 runs")

    run(body())


def test_following_pauses_when_scrolled_up_and_resumes_at_the_bottom(
    engine: Any, run_target: Any, app_image: str
) -> None:
    target = run_target(app_image, ["tick", "20"], network_mode="none")

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(120, 30)) as pilot:
            panel = await _open_logs(pilot, app, target.id)
            view = panel.view
            await wait_for(pilot, lambda: len(view.lines) > 80, "lines beyond a screen")
            assert view.following and "following" in _status(panel)
            await wait_for(pilot, lambda: view.scroll_y == view.max_scroll_y > 0, "the bottom")
            await pilot.press("pageup")
            await wait_for(pilot, lambda: not view.following, "following to pause")
            assert "paused" in _status(panel)
            y = view.scroll_y
            n = len(view.lines)
            await wait_for(pilot, lambda: len(view.lines) > n + 20, "more lines")
            assert view.scroll_y == y, "the view moved while paused"
            await pilot.press("end")
            await wait_for(pilot, lambda: view.following, "following to resume")
            n = len(view.lines)
            await wait_for(pilot, lambda: len(view.lines) > n + 20, "more lines")
            await wait_for(pilot, lambda: view.scroll_y == view.max_scroll_y, "the bottom")
            assert "following" in _status(panel)
            # A search typed in one burst, as a fast typist or ssh sends it: every key goes
            # to the search box (none toggles timestamps, t, or scrolls, k), and the match
            # found stays on screen: following pauses.
            from tests.ui.test_terminal_input import raw_input, type_raw

            stamps = view.show_timestamps
            await type_raw(pilot, raw_input(app), b"/tick 5\r")
            await wait_for(pilot, lambda: view.query_text == "tick 5", "the search")
            assert view.matches and view.show_timestamps == stamps
            await wait_for(pilot, lambda: not view.following, "following paused at the match")
            await pilot.press("G")
            await wait_for(pilot, lambda: view.following, "G to follow again")
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, LogsScreen), "the list")
        assert panel._stream is not None and panel._stream.closed

    run(body())


def test_scrolling_up_reads_older_lines_and_a_removed_container_is_said_so(
    engine: Any, run_target: Any, app_image: str
) -> None:
    total = INITIAL_TAIL + 1500
    target = run_target(app_image, ["log", str(total), "-1"], network_mode="none")

    async def body() -> None:
        app = CdebugApp()
        notes: list[str] = []
        async with app.run_test(size=(120, 30)) as pilot:
            app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
            await wait_for(
                pilot,
                lambda: len(engine.read_logs(target.id, tail=total)) == total,
                "every line written",
            )
            panel = await _open_logs(pilot, app, target.id)
            view = panel.view
            await wait_for(pilot, lambda: len(view.lines) == INITIAL_TAIL, "the tail")
            assert view.more_above and "more above" in _status(panel)
            await pilot.press("home")
            await pilot.press("up")
            # At least: more (a line twice, say) fails on the numbers below, which say how.
            await wait_for(
                pilot,
                lambda: len(view.lines) >= total,
                "the older lines",
                detail=lambda: (
                    f"{len(view.lines)} lines, more above {view.more_above}, "
                    f"scroll_y {view.scroll_y}, {_status(panel)!r}"
                ),
            )
            numbers = sorted(int(line.text.split()[1]) for line in view.lines)
            assert numbers == list(range(total))
            # What was on screen stays there: the old first line, not the new one, at the top.
            assert view.scroll_y >= 1500 - 1

            engine.api.remove_container(target.id, force=True)
            await wait_for(
                pilot,
                lambda: panel.state == "removed",
                "the removal to show",
                30,
                detail=lambda: f"state {panel.state!r}: {_status(panel)!r}",
            )
            assert "was removed" in _status(panel)
            assert any("was removed" in n for n in notes)
            assert len(view.lines) == total  # what was read stays readable
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, LogsScreen), "the list")

    run(body())


def test_session_tab_logs_and_ports_forward_then_close(
    engine: Any, run_target: Any, app_image: str, busybox_image: str, tmp_path: Path
) -> None:
    """In a session tab, `l` shows the target's log and `P` its sockets, with the host port
    the engine publishes (it was cut off at 160 columns, behind the process); Enter on a port
    forwards it to localhost (reached with urllib); closing the tab ends the forward and
    removes the sidecar."""
    target = run_target(app_image, ["http", "8080"], ports=[8080], port_bindings={8080: None})

    async def body() -> None:
        notes: list[str] = []
        app = noted_app(target.name, busybox_image, notes)
        async with app.run_test(size=(160, 48)) as pilot:
            pane, ports = await _session_ports(pilot, app)
            rows = [(s.protocol, s.port, s.pid, s.command) for s in ports.sockets]
            assert ("tcp", 8080, 1, "app") in rows and ("udp", 8081, 1, "app") in rows
            public = engine.api.port(target.id, 8080)[0]["HostPort"]
            await wait_for(pilot, lambda: ports.published, "the published port")
            shown = screenshot_text(app, tmp_path / "ports.svg")
            row = next(line for line in shown.splitlines() if " 8080 " in line)
            assert f"*:{public} ✗" in row, row
            # The app listens on 127.0.0.1 only: `curl host:PUBLIC` is refused, and Ports says
            # why (the engine's proxy connects to the container's own address).
            status = str(ports.query_one(".ports-status", Static).render())
            assert (
                f"8080/tcp → *:{public}: bound to 127.0.0.1 only, "
                "the engine's proxy cannot reach it" in status
            ), status
            with pytest.raises(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{public}/", timeout=10).read()
            table = ports.table
            await wait_for(pilot, lambda: app.focused is table, "the ports table focused")
            table.move_cursor(row=[s.port for s in ports.sockets].index(8080))
            await pilot.press("enter")
            await wait_for(pilot, lambda: 8080 in ports.forwards, "the forward")
            fwd = ports.forwards[8080]
            with urllib.request.urlopen(f"http://{fwd.address}/tab", timeout=30) as res:
                assert res.read() == b"hello from port 8080: /tab\n"
            assert any("forwarding" in n for n in notes)

            await pilot.press("l")
            logs = await wait_for(pilot, lambda: next(iter(pane.query(LogsPanel)), None), "logs")
            await wait_for(
                pilot,
                lambda: any(ln.text == "GET /tab" for ln in logs.view.lines),
                "the request in the target's log",
            )
            await wait_for(pilot, lambda: app.focused is logs.view, "the log focused")
            # Its `t` is the log's timestamps: the terminal's title says how to get back.
            assert pane.view.border_title == "Esc t: type in the terminal"
            await pilot.press("escape")
            # Back to the Target view, not into the terminal: keys there are the shell's.
            await wait_for(pilot, lambda: app.focused is pane.processes, "back to the processes")
            assert pane.view.border_title == "t: type in the terminal"

            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("x")
            from cdebug_tui.ui.screens.confirm import ConfirmScreen

            asked = await wait_for(
                pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen, "x asks"
            )
            assert "the forward of port 8080 stops" in asked.question
            await pilot.press("y")
            await wait_for(pilot, lambda: not app.sessions(), "the tab to close", 30)
            await wait_for(pilot, lambda: not sidecars_of(engine, target.id), "no sidecar", 30)
            with pytest.raises(OSError):
                socket.create_connection(("127.0.0.1", fwd.local_port), timeout=5)
            assert fwd.closed

    run(body())


def test_ports_of_an_ended_session_are_a_last_reading_with_no_forward(
    engine: Any, run_target: Any, app_image: str, busybox_image: str
) -> None:
    """A port forwarded, then the target stopped: the Ports view says it shows the last
    reading and why, and no longer claims the forward (`1 forwarded`, `→ 127.0.0.1:...` and
    `Enter ... (again: stops)` stayed, while the forward was gone); Enter says so."""
    target = run_target(app_image, ["http", "8080"], ports=[8080], port_bindings={8080: None})

    async def body() -> None:
        notes: list[str] = []
        app = noted_app(target.name, busybox_image, notes)
        async with app.run_test(size=(160, 48)) as pilot:
            pane, ports = await _session_ports(pilot, app)
            await wait_for(pilot, lambda: app.focused is ports.table, "the ports table focused")
            ports.table.move_cursor(row=[s.port for s in ports.sockets].index(8080))
            await pilot.press("enter")
            await wait_for(pilot, lambda: 8080 in ports.forwards, "the forward")
            fwd = ports.forwards[8080]
            engine.api.kill(target.id)
            await wait_for(pilot, lambda: pane.state == "ended", "the end of the session", 30)
            status = ports.query_one(".ports-status", Static)
            said = await wait_for(
                pilot,
                lambda: "last reading" in (text := str(status.render())) and text,
                "the last reading said",
            )
            assert "the target stopped" in said and "forwarded" not in said
            assert "Enter forwards" not in said
            assert "forward" not in ports.table.columns and fwd.closed
            ports.table.focus()
            await pilot.press("enter")
            assert "the session has ended: nothing to forward through" in notes

    run(body())


def test_tab_keys_on_the_full_screen_views_leave_them_for_that_tab(
    engine: Any, run_target: Any, app_image: str, busybox_image: str
) -> None:
    """The footers of the list's full-screen Logs and Inspect offer the tab keys: a digit or
    ctrl+PgDn there closes the view and shows that tab. Under a dialog they stay its own."""
    from cdebug_tui.ui.screens.explain import ExplainScreen
    from cdebug_tui.ui.screens.inspect import InspectScreen
    from tests.ui.helpers import focus_row

    target = run_target(app_image, ["log", "3", "-1"])

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_for(pilot, lambda: active_pane(app) is not None, "the session tab")
            pane = active_pane(app)
            assert pane is not None
            await wait_for_prompt(pilot, pane)
            await pilot.press("ctrl+right_square_bracket", "0")
            await wait_for(pilot, lambda: app.tabs.active == "tab-list", "the list")

            await _open_logs(pilot, app, target.id)
            assert "Next tab" in app.screen.query_one(AppFooter).render().plain
            await pilot.press("e")
            await wait_for(pilot, lambda: isinstance(app.screen, ExplainScreen), "e's dialog")
            await pilot.press("1")
            await pilot.pause()
            assert isinstance(app.screen, ExplainScreen) and app.tabs.active == "tab-list"
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen), "the log again")
            await pilot.press("1")
            await wait_for(pilot, lambda: app.tabs.active == pane.id, "the session tab")
            assert app.screen is app.screen_stack[0] and len(app.screen_stack) == 1

            await pilot.press("ctrl+right_square_bracket", "0")
            await wait_for(pilot, lambda: app.tabs.active == "tab-list", "the list again")
            await focus_row(pilot, app, target)
            await pilot.press("i")
            await wait_for(pilot, lambda: isinstance(app.screen, InspectScreen), "inspect")
            await pilot.press("ctrl+pagedown")
            await wait_for(pilot, lambda: app.tabs.active == pane.id, "the next tab")
            assert len(app.screen_stack) == 1

    run(body())


def test_escape_and_a_key_in_one_burst_leave_the_log_then_act(
    engine: Any, run_target: Any, app_image: str, busybox_image: str
) -> None:
    """`Escape i` typed at once in the list's full-screen Logs: the log closes and `i`
    inspects; `Escape s` in a session's Logs panel shows the Steps. The Escape acted once it
    had bubbled up, after the key behind it had reached the log and done nothing."""
    from textual import events

    from cdebug_tui.ui.screens.inspect import InspectScreen
    from tests.ui.helpers import focus_row

    target = run_target(app_image, ["log", "3", "-1"])

    def burst(app: CdebugApp, *keys: str) -> None:
        # Posted without waiting in between: queued together, as a burst is.
        for key in keys:
            app.post_message(events.Key(key, None if key == "escape" else key))

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(160, 48)) as pilot:
            pane = await at_prompt(pilot, app)
            await pilot.press("ctrl+right_square_bracket", "l")
            logs = await wait_for(pilot, lambda: next(iter(pane.query(LogsPanel)), None), "logs")
            await wait_for(pilot, lambda: app.focused is logs.view, "the log focused")
            burst(app, "escape", "s")
            await wait_for(
                pilot, lambda: pane.side.active == f"side-steps-{pane.number}", "the Steps"
            )

            await pilot.press("0")
            await wait_for(pilot, lambda: app.tabs.active == "tab-list", "the list")
            await focus_row(pilot, app, target)
            await _open_logs(pilot, app, target.id)
            burst(app, "escape", "i")
            await wait_for(pilot, lambda: isinstance(app.screen, InspectScreen), "inspect")
            assert len(app.screen_stack) == 2  # the log's screen went

    run(body())


def test_ports_says_when_nothing_listens(
    engine: Any, run_target: Any, app_image: str, busybox_image: str
) -> None:
    """A target that listens on nothing: the Ports view says so (it showed an empty table
    and "0 sockets"), and that the port the engine publishes has nothing behind it."""
    target = run_target(app_image, ["log", "1", "-1"], ports=[9090], port_bindings={9090: None})
    public = engine.api.port(target.id, 9090)[0]["HostPort"]

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(160, 48)) as pilot:
            pane = await wait_for(pilot, lambda: active_pane(app), "the session tab")
            await wait_for_prompt(pilot, pane)
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("P")
            ports = await wait_for(pilot, lambda: next(iter(pane.query(PortsPanel)), None), "ports")
            await wait_for(pilot, lambda: ports.loads >= 1, "the sockets")
            line = ports.query_one(".ports-status", Static)
            status = str(line.render())
            assert ports.sockets == [] and status.startswith("nothing listens"), status
            await wait_for(pilot, lambda: ports.published, "the published port")
            status = str(line.render())
            assert f"9090/tcp → *:{public}: nothing listens on it" in status, status
            # Where the eye starts: above the empty table, not under it at the panel's foot.
            assert line.region.y < ports.table.region.y

    run(body())


def test_ports_in_a_narrow_view_keep_their_scroll_and_forward_column_goes(
    run_target: Any, app_image: str, busybox_image: str
) -> None:
    """At 80 columns the Ports table is scrolled right (→) to its PUBLISHED and PROCESS
    columns: each reading (every 3 s) put it back at the left. FORWARD shows while a port is
    forwarded only: it stayed, wide and empty, after the forward stopped."""
    target = run_target(app_image, ["http", "8080"], network_mode="none")

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(80, 24)) as pilot:
            pane = await wait_for(pilot, lambda: active_pane(app), "the session tab")
            await wait_for_prompt(pilot, pane)
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("b", "P")
            ports = await wait_for(pilot, lambda: next(iter(pane.query(PortsPanel)), None), "ports")
            await wait_for(pilot, lambda: ports.sockets, "the sockets")
            table = ports.table
            await wait_for(pilot, lambda: app.focused is table, "the ports table focused")

            def labels() -> list[str]:
                return [str(c.label) for c in table.columns.values()]

            assert "FORWARD" not in labels()
            await wait_for(pilot, lambda: table.max_scroll_x > 0, "a table wider than the view")
            for _ in range(6):
                await pilot.press("right")
            await wait_for(pilot, lambda: table.scroll_x > 0, "scrolled right")
            scrolled, loads = table.scroll_x, ports.loads
            await wait_for(pilot, lambda: ports.loads > loads, "the next reading", 15)
            await pilot.pause()
            assert table.scroll_x == scrolled

            table.move_cursor(row=[s.port for s in ports.sockets].index(8080))
            await pilot.press("enter")
            await wait_for(pilot, lambda: 8080 in ports.forwards, "the forward")
            assert "FORWARD" in labels()
            await pilot.press("enter")
            await wait_for(pilot, lambda: not ports.forwards, "the forward stopped")
            assert "FORWARD" not in labels()

    run(body())


def test_going_to_a_match_at_the_bottom_does_not_follow_again() -> None:
    """A log's first lines, in one read, show its end (500 lines showed the top, though
    "following"); N from the first match wraps to the last, near the bottom: the view stays
    on it, paused (it went back to following, and new lines scrolled the match away)."""
    from cdebug_tui.engine.readings import LogLine

    async def body() -> None:
        app = _ViewAlone()
        async with app.run_test(size=(80, 12)) as pilot:
            view = await _view_laid_out(pilot, app)
            words = {5: "needle one", 195: "needle two"}
            view.append([LogLine("stdout", 0, words.get(i, f"line {i}")) for i in range(200)])
            await wait_for(pilot, lambda: view.scroll_y == view.max_scroll_y > 0, "the bottom")
            assert view.search("needle") == 2 and view.current == 1 and not view.following
            view.next_match(1)  # wraps to the first, at the top
            await wait_for(pilot, lambda: view.scroll_y == 0, "the first match")
            view.next_match(-1)  # N: back round to the last one, at the bottom
            await wait_for(pilot, lambda: view.scroll_y == view.max_scroll_y, "the last match")
            assert view.current == 1 and not view.following
            view.append([LogLine("stdout", 0, f"new {i}") for i in range(20)])
            await pilot.pause()
            assert view.scroll_y < view.max_scroll_y, "new lines scrolled the match away"

    run(body())


def test_a_taller_view_does_not_follow_again() -> None:
    """`/B` Enter with the match on the last line: the search field closes, the view grows
    taller and its scroll is clamped to the end, which resumed following (new lines then
    scrolled the match away). Only the user's scrolling down to the end resumes it."""
    from textual.app import App
    from textual.widgets import Static

    from cdebug_tui.engine.readings import LogLine

    class Two(App[None]):
        def compose(self) -> ComposeResult:
            yield LogView()
            yield Static("the search field", id="field")

    async def body() -> None:
        app = Two()
        async with app.run_test(size=(80, 12)) as pilot:
            view = app.query_one(LogView)
            field = app.query_one("#field", Static)
            field.styles.height = 3
            await wait_for(pilot, lambda: view.size.height > 0, "the view laid out")
            view.append([LogLine("stdout", 0, f"line {i}") for i in range(100)])
            view.append([LogLine("stdout", 0, "B at the end")])
            await wait_for(pilot, lambda: view.scroll_y == view.max_scroll_y > 0, "the bottom")
            assert view.search("B") == 1 and not view.following  # on screen: no scroll
            field.display = False
            await wait_for(pilot, lambda: view.size.height == 12, "the taller view")
            await pilot.pause()
            assert not view.following
            view.action_scroll_end()  # End: following again, as the user asks
            assert view.following

    run(body())


def test_a_death_learned_late_marks_the_lines_already_shown() -> None:
    """The engine can tell a death after the next run's lines were shown: the mark lands
    where it belongs, the line at the top of a paused view stays there, and a search's
    matches still point at their lines."""
    from cdebug_tui.engine.readings import LogLine
    from cdebug_tui.ui.widgets.log_view import mark_runs

    async def body() -> None:
        app = _ViewAlone()
        async with app.run_test(size=(80, 12)) as pilot:
            view = await _view_laid_out(pilot, app)
            lines = [LogLine("stdout", 1000 + i, f"line {i}") for i in range(100)]
            view.append(mark_runs(lines, [(1010 - 1, 1)]))  # a mark before line 10
            assert view.marks == 1
            view.search("line 7")  # line 7, 70..79
            view.scroll_to(y=60, animate=False, immediate=True)
            await pilot.pause()
            view.action_scroll_up()  # paused
            top = view.lines[int(view.scroll_y)].text
            view.remark([(1010 - 1, 1), (1050 - 1, 1)])  # learned: a death before line 50
            assert view.marks == 2 and view.lines[51].text == "──── exited (1) · started again ────"
            assert view.lines[int(view.scroll_y)].text == top
            assert [view.lines[m].text for m in view.matches][:2] == ["line 7", "line 70"]
            view.remark([(1010 - 1, 1), (1050 - 1, 1)])  # nothing new: nothing moves
            assert view.marks == 2

    run(body())
