"""Tests the app with several engines: one list grouped by engine, sessions on each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from cdebug_tui.engine.client import Engine
from cdebug_tui.ui.app import CdebugApp
from cdebug_tui.ui.widgets.container_list import ContainerListPanel
from tests import engines_fixtures
from tests.conftest import RUN_ID, sidecars_of
from tests.engines_fixtures import Targets, docker_config
from tests.images import TestImages
from tests.ui.helpers import describe, run, terminal_text, type_text, wait_for

second_dockerd = engines_fixtures.second_dockerd
pytestmark = pytest.mark.engine


def test_list_groups_engines_and_debugs_on_the_second(
    engine: Any,
    run_target: Any,
    distroless_image: str,
    second_dockerd: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rows of both engines, grouped under an ENGINE column; an unreachable engine is named
    with its reason; a session on the second engine runs its sidecar there."""
    local_target = run_target(distroless_image, network_mode="none")
    remote = Engine("remote", second_dockerd.sock)
    images = TestImages(remote, f"cdebug-test-{RUN_ID}", tmp_path)
    targets = Targets(remote)
    cfg = docker_config(
        tmp_path / "docker",
        {
            "remote": {"Host": second_dockerd.sock},
            "gone": {"Host": "unix:///nonexistent/cdebug-gone.sock"},
        },
        current=None,
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(cfg))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    try:
        toolkit = images.busybox()
        far = targets.run(images.distroless(), network_mode="none")

        async def body() -> None:
            app = CdebugApp()
            async with app.run_test(size=(160, 40)) as pilot:
                panel = app.query_one(ContainerListPanel)
                await wait_for(
                    pilot,
                    lambda: panel.row(far.id, "remote") and panel.row(local_target.id, "default"),
                    "rows of both engines",
                )
                await wait_for(pilot, lambda: panel.engines.get("gone"), "the unreachable engine")
                assert "socket missing" in (panel.engines["gone"] or "")
                table = panel.query_one(DataTable)
                assert [str(c.label) for c in table.columns.values()][1] == "ENGINE"
                order = [c.engine for c in panel.visible_rows()]
                # Grouped: the current engine's rows first, then the context's.
                assert order == sorted(order, key=["default", "remote"].index)
                status = str(panel.query_one("#list-status").render())
                assert "gone unreachable" in status

                pane = app.open_session(far.id, far.name, toolkit, app.engines["remote"])
                await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
                assert len(sidecars_of(remote, far.id)) == 1, describe(app)
                assert sidecars_of(engine, far.id) == []
                await type_text(pilot, "ls /app")
                await pilot.press("enter")
                await wait_for(pilot, lambda: "server" in terminal_text(pane), "the remote files")
                await type_text(pilot, "exit")
                await pilot.press("enter")
                await wait_for(pilot, lambda: pane.state == "ended", "the end of the session")
            assert sidecars_of(remote, far.id) == []

        run(body())
    finally:
        targets.remove_all()
        images.remove_all()
        remote.close()


def test_engine_going_away_and_coming_back(
    engine: Any, second_dockerd: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app says an engine is disconnected, keeps its rows, reconnects by itself when it is
    back, and the rows are right again (the engine's restart stopped the target)."""
    remote = Engine("remote", second_dockerd.sock)
    images = TestImages(remote, f"cdebug-test-{RUN_ID}", tmp_path)
    targets = Targets(remote)
    cfg = docker_config(tmp_path / "docker", {"remote": {"Host": second_dockerd.sock}}, None)
    monkeypatch.setenv("DOCKER_CONFIG", str(cfg))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    try:
        far = targets.run(images.distroless(), network_mode="none")

        async def body() -> None:
            app = CdebugApp()
            async with app.run_test(size=(160, 40)) as pilot:
                panel = app.query_one(ContainerListPanel)
                await wait_for(pilot, lambda: panel.row(far.id, "remote"), "the remote row")
                second_dockerd.stop()
                await wait_for(
                    pilot,
                    lambda: panel.engines.get("remote"),
                    "the disconnection",
                    60,
                    detail=lambda: f"list {panel.engines}, engines {list(app.engines)}",
                )
                assert "disconnected" in (panel.engines["remote"] or "")
                assert panel.row(far.id, "remote") is not None  # what it showed, it keeps
                second_dockerd.start()
                await wait_for(
                    pilot,
                    lambda: (
                        panel.engines.get("remote") is None
                        and not panel.row(far.id, "remote").running
                    ),  # type: ignore[union-attr]
                    "the reconnection, with the row right again",
                    60,
                )
                assert "remote" in app.engines

        run(body())
    finally:
        targets.remove_all()
        images.remove_all()
        remote.close()
