"""Provides make_container: containers with any option (ports, healthchecks, limits, labels)
for the explorer's tests, removed at the end of each test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import RUN_ID, TEST_LABEL


@pytest.fixture
def make_container(engine: Any) -> Iterator[Callable[..., str]]:
    """Creates (and by default starts) a container; the finalizer removes every one made."""
    made: list[str] = []

    def create(
        image: str,
        command: list[str] | None,
        *,
        start: bool = True,
        labels: dict[str, str] | None = None,
        host: dict[str, Any] | None = None,
        name: str | None = None,
        **options: Any,
    ) -> str:
        cid = str(
            engine.api.create_container(
                image,
                command=command,
                name=name or f"cdebug-test-expl-{RUN_ID}-{uuid.uuid4().hex[:6]}",
                labels={TEST_LABEL: RUN_ID, **(labels or {})},
                host_config=engine.api.create_host_config(**(host or {})),
                **options,
            )["Id"]
        )
        made.append(cid)
        if start:
            engine.api.start(cid)
        return cid

    yield create
    for cid in made:
        try:
            engine.api.remove_container(cid, force=True, v=True)
        except Exception:  # noqa: BLE001 - a test may have removed it on purpose
            pass
