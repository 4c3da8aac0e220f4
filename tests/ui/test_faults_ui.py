"""Tests faults seen from the app: a target that goes away mid-session."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Static

from cdebug_tui.ui.app import CdebugApp
from tests.conftest import sidecars_of
from tests.ui.helpers import noted_app, run, wait_for

pytestmark = pytest.mark.engine


async def _running(pilot: Any, app: CdebugApp) -> Any:
    """The app's first session tab, once its session runs."""
    pane = await wait_for(pilot, lambda: next(iter(app.sessions()), None), "the tab")
    await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
    return pane


@pytest.mark.parametrize(("fault", "reason"), [("pause", "was paused"), ("kill", "stopped")])
def test_session_says_why_it_ended(
    engine: Any,
    run_target: Any,
    distroless_image: str,
    busybox_image: str,
    fault: str,
    reason: str,
) -> None:
    """The tab says the session ended and why; its sidecar is gone; the app carries on."""
    target = run_target(distroless_image, network_mode="none")
    notes: list[str] = []

    async def body() -> None:
        app = noted_app(target.name, busybox_image, notes)
        async with app.run_test(size=(120, 36)) as pilot:
            pane = await _running(pilot, app)
            getattr(engine.api, fault)(target.id)
            await wait_for(pilot, lambda: pane.state == "ended", "the end of the session", 30)
            header = str(pane.query_one(".session-header", Static).render())
            assert f"the target {reason}" in header
            # A stopped target's notification waits for its exit code, read in a worker.
            await wait_for(
                pilot,
                lambda: any(f"the target {reason}" in n for n in notes),
                "the notification",
                10,
            )
            await wait_for(pilot, lambda: not sidecars_of(engine, target.id), "the sidecar", 10)
            assert app.is_running

    try:
        run(body())
    finally:
        if fault == "pause":
            engine.api.unpause(target.id)


def test_a_sidecar_killed_from_outside_ends_its_tab_and_leaves_no_link(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """`docker kill` of a tab's sidecar while the target runs on: the tab says so (its shell
    hung, silent) and the link the supervisor could not remove goes."""
    target = run_target(distroless_image, network_mode="none")
    notes: list[str] = []

    async def body() -> None:
        app = noted_app(target.name, busybox_image, notes)
        async with app.run_test(size=(120, 36)) as pilot:
            pane = await _running(pilot, app)
            (sidecar,) = sidecars_of(engine, target.id)
            engine.api.kill(sidecar["Id"])
            await wait_for(pilot, lambda: pane.state == "ended", "the end of the session", 30)
            header = str(pane.query_one(".session-header", Static).render())
            assert "its sidecar was stopped from outside" in header, header
            assert "exit code ?" not in header  # the shell went with it: no code to tell
            await wait_for(
                pilot,
                lambda: not [c for c in engine.diff(target.id) if ".cdebug" in c.path],
                "the link removed",
                30,
            )
            await wait_for(pilot, lambda: not sidecars_of(engine, target.id), "no sidecar", 10)
            assert app.is_running and engine.inspect(target.id).running

    run(body())


def test_e_explains_the_focused_panel(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """Outside the terminal, e opens the help of the focused panel (here the processes), or
    of the one a key brought just before it."""
    from cdebug_tui.ui.screens.explain import ExplainScreen

    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(160, 40)) as pilot:
            pane = await _running(pilot, app)
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("p")
            await pilot.press("e")
            screen = await wait_for(
                pilot,
                lambda: app.screen if isinstance(app.screen, ExplainScreen) else None,
                "the explanation",
            )
            assert screen.topic == "processes"
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, ExplainScreen), "closed")
            # A panel's key and e in one read (a fast typist): e explains the panel brought,
            # not the one before (`P e` explained Internals).
            from tests.ui.helpers import terminal_text
            from tests.ui.test_terminal_input import raw_input, type_raw

            raw = raw_input(app)
            for keys, topic in ((b"Pe", "ports"), (b"se", "steps"), (b"le", "logs")):
                await type_raw(pilot, raw, keys)
                screen = await wait_for(
                    pilot,
                    lambda: app.screen if isinstance(app.screen, ExplainScreen) else None,
                    f"the explanation after {keys!r}",
                )
                assert screen.topic == topic, keys
                await pilot.press("escape")
                await wait_for(pilot, lambda: not isinstance(app.screen, ExplainScreen), "closed")
            # Back from the dialog (on Ports: t in Logs shows timestamps), `t` and a command
            # typed at once: the command runs (the dialog's end left t unarmed, and the
            # command's keys were the app's, lost).
            await type_raw(pilot, raw, b"Pe")
            await wait_for(pilot, lambda: isinstance(app.screen, ExplainScreen), "Ports's")
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, ExplainScreen), "closed")
            await type_raw(pilot, raw, b"techo typed-$((2+3))\r")
            await wait_for(pilot, lambda: "typed-5" in terminal_text(pane), "the command ran")

    run(body())


@pytest.mark.parametrize("how", ["restarted", "stopped"])
def test_the_link_of_a_target_that_ended_a_session_is_removed(
    how: str, engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """A target restarted or stopped under a session takes the session's supervisor with its
    PID namespace before it can remove its link (/.cdebug-*) from the target's root: the app
    removes it, from a restarted target once it runs again (it stayed until `cdebug-tui
    cleanup`), from a stopped one at once, through its writable layer (it stayed until the
    target ran again: in `docker diff`, in a commit, in the next debug copy)."""
    target = run_target(distroless_image, network_mode="none")
    notes: list[str] = []

    def links() -> list[str]:
        return [c.path for c in engine.diff(target.id) if c.path.startswith("/.cdebug-")]

    async def body() -> None:
        app = noted_app(target.name, busybox_image, notes)
        async with app.run_test(size=(120, 36)) as pilot:
            pane = await _running(pilot, app)
            assert links(), "root mode links the toolkit into the target"
            await wait_for(pilot, lambda: pane.panels_built, "the panels")
            if how == "restarted":
                engine.api.restart(target.id, timeout=0)
            else:
                engine.api.kill(target.id)
            await wait_for(pilot, lambda: pane.state == "ended", "the end of the session", 30)
            if how == "restarted":
                # The header and the panels say the same, once the engine has run it again
                # (the processes said "the target stopped" under "the target restarted").
                header = pane.query_one(".session-header", Static)
                await wait_for(pilot, lambda: "the target restarted" in str(header.render()), "why")
                assert "the target restarted" in str(pane.processes.border_subtitle)
            await wait_for(pilot, lambda: not links(), "the link removed", 60)
            await wait_for(pilot, lambda: any("removed /.cdebug-" in n for n in notes), "a note")
            await wait_for(pilot, lambda: not sidecars_of(engine, target.id), "no sidecar", 30)
            if how == "stopped":
                assert engine.inspect(target.id).state == "exited"
                return
            # n in the ended tab: a new session on the target, same toolkit; the old tab stays.
            await pilot.press("n")
            second = await wait_for(
                pilot, lambda: next((p for p in app.sessions() if p is not pane), None), "a tab"
            )
            await wait_for(pilot, lambda: second.state == "running", "the new session", 60)
            assert (second.target, second.image) == (pane.target, pane.image)
            assert pane in app.sessions()

    run(body())
    assert not sidecars_of(engine, target.id)


def test_a_crash_loop_ending_the_session_says_its_exit_code(
    engine: Any, run_target: Any, busybox_image: str
) -> None:
    """A target its restart policy restarts ends the session when it crashes: the tab says so
    with the code it crashed with (it said `exit code ?` when the crash's event came after the
    session's end was read)."""
    target = run_target(
        busybox_image, ["sh", "-c", "sleep 4; exit 4"], restart_policy={"Name": "always"}
    )
    notes: list[str] = []

    async def body() -> None:
        app = noted_app(target.name, busybox_image, notes)
        async with app.run_test(size=(120, 36)) as pilot:
            pane = await _running(pilot, app)
            await wait_for(pilot, lambda: pane.state == "ended", "the crash to end it", 30)
            header = pane.query_one(".session-header", Static)
            await wait_for(
                pilot,
                lambda: "(exit code 4)" in str(header.render()),
                "the crash's exit code",
                detail=lambda: str(header.render()),
            )
            assert any("(exit code 4)" in n for n in notes)

    run(body())
