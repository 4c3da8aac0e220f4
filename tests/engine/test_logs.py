"""Tests container logs against the real engine: tails, live following, pages, bad drivers."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from cdebug_tui.engine.readings import LogLine
from cdebug_tui.errors import LogsUnavailableError, TargetNotFoundError
from tests.engine.helpers import wait_for

pytestmark = pytest.mark.engine


def _wait_exited(engine: Any, cid: str) -> None:
    wait_for(lambda: not engine.inspect(cid).running, 30, "the target to exit")


def _read_all(stream: Any, timeout: float = 30) -> list[LogLine]:
    """Every line of a stream that ends by itself (an exited container's)."""
    out: list[LogLine] = []
    done = threading.Event()

    def read() -> None:
        for batch in stream:
            out.extend(batch)
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert done.wait(timeout), "the stream of an exited container did not end"
    return out


def test_an_exited_shell_less_containers_last_words(
    engine: Any, run_target: Any, app_image: str
) -> None:
    """A crashed container's log is read whole, stdout and stderr told apart, in order."""
    target = run_target(app_image, ["log", "6", "3"], network_mode="none")
    _wait_exited(engine, target.id)
    lines = _read_all(engine.follow_logs(target.id, tail=100))
    assert sorted(line.text for line in lines) == sorted(
        ["out 0", "err 1", "out 2", "err 3", "out 4", "err 5"]
    )
    for line in lines:
        assert line.stream == ("stderr" if line.text.startswith("err") else "stdout")
        assert line.timestamp_ns > 1_600_000_000 * 10**9
    # Each stream in its order; across the two the engine's copiers may stamp a line of one
    # a little before a line of the other that was written earlier.
    for stream in ("stdout", "stderr"):
        stamps = [ln.timestamp_ns for ln in lines if ln.stream == stream]
        assert stamps == sorted(stamps), stream
    assert engine.inspect(target.id).state == "exited"


def test_following_a_running_container_and_closing_from_another_thread(
    engine: Any, run_target: Any, app_image: str
) -> None:
    target = run_target(app_image, ["tick", "50"], network_mode="none")
    stream = engine.follow_logs(target.id, tail=5)
    seen: list[LogLine] = []
    ended = threading.Event()

    def read() -> None:
        for batch in stream:
            seen.extend(batch)
        ended.set()

    threading.Thread(target=read, daemon=True).start()
    wait_for(lambda: len(seen) >= 20, 30, "twenty live lines")
    numbers = [int(line.text.split()[1]) for line in seen]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert {line.stream for line in seen} == {"stdout", "stderr"}
    stream.close()
    assert ended.wait(5), "closing the stream from another thread did not end its reader"


def test_a_quiet_container_is_followed_longer_than_the_client_timeout(
    engine: Any, run_target: Any, busybox_image: str
) -> None:
    """A process quiet for longer than an API call may take still has its next line read:
    the follow has no read timeout (it ended with "Read timed out" after 60 s)."""
    from cdebug_tui.engine.client import Engine

    target = run_target(busybox_image, ["sh", "-c", "echo first; sleep 4; echo second; sleep 600"])
    quick = Engine(base_url=engine.address, timeout=1)
    try:
        stream = quick.follow_logs(target.id, tail=10)
        seen: list[str] = []
        errors: list[Exception] = []

        def read() -> None:
            try:
                for batch in stream:
                    seen.extend(line.text for line in batch)
            except Exception as exc:  # noqa: BLE001 - the failure this test is about
                errors.append(exc)

        threading.Thread(target=read, daemon=True).start()
        wait_for(lambda: "second" in seen or errors, 30, "the line after 4 quiet seconds")
        assert not errors and seen[:2] == ["first", "second"]
        stream.close()
    finally:
        quick.close()


def test_pages_before_a_line_are_contiguous_and_never_repeat(
    engine: Any, run_target: Any, app_image: str
) -> None:
    """The page before the first loaded line continues it exactly: no gap, no duplicate."""
    target = run_target(app_image, ["log", "600", "-1"], network_mode="none")
    wait_for(lambda: len(engine.read_logs(target.id, tail=600)) == 600, 30, "600 lines")
    tail = engine.read_logs(target.id, tail=100)
    assert len(tail) == 100
    first = tail[0].timestamp_ns
    page = [
        ln
        for ln in engine.read_logs(target.id, tail=300, until_ns=first)
        if ln.timestamp_ns < first
    ]
    whole = engine.read_logs(target.id, tail=600)
    joined = page + tail
    # The engine's own order of the whole log, ending where the tail ends.
    assert [ln.text for ln in joined] == [ln.text for ln in whole[-len(joined) :]]
    assert len(page) >= 150
    # At the start of the log, a page before the first line is empty.
    assert [
        ln
        for ln in engine.read_logs(target.id, tail=10_000, until_ns=whole[0].timestamp_ns)
        if ln.timestamp_ns < whole[0].timestamp_ns
    ] == []


def test_a_log_driver_that_cannot_be_read_is_said_so(
    engine: Any, run_target: Any, app_image: str
) -> None:
    target = run_target(
        app_image, ["log", "3", "-1"], network_mode="none", log_config={"Type": "none"}
    )
    with pytest.raises(LogsUnavailableError, match="log driver is 'none'"):
        engine.follow_logs(target.id, tail=10)
    with pytest.raises(LogsUnavailableError):
        engine.read_logs(target.id, tail=10)


def test_a_removed_containers_logs(engine: Any, run_target: Any, app_image: str) -> None:
    target = run_target(app_image, ["tick", "100"], network_mode="none")
    stream = engine.follow_logs(target.id, tail=1)
    ended = threading.Event()

    def read() -> None:
        try:
            for _ in stream:
                pass
        finally:
            ended.set()

    threading.Thread(target=read, daemon=True).start()
    t0 = time.monotonic()
    engine.api.remove_container(target.id, force=True)
    assert ended.wait(15), "the stream of a removed container did not end"
    assert time.monotonic() - t0 < 15
    with pytest.raises(TargetNotFoundError):
        engine.follow_logs(target.id, tail=1)
