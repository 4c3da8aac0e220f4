"""Provides looks_secret and mask_env: environment values kept off the screen until revealed."""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Names of variables whose values are taken for secrets (masked until revealed).
SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|"
    r"credential|auth|(^|_)key$|^key|salt|signature|dsn|cookie|session",
    re.IGNORECASE,
)
#: Values that carry a password themselves: scheme://user:password@host.
SECRET_VALUE = re.compile(r"^[a-z][a-z0-9+.-]*://[^/:@\s]+:[^/@\s]+@", re.IGNORECASE)
MASK = "••••••••"


#: cdebug-tui's own variables in its sidecar's processes: CDEBUG_SESSION is a session's id,
#: shown in plain in the Steps and the link's name, not a secret.
OWN_PREFIX = "CDEBUG_"


def looks_secret(name: str, value: str) -> bool:
    """Whether an environment variable looks like it holds a secret."""
    if name.startswith(OWN_PREFIX):
        return False
    return bool(value) and bool(SECRET_NAME.search(name) or SECRET_VALUE.match(value))


def mask_env(items: Iterable[str]) -> list[str]:
    """`NAME=value` items with the values that look secret masked (a screen may be shared or
    recorded): what inspect shows until `v`."""
    out = []
    for item in items:
        name, eq, value = item.partition("=")
        out.append(f"{name}={MASK}" if eq and looks_secret(name, value) else item)
    return out
