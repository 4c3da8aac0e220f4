"""Tests `cdebug-tui exec` end to end against the real engine, as a user runs it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import sidecars_of
from tests.engine.helpers import cdebug, interactive_exec, wait_for

pytestmark = pytest.mark.engine


def ours_in_diff(engine: Any, target_id: str) -> list[str]:
    """Paths in the target's writable layer that a session could have left."""
    return [
        c.path
        for c in engine.diff(target_id)
        if ".cdebug" in c.path or c.path.startswith("/nix") or c.path == "/target"
    ]


def assert_clean(engine: Any, target_id: str) -> None:
    assert sidecars_of(engine, target_id) == []
    assert ours_in_diff(engine, target_id) == []


@pytest.fixture
def distroless(run_target: Any, distroless_image: str) -> Any:
    return run_target(distroless_image)


def test_shell_less_target_root_mode(engine: Any, distroless: Any, busybox_image: str) -> None:
    """The target's files are at /, its PID 1 is its server, and nothing stays behind."""
    r = cdebug(
        "exec",
        "--image",
        busybox_image,
        distroless.name,
        "sh",
        "-c",
        "ls /; echo ---; ps -o pid,user,args; echo ---; cat /etc/passwd; echo ---;"
        ' [ -x "$SHELL" ] && echo "SHELL=$SHELL"',
    )
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr
    listing, procs, passwd, shell = out.split("---\n")
    assert {"app", "etc", "home"} <= set(listing.split())
    assert ".cdebug" not in listing
    first = procs.splitlines()[1].split()
    assert first[0] == "1" and first[-1] == "/app/server"
    assert "nonroot:x:65532" in passwd
    # The target has no /bin/sh: SHELL is the toolkit's, and the mode's line says what fails.
    assert shell.startswith("SHELL=/.cdebug-") and shell.rstrip().endswith("/bin/sh"), shell
    assert "root mode" in r.stderr.decode()
    assert "the target has no /bin/sh" in r.stderr.decode()
    assert_clean(engine, distroless.id)


def test_exit_code_is_the_commands(engine: Any, distroless: Any, busybox_image: str) -> None:
    r = cdebug(
        "exec",
        "-q",
        "--image",
        busybox_image,
        distroless.name,
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    )
    assert r.returncode == 3
    assert r.stdout == b"out\n"
    assert r.stderr == b"err\n"
    assert_clean(engine, distroless.id)


def test_stdin_without_tty(engine: Any, distroless: Any, busybox_image: str) -> None:
    r = cdebug(
        "exec",
        "-i",
        "-q",
        "--image",
        busybox_image,
        distroless.name,
        input=b"echo from-stdin\nid -u\nexit 4\n",
    )
    assert r.stdout.decode().split() == ["from-stdin", "0"]
    assert r.returncode == 4


def test_environment_and_workdir_of_the_target(
    engine: Any, distroless: Any, busybox_image: str
) -> None:
    """The shell starts in the target's workdir with its env, PATH merged with the toolkit's."""
    r = cdebug(
        "exec",
        "-q",
        "--image",
        busybox_image,
        distroless.name,
        "sh",
        "-c",
        'pwd; echo "$APP_MODE"; echo "$PATH"; echo "$CDEBUG_TARGET_ROOT"',
    )
    pwd, mode, path, root = r.stdout.decode().splitlines()
    assert pwd == "/app"
    assert mode == "production"
    parts = path.split(":")
    assert parts[0] == "/app/bin"
    assert any(p.startswith("/.cdebug-") and p.endswith("/bin") for p in parts)
    assert root == "/"


def test_options_after_target_belong_to_the_command(
    engine: Any, distroless: Any, busybox_image: str
) -> None:
    r = cdebug("exec", "-q", "--image", busybox_image, distroless.name, "ls", "-a", "/app")
    assert r.returncode == 0, r.stderr
    assert "server" in r.stdout.decode().split()
    # A command named like an option is a command, as with docker exec: not found, 127 (the
    # shell's exec took it for its own option: "illegal option -v", 2).
    r = cdebug("exec", "-q", "--image", busybox_image, distroless.name, "-v")
    assert r.returncode == 127, r.stderr
    assert b"-v" in r.stderr and b"illegal option" not in r.stderr
    r = cdebug("exec", "-q", "--image", busybox_image, distroless.name, "nosuchcmd")
    assert r.returncode == 127 and r.stderr == b"nosuchcmd: command not found\n", r.stderr


def test_a_reader_that_goes_ends_the_session_quietly(
    engine: Any, distroless: Any, busybox_image: str
) -> None:
    """`cdebug-tui exec T CMD | head -2`: the pipe closes under the output; the session ends
    with 141 as docker's does, no traceback, nothing left behind."""
    argv = [sys.executable, "-m", "cdebug_tui", "exec", "-q", "--image", busybox_image]
    proc = subprocess.Popen(
        [*argv, distroless.name, "seq", "1", "1000000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"1\n"
    proc.stdout.close()
    assert proc.wait(timeout=60) == 141
    assert b"Traceback" not in proc.stderr.read()
    assert_clean(engine, distroless.id)


def test_a_recording_that_cannot_be_written_is_refused_first(
    engine: Any, distroless: Any, busybox_image: str, tmp_path: Any
) -> None:
    """--record to a missing directory, to a directory, or to a file that exists (it was
    recorded over): one line and 125, before anything is made (it was a traceback and 1,
    after the sidecar had started)."""
    existing = tmp_path / "notes.txt"
    existing.write_text("precious\n")
    for path in (tmp_path / "missing" / "x.cast", tmp_path, existing):
        r = cdebug("exec", "-q", "--record", str(path), "--image", busybox_image, distroless.name)
        assert r.returncode == 125, r.stderr
        lines = r.stderr.decode().splitlines()
        assert len(lines) == 1 and "cannot write the recording" in lines[0], lines
    assert not (tmp_path / "missing").exists() and existing.read_text() == "precious\n"
    assert_clean(engine, distroless.id)


def test_dynamic_toolkit_falls_back_to_toolkit_mode(
    engine: Any, distroless: Any, dynamic_toolkit: str
) -> None:
    """A dynamically linked toolkit runs in its own root; the target is at /target."""
    r = cdebug(
        "exec",
        "--image",
        dynamic_toolkit,
        distroless.name,
        "sh",
        "-c",
        'echo "$CDEBUG_TARGET_ROOT"; pwd; ls "$CDEBUG_TARGET_ROOT/app"',
    )
    assert r.returncode == 0, r.stderr
    root, pwd, *files = r.stdout.decode().split()
    assert root == "/target"
    assert pwd == "/target/app"
    assert "server" in files
    err = r.stderr.decode()
    assert "toolkit mode" in err and "dynamically linked" in err
    assert_clean(engine, distroless.id)


def test_root_mode_refused_for_dynamic_toolkit(
    engine: Any, distroless: Any, dynamic_toolkit: str
) -> None:
    r = cdebug("exec", "--mode", "root", "--image", dynamic_toolkit, distroless.name, "true")
    assert r.returncode == 125
    assert b"root mode is not possible" in r.stderr
    assert b"Traceback" not in r.stderr
    assert_clean(engine, distroless.id)


def test_nix_toolkit_links_its_store_and_removes_it(
    engine: Any, distroless: Any, nix_toolkit: str
) -> None:
    r = cdebug(
        "exec", "--image", nix_toolkit, distroless.name, "sh", "-c", "ls /; readlink /nix; ls /app"
    )
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "nix" in out.split() and "server" in out.split()
    assert "root mode" in r.stderr.decode()
    assert_clean(engine, distroless.id)


def test_forced_toolkit_mode(engine: Any, distroless: Any, busybox_image: str) -> None:
    r = cdebug(
        "exec",
        "--mode",
        "toolkit",
        "--image",
        busybox_image,
        distroless.name,
        "sh",
        "-c",
        'echo "$CDEBUG_TARGET_ROOT"; ls "$CDEBUG_TARGET_ROOT/app"; echo "$SHELL"',
    )
    # SHELL is the toolkit's own (the shell's root is the toolkit's in this mode).
    assert r.stdout.decode().split() == ["/target", "config.json", "server", "/bin/sh"]
    assert_clean(engine, distroless.id)


def test_read_only_target_uses_toolkit_mode(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    target = run_target(distroless_image, read_only=True)
    r = cdebug(
        "exec",
        "--image",
        busybox_image,
        target.name,
        "sh",
        "-c",
        'echo "$CDEBUG_TARGET_ROOT"; ls "$CDEBUG_TARGET_ROOT/app"',
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().split() == ["/target", "config.json", "server"]
    assert "Read-only file system" in r.stderr.decode()
    assert sidecars_of(engine, target.id) == []


@pytest.mark.parametrize(
    ("user", "expected"),
    [("nonroot", "65532 65532"), ("1234:99", "1234 99"), ("1234", "1234 0")],
)
def test_user(engine: Any, distroless: Any, busybox_image: str, user: str, expected: str) -> None:
    """-u runs the shell as that user, resolved in the target's /etc/passwd, in root mode; a
    uid it does not know gets group 0, as with docker exec -u."""
    r = cdebug(
        "exec",
        "-u",
        user,
        "--image",
        busybox_image,
        distroless.name,
        "sh",
        "-c",
        'echo "$(id -u) $(id -g)"; ls /app',
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines[0] == expected
    assert "server" in lines[1:]
    assert "root mode" in r.stderr.decode()
    assert_clean(engine, distroless.id)


def test_privileges(engine: Any, distroless: Any, busybox_image: str) -> None:
    """Not privileged; CAP_SYS_PTRACE added to what the target may have; nothing else."""
    r = cdebug(
        "exec",
        "-q",
        "--image",
        busybox_image,
        distroless.name,
        "sh",
        "-c",
        "grep -E 'CapEff|CapBnd' /proc/self/status /proc/1/status",
    )
    caps = {}
    for line in r.stdout.decode().splitlines():
        where, field, value = line.replace(":", " ").split()
        caps[(where.split("/")[2], field)] = int(value, 16)
    cap_sys_ptrace = 1 << 19
    assert caps[("self", "CapEff")] & cap_sys_ptrace
    assert not caps[("1", "CapBnd")] & cap_sys_ptrace
    # The sidecar's bounding set is the target's plus CAP_SYS_PTRACE: not privileged.
    assert caps[("self", "CapBnd")] == caps[("1", "CapBnd")] | cap_sys_ptrace


def test_two_sessions_on_one_target(engine: Any, distroless: Any, busybox_image: str) -> None:
    """A second session runs while the first one does, and each removes only its own links."""
    first = interactive_exec(busybox_image, distroless.name)
    try:
        assert first.stdin and first.stdout
        second = cdebug("exec", "-q", "--image", busybox_image, distroless.name, "ls", "-a", "/")
        assert second.returncode == 0
        assert len([n for n in second.stdout.decode().split() if n.startswith(".cdebug-")]) == 2
        first.stdin.write(b"ls -a / | grep -c '^.cdebug-'\nexit\n")
        first.stdin.flush()
        assert first.stdout.readline() == b"1\n"
        assert first.wait(timeout=30) == 0
    finally:
        first.kill()
    assert_clean(engine, distroless.id)


def test_kill_9_leaves_nothing(engine: Any, distroless: Any, busybox_image: str) -> None:
    """When cdebug-tui dies without a chance to clean up, the sidecar notices and goes."""
    proc = interactive_exec(busybox_image, distroless.name)
    assert len(sidecars_of(engine, distroless.id)) == 1
    proc.kill()
    proc.wait()
    wait_for(lambda: not sidecars_of(engine, distroless.id), 15, "the sidecar to go")
    assert ours_in_diff(engine, distroless.id) == []


def test_cleanup_removes_links_a_restarted_target_kept(
    engine: Any, distroless: Any, busybox_image: str
) -> None:
    """A target restarted under a session takes the supervisor with it, and its link stays in
    the target's root: the session's end removes it (it stayed); one that a cdebug-tui killed
    meanwhile left, `cdebug-tui cleanup` removes (it said "no sidecars left behind" and
    left it); a live session's link stays."""
    from tests.engine.helpers import wait_or_tell

    first = interactive_exec(busybox_image, distroless.name)
    engine.api.restart(distroless.id, timeout=0)
    assert wait_or_tell(first, 30) == 125
    assert ours_in_diff(engine, distroless.id) == []
    # Frozen while its target restarts, then killed: nothing of it removes the link.
    frozen = interactive_exec(busybox_image, distroless.name)
    try:
        frozen.send_signal(signal.SIGSTOP)
        engine.api.restart(distroless.id, timeout=0)
        wait_for(lambda: not sidecars_of(engine, distroless.id), 30, "the sidecar to go")
    finally:
        frozen.kill()
        frozen.wait()
    assert len(ours_in_diff(engine, distroless.id)) == 1
    r = cdebug("cleanup", timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"from {distroless.name}, left by a session" in r.stdout.decode(), r.stdout
    assert ours_in_diff(engine, distroless.id) == []

    live = interactive_exec(busybox_image, distroless.name)
    try:
        assert len(ours_in_diff(engine, distroless.id)) == 1
        r = cdebug("cleanup", timeout=120)
        assert r.returncode == 0, r.stderr
        assert len(ours_in_diff(engine, distroless.id)) == 1  # the live session's
        assert live.stdin is not None and live.stdout is not None
        live.stdin.write(b"echo still-here\n")
        live.stdin.flush()
        assert live.stdout.readline() == b"still-here\n"
        live.stdin.close()
        assert wait_or_tell(live, 30) == 0
    finally:
        live.kill()
    assert_clean(engine, distroless.id)


def test_cleanup_removes_links_from_a_stopped_target(
    engine: Any, distroless: Any, busybox_image: str
) -> None:
    """A link left in a target that stopped under a cdebug-tui killed meanwhile: `cleanup`
    removes it from the stopped target's writable layer, and the target stays stopped (it
    said the link stays until the target runs again)."""
    frozen = interactive_exec(busybox_image, distroless.name)
    try:
        frozen.send_signal(signal.SIGSTOP)
        engine.api.kill(distroless.id)
        wait_for(lambda: not sidecars_of(engine, distroless.id), 30, "the sidecar to go")
    finally:
        frozen.kill()
        frozen.wait()
    (link,) = ours_in_diff(engine, distroless.id)
    r = cdebug("cleanup", timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"removed {link} from {distroless.name}" in r.stdout.decode(), r.stdout
    assert_clean(engine, distroless.id)
    assert engine.inspect(distroless.id).state == "exited"


def _read_until(fd: int, needle: bytes, timeout: float = 30) -> bytes:
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{needle!r} not seen; got {buf[-500:]!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return buf


def _set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


@contextlib.contextmanager
def _exec_in_pty(
    image: str, target: str, env: dict[str, str] | None = None, options: tuple[str, ...] = ()
) -> Iterator[tuple[int, int]]:
    """`cdebug-tui exec -it` (and `options`) in a real terminal: (its pid, the terminal's fd);
    killed after."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: cdebug-tui in the terminal
        argv = ["exec", "-it", "-q", *options, "--image", image, target]
        os.execvpe(
            sys.executable,
            [sys.executable, "-m", "cdebug_tui", *argv],
            {**os.environ, **(env or {})},
        )
    try:
        yield pid, fd
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)


def test_tty_follows_the_terminal(engine: Any, distroless: Any, busybox_image: str) -> None:
    """-it in a real terminal: a prompt, `stty size` matches, and follows a resize."""
    with _exec_in_pty(busybox_image, distroless.name) as (pid, fd):
        _set_size(fd, 30, 100)
        _read_until(fd, b"# ")
        os.write(fd, b"stty size\r")
        assert b"30 100" in _read_until(fd, b"30 100")
        _set_size(fd, 40, 120)
        os.kill(pid, signal.SIGWINCH)
        deadline = time.monotonic() + 10
        seen = b""
        while b"40 120" not in seen and time.monotonic() < deadline:
            os.write(fd, b"stty size\r")
            seen = _read_until(fd, b"# ")
        assert b"40 120" in seen
        os.write(fd, b"exit 5\r")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 5
    wait_for(lambda: not sidecars_of(engine, distroless.id), 15, "the sidecar to go")


def test_a_command_on_a_terminal_starts_at_its_size(
    engine: Any, distroless: Any, busybox_image: str
) -> None:
    """`exec -t T stty size` (and -it) in a 33x77 terminal prints 33 77: the command ran
    before the engine's resize 1 time in 3 with -t, and busybox stty then failed, as it does
    under `docker exec -t`."""
    for flags in ("-t", "-it", "-t", "-t", "-t"):
        argv = [sys.executable, "-m", "cdebug_tui", "exec", flags, "-q", "--image", busybox_image]
        out = _on_a_terminal([*argv, distroless.name, "stty", "size"], 33, 77)
        assert out == b"33 77\r\n", (flags, out)
    wait_for(lambda: not sidecars_of(engine, distroless.id), 15, "the sidecars to go")


def test_tty_without_a_terminal_for_input(engine: Any, distroless: Any, busybox_image: str) -> None:
    """`exec -t T cmd < file`, as docker exec -t takes it: a TTY with no input, at the size of
    the terminal the output goes to, else 24x80 (it was refused as "not a TTY"); -it with no
    terminal for input is still refused."""
    argv = [sys.executable, "-m", "cdebug_tui", "exec", "-t", "-q", "--image", busybox_image]
    command = [*argv, distroless.name, "sh", "-c", "stty size; [ -t 0 ] && echo stdin-tty"]
    out = _on_a_terminal(command, 31, 91, stdin_too=False)
    # The output's terminal is left cooked, as docker exec -t leaves it: \r\r\n shows as \r\n.
    assert out.replace(b"\r\r\n", b"\r\n") == b"31 91\r\nstdin-tty\r\n", out
    piped = cdebug(*argv[3:], distroless.name, "stty", "size", input=b"")
    assert (piped.returncode, piped.stdout, piped.stderr) == (0, b"24 80\r\n", b"")
    # As typed, it is `docker exec -t`: no stdin goes to it.
    explained = cdebug(*argv[3:], "--explain", distroless.name, "true", input=b"")
    assert b"  docker exec -t --detach-keys" in explained.stderr, explained.stderr
    refused = cdebug("exec", "-it", "-q", "--image", busybox_image, distroless.name, input=b"")
    assert refused.returncode == 125 and b"not a TTY" in refused.stderr
    wait_for(lambda: not sidecars_of(engine, distroless.id), 15, "the sidecars to go")


def _on_a_terminal(argv: list[str], rows: int, cols: int, *, stdin_too: bool = True) -> bytes:
    """What `argv` writes to a terminal of `rows` x `cols` (its stdin too, or /dev/null), once
    it has exited 0."""
    primary, secondary = os.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen(
        argv,
        stdin=secondary if stdin_too else subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary,
        start_new_session=True,
    )
    os.close(secondary)
    out = b""
    try:
        while chunk := _read_some(primary):
            out += chunk
        assert proc.wait(timeout=30) == 0, out
    finally:
        proc.kill()
        os.close(primary)
    return out


def _read_some(fd: int) -> bytes:
    """What the terminal's other end has written next; b"" once it closed (EIO on Linux)."""
    ready, _, _ = select.select([fd], [], [], 30)
    if not ready:
        raise TimeoutError("the command wrote nothing for 30 s")
    try:
        return os.read(fd, 4096)
    except OSError:
        return b""


def test_keys_typed_while_the_session_starts_reach_the_shell(
    engine: Any, distroless: Any, busybox_image: str
) -> None:
    """-it: a command typed before the prompt showed runs once the shell is there."""
    with _exec_in_pty(busybox_image, distroless.name) as (pid, fd):
        os.write(fd, b"echo typed-ahead-$((40+2))\r")
        assert b"typed-ahead-42\r\n" in _read_until(fd, b"typed-ahead-42\r\n")
        os.write(fd, b"exit\r")
        os.waitpid(pid, 0)
    wait_for(lambda: not sidecars_of(engine, distroless.id), 15, "the sidecar to go")


@pytest.mark.parametrize("client", ["local socket", "docker-py"])
def test_ctrl_p_typed_alone_reaches_the_shell_at_once(
    engine: Any, distroless: Any, busybox_image: str, client: str
) -> None:
    """ctrl+p on its own recalls the last command at once: the engine held it back until the
    next key, as the start of its detach keys (ctrl+p ctrl+q), so the recall never showed."""
    env = {"CDEBUG_TUI_DOCKER_PY": "1"} if client == "docker-py" else {}
    with _exec_in_pty(busybox_image, distroless.name, env) as (pid, fd):
        _read_until(fd, b"# ")
        os.write(fd, b"echo recalled-$((6*7))\r")
        out = _read_until(fd, b"recalled-42\r\n")
        if b"# " not in out.split(b"recalled-42\r\n", 1)[1]:
            _read_until(fd, b"# ")  # the prompt after it, unless it came with the output
        os.write(fd, b"\x10")  # ctrl+p, and nothing after it
        assert b"echo recalled-$((6*7))" in _read_until(fd, b"echo recalled-$((6*7))", 10)
        os.write(fd, b"\r")
        _read_until(fd, b"recalled-42\r\n")
        os.write(fd, b"exit\r")
        os.waitpid(pid, 0)
    wait_for(lambda: not sidecars_of(engine, distroless.id), 15, "the sidecar to go")


def test_an_unknown_current_context_is_refused(
    engine: Any, distroless: Any, busybox_image: str, tmp_path: Any
) -> None:
    """DOCKER_CONTEXT naming no context: the docker CLI refuses to run; so does exec, rather
    than run on the default engine (it did, silently)."""
    if os.environ.get("DOCKER_HOST"):
        pytest.fail("the test needs DOCKER_HOST unset: it overrides DOCKER_CONTEXT")
    env = {"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "nosuchctx"}
    r = cdebug("exec", "-q", "--image", busybox_image, distroless.name, "true", env=env)
    assert r.returncode == 125, r.stderr
    assert "context 'nosuchctx' not found" in r.stderr.decode()
    assert_clean(engine, distroless.id)


def test_a_target_that_stops_under_exec_it_is_said_on_a_line_of_its_own_and_left_clean(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> None:
    """`exec -it`, and the target stops: the line saying so starts on a line of its own (it
    came after the shell's prompt, on its line) with the target's exit code, cdebug-tui's exit
    code is 125, and the session's link
    does not stay in the stopped target (it stayed until the target ran again)."""
    target = run_target(distroless_image, network_mode="none")
    with _exec_in_pty(busybox_image, target.name) as (pid, fd):
        _read_until(fd, b"# ")
        engine.api.kill(target.id)
        out = _read_until(fd, b"session ended")
        out += _read_until(fd, b"\n")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 125
    # With the target's exit code (killed: 137), as the app's header says it.
    assert b"\r\ncdebug-tui: session ended: the target stopped (exit code 137)" in out, out[-200:]
    wait_for(lambda: not sidecars_of(engine, target.id), 15, "the sidecar to go")
    # The session's link, which its supervisor could not remove (it went with the target's
    # PID namespace), is removed from the stopped target's layer: nothing of ours is left.
    assert ours_in_diff(engine, target.id) == []
    assert engine.inspect(target.id).state == "exited"


def test_env_and_workdir_as_docker_exec_takes_them(
    engine: Any, distroless: Any, busybox_image: str
) -> None:
    """-e KEY=VALUE sets a variable over the target's, -e KEY passes this terminal's value,
    -w DIR starts in DIR; a DIR that is missing fails as docker exec -w does (126), a relative
    one is a usage error (125). They were unknown options."""
    r = cdebug(
        "exec",
        "-q",
        "-e",
        "GREETING=hello there",
        "-e",
        "CDEBUG_TEST_PASSED",
        "-e",
        "CDEBUG_TEST_UNSET",
        "-e",
        "PS1=mine> ",  # over cdebug-tui's own, as docker exec -e TERM is over docker's
        "-w",
        "/app",
        "--image",
        busybox_image,
        distroless.name,
        "sh",
        "-c",
        'echo "$GREETING|$CDEBUG_TEST_PASSED|${CDEBUG_TEST_UNSET-unset}|$PWD|$PS1"; ls',
        env={"CDEBUG_TEST_PASSED": "from here"},
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == [
        "hello there|from here|unset|/app|mine> ",
        "config.json",
        "server",
    ]
    r = cdebug("exec", "-q", "-w", "/nope", "--image", busybox_image, distroless.name, "true")
    assert r.returncode == 126
    assert r.stderr.decode() == "cdebug-tui: cannot change to /nope\n"
    r = cdebug("exec", "-q", "-w", "app", "--image", busybox_image, distroless.name, "true")
    assert r.returncode == 125 and "-w takes an absolute path" in r.stderr.decode()
    assert_clean(engine, distroless.id)
