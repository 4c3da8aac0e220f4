"""Tests that bad input in the app becomes one clear notification and leaves nothing behind."""

from __future__ import annotations

from typing import Any

import pytest

from cdebug_tui.ui.app import CdebugApp
from tests.conftest import sidecars_of
from tests.ui.helpers import run, wait_for

pytestmark = pytest.mark.engine

#: case -> (how the target is made, the toolkit, what the notification says)
CASES: dict[str, tuple[str, str, str]] = {
    "unknown target": ("none", "busybox", "no such container"),
    "paused target": ("paused", "busybox", "paused"),
    "neither a container nor an image": ("none-image", "busybox", "no such container or image:"),
    "unknown image": ("running", "cdebug-test/nope:missing", "cannot pull"),
    "invalid image reference": ("running", "Not A Ref!", "invalid image reference"),
    "toolkit without shell": ("running", "distroless", "no shell"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_a_notification(
    case: str, engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """The tab says it cannot debug, one notification says why, the app carries on, and no
    sidecar is left on the target."""
    how, toolkit, needle = CASES[case]
    image = {"busybox": busybox_image, "distroless": distroless_image}.get(toolkit, toolkit)
    target = None
    name = "no-such-container-cdebug"
    if how == "none-image":
        name = "cdebug-test/nothing-here:1"
    elif how != "none":
        target = run_target(distroless_image, network_mode="none")
        name = target.name
        if how == "paused":
            engine.api.pause(target.id)
    notes: list[str] = []

    async def body() -> None:
        app = CdebugApp(target=name, image=image)
        app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
        async with app.run_test(size=(120, 36)) as pilot:
            pane = await wait_for(pilot, lambda: next(iter(app.sessions()), None), "the tab")
            await wait_for(pilot, lambda: pane.state == "failed", "the failure", 60)
            failures = [n for n in notes if needle in n]
            assert len(failures) == 1, notes
            assert "Traceback" not in failures[0]
            assert app.is_running

    try:
        run(body())
    finally:
        if how == "paused" and target is not None:
            engine.api.unpause(target.id)
    if target is not None:
        assert sidecars_of(engine, target.id) == []
