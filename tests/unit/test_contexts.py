"""Tests reading Docker contexts: docker-py's ContextAPI, and our reading where it falls short."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import pytest

from cdebug_tui.engine.client import docker_contexts
from cdebug_tui.engine.engines import discover
from tests.engines_fixtures import docker_config


def _tls(cfg: Path, name: str, *files: str) -> Path:
    tls = cfg / "contexts" / "tls" / hashlib.sha256(name.encode()).hexdigest() / "docker"
    tls.mkdir(parents=True)
    for f in files:
        (tls / f"{f}.pem").write_text("not a real certificate\n")
    return tls


@pytest.fixture
def contexts(tmp_path: Path, monkeypatch: Any) -> Path:
    """The process's DOCKER_CONFIG with four contexts; `full` has a CA, a cert and a key and
    no SkipTLSVerify (the docker CLI omits it when false); `ca-only` a CA only."""
    cfg = docker_config(
        tmp_path / "docker",
        {
            "alpha": {"Host": "unix:///run/alpha.sock", "SkipTLSVerify": False},
            "full": {"Host": "tcp://10.1.2.3:2376"},
            "ca-only": {"Host": "tcp://10.1.2.4:2376", "SkipTLSVerify": False},
            "over-ssh": {"Host": "ssh://deploy@build-host", "SkipTLSVerify": False},
        },
        current="full",
    )
    _tls(cfg, "full", "ca", "cert", "key")
    _tls(cfg, "ca-only", "ca")
    monkeypatch.setenv("DOCKER_CONFIG", str(cfg))
    for var in ("DOCKER_HOST", "DOCKER_CONTEXT"):
        monkeypatch.delenv(var, raising=False)
    return cfg


def test_docker_py_lists_the_contexts(contexts: Path) -> None:
    read = docker_contexts()
    assert read is not None
    assert [(c.name, c.host) for c in read] == [
        ("alpha", "unix:///run/alpha.sock"),
        ("ca-only", "tcp://10.1.2.4:2376"),
        ("full", "tcp://10.1.2.3:2376"),
        ("over-ssh", "ssh://deploy@build-host"),
    ]
    full = next(c for c in read if c.name == "full")
    assert full.tls and full.tls.cert and full.tls.cert.endswith("cert.pem")


def test_discover_takes_docker_pys_list_and_the_clis_tls(contexts: Path) -> None:
    """What docker-py gets wrong, we correct: `full` is verified (docker-py reads an absent
    SkipTLSVerify as true), `ca-only` is TLS with its CA (docker-py drops a lone CA)."""
    read = docker_contexts()
    assert read is not None
    assert next(c for c in read if c.name == "ca-only").tls is None  # docker-py's view
    found = {c.name: c for c in discover(podman_socket="/nonexistent")}
    assert found["full"].current and found["full"].tls and found["full"].tls.verify
    ca_only = found["ca-only"].tls
    assert ca_only and ca_only.verify and ca_only.ca and ca_only.cert is None
    assert found["over-ssh"].address == "ssh://deploy@build-host" and found["over-ssh"].tls is None


def test_docker_context_and_docker_host_pick_the_current(contexts: Path, monkeypatch: Any) -> None:
    """docker-py's current context ignores DOCKER_CONTEXT and DOCKER_HOST; the CLI does not."""
    monkeypatch.setenv("DOCKER_CONTEXT", "alpha")
    assert discover(podman_socket="/nonexistent")[0].name == "alpha"
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
    first = discover(podman_socket="/nonexistent")[0]
    assert (first.name, first.address, first.source) == ("default", "tcp://127.0.0.1:2375", "env")


def test_contexts_without_config_json(contexts: Path) -> None:
    """The CLI reads $DOCKER_CONFIG/contexts without a config.json; docker-py would read
    ~/.docker's (or ./contexts) instead, so ours is used."""
    (contexts / "config.json").unlink()
    names = [c.name for c in discover(podman_socket="/nonexistent")]
    assert names == ["default", "alpha", "ca-only", "full", "over-ssh"]


def test_a_corrupt_context_spares_the_others(contexts: Path) -> None:
    meta = contexts / "contexts" / "meta" / hashlib.sha256(b"broken").hexdigest()
    meta.mkdir()
    (meta / "meta.json").write_text("{not json")
    assert docker_contexts() is None  # docker-py fails its whole list
    names = [c.name for c in discover(podman_socket="/nonexistent")]
    assert names == ["full", "default", "alpha", "ca-only", "over-ssh"]


def test_no_contexts_no_docker_py(tmp_path: Path) -> None:
    """Discovery without contexts (and shell completion with it) does not import docker-py."""
    import subprocess

    code = (
        "import sys; from cdebug_tui.engine.engines import discover; discover(); "
        "print('docker' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={
            "DOCKER_CONFIG": str(tmp_path),
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        },
    ).stdout
    assert out.strip() == "False"
