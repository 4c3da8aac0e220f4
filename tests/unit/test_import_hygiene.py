"""Tests that the engine stays free of the UI: importing it loads neither Textual nor Rich."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "cdebug_tui.engine.client",
        "cdebug_tui.engine.engines",
        "cdebug_tui.engine.session",
        "cdebug_tui.engine.toolkit",
        "cdebug_tui.engine.demo",
        "cdebug_tui.cli",
    ],
)
def test_no_ui_imports(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')); "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
