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


#: The keys the app keeps for itself while a terminal has the focus (Textual's key names);
#: every other key goes to the program in the terminal. Changed in tui.json's "keys".
DEFAULT_APP_KEYS = {
    "leave_terminal": "ctrl+right_square_bracket",
    "next_tab": "ctrl+pagedown",
    "previous_tab": "ctrl+pageup",
}


def key_label(key: str) -> str:
    """A Textual key name as the help writes it: ctrl+right_square_bracket is ctrl+]."""
    from textual.keys import key_to_character

    *mods, last = key.split("+")
    char = key_to_character(last) if len(last) > 1 else None
    return "+".join([*mods, char if char and char.isprintable() and not char.isspace() else last])


def app_keys() -> dict[str, str]:
    """The app's own keys: the defaults, with what tui.json's "keys" object changes."""
    keys = dict(DEFAULT_APP_KEYS)
    saved = load_settings().get("keys")
    if isinstance(saved, dict):
        for name, value in saved.items():
            if name in keys and isinstance(value, str) and value:
                keys[name] = value
    return keys


def clipboard_writes_allowed() -> bool:
    """Whether programs in the sessions may set the user's clipboard (OSC 52); off unless
    tui.json says "osc52_clipboard": true: a program could otherwise plant a command there."""
    return load_settings().get("osc52_clipboard") is True
