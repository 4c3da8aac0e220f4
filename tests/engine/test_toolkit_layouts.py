"""Tests that root mode is verified whatever the toolkit's layout, and toolkit mode starts clean."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.conftest import sidecars_of
from tests.engine.helpers import cdebug
from tests.engine.test_exec import _exec_in_pty, _read_until, assert_clean

pytestmark = pytest.mark.engine


def test_nixery_style_static_toolkit_runs_in_root_mode(
    engine: Any, run_target: Any, distroless_image: str, nix_static_toolkit: str
) -> None:
    """/bin is an absolute link into /nix/store: the shell runs (not exit 127) in root mode,
    with the toolkit's /nix linked in, and nothing stays behind."""
    target = run_target(distroless_image)
    r = cdebug(
        "exec", "--image", nix_static_toolkit, target.name, "sh", "-c", "ls /app; entrypoint"
    )
    err = r.stderr.decode()
    assert r.returncode == 0, err
    assert "root mode: the toolkit's links point into its /nix store, linked at /nix" in err
    assert r.stdout.decode().startswith("config.json\nserver\n")
    assert 'entrypoint  ["/app/server"]' in r.stdout.decode()
    assert_clean(engine, target.id)


def test_root_mode_falls_back_when_the_links_cannot_resolve(
    engine: Any, run_target: Any, busybox_image: str, nix_static_toolkit: str
) -> None:
    """A target with a /nix of its own: the toolkit's /bin cannot resolve there, so the
    session falls back to toolkit mode and says why, instead of exit 127."""
    target = run_target(busybox_image, ["sh", "-c", "mkdir /nix; exec sleep 1000"])
    r = cdebug("exec", "--image", nix_static_toolkit, target.name, "sh", "-c", "ls /target/nix")
    err = r.stderr.decode()
    assert r.returncode == 0, err
    assert "toolkit mode: the toolkit's /bin/sh does not resolve through the link" in err
    assert sidecars_of(engine, target.id) == []
    assert [c.path for c in engine.diff(target.id)] == ["/nix"]  # the target's own


def test_toolkit_mode_starts_clean_on_a_read_only_target(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """A read-only target (toolkit mode): no getcwd error, and the prompt says where."""
    target = run_target(distroless_image, read_only=True)
    with _exec_in_pty(busybox_image, target.name) as (pid, fd):
        seen = _read_until(fd, b"/target/app # ")
        assert f"({target.name}) /target/app # ".encode() in seen, seen
        assert b"getcwd" not in seen and b"(unknown)" not in seen
        os.write(fd, b"exit\r")
        os.waitpid(pid, 0)
