"""Tests recording a session from the app: an asciicast that replays to what the screen showed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyte
import pytest

from cdebug_tui.engine.recording import read_cast
from cdebug_tui.ui.app import CdebugApp
from tests.ui.helpers import run, terminal_text, type_text, wait_for

pytestmark = pytest.mark.engine


def test_record_a_session_from_the_app(
    engine: Any,
    run_target: Any,
    distroless_image: str,
    busybox_image: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """R (from the panels) asks where (the working directory offered), then records; the
    cast starts with the screen as it was (the prompt and an earlier command's output), has
    the steps as markers, and replays to what the screen showed."""
    from cdebug_tui.ui.screens.record import RecordScreen
    from tests.ui.helpers import wait_for_prompt

    monkeypatch.chdir(tmp_path)
    target = run_target(distroless_image, network_mode="none")
    chosen = tmp_path / "mine"
    chosen.mkdir()

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(120, 36)) as pilot:
            pane = await wait_for(pilot, lambda: next(iter(app.sessions()), None), "the tab")
            await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
            await wait_for(pilot, lambda: app.focused is pane.view, "the terminal's focus")
            await wait_for_prompt(pilot, pane)
            await type_text(pilot, "echo before-$((6*6))")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "before-36" in terminal_text(pane), "the echo")
            await pilot.press("ctrl+right_square_bracket")  # out of the terminal
            await pilot.press("R")
            screen = await wait_for(
                pilot, lambda: isinstance(app.screen, RecordScreen) and app.screen, "where?"
            )
            field = screen.query_one("#record-path")
            assert field.value.startswith(str(tmp_path) + "/cdebug-")  # type: ignore[attr-defined]
            field.value = str(chosen / "session.cast")  # type: ignore[attr-defined]
            await pilot.press("enter")
            await wait_for(pilot, lambda: pane.recorder is not None, "the recording")
            header = pane.query_one(".session-header")
            # A narrow window gives up the toolkit, then why the mode was chosen, never the mark.
            await pilot.resize_terminal(70, 36)
            await wait_for(pilot, lambda: header.content_size.width < 70, "a narrow header")
            line = header.render_line(0).text  # as drawn, not the whole text
            assert line.rstrip().endswith("● REC") and " root mode" in line, line
            await pilot.resize_terminal(120, 36)
            await pilot.press("t")  # back into it (ctrl+] only ever leaves)
            await wait_for(pilot, lambda: app.focused is pane.view, "the terminal's focus")
            await type_text(pilot, "echo rec-$((6*7))")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "rec-42" in terminal_text(pane), "the echo")
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("R")
            assert pane.recorder is None

    run(body())
    assert not list(tmp_path.glob("*.cast"))
    cast = chosen / "session.cast"
    # It holds what the session printed: its owner's alone.
    assert cast.stat().st_mode & 0o777 == 0o600
    header, events = read_cast(cast)
    assert header["version"] == 2 and header["title"] == target.name
    assert any(e[1] == "m" and e[2].startswith("create the sidecar") for e in events)
    first = next(e for e in events if e[1] == "o")
    assert first[0] == 0.0
    start = pyte.Screen(header["width"], header["height"])
    pyte.Stream(start).feed(first[2])
    assert any("before-36" in line for line in start.display)  # the screen as it was
    screen = pyte.Screen(header["width"], header["height"])
    pyte.Stream(screen).feed("".join(e[2] for e in events if e[1] == "o"))
    assert any("rec-42" in line for line in screen.display)


def test_sidecars_of_a_crashed_run_are_removed_at_start(
    engine: Any, run_target: Any, busybox_image: str
) -> None:
    """A sidecar whose owner process is gone is reported and removed when the app starts."""
    import socket
    import subprocess
    import sys

    from cdebug_tui.engine.models import OWNER_LABEL, SIDECAR_LABEL, TARGET_LABEL

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    orphan = run_target(
        busybox_image,
        ["sleep", "3600"],
        network_mode="none",
    )
    # Labels cannot change on a running container: make the orphan as a crashed run would.
    cid = engine.api.create_container(
        busybox_image,
        command=["sleep", "3600"],
        name=f"{orphan.name}-orphan",
        labels={
            SIDECAR_LABEL: "1",
            TARGET_LABEL: orphan.id,
            OWNER_LABEL: f"{socket.gethostname()}:{gone.stdout.strip()}",
        },
        host_config=engine.api.create_host_config(network_mode="none"),
    )["Id"]
    notes: list[str] = []

    async def body() -> None:
        app = CdebugApp()
        app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(
                pilot,
                lambda: any("left by a cdebug-tui" in n for n in notes),
                "the clean-up notice",
            )

    try:
        engine.api.start(cid)
        run(body())
        assert not engine.api.containers(all=True, filters={"id": cid})
    finally:
        try:
            engine.api.remove_container(cid, force=True)
        except Exception:  # noqa: BLE001 - removed by the app, as the test expects
            pass


def test_more_sessions_than_the_default_thread_pool(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """Eight sessions at once all start: each holds a reading thread for its whole life."""
    targets = [run_target(distroless_image, network_mode="none") for _ in range(8)]

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: app.engine is not None, "the engine")
            panes = [app.open_session(t.id, t.name, busybox_image) for t in targets]
            await wait_for(
                pilot,
                lambda: all(p.state == "running" for p in panes),
                "every session to start",
                120,
                detail=lambda: ", ".join(p.state for p in panes),
            )
            app.end_sessions(panes)
            await wait_for(pilot, lambda: not any(p.alive for p in panes), "the ends", 60)

    run(body())


def test_closing_a_recording_tab_saves_the_recording(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str, tmp_path: Path
) -> None:
    """x on a tab that records finishes the cast at once and says where it is: it stayed
    empty until the collector found the closed tab, minutes later."""
    from cdebug_tui.ui.screens.record import RecordScreen
    from tests.ui.helpers import notes_of, wait_for_prompt

    target = run_target(distroless_image, network_mode="none")
    cast = tmp_path / "closed.cast"

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(120, 36)) as pilot:
            notes = notes_of(app)
            pane = await wait_for(pilot, lambda: next(iter(app.sessions()), None), "the tab")
            await wait_for(pilot, lambda: app.tabs.active == pane.id, "its tab, shown")
            await wait_for_prompt(pilot, pane)
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("R")
            screen = await wait_for(
                pilot, lambda: isinstance(app.screen, RecordScreen) and app.screen, "where?"
            )
            screen.query_one("#record-path").value = str(cast)  # type: ignore[attr-defined]
            await pilot.press("enter")
            await wait_for(pilot, lambda: pane.recorder is not None, "the recording")
            await pilot.press("t")
            await type_text(pilot, "echo closing-$((6*7))")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "closing-42" in terminal_text(pane), "the echo")
            await pilot.press("ctrl+right_square_bracket")
            await pilot.press("x", "y")
            await wait_for(pilot, lambda: any(f"saved {cast}" in n for n in notes), "saved")
            _, events = read_cast(cast)
            assert any("closing-42" in e[2] for e in events if e[1] == "o")

    run(body())
