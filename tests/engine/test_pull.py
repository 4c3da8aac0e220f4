"""Tests pulls from a registry on loopback: progress per layer, and the pulled toolkit works."""

from __future__ import annotations

from typing import Any

import pytest

from cdebug_tui.engine.readings import PullProgress
from tests.conftest import RUN_ID, sidecars_of
from tests.engine.helpers import cdebug

pytestmark = pytest.mark.engine


@pytest.fixture
def pulled_ref(engine: Any, registry: Any) -> Any:
    ref = f"{registry.host}/cdebug-test-{RUN_ID}/busybox:musl"
    yield ref
    try:
        engine.api.remove_image(ref, force=True)
    except Exception:  # noqa: BLE001 - not pulled, when the test failed early
        pass


def test_pull_reports_each_layer(engine: Any, pulled_ref: str) -> None:
    seen: list[PullProgress] = []
    image_id = engine.pull(pulled_ref, seen.append)
    assert image_id == engine.image_id(pulled_ref)
    layers = {p.layer for p in seen if p.layer and p.status in ("Pull complete", "Already exists")}
    assert len(layers) == 2
    assert any(p.total and p.current for p in seen if p.status == "Downloading") or any(
        p.status == "Download complete" for p in seen
    )


def test_exec_pulls_the_toolkit_and_shows_progress(
    engine: Any, pulled_ref: str, run_target: Any, distroless_image: str
) -> None:
    target = run_target(distroless_image)
    r = cdebug("exec", "--image", pulled_ref, target.name, "ls", "/app")
    err = r.stderr.decode()
    assert r.returncode == 0, err
    assert "server" in r.stdout.decode().split()
    # stderr is not a terminal: plain lines per layer event, as `docker pull` prints them.
    done = [line for line in err.splitlines() if line.endswith(("Pull complete", "Already exists"))]
    assert len(done) == 2, err
    assert engine.image_id(pulled_ref)
    assert sidecars_of(engine, target.id) == []


def test_unknown_tag_is_one_clear_line(
    engine: Any, registry: Any, run_target: Any, distroless_image: str
) -> None:
    target = run_target(distroless_image)
    r = cdebug(
        "exec", "--image", f"{registry.host}/cdebug-test-{RUN_ID}/busybox:nope", target.name, "true"
    )
    assert r.returncode == 125
    lines = r.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "cannot pull" in lines[0] and "busybox:nope" in lines[0]
