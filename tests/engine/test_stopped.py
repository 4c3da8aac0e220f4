"""Tests sessions on what does not run: stopped containers and images, through debug copies."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker.errors
import docker.types
import pytest

from cdebug_tui.engine.models import COPY_LABEL, SIDECAR_LABEL, TARGET_LABEL
from tests.conftest import RUN_ID, TEST_LABEL, sidecars_of, unavailable
from tests.engine.helpers import cdebug, interactive_exec, wait_for, wait_or_tell

pytestmark = pytest.mark.engine


def copies_of(engine: Any, of: str) -> tuple[list[str], list[str]]:
    """The copy containers and committed images on the engine that were made of `of`."""
    label = f"{COPY_LABEL}={of}"
    containers = [c["Id"] for c in engine.api.containers(all=True, filters={"label": label})]
    images = [i["Id"] for i in engine.api.images(all=True, filters={"label": label})]
    return containers, images


def snapshot(engine: Any, cid: str) -> tuple[str, int, str, list[tuple[str, str]]]:
    """What a user checks of the original: its state, exit code, start time and `docker diff`."""
    raw = engine.api.inspect_container(cid)
    diff = sorted((c.path, c.kind) for c in engine.diff(cid))
    return raw["State"]["Status"], raw["State"]["ExitCode"], raw["State"]["StartedAt"], diff


@pytest.fixture
def make_target(engine: Any) -> Iterator[Callable[..., Any]]:
    """Creates a container (started and waited for when `run`); removes it, its sidecars,
    copies and volumes at the end, even on failure."""
    made: list[str] = []
    volumes: list[str] = []

    def make(
        image: str,
        *,
        run: bool = True,
        volume: bool = False,
        command: list[str] | None = None,
        environment: dict[str, str] | None = None,
        **host: Any,
    ) -> Any:
        binds = host.pop("binds", None)
        if volume:
            name = f"cdebug-test-vol-{RUN_ID}-{uuid.uuid4().hex[:6]}"
            volumes.append(name)
            binds = {**(binds or {}), name: {"bind": "/data", "mode": "rw"}}
        cid = engine.api.create_container(
            image,
            command=command,
            environment=environment,
            name=f"cdebug-test-stopped-{RUN_ID}-{uuid.uuid4().hex[:6]}",
            labels={TEST_LABEL: RUN_ID},
            host_config=engine.api.create_host_config(binds=binds, **host),
        )["Id"]
        made.append(cid)
        if run:
            engine.api.start(cid)
            engine.api.wait(cid, timeout=30)
        return engine.inspect(cid)

    yield make
    for cid in made:
        for c in engine.api.containers(
            all=True, filters={"label": [SIDECAR_LABEL, f"{TARGET_LABEL}={cid}"]}
        ):
            _quietly(lambda c=c: engine.api.remove_container(c["Id"], force=True, v=True))
        for image in copies_of(engine, cid)[1]:
            _quietly(lambda image=image: engine.api.remove_image(image, force=True))
        _quietly(lambda cid=cid: engine.api.remove_container(cid, force=True, v=True))
    for name in volumes:
        _quietly(lambda name=name: engine.api.remove_volume(name, force=True))


def _quietly(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except docker.errors.APIError:
        pass  # gone already


def assert_nothing_left(engine: Any, of: str) -> None:
    wait_for(lambda: copies_of(engine, of) == ([], []), 20, f"the copies of {of[:12]} to go")


def test_crashed_shell_less_container(
    engine: Any, make_target: Any, crasher_image: str, busybox_image: str
) -> None:
    """A container that crashed (exit 3) after writing /tmp/crash.log: its file, its user and
    its exit code are there to see in a copy; the original is as it was; nothing is left."""
    crashed = make_target(crasher_image, volume=True)
    assert (crashed.state, crashed.exit_code) == ("exited", 3)
    before = snapshot(engine, crashed.id)
    toolkit = busybox_image

    r = cdebug("exec", "--image", toolkit, crashed.name, "sh", "-c", "cat /tmp/crash.log; pwd")
    err = r.stderr.decode()
    assert r.returncode == 0, err
    assert r.stdout.decode() == "crashed as uid=65532 in /app mode=production\n/app\n"
    first = err.splitlines()[0]
    assert f"a debug copy of container {crashed.name}, exited (3)" in first
    assert "/data (writable)" in first and "discarded" in first

    r = cdebug("exec", "-q", "--image", toolkit, crashed.name, "entrypoint")
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr
    assert 'entrypoint  ["/app/server"]' in out and 'cmd         ["--db", "db:5432"]' in out
    assert "user        nonroot (uid 65532, gid 65532)" in out
    assert "workdir     /app" in out and "  APP_MODE=production" in out

    # The crash again, in the foreground: its message, its exit code, its file as its user.
    r = cdebug(
        "exec", "-q", "--image", toolkit, crashed.name, "sh", "-c",
        "entrypoint --run; echo code=$?; cat /tmp/crash.log",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert b"fatal: cannot reach the database" in r.stderr
    assert r.stdout.decode().splitlines() == [
        "code=3",
        "crashed as uid=65532 in /app mode=production",
        "crashed as uid=65532 in /app mode=production",
    ]
    r = cdebug("exec", "-q", "--image", toolkit, crashed.name, "entrypoint", "--run")
    assert r.returncode == 3

    assert snapshot(engine, crashed.id) == before
    assert_nothing_left(engine, crashed.id)


def test_a_stopped_container_that_wrote_nothing_is_copied_without_a_commit(
    engine: Any, make_target: Any, app_image: str, busybox_image: str
) -> None:
    """A container that exited without writing a file: the copy runs its image as it is (a
    commit copies nothing more and costs 50-60 ms, then an image to remove), with the
    container's own environment (`docker run -e`), not the image's."""
    stopped = make_target(app_image, command=["log", "1", "4"], environment={"MODE": "run-e"})
    assert (stopped.state, stopped.exit_code) == ("exited", 4)
    assert engine.diff(stopped.id) == []
    proc = interactive_exec(busybox_image, stopped.name, "--explain")
    assert proc.stdin and proc.stdout and proc.stderr
    try:
        proc.stdin.write(b"echo mode=$MODE; entrypoint | grep -c MODE=run-e\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == b"mode=run-e\n"
        assert proc.stdout.readline() == b"1\n"
        containers, images = copies_of(engine, stopped.id)
        assert len(containers) == 1 and images == []
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
        err = proc.stderr.read().decode()
    finally:
        proc.kill()
    assert "# look for the stopped container's changes" in err, err
    assert f"docker diff {stopped.name}" in err and "docker commit" not in err
    assert "--env-file <(docker inspect --format" in err
    assert_nothing_left(engine, stopped.id)


def test_a_copy_keeps_the_originals_limits_so_an_oom_kill_happens_again(
    engine: Any, make_target: Any, app_image: str, busybox_image: str
) -> None:
    """The copy has the original's memory, CPU and pids limits and ulimits, as `docker
    inspect` shows them; its sidecar the memory one, so that what the session runs
    (`entrypoint --run`, here a memory hog) is killed for memory as the original was. The
    copy had none: a crash from its memory limit could not happen again in it."""
    mib = 1 << 20
    stopped = make_target(
        app_image,
        command=["log", "1", "4"],
        mem_limit=32 * mib,
        nano_cpus=500_000_000,
        pids_limit=99,
        ulimits=[docker.types.Ulimit(name="nofile", soft=500, hard=600)],
    )
    proc = interactive_exec(busybox_image, stopped.name)
    assert proc.stdin and proc.stdout
    try:
        # busybox tail keeps the last line whole: 200 MiB without a newline cannot fit in 32.
        proc.stdin.write(b"head -c 209715200 /dev/zero | tail -n 1 >/dev/null; echo code=$?\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == b"code=137\n"
        (copy,), _ = copies_of(engine, stopped.id)
        host = engine.api.inspect_container(copy)["HostConfig"]
        assert (host["Memory"], host["NanoCpus"], host["PidsLimit"]) == (32 * mib, 5e8, 99)
        assert [(u["Name"], u["Soft"], u["Hard"]) for u in host["Ulimits"]] == [
            ("nofile", 500, 600)
        ]
        (sidecar,) = sidecars_of(engine, copy)
        host = engine.api.inspect_container(sidecar["Id"])["HostConfig"]
        assert (host["Memory"], host["NanoCpus"]) == (32 * mib, 0)
        assert host["PidsLimit"] in (None, 0, -1)  # its own processes would count
    finally:
        proc.kill()
    assert_nothing_left(engine, stopped.id)


def test_the_files_marks_of_a_copy_count_what_the_original_wrote(
    engine: Any, make_target: Any, crasher_image: str, busybox_image: str
) -> None:
    """The files panel's changes in a copy are against the original's image: its crash log
    (written before it stopped) is marked added, with what the session adds; one the session
    removes is as in the image. The copy's own diff, against its committed image, hid it."""
    from cdebug_tui.engine import panels
    from cdebug_tui.engine.models import SessionSpec
    from cdebug_tui.engine.session import start_session

    crashed = make_target(crasher_image)
    since = time.time() - 1
    session = start_session(engine, SessionSpec(target=crashed.id, image=busybox_image))
    try:
        assert session.copy is not None and session.copy.image_id  # committed: it wrote
        # The original's events show the commit, saying whose it is.
        commits = [
            e
            for e in engine.events(since=since, until=time.time(), container=crashed.id)
            if e.action == "commit"
        ]
        assert [e.detail for e in commits] == [
            "cdebug-tui: the image of a debug copy, removed with the copy"
        ]
        assert panels.changes_of(session).get("/tmp/crash.log") == "A"
        code, _, err = session.run(["sh", "-c", "touch /proc/1/root/tmp/later"])
        assert code == 0, err
        changes = panels.changes_of(session)
        assert (changes.get("/tmp/crash.log"), changes.get("/tmp/later")) == ("A", "A")
        code, _, err = session.run(["rm", "/proc/1/root/tmp/crash.log"])
        assert code == 0, err
        assert "/tmp/crash.log" not in panels.changes_of(session)
    finally:
        session.close()
    assert_nothing_left(engine, crashed.id)


def test_crash_loop_is_debugged_through_a_copy(
    engine: Any, make_target: Any, crasher_image: str, busybox_image: str
) -> None:
    """A container its restart policy keeps starting (a crash loop) is caught between two
    short runs: it is debugged through a copy of its files, with its crash log, while the
    engine goes on restarting it; nothing is left."""
    looping = make_target(crasher_image, run=False, restart_policy={"Name": "always"})
    engine.api.start(looping.id)
    # Five restarts in, the engine waits 3.2 s before the next: time enough to start.
    wait_for(
        lambda: (
            engine.inspect(looping.id).restarting and engine.details(looping.id).restart_count >= 5
        ),
        60,
        "a crash loop, caught between two runs",
    )
    r = cdebug("exec", "--image", busybox_image, looping.name, "cat", "/tmp/crash.log")
    err = r.stderr.decode()
    assert r.returncode == 0, err
    assert r.stdout.decode().startswith("crashed as uid=65532 in /app")
    first = err.splitlines()[0]
    assert f"a debug copy of container {looping.name}, restarting after exit 3" in first, first
    assert "between two runs" in first
    details = engine.details(looping.id)
    assert details.restart_policy == "always" and details.restart_count >= 5
    engine.api.stop(looping.id, timeout=0)
    assert_nothing_left(engine, looping.id)


def test_a_target_that_dies_as_the_sidecar_joins_is_debugged_through_a_copy(
    engine: Any, busybox_image: str
) -> None:
    """A crash loop caught in one of its short runs dies while the sidecar joins it: the
    session goes on with a copy of it (it failed: `Container ... is restarting`)."""
    from cdebug_tui.engine.models import SessionSpec
    from cdebug_tui.engine.session import start_session

    cid = engine.api.create_container(
        busybox_image,
        ["sh", "-c", "sleep 0.05; exit 3"],
        name=f"cdebug-test-stopped-{RUN_ID}-{uuid.uuid4().hex[:6]}",
        labels={TEST_LABEL: RUN_ID},
        host_config=engine.api.create_host_config(restart_policy={"Name": "always"}),
    )["Id"]
    try:
        engine.api.start(cid)
        session = start_session(engine, SessionSpec(target=cid, image=busybox_image))
        try:
            assert session.copy is not None and session.copy.source.original is not None
            assert session.copy.source.original.id == cid
            code, out, _ = session.run(["sh", "-c", "echo copy-$((6*7))"])
            assert (code, out.strip()) == (0, b"copy-42")
        finally:
            session.close()
        assert_nothing_left(engine, cid)
    finally:
        for image in copies_of(engine, cid)[1]:
            _quietly(lambda image=image: engine.api.remove_image(image, force=True))
        _quietly(lambda: engine.api.remove_container(cid, force=True, v=True))


def test_created_never_started_shares_its_volume(
    engine: Any, make_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """A created container: the copy has its files, user database and volume; a file written
    into the volume is there for real; the copy's own changes are gone with it."""
    created = make_target(distroless_image, run=False, volume=True)
    before = snapshot(engine, created.id)
    r = cdebug(
        "exec", "-q", "--image", busybox_image, created.name, "sh", "-c",
        "grep nonroot /etc/passwd; echo kept > /data/note; echo lost > /app/note; ls /app",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == [
        "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin",
        "config.json",
        "note",
        "server",
    ]
    r = cdebug(
        "exec", "-q", "--image", busybox_image, created.name, "cat", "/data/note", "/app/note"
    )
    assert r.stdout == b"kept\n"
    assert r.returncode == 1 and b"can't open '/app/note'" in r.stderr
    assert snapshot(engine, created.id) == before
    assert engine.inspect(created.id).state == "created"
    assert_nothing_left(engine, created.id)


def test_exec_it_on_a_stopped_target_in_a_terminal(
    engine: Any, make_target: Any, crasher_image: str, busybox_image: str
) -> None:
    """-it on a stopped target: a prompt in the workdir, and the shell's exit code."""
    from tests.engine.test_exec import _exec_in_pty, _read_until

    crashed = make_target(crasher_image)
    with _exec_in_pty(busybox_image, crashed.name) as (pid, fd):
        assert b"/app # " in _read_until(fd, b"/app # ")
        os.write(fd, b"exit 7\r")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 7
    assert_nothing_left(engine, crashed.id)


def test_a_copy_runs_the_cached_busybox_in_place_or_gets_it_copied_in(
    engine: Any, make_target: Any, crasher_image: str, busybox_image: str, tmp_path: Path
) -> None:
    """The copy's busybox comes from cdebug-tui's cache, bound read-only from this host (a
    copy into the container took 85-95 ms); an engine that cannot see that file (a client in
    a mount namespace of its own, as in a container) gets it copied in, and the session is
    the same."""
    if os.geteuid() != 0:
        unavailable("a mount namespace of its own needs root")
    crashed = make_target(crasher_image)
    argv = ["exec", "--explain", "-q", "--image", busybox_image, crashed.name]
    argv += ["cat", "/tmp/crash.log"]
    r = cdebug(*argv)
    err = r.stderr.decode()
    assert r.returncode == 0, err
    assert r.stdout.decode() == "crashed as uid=65532 in /app mode=production\n"
    assert "--mount type=bind,src=" in err and ",readonly" in err, err
    assert "put the busybox into the copy" not in err
    assert "  docker exec -u 0 " in err and "docker exec  " not in err  # as typed: one space

    cache = Path(os.environ["XDG_CACHE_HOME"])

    def in_a_namespace(seen_by_the_engine: Path) -> tuple[str, str]:
        """The same exec by a client whose cache is a tmpfs of its own mount namespace (as
        in a container of its own): the engine sees `seen_by_the_engine` at that path."""
        script = 'mount -t tmpfs cdebug-test "$1" && cp -a "$2/." "$1/" && shift 2 && exec "$@"'
        r = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]
            + [str(seen_by_the_engine), str(cache), sys.executable, "-m", "cdebug_tui", *argv],
            capture_output=True,
            timeout=60,
            env={**os.environ, "XDG_CACHE_HOME": str(seen_by_the_engine)},
        )
        err = r.stderr.decode()
        assert r.returncode == 0, err
        assert_nothing_left(engine, crashed.id)
        return r.stdout.decode(), err

    # The engine has no such file: the create with the bind is refused.
    hidden = tmp_path / "hidden-cache"
    hidden.mkdir()
    out, err = in_a_namespace(hidden)
    assert out == "crashed as uid=65532 in /app mode=production\n"
    assert "put the busybox into the copy" in err and "--mount" not in err, err
    assert not any(hidden.iterdir()), "the host sees the namespace's tmpfs"

    # The engine has something else there, which it cannot run (a directory: the runtime
    # says so as it starts the copy): that copy goes, and the next one, named anew, gets the
    # busybox copied in.
    other = tmp_path / "other-cache"
    for ours in (cache / "cdebug-tui").glob("busybox-*"):
        (other / "cdebug-tui" / ours.name).mkdir(parents=True)
    assert any(other.iterdir()), "no cached busybox"
    out, err = in_a_namespace(other)
    assert out == "crashed as uid=65532 in /app mode=production\n"
    assert "--mount type=bind" in err and "put the busybox into the copy" in err, err


def test_kill_9_leaves_nothing_after_cleanup(
    engine: Any, make_target: Any, crasher_image: str, busybox_image: str
) -> None:
    """kill -9 of cdebug-tui: the copy goes by itself (its stdin closes), and
    `cdebug-tui cleanup` removes the committed image."""
    crashed = make_target(crasher_image)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cdebug_tui", "exec", "-i", "-q", "--image", busybox_image,
         crashed.name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin and proc.stdout
    proc.stdin.write(b"echo ready\n")
    proc.stdin.flush()
    assert proc.stdout.readline() == b"ready\n"
    containers, images = copies_of(engine, crashed.id)
    assert len(containers) == 1 and len(images) == 1
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    wait_for(lambda: not copies_of(engine, crashed.id)[0], 30, "the copy to remove itself")
    r = cdebug("cleanup")
    assert r.returncode == 0, r.stderr
    assert_nothing_left(engine, crashed.id)
    assert engine.inspect(crashed.id).state == "exited"


def test_a_closed_terminal_hanging_up_again_leaves_nothing(
    engine: Any, make_target: Any, crasher_image: str, busybox_image: str
) -> None:
    """A closed terminal sends SIGHUP more than once (the hangup, then tmux's or the shell's):
    the ones that come while the session is cleaned up must not cut it short. A second one
    ended cdebug-tui before it removed the copy's image (1 time in 5 with tmux kill-window)."""
    from tests.engine.helpers import interactive_exec

    crashed = make_target(crasher_image)
    proc = interactive_exec(busybox_image, crashed.name)
    try:
        assert [len(found) for found in copies_of(engine, crashed.id)] == [1, 1]
        # Hang-ups every 20 ms until it ends: some fall in the cleanup, however long it is.
        while proc.poll() is None:
            proc.send_signal(signal.SIGHUP)
            try:
                proc.wait(timeout=0.02)
            except subprocess.TimeoutExpired:
                pass
        # 129, or killed by one that came after the cleanup, as the shell's $? says alike.
        assert proc.returncode in (128 + signal.SIGHUP, -signal.SIGHUP)
    finally:
        proc.kill()
    assert copies_of(engine, crashed.id) == ([], [])
    assert engine.inspect(crashed.id).state == "exited"


def test_original_removed_while_its_copy_runs(
    engine: Any, make_target: Any, crasher_image: str, busybox_image: str
) -> None:
    """Removing the original ends the session with one line and exit 125; nothing is left."""
    crashed = make_target(crasher_image)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cdebug_tui", "exec", "-i", "-q", "--image", busybox_image,
         crashed.name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin and proc.stdout and proc.stderr
    proc.stdin.write(b"echo ready\n")
    proc.stdin.flush()
    assert proc.stdout.readline() == b"ready\n"
    # The copy's committed image is the session's own: never offered as an image to pick.
    _, committed = copies_of(engine, crashed.id)
    assert committed and not {i.id for i in engine.images()} & set(committed)
    engine.api.remove_container(crashed.id, force=True)
    assert wait_or_tell(proc, 30) == 125
    err = proc.stderr.read().decode()
    assert f"session ended: the original {crashed.name} was removed" in err
    assert_nothing_left(engine, crashed.id)


def test_bind_mount_gone_is_one_line(
    engine: Any, make_target: Any, distroless_image: str, busybox_image: str, tmp_path: Path
) -> None:
    """A stopped container whose bind mount's host directory is gone: one line, exit 125,
    no copy and no image left."""
    host_dir = tmp_path / "gone"
    host_dir.mkdir()
    # A --mount bind (unlike -v) is not re-created by the engine when its source is gone.
    mount = docker.types.Mount(target="/data", source=str(host_dir), type="bind")
    created = make_target(distroless_image, run=False, mounts=[mount])
    shutil.rmtree(host_dir)
    r = cdebug("exec", "--image", busybox_image, created.name, "ls")
    assert r.returncode == 125
    lines = r.stderr.decode().strip().splitlines()
    gone = f"{created.name}'s bind mount {host_dir} (at /data) is gone from the host"
    assert lines == [f"cdebug-tui: error: {gone}"]
    assert_nothing_left(engine, created.id)


def test_image_target(engine: Any, distroless_image: str, busybox_image: str) -> None:
    """TARGET names an image: a session on a throwaway container of it, shell-less as it is;
    the image stays, no container is left."""
    r = cdebug("exec", "--image", busybox_image, distroless_image, "sh", "-c", "pwd; ls; id -u")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == ["/app", "config.json", "server", "0"]
    first = r.stderr.decode().splitlines()[0]
    assert first.startswith(f"cdebug-tui: a debug copy of image {distroless_image}; changes")
    assert first.endswith("; a new container of the image, with its env, workdir and user")
    assert engine.image_id(distroless_image)
    assert copies_of(engine, distroless_image) == ([], [])


def test_missing_image_is_one_line(engine: Any, busybox_image: str) -> None:
    """Neither a container nor an image (nor pullable): one line, exit 125, nothing made."""
    name = f"cdebug-test-{RUN_ID}/nothing-here:1"
    r = cdebug("exec", "--image", busybox_image, name, "ls")
    assert r.returncode == 125
    lines = r.stderr.decode().strip().splitlines()
    assert lines[-1].startswith(f"cdebug-tui: error: no such container or image: {name}"), lines
    assert copies_of(engine, name) == ([], [])
