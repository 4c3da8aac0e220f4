"""Tests that bad input gets one clear line, exit code 125, and leaves nothing behind."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from tests.conftest import sidecars_of
from tests.engine.helpers import cdebug

pytestmark = pytest.mark.engine


def assert_one_line_error(r: subprocess.CompletedProcess[bytes], *needles: str) -> None:
    assert r.returncode == 125, (r.stdout, r.stderr)
    lines = r.stderr.decode().strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("cdebug-tui: error: ")
    for needle in needles:
        assert needle in lines[0]


@pytest.fixture
def paused(engine: Any, run_target: Any, distroless_image: str) -> Any:
    target = run_target(distroless_image)
    engine.api.pause(target.id)
    yield target
    engine.api.unpause(target.id)


CASES = {
    "unknown target": (
        lambda f: ["exec", "no-such-container-xyz", "true"],
        {},
        ["no such container"],
    ),
    # A stopped target and a --pid host one are debugged now (test_stopped, test_host_pid).
    "neither a container nor an image": (
        lambda f: ["exec", "cdebug-test/nothing-here:1", "true"],
        {},
        ["no such container or image: cdebug-test/nothing-here:1"],
    ),
    "paused target": (lambda f: ["exec", f["paused"].name, "true"], {}, ["paused"]),
    # A container's name mistyped: taken for an image, which cannot be pulled; the name it
    # is close to is said, as `cdebug-tui exce` gets `exec`.
    "mistyped container name": (
        lambda f: ["exec", f["target"].name[:-1] + "x", "true"],  # its names end in hex
        {},
        # {target} is said only as a suggestion; other tests' targets may be named too.
        ["no such container or image: ", "did you mean ", "{target}"],
    ),
    "container name in another case": (
        lambda f: ["exec", f["target"].name.upper(), "true"],
        {},
        ["no such container", "did you mean ", "{target}"],
    ),
    "unknown image": (
        lambda f: ["exec", "--image", "cdebug-test/nope:missing", f["target"].name, "true"],
        {},
        ["cannot pull cdebug-test/nope:missing"],
    ),
    "invalid image reference": (
        lambda f: ["exec", "--image", "Not A Ref!", f["target"].name, "true"],
        {},
        ["invalid image reference"],
    ),
    "unknown user": (
        lambda f: ["exec", "-u", "nobody-here", "--image", f["busybox"], f["target"].name, "true"],
        {},
        ["no user 'nobody-here'"],
    ),
    # The default toolkit, which is not here (no registry): its notice is said only once the
    # session runs, so that the error stays the only line.
    "unknown user, default toolkit": (
        lambda f: ["exec", "-u", "nobody-here", f["target"].name, "true"],
        {},
        ["no user 'nobody-here'"],
    ),
    "toolkit without shell": (
        lambda f: ["exec", "--image", f["distroless"], f["target"].name, "true"],
        {},
        ["no shell"],
    ),
    "engine socket missing": (
        lambda f: ["exec", "x", "true"],
        {"DOCKER_HOST": "unix:///nonexistent/docker.sock"},
        ["/nonexistent/docker.sock"],
    ),
    "malformed DOCKER_HOST": (
        lambda f: ["exec", "x", "true"],
        {"DOCKER_HOST": "bogus://what"},
        ["malformed engine address"],
    ),
    "tty without a terminal": (
        lambda f: ["exec", "-it", f["target"].name],
        {},
        ["not a TTY"],
    ),
    # The full-screen app hung without a terminal, its escape codes written into the file.
    "the app without a terminal": (lambda f: [f["target"].name], {}, ["needs a terminal"]),
    "the demo without a terminal": (lambda f: ["demo"], {}, ["needs a terminal"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input(
    case: str,
    engine: Any,
    run_target: Any,
    distroless_image: str,
    busybox_image: str,
    request: pytest.FixtureRequest,
) -> None:
    make_args, env, needles = CASES[case]
    fixtures: dict[str, Any] = {"busybox": busybox_image, "distroless": distroless_image}
    if case == "paused target":
        fixtures["paused"] = request.getfixturevalue("paused")
    else:
        fixtures["target"] = run_target(distroless_image)
    r = cdebug(*make_args(fixtures), env=env, input=b"")  # stdin a pipe, never a terminal
    name = fixtures["target"].name if "target" in fixtures else ""
    assert_one_line_error(r, *(needle.replace("{target}", name) for needle in needles))
    # (Other test runs may share the engine: look at this test's targets only.)
    for made in ("target", "paused"):
        if made in fixtures:
            assert sidecars_of(engine, fixtures[made].id) == []
    if "target" in fixtures:
        assert [c.path for c in engine.diff(fixtures["target"].id) if ".cdebug" in c.path] == []


def test_ambiguous_prefix_lists_candidates(
    engine: Any, run_target: Any, distroless_image: str
) -> None:
    made = [run_target(distroless_image) for _ in range(12)]
    # 12 ids over 16 hex digits: two of them share a first digit.
    firsts = [t.id[0] for t in made]
    prefix = next(d for d in firsts if firsts.count(d) > 1)
    r = cdebug("exec", prefix, "true")
    assert_one_line_error(r, f"'{prefix}' matches")
    for t in made:
        if t.id.startswith(prefix):
            assert t.id[:12] in r.stderr.decode()
