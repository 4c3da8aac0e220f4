"""Tests the sidecar's privilege profiles (--profile) against the real engine."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import sidecars_of
from tests.engine.helpers import cdebug

pytestmark = pytest.mark.engine

CHECK = "ip link set lo mtu 65536 && echo net-changed; kill -0 1 && echo may-signal; ls /app"


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ("general", "may-signal\nconfig.json\nserver\n"),
        ("netadmin", "net-changed\nmay-signal\nconfig.json\nserver\n"),
        ("restricted", "config.json\nserver\n"),
    ],
)
def test_profile_changes_what_the_shell_may_do(
    engine: Any,
    run_target: Any,
    distroless_image: str,
    busybox_image: str,
    profile: str,
    expected: str,
) -> None:
    """netadmin may change the target's network; restricted may read the target's files but
    not signal its processes."""
    target = run_target(distroless_image)
    r = cdebug(
        "exec", "-q", "--profile", profile, "--image", busybox_image, target.name,
        "sh", "-c", CHECK,
    )  # fmt: skip
    assert r.stdout.decode() == expected, r.stderr
    assert sidecars_of(engine, target.id) == []


def test_unknown_profile_is_one_line(engine: Any, run_target: Any, distroless_image: str) -> None:
    target = run_target(distroless_image)
    r = cdebug("exec", "--profile", "root", target.name, "true")
    assert r.returncode == 125
    choices = "one of: general, netadmin, sysadmin, restricted"
    assert r.stderr.decode().splitlines() == [
        f"cdebug-tui: error: unknown profile 'root' ({choices})"
    ]
    assert sidecars_of(engine, target.id) == []
