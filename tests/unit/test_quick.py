"""Tests that exec's quick start asks the engine for the sidecar a direct session asks for."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from cdebug_tui.engine import quick
from cdebug_tui.engine.models import Mode, SessionSpec, target_info
from cdebug_tui.engine.session import _entrypoint_env, create_args, direct_config
from cdebug_tui.engine.sidecar import sidecar_config
from cdebug_tui.engine.unixhttp import container_body

IMAGE = "cdebug-tui/busybox:local"
INIT = "/usr/bin/tini-static"

#: A container's inspect as Docker 20.10 answers it (the parts the sidecar depends on).
BASE: dict[str, Any] = {
    "Id": "1f05c584583647d0938ada89c8470ffca4b2b3214b7e08b2ca16736aecef21dd",
    "Name": "/web",
    "Image": "sha256:2b5dfa092794",
    "State": {"Status": "running", "Running": True, "Pid": 4242},
    "Config": {
        "Image": "registry.example/web:1",
        "User": "65532",
        "WorkingDir": "/app",
        "Env": ["PATH=/app:/usr/bin", "GREETING=hello world", "EMPTY="],
        "Entrypoint": ["/app/server"],
        "Cmd": ["--port", "8080"],
        "Labels": {"team": "a"},
    },
    "HostConfig": {
        "PidMode": "",
        "IpcMode": "private",
        "NetworkMode": "default",
        "Privileged": False,
        "CapAdd": None,
        "CapDrop": None,
    },
    "Mounts": [],
}


def _variant(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(BASE)
    for path, value in changes.items():
        section, _, key = path.partition("__")
        raw[section][key] = value
    return raw


CASES = {
    "a distroless target": (BASE, {}),
    "no user": (_variant(Config__User=""), {}),
    "uid and gid": (_variant(Config__User="1000:1000"), {}),
    "its own capabilities": (
        _variant(HostConfig__CapAdd=["NET_ADMIN"], HostConfig__CapDrop=["CAP_SYS_PTRACE", "MKNOD"]),
        {},
    ),
    "a shareable IPC namespace": (_variant(HostConfig__IpcMode="shareable"), {}),
    "another container's IPC": (_variant(HostConfig__IpcMode="container:abc"), {}),
    "a privileged target": (_variant(HostConfig__Privileged=True), {}),
    "--privileged": (BASE, {"privileged": True}),
    "--name": (BASE, {"name": "my-sidecar"}),
    "no command": (_variant(Config__Entrypoint=None, Config__Cmd=None), {}),
}


@pytest.mark.parametrize("case", CASES)
def test_the_quick_start_asks_for_the_direct_sidecar(case: str) -> None:
    """The create's body and name, from the inspect's JSON without the models, are those
    session._prepare asks for a direct session: a difference would be a sidecar made
    otherwise than the Steps (and --explain) say."""
    raw, options = CASES[case]
    session_id = "0123456789"
    target = target_info(raw, "default")
    spec = SessionSpec(
        target="web",
        image=IMAGE,
        mode=Mode.AUTO,
        tty=True,
        interactive=True,
        name=options.get("name"),
        privileged=options.get("privileged", False),
    )
    config = sidecar_config(spec, target, IMAGE, session_id)
    entry = _entrypoint_env(None, target, "", config.target_pid, None)  # type: ignore[arg-type]
    config = direct_config(dataclasses.replace(config, env=(*config.env, entry)), INIT)
    args = create_args(config, target, is_podman=False)
    expected = container_body(IMAGE, **args)

    quick_entry = quick.entry_env(raw, None)
    name, body = quick.create_body(
        raw,
        image=IMAGE,
        session_id=session_id,
        name=options.get("name"),
        privileged=options.get("privileged", False),
        host_init=INIT,
        entry=quick_entry,
    )
    assert quick_entry == entry
    assert name == config.name
    assert body == expected


def test_the_entrypoint_of_a_named_user_is_the_same() -> None:
    """A user by name, resolved in the target's /etc/passwd: the same script both ways."""
    raw = _variant(Config__User="nonroot")
    passwd = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:\n"

    class _Engine:
        # Only what _entrypoint_env reads: the target's /etc/passwd, as the engine gives it.
        def read_file(self, _id: str, _path: str) -> bytes:
            return passwd.encode()

    target = target_info(raw, "default")
    expected = _entrypoint_env(_Engine(), target, "", 1, None)  # type: ignore[arg-type]
    assert quick.entry_env(raw, passwd) == expected
    assert "uid 65532, gid 65532" in expected


@pytest.mark.parametrize(
    ("env", "config", "socket"),
    [
        ({}, None, "/var/run/docker.sock"),
        ({"DOCKER_HOST": "unix:///run/user/1000/docker.sock"}, None, "/run/user/1000/docker.sock"),
        ({"DOCKER_HOST": "tcp://10.0.0.1:2375"}, None, None),
        ({"DOCKER_CONTEXT": "remote"}, None, None),
        ({"DOCKER_CONTEXT": "default"}, '{"currentContext": "remote"}', "/var/run/docker.sock"),
        ({}, '{"currentContext": "remote"}', None),
        ({}, '{"currentContext": "default"}', "/var/run/docker.sock"),
        ({}, "not json", "/var/run/docker.sock"),
    ],
)
def test_the_quick_start_takes_only_the_default_local_engine(
    tmp_path: Any, env: dict[str, str], config: str | None, socket: str | None
) -> None:
    """The socket the docker CLI would use when it is a local one with no context; any
    other engine is left to the usual way (engines.discover), which knows contexts."""
    if config is not None:
        (tmp_path / "config.json").write_text(config)
    assert quick.default_socket({**env, "DOCKER_CONFIG": str(tmp_path)}) == socket
