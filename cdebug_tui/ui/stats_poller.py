"""Provides StatsPoller: one-shot stats reads for the containers on screen, every 2 s at most."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from textual.timer import Timer

from cdebug_tui.engine.readings import StatsSample
from cdebug_tui.engine.stats import StatsHistory
from cdebug_tui.errors import EngineUnavailableError, TargetNotFoundError

#: (engine name, container id)
Key = tuple[str, str]


class StatsPoller:
    """Reads the stats of the containers that some view shows, and keeps their histories.

    Views say what they show (`watch`); a round reads every wanted container once, with
    single requests (stream=false), never a stream per container, and the next round starts
    `INTERVAL` seconds after this one started, once it has finished, so rounds never pile up.
    A container that leaves every view (scrolled away, its view closed) is skipped even in a
    round under way; with nothing wanted no timer runs at all.

    Args:
        app: The app: its `engines` (name -> Engine) are read at each round.
    """

    INTERVAL = 2.0
    #: The share of one core the reads may take (their own CPU time, measured per round):
    #: a screenful of rows on a slow machine is read less often than every 2 s rather than
    #: costing more. docker-py spends 1-4 ms of CPU per request.
    BUDGET = 0.01
    #: Reads at once: enough for a screenful of rows in a fraction of the interval, few
    #: enough that the engine is never flooded.
    PARALLEL = 4

    def __init__(self, app: Any) -> None:
        self.app = app
        self.enabled = True
        self.histories: dict[Key, StatsHistory] = {}
        #: Containers the engine said are gone; their views say so.
        self.gone: set[Key] = set()
        self.wanted: frozenset[Key] = frozenset()
        self.rounds = 0
        #: CPU seconds the last round's reads took.
        self.last_cpu = 0.0
        self._watchers: dict[int, tuple[Callable[[], Iterable[Key]], Callable[[], None]]] = {}
        self._timer: Timer | None = None
        self._busy = False
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False

    # -- views -----------------------------------------------------------------------------

    def watch(
        self, owner: object, keys: Callable[[], Iterable[Key]], updated: Callable[[], None]
    ) -> None:
        """Registers a view: `keys()` says what it shows now (nothing while hidden), `updated()`
        runs on the UI thread after each round."""
        self._watchers[id(owner)] = (keys, updated)
        self.refresh_wanted()

    def unwatch(self, owner: object) -> None:
        self._watchers.pop(id(owner), None)
        self.refresh_wanted()

    def history(self, key: Key) -> StatsHistory | None:
        return self.histories.get(key)

    def refresh_wanted(self) -> None:
        """Reads again what the views show (a scroll, a tab switch); starts rounds if idle."""
        wanted: set[Key] = set()
        if self.enabled and not self._closed:
            for keys, _ in list(self._watchers.values()):
                wanted.update(keys())
        self.wanted = frozenset(wanted)
        if self._watchers and not self._busy and self._timer is None and not self._closed:
            # Nothing on screen (a view hidden behind another tab): look again in a second,
            # which costs a few attribute reads, and no request.
            self._timer = self.app.set_timer(0.05 if self.wanted else 1.0, self._tick)

    def close(self) -> None:
        self._closed = True
        self.wanted = frozenset()
        if self._timer is not None:
            self._timer.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    # -- rounds ----------------------------------------------------------------------------

    def _tick(self) -> None:
        self._timer = None
        if self._busy or self._closed:
            return
        self._busy = True  # refresh_wanted schedules no timer while a round is under way
        self.refresh_wanted()
        if not self.wanted:
            self._busy = False
            self.refresh_wanted()  # the slow look again
            return
        engines = dict(self.app.engines)
        self.app.run_worker(
            lambda: self._round(engines),
            thread=True,
            group="stats",
            exit_on_error=False,
            description="stats round",
        )

    def _round(self, engines: dict[str, Any]) -> None:
        """Reads each wanted container once (in a worker thread)."""
        started = time.monotonic()
        samples: list[StatsSample] = []
        gone: list[Key] = []
        down: set[str] = set()
        cpu: list[float] = []

        def read(key: Key) -> None:
            # Checked at the last moment: a row scrolled away since the round began is skipped.
            if key not in self.wanted or key[0] in down or self._closed:
                return
            engine = engines.get(key[0])
            if engine is None:
                return
            t0 = time.thread_time()
            try:
                samples.append(engine.stats(key[1]))
            except TargetNotFoundError:
                gone.append(key)
            except EngineUnavailableError:
                down.add(key[0])  # the engine went: the rest of its rows wait for it
            finally:
                cpu.append(time.thread_time() - t0)

        try:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.PARALLEL, thread_name_prefix="stats")
            list(self._pool.map(read, sorted(self.wanted)))
        except RuntimeError:
            return  # the pool was shut down: the app is closing
        finally:
            if not self._closed:
                try:
                    self.app.call_from_thread(self._done, samples, gone, started, sum(cpu))
                except RuntimeError:
                    pass  # the app's loop is gone

    def _done(
        self, samples: list[StatsSample], gone: list[Key], started: float, cpu: float = 0.0
    ) -> None:
        self._busy = False
        self.rounds += 1
        for s in samples:
            key = (s.engine, s.id)
            if key not in self.wanted:
                continue  # read just before its row scrolled away: shown nowhere now
            self.histories.setdefault(key, StatsHistory()).add(s)
            self.gone.discard(key)
        for key in gone:
            self.gone.add(key)
            self.histories.pop(key, None)
        for _, updated in list(self._watchers.values()):
            updated()
        if self._closed:
            return
        if self._timer is not None:
            self._timer.stop()
        self.last_cpu = cpu
        period = max(self.INTERVAL, cpu / self.BUDGET)
        delay = max(0.05, period - (time.monotonic() - started))
        self._timer = self.app.set_timer(delay, self._tick)

    def forget(self, key: Key) -> None:
        """Drops a removed container's history."""
        self.histories.pop(key, None)
