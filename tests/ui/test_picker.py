"""Tests the toolkit picker on its own: what it lists, whatever was chosen last time."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import OptionList

from cdebug_tui.engine.toolkit import LOCAL_TOOLKIT, PRESETS
from cdebug_tui.ui.app import CdebugApp
from cdebug_tui.ui.screens.picker import ToolkitPickerScreen
from cdebug_tui.ui.settings import save_setting
from tests.ui.helpers import run, wait_for

pytestmark = pytest.mark.engine


@pytest.mark.parametrize("remembered", [LOCAL_TOOLKIT, PRESETS[2], "example.org/tools:1"])
def test_picker_lists_each_choice_once(engine: Any, remembered: str) -> None:
    """The last choice is highlighted and listed once, be it a preset, the local toolkit or
    another reference (the local toolkit once crashed the picker by being listed twice)."""
    save_setting("last_toolkit", remembered)

    async def body() -> None:
        app = CdebugApp()
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.engine is not None, "the engine")
            app.push_screen(ToolkitPickerScreen(app.engine, "some-target"))
            await wait_for(
                pilot,
                lambda: (
                    isinstance(app.screen, ToolkitPickerScreen) and app.screen.query(OptionList)
                ),
                "the picker",
            )
            options = app.screen.query_one(OptionList)
            await wait_for(pilot, lambda: options.option_count > len(PRESETS), "the options")
            ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
            ids = [i for i in ids if i]
            assert len(ids) == len(set(ids))
            assert options.highlighted_option is not None
            assert options.highlighted_option.id == remembered

    run(body())
