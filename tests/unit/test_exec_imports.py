"""Tests that `cdebug-tui exec` reaches a local engine without importing docker-py (150-400 ms)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_exec_path_imports_no_docker_py() -> None:
    """What `cdebug-tui exec` imports before it talks to a local engine (LocalEngine): not
    docker-py, requests or urllib3, nor Textual; the app and the panels still use them. Nor
    http.client, with its email and ssl (15-30 ms): LocalEngine speaks HTTP/1.1 itself. Nor
    tarfile and shutil (5 ms): only a copy, a cache miss or a local build reads archives."""
    code = (
        "import sys\n"
        "import cdebug_tui.cli, cdebug_tui.engine.session, cdebug_tui.engine.unixapi\n"
        "import cdebug_tui.engine.engines, cdebug_tui.engine.toolkit\n"
        "heavy = ('docker', 'requests', 'urllib3', 'textual', 'http.client', 'ssl', 'email',\n"
        "         'tarfile', 'shutil')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "[]"


def test_the_quick_start_makes_its_sidecar_before_the_models_load() -> None:
    """`exec -it` creates and starts its sidecar (engine/quick.py) with what the command line
    and these light modules import: the dataclasses and the session's modules (35-45 ms) load
    while the engine starts it, not before."""
    code = (
        "import sys\n"
        "import cdebug_tui.cli, cdebug_tui.engine.quick\n"
        "heavy = ('dataclasses', 'inspect', 'cdebug_tui.engine.models',\n"
        "         'cdebug_tui.engine.engines', 'cdebug_tui.engine.session', 'pathlib', 'shutil')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "[]"
