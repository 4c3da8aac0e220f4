"""Provides helpers for driving the real app with Pilot: waiting for conditions, typing, reading."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from cdebug_tui.ui.app import CdebugApp
from cdebug_tui.ui.widgets.container_list import ContainerListPanel, ContainerTableView
from cdebug_tui.ui.widgets.session_pane import SessionPane
from cdebug_tui.ui.widgets.terminal import screen_lines
from tests.waiting import wait_for_app


def notes_of(app: CdebugApp) -> list[str]:
    """The app's notifications from now on, as a list that grows (they still show)."""
    notes: list[str] = []
    original = app.notify

    def notify(message: str, **kw: Any) -> None:
        notes.append(str(message))
        original(message, **kw)

    app.notify = notify  # type: ignore[method-assign]
    return notes


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Runs one async test body (pytest-asyncio is not a dependency)."""
    return asyncio.run(coro)


async def wait_for(
    pilot: Pilot[Any],
    condition: Callable[[], Any],
    what: str,
    timeout: float = 30.0,
    detail: Callable[[], str] | None = None,
) -> Any:
    """tests.waiting.wait_for_app, failing with what the app shows (or `detail()`) too."""
    return await wait_for_app(
        pilot, condition, timeout, lambda: f"{what} ({detail() if detail else describe(pilot.app)})"
    )


def describe(app: Any) -> str:
    """What the app shows, for a failure message: screen, focus, tabs and their sessions."""
    from textual.widgets import TabbedContent

    try:
        tabs = app.query_one(TabbedContent)
        panes = ", ".join(
            f"{p.id} {p.state}"
            + (f": {p.ended_summary()}" if p.state == "ended" else "")
            # Why it failed, as its header says.
            + (f": {p.query_one('.session-header').content}" if p.state == "failed" else "")
            for p in tabs.query(SessionPane)
        )
        shown = ""
        pane = tabs.active_pane
        if isinstance(pane, SessionPane):
            lines = [line.rstrip() for line in screen_lines(pane.view) if line.strip()]
            shown = f", its terminal ends {lines[-3:]!r}"
        return (
            f"screen {type(app.screen).__name__}, focus {app.focused!r}, "
            f"tab {tabs.active!r}, sessions [{panes}]{shown}"
        )
    except Exception as exc:  # noqa: BLE001 - a description must not hide the real failure
        return f"no description: {exc!r}"


async def type_text(pilot: Pilot[Any], text: str) -> None:
    """Presses a key per character (Pilot maps characters like / and space to key names)."""
    t0 = time.monotonic()
    for char in text:
        await pilot.press(char)
    if os.environ.get("CDEBUG_TEST_TIMING"):
        print(f"TIMING {time.monotonic():.1f} {time.monotonic() - t0:6.2f}s typing {text!r}")


async def wait_for_prompt(pilot: Pilot[Any], pane: SessionPane) -> None:
    """Waits for the shell's prompt, as a person does before typing."""
    await wait_for(
        pilot,
        lambda: any(re.search(r"[#$]$", line.rstrip()) for line in screen_lines(pane.view)),
        "the shell's prompt",
    )


async def wait_for_panels(pilot: Pilot[Any], pane: SessionPane, timeout: float = 30.0) -> None:
    """Waits for the tab's side panels, which come after the shell's prompt, as a person sees
    them come before looking at them."""
    await wait_for(pilot, lambda: pane.panels_built, "the side panels", timeout)


def terminal_text(pane: SessionPane) -> str:
    """The emulated screen of a session tab, as lines of text."""
    return "\n".join(screen_lines(pane.view))


def active_pane(app: CdebugApp) -> SessionPane | None:
    from textual.widgets import TabbedContent

    pane = app.query_one(TabbedContent).active_pane
    return pane if isinstance(pane, SessionPane) else None


def screenshot_text(app: CdebugApp, path: Path) -> str:
    """Saves an SVG screenshot and returns its visible text (tags stripped, spaces restored)."""
    app.save_screenshot(filename=path.name, path=str(path.parent))
    svg = path.read_text()
    text = re.sub(r"<[^>]+>", "", svg)
    return (
        text.replace("&#160;", " ").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    )


async def pick_toolkit(pilot: Pilot[Any], image: str) -> None:
    """In the open picker, types an image reference into its field and presses Enter."""
    from textual.widgets import Input

    from cdebug_tui.ui.screens.picker import ToolkitPickerScreen

    app = pilot.app
    # Mounted: it focuses its list then, which would take the keys from the field.
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, ToolkitPickerScreen) and app.focused is not None,
        "the picker",
    )
    box = app.screen.query_one("#picker-input", Input)
    box.value = ""
    box.focus()
    await wait_for(pilot, lambda: app.focused is box, "the picker's field")
    await type_text(pilot, image)
    await pilot.press("enter")


async def list_only(pilot: Pilot[Any], app: CdebugApp, target: Any) -> ContainerListPanel:
    """The list filtered to `target` alone, once its row is there."""
    panel = app.query_one(ContainerListPanel)
    await wait_for(pilot, lambda: panel.row(target.id) is not None, "the target's row")
    panel.filter_text = target.name
    panel.rebuild()
    return panel


async def focus_row(pilot: Pilot[Any], app: CdebugApp, target: Any) -> ContainerTableView:
    """The list's table with the focus, its cursor on `target`'s row."""
    panel = app.query_one(ContainerListPanel)
    await wait_for(pilot, lambda: panel.row(target.id) is not None, "the target's row")
    table = app.query_one(ContainerTableView)
    table.focus()
    table.move_cursor(row=[c.id for c in panel.visible_rows()].index(target.id))
    return table


def noted_app(target: str, image: str, notes: list[str]) -> CdebugApp:
    """The app opening a session on `target`, its notifications kept in `notes`."""
    app = CdebugApp(target=target, image=image)
    app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
    return app


async def at_prompt(pilot: Pilot[Any], app: CdebugApp, *, panels: bool = False) -> SessionPane:
    """The app's session tab at its prompt, its terminal focused (and its panels built)."""
    pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
    await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
    await wait_for(pilot, lambda: app.focused is pane.view, "the terminal's focus")
    await wait_for_prompt(pilot, pane)
    if panels:
        await wait_for(pilot, lambda: pane.panels_built, "the panels")
    return pane
