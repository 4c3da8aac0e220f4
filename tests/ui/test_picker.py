"""Tests the toolkit picker on its own: what it lists, whatever was chosen last time."""

from __future__ import annotations

import time
from typing import Any

import pytest
from textual.widgets import OptionList

from cdebug_tui.engine.toolkit import LOCAL_TOOLKIT, PRESETS
from cdebug_tui.ui.app import CdebugApp
from cdebug_tui.ui.screens.picker import ToolkitPickerScreen
from cdebug_tui.ui.settings import save_setting
from tests.ui.helpers import list_only, run, wait_for

pytestmark = pytest.mark.engine


async def _open_picker(pilot: Any, app: CdebugApp, target: str) -> OptionList:
    """The picker for `target`, opened over the list; its options."""
    assert app.engine is not None
    app.push_screen(ToolkitPickerScreen(app.engine, target))
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, ToolkitPickerScreen) and app.screen.query(OptionList),
        "the picker",
    )
    return app.screen.query_one(OptionList)


@pytest.mark.parametrize("remembered", [LOCAL_TOOLKIT, PRESETS[2], "example.org/tools:1"])
def test_picker_lists_each_choice_once(engine: Any, remembered: str) -> None:
    """The last choice is highlighted and listed once, be it a preset, the local toolkit or
    another reference (the local toolkit once crashed the picker by being listed twice)."""
    save_setting("last_toolkit", remembered)

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.engine is not None, "the engine")
            options = await _open_picker(pilot, app, "some-target")
            await wait_for(pilot, lambda: options.option_count > len(PRESETS), "the options")
            ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
            ids = [i for i in ids if i]
            assert len(ids) == len(set(ids))
            assert options.highlighted_option is not None
            assert options.highlighted_option.id == remembered

    run(body())


def test_picker_leaves_out_images_known_to_have_no_shell(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """The list found the target's image without a shell: the picker does not offer it as a
    toolkit (picked, the session failed); an image with a shell stays."""
    from cdebug_tui.ui.widgets.container_list import ContainerListPanel

    target = run_target(distroless_image, network_mode="none")
    with_shell = run_target(busybox_image, ["sleep", "300"], network_mode="none")

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(120, 40)) as pilot:
            panel = app.query_one(ContainerListPanel)
            await wait_for(
                pilot,
                lambda: (r := panel.row(target.id)) is not None and r.has_shell is False,
                "the target's SHELL column",
                30,
            )
            await wait_for(
                pilot, lambda: (r := panel.row(with_shell.id)) is not None and r.has_shell, "sh"
            )
            options = await _open_picker(pilot, app, target.id)
            await wait_for(pilot, lambda: options.option_count > len(PRESETS) + 1, "the images")
            ids = {options.get_option_at_index(i).id for i in range(options.option_count)}
            assert distroless_image not in ids and busybox_image in ids

    run(body())


def test_sidecar_started_while_picking(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """The likely toolkit's sidecar and its shell start while the picker is open: picking it
    shows that shell, at its tab's size; cancelling the picker removes it."""
    from tests.conftest import sidecars_of
    from tests.ui.helpers import active_pane, terminal_text, type_text

    save_setting("last_toolkit", busybox_image)
    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(120, 40)) as pilot:
            await list_only(pilot, app, target)
            key = ("default", target.id)
            # Cancelled: the prepared sidecar goes.
            await pilot.press("enter")
            await wait_for(pilot, lambda: key in app._warm, "the prepared sidecar", 60)
            warm_id = app._warm[key].sidecar_id
            await pilot.press("escape")
            await wait_for(pilot, lambda: not sidecars_of(engine, target.id), "its removal", 30)
            # Picked: the shell runs in the sidecar prepared for it.
            await pilot.press("enter")
            await wait_for(pilot, lambda: key in app._warm, "the prepared sidecar", 60)
            warm_id = app._warm[key].sidecar_id
            assert app._warm[key].started, "the shell starts while the user picks"
            await pilot.press("enter")  # the remembered toolkit is highlighted
            pane = await wait_for(pilot, lambda: active_pane(app), "the tab")
            await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
            assert pane.session is not None and pane.session.sidecar_id == warm_id
            # Read ahead while the user picked: the prompt is there as soon as the tab is.
            assert "# " in terminal_text(pane)
            await type_text(pilot, "ls /app")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "server" in terminal_text(pane), "the files")
            # Started before its tab existed, the shell has the tab's size all the same.
            view = pane.view
            await type_text(pilot, "stty size")
            await pilot.press("enter")
            size = f"{view.rows} {view.cols}"
            await wait_for(pilot, lambda: size in terminal_text(pane), f"stty size: {size}")
            assert [c["Id"] for c in sidecars_of(engine, target.id)] == [warm_id]

    run(body())
    assert sidecars_of(engine, target.id) == []


def test_picked_at_once_takes_the_sidecar_being_prepared(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """Enter, Enter: the toolkit picked before its prepared sidecar is ready. The tab waits
    for that sidecar instead of starting a second one beside it (which made a pick at once
    twice as slow): one sidecar is created in all, and the tab's shell runs in it."""
    from cdebug_tui.engine.models import SIDECAR_LABEL, TARGET_LABEL
    from tests.conftest import sidecars_of
    from tests.ui.helpers import active_pane, terminal_text, type_text

    save_setting("last_toolkit", busybox_image)
    target = run_target(distroless_image, network_mode="none")
    since = time.time() - 1

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(120, 40)) as pilot:
            await list_only(pilot, app, target)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ToolkitPickerScreen), "picker")
            # At once: the preparation (a sidecar's start, then its shell) takes far longer.
            await pilot.press("enter")  # the remembered toolkit is highlighted
            pane = await wait_for(pilot, lambda: active_pane(app), "the tab")
            await wait_for(pilot, lambda: pane.state == "running", "the session", 60)
            await type_text(pilot, "ls /app")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "server" in terminal_text(pane), "the files")
            assert pane.session is not None
            assert [c["Id"] for c in sidecars_of(engine, target.id)] == [pane.session.sidecar_id]

    run(body())
    assert sidecars_of(engine, target.id) == []
    created = engine.api.events(
        since=since,
        until=time.time(),
        decode=True,
        filters={
            "event": "create",
            "label": [SIDECAR_LABEL, f"{TARGET_LABEL}={target.id}"],
        },
    )
    assert len(list(created)) == 1, "one sidecar created in all"


def test_choosing_again_leaks_no_prepared_sidecar(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """Choose, cancel, choose again while the first sidecar is still being prepared, cancel:
    every prepared sidecar is removed (the second preparation once overwrote the first,
    whose sidecar then ran on with nobody to close it)."""
    from cdebug_tui.ui.widgets.container_list import ContainerListPanel
    from tests.conftest import sidecars_of

    save_setting("last_toolkit", busybox_image)
    target = run_target(distroless_image, network_mode="none")

    def preparing() -> int:
        return sum(1 for w in app.workers if w.group == "warm" and not w.is_finished)

    app = CdebugApp()

    async def body() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            panel = app.query_one(ContainerListPanel)
            await wait_for(pilot, lambda: panel.row(target.id) is not None, "the row")
            panel.filter_text = target.name
            panel.rebuild()
            key = ("default", target.id)
            # Back to back, as fast as keys come: the first preparation (seconds) still runs
            # when the second begins.
            await pilot.press("enter", "escape", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ToolkitPickerScreen), "picker")
            await wait_for(pilot, lambda: key in app._warm, "the prepared sidecar", 90)
            await wait_for(pilot, lambda: preparing() == 0, "both preparations", 90)
            assert len(sidecars_of(engine, target.id)) == 1, "one prepared sidecar, no more"
            await pilot.press("escape")
            await wait_for(pilot, lambda: not sidecars_of(engine, target.id), "their removal", 30)

    run(body())
    assert sidecars_of(engine, target.id) == []


def test_the_tab_built_behind_the_picker_shows_only_when_picked(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """While the user picks, the prepared session's tab is built behind the picker, hidden:
    no new tab in the bar, no session counted. Esc removes it with its sidecar; the pick of
    another profile removes it and starts a session of that profile; the pick of the
    prepared toolkit shows that very tab, its prompt there, its panels built after."""
    from textual.widgets import Select
    from textual.widgets._tabbed_content import ContentTab, ContentTabs

    from cdebug_tui.ui.widgets.session_pane import SessionPane
    from tests.conftest import sidecars_of
    from tests.ui.helpers import active_pane, terminal_text

    save_setting("last_toolkit", busybox_image)
    target = run_target(distroless_image, network_mode="none")
    key = ("default", target.id)

    def tabs_shown() -> list[str]:
        bar = app.tabs.get_child_by_type(ContentTabs)  # the app's, not the panels' tabs
        return [str(t.label) for t in bar.query(ContentTab) if t.display]

    def staged() -> SessionPane | None:
        entry = app._staged.get(key)
        return entry[0] if entry is not None and entry[2].is_set() else None

    app = CdebugApp()

    async def body() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            await list_only(pilot, app, target)
            # Built and hidden: the bar and the title say nothing of it.
            await pilot.press("enter")
            first = await wait_for(pilot, staged, "the tab built behind the picker", 60)
            await wait_for(pilot, lambda: first.state == "running", "its shell", 30)
            assert tabs_shown() == ["Containers"]
            assert app.sessions() == [] and "session" not in str(app.title_bar.render())
            assert app.tabs.active == "tab-list"
            # Esc: the tab and the sidecar go.
            await pilot.press("escape")
            await wait_for(pilot, lambda: not app.tabs.query(SessionPane), "the tab removed")
            await wait_for(pilot, lambda: not sidecars_of(engine, target.id), "its sidecar", 30)
            # Another profile than the prepared one's: a session of that profile, its own.
            await pilot.press("enter")
            second = await wait_for(pilot, staged, "a tab built behind the picker", 60)
            app.screen.query_one("#picker-profile", Select).value = "netadmin"
            app.screen.query_one(OptionList).focus()
            await pilot.press("enter")
            pane = await wait_for(pilot, lambda: active_pane(app), "the new tab")
            assert pane is not second
            await wait_for(pilot, lambda: pane.state == "running", "its session", 60)
            await wait_for(pilot, lambda: second not in app.tabs.query(SessionPane), "removed")
            assert pane.session is not None and pane.session.spec.profile == "netadmin"
            assert [c["Id"] for c in sidecars_of(engine, target.id)] == [pane.session.sidecar_id]
            await pilot.press("ctrl+right_square_bracket", "x", "y")
            await wait_for(pilot, lambda: not app.sessions(), "the tab closed")
            await wait_for(pilot, lambda: not sidecars_of(engine, target.id), "its sidecar", 30)
            # The prepared toolkit: the very tab built behind, shown with its prompt.
            app.tabs.active = "tab-list"
            app.list_panel.query_one("#containers").focus()
            await pilot.press("enter")
            third = await wait_for(pilot, staged, "a tab built behind the picker", 60)
            await pilot.press("enter")
            await wait_for(pilot, lambda: active_pane(app) is third, "that tab in front")
            assert "# " in terminal_text(third)
            shown = tabs_shown()
            assert len(shown) == 2 and shown[1].endswith(target.name[-10:]), shown
            assert app.sessions() == [third] and "1 session open" in str(app.title_bar.render())
            assert app.focused is third.view
            await wait_for(pilot, lambda: third.panels_built, "its panels, after the prompt")
            assert [c["Id"] for c in sidecars_of(engine, target.id)] == [
                third.session.sidecar_id if third.session else ""
            ]

    run(body())
    assert sidecars_of(engine, target.id) == []


async def _picker_over(pilot: Any, app: CdebugApp, target: Any) -> Any:
    """The picker opened by the list's Enter on `target`, read as the driver reads it, once
    the tab behind it is built; the raw input path, to feed keys as a terminal sends them."""
    from tests.ui.test_terminal_input import on_the_list, raw_input

    await list_only(pilot, app, target)
    await on_the_list(pilot, app, target)
    raw = raw_input(app)
    raw.feed(b"\r")
    key = ("default", target.id)
    await wait_for(pilot, lambda: key in app._staged, "the tab behind the picker", 60)
    return raw


def test_escape_then_a_key_at_once_is_two_keys(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """`Escape Enter` in one read (a fast typist, tmux, ssh) cancels the picker, then opens
    it again: Textual's parser read ESC Enter as one key, Enter, and picked; `Escape q`
    cancels, then quits (it was alt+q, which did nothing). A lone Escape still waits
    for the rest of a sequence split across reads (an arrow key stays an arrow key)."""
    from cdebug_tui.ui.widgets.session_pane import SessionPane
    from tests.conftest import sidecars_of
    from tests.ui.test_terminal_input import ticking

    save_setting("last_toolkit", busybox_image)
    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(160, 48)) as pilot:
            raw = await _picker_over(pilot, app, target)
            first = app.screen
            raw.feed(b"\x1b\r")
            await wait_for(
                pilot,
                ticking(
                    raw,
                    lambda: isinstance(app.screen, ToolkitPickerScreen) and app.screen is not first,
                ),
                "a new picker",
            )
            assert not [p for p in app.tabs.query(SessionPane) if not p.staged]
            # An arrow key in two reads is one arrow key: the picker's cursor moves.
            options = app.screen.query_one(OptionList)
            await wait_for(pilot, lambda: options.highlighted is not None, "the options")
            before = options.highlighted
            raw.feed(b"\x1b")
            await pilot.pause(0.02)
            raw.feed(b"[A" if before else b"[B")  # up, unless it is on the first option
            await wait_for(pilot, lambda: options.highlighted != before, "the cursor moved")
            assert isinstance(app.screen, ToolkitPickerScreen)
            raw.feed(b"\x1bq")  # no session open: q quits at once
            await wait_for(pilot, ticking(raw, lambda: app.return_code == 0), "the app to quit")

    run(body())
    assert sidecars_of(engine, target.id) == []


def test_a_toolkit_without_a_shell_fails_its_tab_which_x_closes_and_is_not_remembered(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """Picking an image with no shell: the tab says why, x closes it (nothing had the focus,
    and x did nothing), and the next picker still offers the toolkit that worked first; the
    field shows the option under the cursor."""
    from textual.widgets import Input

    from cdebug_tui.ui.settings import last_toolkit
    from tests.conftest import sidecars_of
    from tests.ui.helpers import active_pane, pick_toolkit

    save_setting("last_toolkit", busybox_image)
    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(160, 48)) as pilot:
            await list_only(pilot, app, target)
            await pilot.press("enter")
            await pick_toolkit(pilot, distroless_image)
            pane = await wait_for(pilot, lambda: active_pane(app), "the tab")
            await wait_for(pilot, lambda: pane.state == "failed", "its failure", 60)
            await wait_for(
                pilot, lambda: pane in (app.focused.ancestors if app.focused else []), "focus"
            )
            await pilot.press("x")
            await wait_for(pilot, lambda: not app.sessions(), "the tab closed")
            assert last_toolkit() == busybox_image
            app.list_panel.query_one("#containers").focus()
            await pilot.press("enter")
            picker = await wait_for(
                pilot, lambda: isinstance(app.screen, ToolkitPickerScreen) and app.screen, "picker"
            )
            options = picker.query_one(OptionList)
            await wait_for(pilot, lambda: options.highlighted is not None, "the options")
            assert options.highlighted_option.id == busybox_image
            field = picker.query_one("#picker-input", Input)
            await pilot.press("down")
            await wait_for(
                pilot,
                lambda: field.value == options.highlighted_option.id != busybox_image,
                "the field following the cursor",
            )
            await pilot.press("escape")
            await wait_for(pilot, lambda: not sidecars_of(engine, target.id), "no sidecar", 30)

    run(body())
    assert sidecars_of(engine, target.id) == []


def test_escape_enter_enter_at_once_cancels_reopens_and_picks(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """`Escape Enter Enter` in one read, the picker up: it is cancelled, opened again and its
    remembered toolkit picked: one tab, whose shell got no stray Enter (one prompt). The last
    Enter was lost: it reached the new picker before it could take it."""
    from tests.conftest import sidecars_of
    from tests.ui.helpers import active_pane, terminal_text
    from tests.ui.test_terminal_input import ticking

    save_setting("last_toolkit", busybox_image)
    target = run_target(distroless_image, network_mode="none")

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(160, 48)) as pilot:
            raw = await _picker_over(pilot, app, target)
            raw.feed(b"\x1b\r\r")
            pane = await wait_for(pilot, ticking(raw, lambda: active_pane(app)), "a tab", 60)
            await wait_for(pilot, lambda: "# " in terminal_text(pane), "its prompt", 60)
            await pilot.pause(0.3)
            prompts = [line for line in terminal_text(pane).splitlines() if "# " in line]
            assert len(prompts) == 1, prompts
            assert len(app.sessions()) == 1
            assert [c["Id"] for c in sidecars_of(engine, target.id)] == [
                pane.session.sidecar_id if pane.session else ""
            ]

    run(body())
    assert sidecars_of(engine, target.id) == []


def test_removing_the_target_closes_its_picker(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """The container being picked for is removed: the picker closes, saying so, and the
    sidecar prepared meanwhile goes (picking opened a tab that had ended already)."""
    from cdebug_tui.ui.widgets.container_list import ContainerListPanel
    from tests.conftest import sidecars_of
    from tests.ui.helpers import notes_of

    save_setting("last_toolkit", busybox_image)
    target = run_target(distroless_image, network_mode="none")
    app = CdebugApp()

    async def body() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            notes = notes_of(app)
            panel = app.query_one(ContainerListPanel)
            await wait_for(pilot, lambda: panel.row(target.id) is not None, "the row")
            panel.filter_text = target.name
            panel.rebuild()
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ToolkitPickerScreen), "picker")
            engine.api.remove_container(target.id, force=True)
            await wait_for(pilot, lambda: not isinstance(app.screen, ToolkitPickerScreen), "gone")
            assert any(f"{target.name} was removed" in n for n in notes), notes
            assert not list(app.sessions())
            await wait_for(pilot, lambda: not sidecars_of(engine, target.id), "no sidecar", 30)

    run(body())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_the_whole_picker_fits_a_classic_terminal(engine: Any, size: tuple[int, int]) -> None:
    """At 80x24 every part of the picker shows in full, its hint line and profile included (the
    hint fell off its box's bottom edge, and the profile's label took two lines)."""
    save_setting("last_toolkit", LOCAL_TOOLKIT)

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=size) as pilot:
            await wait_for(pilot, lambda: app.engine is not None, "the engine")
            options = await _open_picker(pilot, app, "some-target")
            await wait_for(pilot, lambda: options.option_count > len(PRESETS), "the options")
            await pilot.pause()
            screen = app.screen
            box = screen.query_one("#picker-box").content_region
            for part in ("#picker-title", "#picker-options", "#picker-input", "#picker-profile"):
                region = screen.query_one(part).region
                assert region.height > 0 and box.contains_region(region), (part, region, box)
            help_line = screen.query_one("#picker-help")
            assert box.contains_region(help_line.region), (help_line.region, box)
            assert "Esc cancels" in str(help_line.render())
            assert screen.query_one("#picker-profile").region.height == 3  # one line, boxed
            # Several toolkits still show at once.
            assert options.region.height - 2 >= min(options.option_count, 5)

    run(body())
