"""Snapshot-style tests: each screen saved as SVG, checked for the text a reviewer should see."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, OptionList

from cdebug_tui.ui.app import CdebugApp
from cdebug_tui.ui.screens.help import HelpScreen
from cdebug_tui.ui.screens.picker import ToolkitPickerScreen
from cdebug_tui.ui.settings import save_setting
from cdebug_tui.ui.widgets.container_list import ContainerListPanel
from tests.ui.helpers import active_pane, run, screenshot_text, wait_for, wait_for_panels

pytestmark = pytest.mark.engine


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
def test_list_screen(
    tmp_path: Path, run_target: Any, distroless_image: str, size: tuple[int, int]
) -> None:
    """The list at 80x24 and 200x60: the title bar with the engine, the column headers, the
    distroless target as a running row marked "no shell", the counts, and the footer keys."""
    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=size) as pilot:
            panel = app.query_one(ContainerListPanel)
            await wait_for(
                pilot,
                lambda: (
                    panel.row(target.id) is not None and panel.row(target.id).has_shell is False
                ),
                "the target's row with its shell probe",
            )

            # The table sizes its columns when the app is idle: the screen, as a person sees
            # it, shows the row a moment after the row is in the list.
            def drawn() -> str:
                text = screenshot_text(app, tmp_path / "list.svg")
                return text if "no shell" in text else ""

            text = await wait_for(pilot, drawn, "the row drawn with its shell probe")
        for expected in ("cdebug-tui", "engine", "NAME", "IMAGE", "STATE", "SHELL", "no shell"):
            assert expected in text, expected
        # Whole at 200 columns; at 80 cut with … (in its middle, or at its end when the rows'
        # names would look alike so), its start shown either way.
        assert (target.name if size[0] >= 200 else target.name[:8]) in text
        assert "running" in text and "Filter" in text and "Help" in text

    run(body())


def test_picker_screen(
    tmp_path: Path, run_target: Any, distroless_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The toolkit picker over the list: its title naming the target, the five presets, the local
    busybox toolkit marked present (✓), the field for any reference showing the option under
    the cursor, and the key hint line."""
    # No toolkit remembered from other tests: the presets are at the top, in view.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.engine is not None, "the engine")
            app.push_screen(ToolkitPickerScreen(app.engine, target.name))
            await wait_for(pilot, lambda: isinstance(app.screen, ToolkitPickerScreen), "picker")
            picker = app.screen
            assert isinstance(picker, ToolkitPickerScreen)
            await wait_for(pilot, lambda: bool(picker.local), "the local images")
            await pilot.pause(0.2)
            text = screenshot_text(app, tmp_path / "picker.svg")
            # The field shows the option under the cursor (Enter picks it).
            highlighted = picker.query_one(OptionList).highlighted_option
            assert highlighted is not None
            assert picker.query_one("#picker-input", Input).value == highlighted.id
        assert f"Debug {target.name} with which toolkit?" in text
        for preset in (
            "busybox:musl",
            "busybox:latest",
            "nixery.dev/shell/ps/strace/curl",
            "alpine",
            "nicolaka/netshoot",
        ):
            assert preset in text, preset
        assert "Esc cancels" in text

    run(body())


def test_help_screen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The help screen: every key by where it works, including ctrl+] and the tab keys; keys
    changed in tui.json show as changed."""

    async def body(expected: tuple[str, ...], absent: tuple[str, ...]) -> None:
        app = CdebugApp(base_url="unix:///nonexistent/docker.sock")
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
            text = screenshot_text(app, tmp_path / "help.svg")
        for word in expected:
            assert word in text, word
        for word in absent:
            assert word not in text, word

    run(body(("cdebug-tui keys", "ctrl+]", "ctrl+pagedown", "filter as you type", "ctrl+p, :"), ()))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # this test's own keys
    save_setting("keys", {"leave_terminal": "ctrl+g", "next_tab": "f12"})
    run(body(("ctrl+g", "f12", "ctrl+pageup"), ("ctrl+]", "ctrl+pagedown")))


def test_no_engine_is_a_message(tmp_path: Path) -> None:
    """Without an engine the list says why, in words, and the app keeps running."""

    async def body() -> None:
        app = CdebugApp(base_url="unix:///nonexistent/docker.sock")
        async with app.run_test(size=(120, 30)) as pilot:
            status = app.query_one("#list-status")
            await wait_for(pilot, lambda: "✗" in str(status.render()), "the engine error")
            text = screenshot_text(app, tmp_path / "noengine.svg")
            assert app.is_running
        assert "socket missing" in text or "cannot reach" in text

    run(body())


def test_session_screen(
    tmp_path: Path, engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """A session tab at 160x48: the header with target, root mode and its reason; the shell's
    prompt in the terminal; the processes panel with PID 1 /app/server run by nonroot; the
    rootfs tree with app/ and etc/; the footer with only ^] (keys go to the shell) and the tab
    keys, and the terminal's title saying so."""
    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp(target=target.name, image=busybox_image)
        async with app.run_test(size=(160, 48)) as pilot:
            pane = await wait_for(pilot, lambda: active_pane(app), "a session tab")
            await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
            await wait_for_panels(pilot, pane)
            await wait_for(pilot, lambda: pane.processes.refreshes >= 2, "two refreshes")
            await wait_for(pilot, lambda: len(pane.rootfs.root.children) > 2, "the tree")
            text = screenshot_text(app, tmp_path / "session.svg")
        for expected in (target.name, "root mode", "/app/server", "nonroot", "app/", "etc/"):
            assert expected in text, expected
        assert "processes" in text and "target rootfs" in text
        assert "^] Leave · keys go to the shell" in text and "Next tab" in text
        assert "Close tab" not in text and "Quit" not in text  # those are the shell's keys here
        assert "keys go to the shell · ^] leaves" in text

    run(body())


def test_a_question_answered_with_another_word_is_a_no() -> None:
    """y answers yes, n and Esc no; a letter that is no answer (a word typed for the shell
    into the panels: `qwerty` quit the app, its y answering the q's question) says no."""
    from textual.app import App

    from cdebug_tui.ui.screens.confirm import ConfirmScreen

    async def body(keys: tuple[str, ...]) -> list[bool | None]:
        answers: list[bool | None] = []
        async with App[None]().run_test() as pilot:
            pilot.app.push_screen(ConfirmScreen("Quit?"), answers.append)
            await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), "asked")
            await pilot.press(*keys)
            await wait_for(pilot, lambda: answers, "an answer")
        return answers

    assert run(body(("y",))) == [True]
    assert run(body(("n",))) == [False]
    assert run(body(("escape",))) == [False]
    assert run(body(("w", "e", "r", "t", "y"))) == [False]
    assert run(body(("tab", "enter"))) == [True]  # the buttons, from the keyboard


def test_a_burst_answers_a_question_once_and_its_rest_acts_where_the_answer_led() -> None:
    """A read's keys are queued on the question before any runs: `ls` (a word meant for the
    shell) answered twice, which closed the screen under it too, or over the main screen
    ended the app; the keys after the answer act where it led (`Escape q`: q quits)."""
    from textual import events
    from textual.app import App
    from textual.binding import Binding
    from textual.screen import ModalScreen
    from textual.widgets import Static

    from cdebug_tui.ui.screens.confirm import ConfirmScreen

    class Under(ModalScreen[None]):
        def compose(self) -> Any:
            yield Static("under")

    class Keys(App[None]):
        BINDINGS = [Binding("q", "seen('q')")]

        def __init__(self) -> None:
            super().__init__()
            self.seen: list[str] = []

        def action_seen(self, key: str) -> None:
            self.seen.append(key)

    async def body(under: bool, word: str) -> tuple[list[bool], list[str], list[str]]:
        answers: list[bool] = []
        app = Keys()
        async with app.run_test() as pilot:
            if under:
                app.push_screen(Under())
            app.push_screen(ConfirmScreen("Quit?"), answers.append)
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "asked")
            for key, char in word:
                app.post_message(events.Key(key, char))  # one read, as the driver posts it
            await wait_for(pilot, lambda: answers, "an answer")
            await pilot.pause(0.1)
            stack = [type(screen).__name__ for screen in app.screen_stack]
        return answers, stack, app.seen

    for under in (False, True):
        rest = ["Screen", "Under"] if under else ["Screen"]
        assert run(body(under, [("l", "l"), ("s", "s")])) == ([False], rest, [])
        assert run(body(under, [("y", "y"), ("y", "y")])) == ([True], rest, [])
    assert run(body(False, [("escape", None), ("q", "q")])) == ([False], ["Screen"], ["q"])
