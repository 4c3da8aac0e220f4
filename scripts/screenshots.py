"""Provides the screenshots in screenshots/: the real app on demo containers made and removed here.

Run from the repository root: `python scripts/screenshots.py [--out screenshots]`. It builds its
images with `docker import` (tests/images.py), starts demo containers, drives the app with
Textual's Pilot, saves SVGs, converts them to PNG with rsvg-convert, and removes everything it made.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cdebug_tui.engine.client import Engine  # noqa: E402
from cdebug_tui.engine.models import SIDECAR_LABEL, TARGET_LABEL  # noqa: E402
from tests.images import TestImages  # noqa: E402

LABEL = "io.cdebug-tui.screenshots"


async def _wait(pilot: Any, condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await pilot.pause(0.1)
    return value


def _screen(pane: Any) -> str:
    from tests.ui.helpers import terminal_text

    return terminal_text(pane)


async def _type(pilot: Any, text: str) -> None:
    for char in text:
        await pilot.press(char)


class Demo:
    """The demo containers: two shell-less services, one with a shell, one stopped job, one
    shell-less job that crashed."""

    def __init__(self, engine: Engine, workdir: Path) -> None:
        self.engine = engine
        self.run_id = uuid.uuid4().hex[:6]
        self.images = TestImages(engine, f"cdebug-shots-{self.run_id}", workdir)
        self.made: list[str] = []

    def start(self) -> dict[str, str]:
        distroless = self.images.distroless()
        busybox = self.images.busybox()
        crasher = self.images.crasher()
        self.toolkit = busybox
        # web-shell works in bursts, so that the stats picture has something to show.
        bursts = "while :; do i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done; sleep 1; done"
        specs = [
            ("payments-api", distroless, None, True),
            ("auth-worker", distroless, None, True),
            ("web-shell", busybox, ["sh", "-c", bursts], True),
            ("nightly-batch", busybox, ["true"], False),
            ("db-migrate", crasher, None, False),  # writes /tmp/crash.log, exits 3
        ]
        # Limits and an environment with a secret, for the inspect and stats pictures.
        limits = {"mem_limit": "64m", "nano_cpus": 500_000_000}
        env = {"DB_PASSWORD": "s3cret", "LISTEN": ":8080"}
        names = {}
        for name, image, command, keep_running in specs:
            full = f"shop-{name}"
            cid = self.engine.api.create_container(
                image,
                command=command,
                name=full,
                labels={LABEL: self.run_id, "com.example.team": "shop"},
                environment=env if name == "payments-api" else None,
                host_config=self.engine.api.create_host_config(network_mode="none", **limits),
            )["Id"]
            self.made.append(cid)
            self.engine.api.start(cid)
            if not keep_running:
                self.engine.api.wait(cid, timeout=10)
            names[name] = full
        return names

    def remove(self) -> None:
        for cid in self.made:
            for sidecar in self.engine.api.containers(
                all=True, filters={"label": [SIDECAR_LABEL, f"{TARGET_LABEL}={cid}"]}
            ):
                self.engine.api.remove_container(sidecar["Id"], force=True)
            try:
                self.engine.api.remove_container(cid, force=True)
            except Exception:  # noqa: BLE001 - gone already
                pass
        self.images.remove_all()


async def shoot(out: Path, demo: Demo, names: dict[str, str]) -> list[Path]:
    """Drives the app through the four scenes and saves one SVG per scene."""
    from textual.widgets import Input

    from cdebug_tui.ui.app import CdebugApp
    from cdebug_tui.ui.screens.picker import ToolkitPickerScreen
    from cdebug_tui.ui.widgets.container_list import ContainerListPanel
    from cdebug_tui.ui.widgets.session_pane import SessionPane

    saved: list[Path] = []

    def save(app: Any, name: str) -> None:
        app.save_screenshot(filename=f"{name}.svg", path=str(out))
        saved.append(out / f"{name}.svg")

    app = CdebugApp()
    async with app.run_test(size=(160, 48)) as pilot:
        panel = app.query_one(ContainerListPanel)
        await _wait(
            pilot,
            lambda: (
                sum(1 for c in panel.containers.values() if c.name.startswith("shop-")) == 5
                and all(c.has_shell is not None for c in panel.containers.values())
            ),
            "the demo rows",
        )
        # Only the demo containers: other containers on this engine are not for the pictures.
        await pilot.press("slash")
        await _type(pilot, "shop-")
        await pilot.press("enter")
        await pilot.pause(0.3)
        save(app, "list")

        # The explorer (issue 11): inspect and stats of the selected container.
        from cdebug_tui.ui.screens.inspect import InspectScreen
        from cdebug_tui.ui.screens.stats import StatsScreen

        ids = [c.name for c in panel.visible_rows()]
        table = panel.query_one("#containers")
        table.move_cursor(row=ids.index(names["payments-api"]))  # type: ignore[attr-defined]
        await pilot.press("i")
        await _wait(pilot, lambda: isinstance(app.screen, InspectScreen), "the inspect view")
        inspect = app.screen
        await _wait(pilot, lambda: bool(inspect.rows), "the inspect rows")  # type: ignore[attr-defined]
        await pilot.pause(0.3)
        save(app, "inspect")
        await pilot.press("escape")
        table.move_cursor(row=ids.index(names["web-shell"]))  # type: ignore[attr-defined]
        await pilot.press("S")
        await _wait(pilot, lambda: isinstance(app.screen, StatsScreen), "the stats view")
        key = ("default", panel.selected().id)  # type: ignore[union-attr]
        await _wait(
            pilot,
            lambda: (h := app.stats.history(key)) is not None and len(h.points) >= 12,
            "12 stats points",
        )
        await pilot.pause(0.3)
        save(app, "stats")
        await pilot.press("escape")

        table.move_cursor(row=ids.index(names["payments-api"]))  # type: ignore[attr-defined]
        await pilot.press("enter")
        await _wait(pilot, lambda: isinstance(app.screen, ToolkitPickerScreen), "the picker")
        picker = app.screen
        await _wait(pilot, lambda: bool(picker.local), "the local images")  # type: ignore[attr-defined]
        box = picker.query_one("#picker-input", Input)
        box.value = demo.toolkit
        await pilot.pause(0.3)
        save(app, "picker")
        box.focus()
        await pilot.press("enter")

        first = await _wait(pilot, lambda: next(iter(app.query(SessionPane)), None), "a tab")
        await _wait(pilot, lambda: first.state == "running", "the session")
        await _wait(pilot, lambda: first.panels_built, "the side panels")  # after the prompt
        await pilot.pause(0.5)
        await _type(pilot, "echo on-call > /tmp/note; ls -l /app /etc && id")
        await pilot.press("enter")
        await _wait(pilot, lambda: first.processes.refreshes >= 2, "the processes")
        tree = first.rootfs
        await _wait(pilot, lambda: len(tree.root.children) > 2, "the tree")
        app_node = next(n for n in tree.root.children if n.data and n.data.name == "app")
        app_node.expand()
        await _wait(pilot, lambda: len(app_node.children) > 0, "/app")
        etc_node = next(n for n in tree.root.children if n.data and n.data.name == "etc")
        etc_node.expand()
        await _wait(pilot, lambda: len(etc_node.children) > 0, "/etc")
        # A file the shell just wrote: `docker diff` marks it as added (+).
        tmp_node = next(n for n in tree.root.children if n.data and n.data.name == "tmp")
        tmp_node.expand()
        await _wait(pilot, lambda: len(tmp_node.children) > 0, "/tmp")
        await pilot.pause(0.5)
        save(app, "session")

        # A second session, on another target, then back to the first one's neighbour.
        await pilot.press("ctrl+pageup")
        ids = [c.name for c in panel.visible_rows()]
        table.move_cursor(row=ids.index(names["auth-worker"]))  # type: ignore[attr-defined]
        await pilot.press("enter")
        await _wait(pilot, lambda: isinstance(app.screen, ToolkitPickerScreen), "the picker")
        await pilot.pause(0.3)
        await pilot.press("enter")  # the last toolkit used is highlighted
        await _wait(pilot, lambda: len(app.query(SessionPane)) == 2, "a second tab")
        second = list(app.query(SessionPane))[1]
        await _wait(pilot, lambda: second.state == "running", "the second session")
        await _wait(pilot, lambda: second.panels_built, "its side panels")
        await pilot.pause(0.5)
        await _type(pilot, "ps -o pid,user,args")
        await pilot.press("enter")
        await _wait(pilot, lambda: second.processes.refreshes >= 2, "the processes")
        # The second tab shows its steps: what cdebug-tui did, as commands to type by hand.
        await pilot.click(f"#--content-tab-side-steps-{second.number}")
        await pilot.pause(0.5)
        second.view.focus()
        await pilot.pause(0.3)
        save(app, "two-sessions")

        # Its internals, read live: namespaces, capabilities, cgroup, mounts.
        from cdebug_tui.ui.widgets.internals import InternalsView

        await pilot.click(f"#--content-tab-side-internals-{second.number}")
        await _wait(
            pilot,
            lambda: any(v.internals is not None for v in second.query(InternalsView)),
            "the internals",
        )
        await pilot.pause(0.5)
        save(app, "session-internals")

        # The crashed job (issue 10): Enter debugs a copy of it, whose shell reads what it left.
        await pilot.press("ctrl+right_square_bracket")
        await pilot.press("0")
        ids = [c.name for c in panel.visible_rows()]
        table.move_cursor(row=ids.index(names["db-migrate"]))  # type: ignore[attr-defined]
        await pilot.press("enter")
        await _wait(pilot, lambda: isinstance(app.screen, ToolkitPickerScreen), "the picker")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await _wait(pilot, lambda: len(app.query(SessionPane)) == 3, "a third tab")
        third = list(app.query(SessionPane))[2]
        await _wait(pilot, lambda: third.state == "running", "the session on a copy", 120)
        await _wait(pilot, lambda: "#" in _screen(third), "the prompt")
        await _type(pilot, "cat /tmp/crash.log; entrypoint --run; echo code=$?")
        await pilot.press("enter")
        await _wait(pilot, lambda: "code=3" in _screen(third), "the crash, again")
        await _wait(pilot, lambda: third.panels_built, "its side panels")
        await _wait(pilot, lambda: third.processes.refreshes >= 2, "the processes")
        await pilot.pause(0.5)
        save(app, "crashed-session")

        await pilot.press("ctrl+right_square_bracket")
        await pilot.press("q")
        await pilot.pause(0.3)
        save(app, "quit")
        await pilot.press("y")
        deadline = time.monotonic() + 30
        while app.return_code is None and time.monotonic() < deadline:
            await pilot.pause(0.1)

    small = CdebugApp()
    async with small.run_test(size=(80, 24)) as pilot:
        panel = small.query_one(ContainerListPanel)
        await _wait(pilot, lambda: len(panel.containers) >= 5, "the rows")
        await pilot.press("slash")
        await _type(pilot, "shop-")
        await pilot.press("enter")
        await pilot.pause(0.3)
        save(small, "list-80x24")
    return saved


_TEXT = re.compile(
    r'(<text [^>]*?x=")([0-9.]+)("[^>]*?textLength=")([0-9.]+)("[^>]*>)((?:&#160;)+)'
)


def _for_rsvg(svg: str) -> str:
    """Moves each text run's leading spaces into its x: rsvg-convert drops them and stretches
    the rest over the run's textLength, which glues words to their left neighbours."""

    def shift(m: re.Match[str]) -> str:
        spaces = m.group(6).count("&#160;")
        end = svg.find("</text>", m.end())
        chars = spaces + len(re.sub(r"&#?\w+;", "x", svg[m.end() : end]))
        width = float(m.group(4)) / max(chars, 1)
        x = float(m.group(2)) + spaces * width
        length = float(m.group(4)) - spaces * width
        return f"{m.group(1)}{x:.1f}{m.group(3)}{length:.1f}{m.group(5)}"

    return _TEXT.sub(shift, svg)


def to_png(svgs: list[Path]) -> None:
    """Converts each SVG to a PNG next to it, with rsvg-convert."""
    tool = shutil.which("rsvg-convert")
    if tool is None:
        print("rsvg-convert is missing (apt-get install -y librsvg2-bin): SVGs only")
        return
    with tempfile.TemporaryDirectory() as tmp:
        for svg in svgs:
            fixed = Path(tmp) / svg.name
            fixed.write_text(_for_rsvg(svg.read_text()))
            subprocess.run([tool, "-o", str(svg.with_suffix(".png")), str(fixed)], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--png-only", action="store_true", help="convert the existing SVGs")
    args = parser.parse_args()
    if args.png_only:
        to_png(sorted(args.out.glob("*.svg")))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    engine = Engine()
    engine.ping()
    with tempfile.TemporaryDirectory() as tmp:
        # The picker remembers its choice: keep the user's own settings out of the pictures.
        os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
        demo = Demo(engine, Path(tmp))
        try:
            names = demo.start()
            svgs = asyncio.run(shoot(args.out, demo, names))
        finally:
            demo.remove()
    to_png(svgs)
    for svg in svgs:
        print(svg, svg.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
