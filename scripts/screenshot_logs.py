"""Provides screenshots of the Logs and Ports views: screenshots/logs.svg, ports.svg and PNGs.

Run from the repository root: `python scripts/screenshot_logs.py`. It builds a shell-less app
target with `docker import` (tests/images.py), starts it serving HTTP on loopback, requests a few
pages so that it logs, opens the Logs view with a search and a session's Ports view with a
forward, saves the screenshots and removes everything it made.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cdebug_tui.engine.client import Engine  # noqa: E402
from scripts.screenshots import _type, _wait, to_png  # noqa: E402
from tests.images import TestImages  # noqa: E402


async def shoot(engine: Engine, target: str, toolkit: str, out: Path) -> list[Path]:
    from cdebug_tui.ui.app import CdebugApp
    from cdebug_tui.ui.screens.logs import LogsScreen
    from cdebug_tui.ui.widgets.log_view import LogsPanel
    from cdebug_tui.ui.widgets.ports import PortsPanel
    from cdebug_tui.ui.widgets.session_pane import SessionPane

    saved: list[Path] = []
    app = CdebugApp(target=target, image=toolkit)
    async with app.run_test(size=(160, 40)) as pilot:
        pane = await _wait(pilot, lambda: next(iter(app.query(SessionPane)), None), "a tab")
        await _wait(pilot, lambda: pane.state == "running", "the session")
        await pilot.press("ctrl+right_square_bracket")
        await pilot.press("P")
        ports = await _wait(pilot, lambda: next(iter(pane.query(PortsPanel)), None), "ports")
        await _wait(pilot, lambda: ports.loads >= 1, "the sockets")
        ports.table.move_cursor(row=[s.port for s in ports.sockets].index(8080))
        await pilot.press("enter")
        await _wait(pilot, lambda: 8080 in ports.forwards, "the forward")
        for path in ("/", "/orders/42", "/health", "/slow"):
            urllib.request.urlopen(f"http://{ports.forwards[8080].address}{path}").read()
        await pilot.pause(0.5)
        app.save_screenshot("ports.svg", str(out))
        saved.append(out / "ports.svg")

        await app.push_screen(LogsScreen(engine, pane.session.target.id, target))
        panel = await _wait(pilot, lambda: next(iter(app.screen.query(LogsPanel)), None), "logs")
        await _wait(pilot, lambda: len(panel.view.lines) >= 5, "the log")
        await pilot.press("slash")
        await _type(pilot, "order")
        await pilot.press("enter", "t")
        await pilot.pause(0.5)
        app.save_screenshot("logs.svg", str(out))
        saved.append(out / "logs.svg")
        await pilot.press("escape")
        await pilot.press("x", "y")  # y: the question x asks of a running shell
        await _wait(pilot, lambda: not app.sessions(), "the tab to close")
    return saved


def main() -> int:
    out = Path("screenshots")
    out.mkdir(exist_ok=True)
    engine = Engine()
    with tempfile.TemporaryDirectory() as tmp:
        # A session's toolkit is remembered: keep the user's own settings out of it (the
        # pictures' toolkit, removed at the end, was offered first to the user afterwards).
        os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
        images = TestImages(engine, f"cdebug-shots-{uuid.uuid4().hex[:6]}", Path(tmp))
        cid = ""
        try:
            app_image, toolkit = images.app(), images.busybox()
            name = "shop-api-logs"
            cid = engine.api.create_container(app_image, ["http", "8080"], name=name)["Id"]
            engine.api.start(cid)
            svgs = asyncio.run(shoot(engine, name, toolkit, out))
        finally:
            if cid:
                engine.remove_container(cid)
            images.remove_all()
    to_png(svgs)
    for svg in svgs:
        print(svg, svg.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
