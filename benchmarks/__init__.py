"""Provides what every benchmark shares: a stop by a signal that still cleans up."""

from __future__ import annotations

import signal
import sys


def exit_on_signals() -> None:
    """SIGTERM and SIGHUP (a `timeout`, a closed terminal) end a benchmark as Ctrl-C does:
    its `finally` removes the containers and images it made (they were left behind)."""

    def stop(signum: int, _frame: object) -> None:
        # Once: a second hangup must not cut the cleanup short.
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        sys.exit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
