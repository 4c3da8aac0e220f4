"""Provides wait_for and its twin for a running app: every test's one way to wait for a
condition, never a fixed sleep."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

#: What is awaited, or a function that says it when the wait fails (what the app shows then).
Describe = str | Callable[[], str]


class _Deadline:
    """One wait: its clock, and the failure it ends in."""

    def __init__(self, timeout: float, describe: Describe) -> None:
        self.timeout = timeout
        self.describe = describe
        self.start = time.monotonic()

    def passed(self, value: Any) -> bool:
        """Whether the wait is over: the condition holds (True), or raises when time is up."""
        if value:
            if os.environ.get("CDEBUG_TEST_TIMING"):
                took = time.monotonic() - self.start
                print(f"TIMING {time.monotonic():.1f} {took:6.2f}s {self._what()}")
            return True
        if time.monotonic() - self.start > self.timeout:
            raise AssertionError(f"timed out after {self.timeout:.0f}s waiting for {self._what()}")
        return False

    def _what(self) -> str:
        return self.describe() if callable(self.describe) else self.describe


def wait_for(
    condition: Callable[[], Any], timeout: float, describe: Describe, *, interval: float = 0.05
) -> Any:
    """Polls `condition` until it returns something true, and returns that.

    Raises:
        AssertionError: When `timeout` seconds pass first, saying what was awaited.
    """
    deadline = _Deadline(timeout, describe)
    while not deadline.passed(value := condition()):
        time.sleep(interval)
    return value


async def wait_for_app(
    pilot: Any,
    condition: Callable[[], Any],
    timeout: float,
    describe: Describe,
    *,
    interval: float = 0.05,
) -> Any:
    """wait_for in a Pilot test: the app runs (pilot.pause) between polls.

    Raises:
        AssertionError: When `timeout` seconds pass first, saying what was awaited.
    """
    deadline = _Deadline(timeout, describe)
    while not deadline.passed(value := condition()):
        await pilot.pause(interval)
    return value
