"""Tests faults seen from the app: a target that goes away mid-session."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Static

from cdebug_tui.ui.app import CdebugApp
from tests.conftest import sidecars_of
from tests.ui.helpers import run, wait_for

pytestmark = pytest.mark.engine


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
        app = CdebugApp(target=target.name, image=busybox_image)
        app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
        async with app.run_test(size=(120, 36)) as pilot:
            pane = await wait_for(pilot, lambda: next(iter(app.sessions()), None), "the tab")
            await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
            getattr(engine.api, fault)(target.id)
            await wait_for(pilot, lambda: pane.state == "ended", "the end of the session", 10)
            header = str(pane.query_one(".session-header", Static).render())
            assert f"the target {reason}" in header
            assert any(f"the target {reason}" in n for n in notes)
            await wait_for(pilot, lambda: not sidecars_of(engine, target.id), "the sidecar", 10)
            assert app.is_running

    try:
        run(body())
    finally:
        if fault == "pause":
            engine.api.unpause(target.id)
