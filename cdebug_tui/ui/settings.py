"""Provides the app's small remembered settings: a JSON file in the user's config directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def settings_path() -> Path:
    """Where the settings live: tui.json in platformdirs' config directory for cdebug-tui
    ($XDG_CONFIG_HOME/cdebug-tui, ~/.config/cdebug-tui by default, on Linux)."""
    import platformdirs

    return Path(platformdirs.user_config_dir("cdebug-tui")) / "tui.json"


def load_settings() -> dict[str, Any]:
    """The saved settings; empty when there are none or the file is unreadable."""
    try:
        data = json.loads(settings_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_setting(key: str, value: Any) -> None:
    """Saves one setting; a read-only config directory is not worth an error."""
    data = load_settings()
    data[key] = value
    path = settings_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(path)
    except OSError:
        pass


def last_toolkit() -> str | None:
    """The toolkit image chosen last time, if any."""
    value = load_settings().get("last_toolkit")
    return value if isinstance(value, str) and value else None
