"""Provides a screenshot of InternalsView on a real session: screenshots/internals.svg and .png.

Run from the repository root: `python scripts/screenshot_internals.py [--size 120x60]`.
It builds a busybox toolkit and a distroless target with `docker import`, starts the target
with a 64 MiB memory limit, opens a session, renders the view and removes everything it made.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual.app import App, ComposeResult  # noqa: E402

from cdebug_tui.engine.client import Engine  # noqa: E402
from cdebug_tui.engine.models import SessionSpec  # noqa: E402
from cdebug_tui.engine.session import DebugSession, start_session  # noqa: E402
from cdebug_tui.ui.widgets.internals import InternalsView  # noqa: E402
from tests.images import TestImages  # noqa: E402


class ShotApp(App[None]):
    """Just the view, as the session tab would show it."""

    def __init__(self, session: DebugSession) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        yield InternalsView(self.session)


async def shoot(session: DebugSession, size: tuple[int, int], out: Path, scroll: int) -> Path:
    app = ShotApp(session)
    async with app.run_test(size=size) as pilot:
        view = app.query_one(InternalsView)
        deadline = time.monotonic() + 30
        while view.internals is None or view.usage_readings < 1:
            if time.monotonic() > deadline:
                raise SystemExit("no reading within 30 s")
            await pilot.pause(0.1)
        if scroll:
            view.query_one("VerticalScroll").scroll_to(y=scroll, animate=False)
        await pilot.pause()
        return Path(app.save_screenshot(out.name, str(out.parent)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="200x60", help="COLUMNSxROWS")
    parser.add_argument("--scroll", type=int, default=0, help="scroll down this many lines")
    parser.add_argument("--out", default="screenshots/internals.svg")
    args = parser.parse_args()
    cols, rows = (int(n) for n in args.size.split("x"))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    engine = Engine()
    run_id = uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory() as tmp:
        # A session's toolkit is remembered: keep the user's own settings out of it (the
        # pictures' toolkit, removed at the end, was offered first to the user afterwards).
        os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
        images = TestImages(engine, f"cdebug-shot-{run_id}", Path(tmp))
        target_id = ""
        try:
            toolkit, distroless = images.busybox(), images.distroless()
            target_id = engine.api.create_container(
                distroless,
                name=f"shop-api-{run_id}",
                environment=["APP_MODE=demo", "LISTEN=:8080"],
                host_config=engine.api.create_host_config(mem_limit="64m", pids_limit=50),
            )["Id"]
            engine.api.start(target_id)
            spec = SessionSpec(
                target=target_id, image=toolkit, tty=False, interactive=True, command=("cat",)
            )
            session = start_session(engine, spec)
            try:
                svg = asyncio.run(shoot(session, (cols, rows), out, args.scroll))
            finally:
                session.close()
        finally:
            if target_id:
                engine.api.remove_container(target_id, force=True, v=True)
            images.remove_all()
    print(svg)
    if shutil.which("rsvg-convert"):
        png = svg.with_suffix(".png")
        # librsvg drops the leading (non-breaking) spaces of each text run unless told to keep
        # whitespace, which glues words together in the PNG; browsers need no such hint.
        text = svg.read_text(encoding="utf-8").replace("<svg ", '<svg xml:space="preserve" ', 1)
        subprocess.run(["rsvg-convert", "-o", str(png)], input=text.encode(), check=True)
        print(png)


if __name__ == "__main__":
    main()
