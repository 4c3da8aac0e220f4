"""Provides wait_for: every test's one way to wait for a condition, never a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(
    condition: Callable[[], Any],
    timeout: float,
    describe: str | Callable[[], str],
    *,
    interval: float = 0.05,
) -> Any:
    """Polls `condition` until it returns something true, and returns that.

    Args:
        condition: What to wait for.
        timeout: Seconds before giving up.
        describe: What is awaited, for the failure message; a callable is asked at the failure
            (what the app shows then, say).
        interval: Seconds between polls.

    Raises:
        AssertionError: When the timeout passes first, saying what was awaited.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            what = describe() if callable(describe) else describe
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
