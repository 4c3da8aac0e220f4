"""Provides the test that the emulator side of the terminal never imports Textual or Rich."""

from __future__ import annotations

import subprocess
import sys


def test_emulator_and_keys_do_not_import_textual_or_rich() -> None:
    code = (
        "import sys\n"
        "import cdebug_tui.terminal\n"
        "import cdebug_tui.terminal.emulator, cdebug_tui.terminal.keys\n"
        "import cdebug_tui.terminal.localpty\n"
        "t = cdebug_tui.terminal.Terminal(5, 20)\n"
        "t.feed(b'\\x1b[31mhi')\n"
        "bad = [m for m in ('textual', 'rich') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="."
    )
    assert result.stdout.strip() == ""


def test_widget_module_does_import_textual() -> None:
    # Guards the test above against passing because nothing was imported at all.
    code = "import sys, cdebug_tui.terminal.widget; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "True"
