"""Provides DebugSession: a sidecar, the shell running in it, and its attach streams."""

from __future__ import annotations

import dataclasses
import itertools
import shlex
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from cdebug_tui.engine import copy as copies
from cdebug_tui.engine import entrypoint as ep
from cdebug_tui.engine import profiles
from cdebug_tui.engine import toolkit as tk
from cdebug_tui.engine.basics import INIT_PATH, exportable, host_init_path
from cdebug_tui.engine.models import (
    DETACH_KEYS,
    SIDECAR_GONE,
    SIDECAR_LIMIT_KEYS,
    Mode,
    SessionSpec,
    Step,
    TargetInfo,
    target_info,
)
from cdebug_tui.engine.protocol import SupervisorChannel
from cdebug_tui.engine.sidecar import (
    SidecarConfig,
    check_target,
    home_of,
    reaped,
    resolve_user,
    shell_command,
    shell_env,
    sidecar_config,
)
from cdebug_tui.engine.stream import STDERR, STDOUT, Stream
from cdebug_tui.engine.subreaper import engine_init, install_init
from cdebug_tui.engine.toolkit import ensure_image
from cdebug_tui.errors import (
    CdebugError,
    EngineRequestError,
    SessionError,
    TargetNotFoundError,
    TargetNotRunningError,
    ToolkitError,
)

if TYPE_CHECKING:
    # Types only: `cdebug-tui exec` reaches a local engine without docker-py (LocalEngine).
    from cdebug_tui.engine.client import Engine, EventStream, ProgressCallback
    from cdebug_tui.engine.quick import QuickStart

__all__ = [
    "STDERR",
    "STDOUT",
    "DebugSession",
    "ensure_image",
    "prepare_session",
    "start_session",
    "start_session_in_copy",
]

StepCallback = Callable[[Step], None]
#: exec_id of a direct session's shell, which runs without an exec (see DebugSession).
DIRECT_SHELL = "direct"
#: The watchdog of a direct session: when its stdin closes (cdebug-tui has gone, however it
#: went, or it closed the session), it ends the session's processes; the supervisor, whose
#: TTY never closes, then removes its links and exits, as on its stdin's EOF.
_WATCHDOG = 'while read -r _; do :; done; eval "$CDEBUG_REAPER"'
#: Seconds after a direct session's shell starts when its watchdog starts without output.
WATCHDOG_AFTER = 0.3


class DirectDeclined(SessionError):
    """A direct session was not possible after all (a toolkit without stty, an engine that
    will not bind the host's tini): nothing was left, and the usual session follows."""


#: Target events that end a session: the target's processes are gone or frozen.
ENDING_EVENTS = {"die": "stopped", "pause": "was paused", "destroy": "was removed"}


class DebugSession:
    """A debug shell in a sidecar: read its output, write its input, resize it, close it.

    Closing (or the owning process dying) closes the supervisor's stdin: it removes the links it
    made in the target and exits, and the engine removes the sidecar.

    A direct session (`cdebug-tui exec -it` on a local Docker) has no exec: its sidecar has a
    TTY, its supervisor runs the shell there itself, and a watchdog exec started after the
    prompt stands for the supervisor's stdin (a TTY's never closes). One process start fewer
    (40-70 ms) and the host's tini bound in, rather than sent: what `docker run -it` pays.
    """

    def __init__(
        self,
        engine: Engine,
        spec: SessionSpec,
        target: TargetInfo,
        config: SidecarConfig,
        supervisor: SupervisorChannel,
        steps: _Steps,
    ) -> None:
        self.engine = engine
        self.spec = spec
        self.target = target
        self.config = config
        self.sidecar_id = ""
        self.supervisor = supervisor
        self._steps = steps
        self.link = ""
        self.uid_gid: tuple[int, int] | None = None
        #: The -u user's home in the target's /etc/passwd, for HOME.
        self.home: str | None = None
        self.toolkit_path = tk.DEFAULT_PATH
        self.mode = Mode.ROOT
        self.mode_reason = ""
        #: What the mode means beyond its reason (no /bin/sh in the target, the host's PID
        #: namespace): said apart, so that a narrow header keeps them when the reason goes.
        self.mode_warnings: list[str] = []
        self.target_root = "/"
        self.supervisor_pid = 0
        #: The sidecar's tini (a child subreaper for the session's reapers); "" without one.
        self.init_path = ""
        self.probe: dict[str, str] = {}
        self.exec_id = ""
        self.stream: Stream | None = None
        self._exit_code: int | None = None
        self._closed = False
        self._close_lock = threading.Lock()
        #: Commands being started or run in the sidecar (busy()); close() waits for them, as the
        #: supervisor can end only what it finds running.
        self._busy = 0
        self._idle = threading.Condition(self._close_lock)
        self._watcher: Any = None
        self._resize_lock = threading.Lock()
        self._size_wanted: tuple[int, int] | None = None
        #: The last size asked for: asking again for it sends nothing (no SIGWINCH, no redraw).
        self._size_asked: tuple[int, int] | None = None
        #: Output read ahead of the session's reader (read_ahead), not yet taken.
        self._ahead: list[tuple[int, bytes]] = []
        self._resizing = False
        #: The shell's input held back until its first size is sent (None: not held), so that
        #: what the first keys run (stty size, vi) sees that size, not the PTY's default.
        #: Held, not waited for: the UI thread writes the terminal's answers to queries.
        self._held: list[bytes] | None = None
        self._input_lock = threading.Lock()
        self._runs = itertools.count(1)
        #: Why the session ended on its own, e.g. "the target was paused"; None otherwise.
        self.ended_reason: str | None = None
        #: The target's exit code when it stopped during the session (its die event says).
        self.target_exit_code: int | None = None
        #: The debug copy the sidecar joins, for a stopped container or an image; removed last
        #: (with the last session in it).
        self.copy: copies.DebugCopy | None = None
        #: Set once this session has let go of its copy (removed with it, when it was the last).
        self._copy_released = threading.Event()
        #: A direct session (see the class): the shell runs on the sidecar's own TTY.
        self.direct = False
        #: Direct: the watchdog's stream (its stdin held open), once the prompt has come.
        self._watchdog: Stream | None = None
        self._watchdog_started = False
        #: Direct: whether the shell's script has gone to the supervisor (no "end" then).
        self._shell_sent = False
        #: When the session began (time.time()), for the engine's events since then.
        self._since = time.time()
        #: Direct: set when the sidecar has exited, with its exit code (the shell's).
        self._exited = threading.Event()
        self._sidecar_code: int | None = None

    def watch_target(self, stream: EventStream) -> None:
        """Ends the session as soon as the target stops, is paused or removed (engine events).

        A paused target's processes are frozen while the sidecar's are not; a stopped one
        takes its PID namespace, and so the shell, with it: either way the session is over.

        Args:
            stream: The target's events, opened before the sidecar started (events since then
                wait in it).
        """
        self._watcher = stream

        def watch() -> None:
            try:
                for event in stream:
                    reason = ENDING_EVENTS.get(event.action)
                    if event.action == "die":
                        self.target_exit_code = event.exit_code
                    if reason:
                        self.ended_reason = f"the target {reason}"
                        self.close()
                        return
            except CdebugError:
                pass  # The engine went away: the stream's reader sees that too.

        threading.Thread(target=watch, name=f"watch-{self.target.short_id}", daemon=True).start()

    def watch_sidecar(self) -> None:
        """Ends the session when its sidecar goes from outside while the target runs on: the
        shell's exec then hangs, silent, with no end (`exec` waited forever, deaf to ctrl+c).
        The supervisor's stream ends then, as at the session's own end."""

        def watch() -> None:
            self.supervisor.wait_end()
            # A target that stopped took the sidecar with it, and the engine may show that a
            # moment later (its output drained first): its own words are waited for.
            deadline = time.monotonic() + 3.0
            while not self._closed and not self.ended_reason:
                fault, _ = self._target_now()
                if fault is None:
                    try:
                        gone = not self.engine.inspect(self.sidecar_id).running
                    except TargetNotFoundError:
                        gone = True
                    except CdebugError:
                        gone = False  # the engine does not answer: the shell's stream says so
                    if not gone:
                        return  # only the connection ended (a proxy's idle timeout): go on
                    if time.monotonic() < deadline:
                        time.sleep(0.1)
                        continue
                with self._close_lock:
                    if self.ended_reason is None:
                        self.ended_reason = fault or SIDECAR_GONE
                self.close()
                return

        threading.Thread(target=watch, name=f"sidecar-{self.target.short_id}", daemon=True).start()

    @property
    def mode_explained(self) -> str:
        """The mode's reason and its warnings, as one line says them."""
        return "; ".join([self.mode_reason, *self.mode_warnings])

    @property
    def session_id(self) -> str:
        return self.config.session_id

    @property
    def target_pid(self) -> int:
        """The target's main process as the sidecar sees it (its host PID for --pid host)."""
        return self.config.target_pid

    @property
    def tty(self) -> bool:
        return self.spec.tty

    @property
    def steps(self) -> list[Step]:
        """What cdebug-tui did for this session, in order."""
        return self._steps.steps

    @property
    def closed(self) -> bool:
        """Whether the session has ended (closed, or its target stopped or went)."""
        return self._closed

    @property
    def started(self) -> bool:
        """Whether the shell runs (a prepared session has only its sidecar)."""
        return bool(self.exec_id)

    def start_shell(self) -> None:
        """Starts the session's shell (or command) as an exec into the running sidecar.

        Raises:
            SessionError: When the sidecar is gone or refuses the exec.
        """
        with self.busy():
            self._start_shell()

    def _start_shell(self) -> None:
        spec, uid_gid = self.spec, self.uid_gid
        try:
            t0 = time.monotonic()
            env = shell_env(
                self.target,
                mode=self.mode,
                toolkit_path=self.toolkit_path,
                link=self.link,
                target_root=self.target_root,
                session_id=self.config.session_id,
                tty=spec.tty,
                term=spec.term,
                home=self.home,
                sh=self.probe.get("sh") or "/bin/sh",
                extra=spec.env,
                workdir=spec.workdir,
            )
            argv = shell_command(
                mode=self.mode,
                link=self.link,
                sh=self.probe.get("sh") or "/bin/sh",
                chroot=self.probe.get("chroot") or "chroot",
                nsenter=self.probe.get("nsenter") or "nsenter",
                target_root=self.target_root,
                command=spec.command,
                uid_gid=uid_gid,
                target_pid=self.config.target_pid,
            )
            argv = self.reaped(argv, self.session_id)
            if spec.tty and spec.command:
                # A command (not the shell, whose prompt a SIGWINCH redraws) may read its size
                # at once, before the engine's resize: the reaper sets it first (`exec -t T
                # stty size` failed 1 time in 3, as `docker exec -t` does).
                env = [*env, f"CDEBUG_TTY_SIZE={spec.rows} {spec.cols}"]
            if self.direct:
                self._start_direct(env, argv, t0)
                return
            exec_user = "0"
            if self.mode == Mode.TOOLKIT and uid_gid is not None:
                exec_user = f"{uid_gid[0]}:{uid_gid[1]}"
            exec_id = self.engine.exec_create(
                self.sidecar_id,
                argv,
                stdin=spec.interactive,
                tty=spec.tty,
                env=env,
                user=exec_user,
            )
            self.exec_id = exec_id
            self.stream = self.engine.exec_start(exec_id, tty=spec.tty)
            if spec.tty:
                # Beside the shell's start, not before it (the engine answers a resize in
                # 50-90 ms, once the exec runs): the prompt may come first at the PTY's
                # default width; the size follows as a SIGWINCH, as with `docker exec -it`.
                with self._input_lock:
                    self._held = []
                with self._resize_lock:
                    self._size_wanted = self._size_asked = (spec.rows, spec.cols)
                    self._resizing = True
                threading.Thread(target=self._send_sizes, name="resize", daemon=True).start()
            flags = [
                ("-it" if spec.interactive else "-t")
                if spec.tty
                else "-i"
                if spec.interactive
                else ""
            ]
            if spec.tty:
                flags.append(f"--detach-keys {shlex.quote(DETACH_KEYS)}")
            flags.append(f"-u {exec_user} {self.config.name} {shlex.join(argv)}")
            # Joined over the empty flag: `docker exec  -u 0` had two spaces.
            self._steps.add("start the shell", "docker exec " + " ".join(f for f in flags if f), t0)
        except EngineRequestError as exc:
            raise SessionError(
                f"cannot start the shell: {exc.explanation}"
                + (f" ({self.ended_reason})" if self.ended_reason else "")
            ) from exc

    def _start_direct(self, env: list[str], argv: list[str], t0: float) -> None:
        """Starts a direct session's shell: the supervisor runs it on the sidecar's TTY, whose
        stream becomes the shell's."""
        # Names were checked before the sidecar was made (direct_init): each a shell's name.
        script = "".join(f"export {shlex.quote(item)}\n" for item in env)
        script += f"exec {shlex.join(argv)}\n"
        self._shell_sent = True  # from now on, ending it is the reapers' (see _end_direct)
        self.supervisor.send_shell(script)
        self.exec_id = DIRECT_SHELL
        self.stream = self.supervisor.stream
        # The watchdog once the prompt is there (read()), or after a moment for a command
        # that prints nothing: an exec beside the shell's start slowed it.
        timer = threading.Timer(WATCHDOG_AFTER, self._watch_soon)
        timer.daemon = True
        timer.start()
        watchdog = shlex.join(["docker", "exec", "-i", self.config.name, *self._watchdog_argv()])
        self._steps.add(
            "start the shell",
            "# the supervisor runs it on the sidecar's own TTY (-t), no exec: in a subshell,\n"
            "# the shell's environment exported, then\n"
            f"exec {shlex.join(argv)}\n"
            "# and once the prompt is there, the watchdog (its stdin held open):\n"
            f"{watchdog}",
            t0,
            "the watchdog ends it (and the sidecar) when its stdin closes: when cdebug-tui goes",
        )

    @contextmanager
    def busy(self) -> Iterator[None]:
        """Holds the session open while a command is started or run in the sidecar.

        The supervisor ends only the processes it finds when its stdin closes: one that an
        exec started a moment later would be killed with the sidecar, and its children, left
        to the target's PID 1, stay there as zombies. close() waits for what is held.

        Raises:
            SessionError: When the session has ended (or is ending).
        """
        with self._idle:
            if self._closed:
                raise SessionError(f"the session has ended: {self.ended_reason or 'closed'}")
            self._busy += 1
        try:
            yield
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    # -- the shell's streams ---------------------------------------------------------------

    def read_ahead(self, first: float = 2.0, quiet: float = 0.05) -> None:
        """Reads what the shell prints as it starts (a banner, its prompt) ahead of the
        session's reader, for take_ahead: waits up to `first` seconds for output, then until
        `quiet` seconds pass without more. The end of the output is left to read()."""
        stream = self.stream
        if stream is None:
            return
        wait = first
        while not self._closed and stream.ready(wait):
            try:
                kind, data = stream.read()
            except OSError:
                break  # the reader meets it again and ends the session
            if not data:
                # Not the reader's: the end is read again (the stream keeps saying so).
                break
            self._ahead.append((kind, data))
            wait = quiet

    def take_ahead(self) -> bytes:
        """The output read ahead (read_ahead) and not read since; read() returns it first
        otherwise."""
        ahead, self._ahead = self._ahead, []
        return b"".join(data for _, data in ahead)

    def read(self) -> tuple[int, bytes]:
        """Blocks for the shell's next output chunk: (1 stdout or 2 stderr, bytes); b"" at EOF."""
        if self._ahead:
            return self._ahead.pop(0)
        if self.stream is None:
            return STDOUT, b""
        # Waits in steps, so that a reader always sees the session closed, whichever way it
        # closed (a reader once stayed blocked in recv after the session had ended).
        while not self._closed and not self.stream.ready(1.0):
            pass
        if self._closed and not self.stream.ready(0):
            return STDOUT, b""
        kind, data = self.stream.read()
        if data and self.direct and not self._watchdog_started:
            self._watch_soon()  # after the prompt: an exec beside the shell's start slowed it
        if not data and self.ended_reason is None:
            reason = self._why_ended()
            # The target watcher may have said why in the meantime: keep its word.
            if self.ended_reason is None:
                self.ended_reason = reason
        return kind, data

    def _why_ended(self) -> str | None:
        """Why the shell's output ended when nobody closed it: the target's fault, or None."""
        if self._closed:
            return None
        # A shell killed with its PID namespace (a signal's code, or none) ended because of the
        # target, whose state the engine may not show yet: give it a moment (1.5 s was short on
        # a loaded machine: `docker stop` ended a session with no reason). A shell that exited
        # by itself costs no wait.
        code = self.exit_code(wait=1.0)
        answers = self._target_runs_here if self.direct else self._sidecar_answers
        if code is not None and code >= 128 and not self.ended_reason and answers():
            if self.direct and self.engine.stopped_from_outside(self.sidecar_id, self._since):
                # Its sidecar, whose main process the supervisor is, killed: not the shell.
                return SIDECAR_GONE
            # The sidecar, in the target's PID namespace, runs a command: the namespace lives,
            # and the shell's signal was its own (`exit 255`, `kill -9 $$`, ctrl+c): no wait.
            # Each such end waited the 3 s below.
            return self._target_fault()
        deadline = time.monotonic() + (3.0 if code is None or code >= 128 else 0.0)
        while True:
            reason = self.ended_reason or self._target_fault()
            if reason or time.monotonic() >= deadline:
                return reason
            time.sleep(0.05)

    def _sidecar_answers(self) -> bool:
        """Whether the sidecar runs a command now (`true`), which it cannot once the target's
        PID namespace, which it shares, is gone."""
        try:
            code, _, _ = self.run(["true"], timeout=5.0)
        except CdebugError:
            return False
        return code == 0

    def _target_runs_here(self) -> bool:
        """Direct sessions, whose sidecar has gone with the shell: whether the target's main
        process still runs, on this host (a direct session's engine is on its socket)."""
        try:
            with open(f"/proc/{self.target.pid}/stat", encoding="utf-8") as f:
                state = f.read().rpartition(")")[2].split()[0]
        except (OSError, IndexError):
            return False
        return state not in ("Z", "X")

    def _target_fault(self) -> str | None:
        """What happened to the target, as the engine says now; None when it runs as before."""
        return self._target_now()[0]

    def _target_now(self) -> tuple[str | None, TargetInfo | None]:
        """_target_fault's answer, with the inspect it came from (None when it is gone)."""
        try:
            now = self.engine.inspect(self.target.id)
        except CdebugError:
            return "the target was removed", None
        if now.paused:
            return "the target was paused", now
        if not now.running:
            return "the target stopped", now
        if now.pid != self.target.pid:
            return "the target restarted", now
        return None, now

    def target_end(self, wait: float = 2.0) -> int | None:
        """For a session its target ended: settles the reason as the engine says it once it
        has caught up with the event that ended it (`docker rm -f` sends die before destroy;
        `docker restart` runs it again) and returns the target's exit code (its die event's,
        else the engine's); None when unknown."""
        deadline = time.monotonic() + wait
        while True:
            reason, now = self._target_now()
            # The die event's code comes through the watcher's thread, maybe after the end.
            code = self.target_exit_code
            settling = now is not None and now.restarting  # a restart policy at work
            if reason is not None and not (settling and time.monotonic() < deadline):
                self.ended_reason = reason
                # Stopped, or waiting to run again: the engine still says how it ended.
                if code is None and now is not None and (not now.running or now.restarting):
                    code = now.exit_code
                return code
            if time.monotonic() > deadline:
                return code
            time.sleep(0.05)

    def write(self, data: bytes) -> None:
        """Sends bytes to the shell's stdin (keys, when it has a TTY); keys that come before
        the shell's first size has been sent go after it, in order."""
        with self._input_lock:
            if self._held is not None:
                self._held.append(data)
                return
        if self.stream is not None and not self.stream.closed:
            self.stream.write(data)

    def _release_input(self) -> None:
        with self._input_lock:
            held, self._held = self._held, None
            if held and self.stream is not None and not self.stream.closed:
                try:
                    self.stream.write(b"".join(held))
                except OSError:
                    pass  # the shell has gone: its reader says so

    def close_stdin(self) -> None:
        """Ends the shell's input, as closing a pipe does (for `-i` without a TTY)."""
        if self.stream is not None:
            self.stream.close_write()

    def resize(self, rows: int, cols: int) -> None:
        """Asks for the shell's terminal size, without waiting: a thread of the session sends
        the latest size asked for (the engine can hold a resize up to 10 s while the exec
        starts, and a UI thread must not wait on that). A session that has ended ignores it."""
        if not (self.exec_id or self.direct) or not self.tty or self._closed:
            return
        with self._resize_lock:
            if (rows, cols) == self._size_asked:
                return
            self._size_wanted = self._size_asked = (rows, cols)
            if self._resizing:
                return
            self._resizing = True
        threading.Thread(target=self._send_sizes, name="resize", daemon=True).start()

    def _send_sizes(self) -> None:
        try:
            while True:
                with self._resize_lock:
                    size, self._size_wanted = self._size_wanted, None
                    if size is None or self._closed:
                        self._resizing = False
                        return
                self._resize_now(*size)
                self._release_input()
        finally:
            self._release_input()

    def _resize_now(self, rows: int, cols: int) -> None:
        try:
            if self.direct:
                self.engine.resize_container(self.sidecar_id, rows, cols)
            else:
                self.engine.exec_resize(self.exec_id, rows, cols)
        except CdebugError:
            pass  # The shell may be gone already: a resize then means nothing.

    def exit_code(self, wait: float = 5.0) -> int | None:
        """The shell's exit code once it has ended, waiting up to `wait` seconds for the engine."""
        if self._exit_code is not None or not self.exec_id:
            return self._exit_code
        if self.direct:
            # The sidecar's, which exits with its shell's code.
            if self._exited.wait(wait):
                self._exit_code = self._sidecar_code
            return self._exit_code
        deadline = time.monotonic() + wait
        while True:
            try:
                info = self.engine.exec_inspect(self.exec_id)
            except CdebugError:
                return None
            if not info.running:
                self._exit_code = info.exit_code
                return self._exit_code
            if time.monotonic() > deadline:
                return None
            time.sleep(0.02)  # The engine records the code a moment after the stream ends.

    # -- running things in the sidecar, for the panels -------------------------------------

    def reaped(self, argv: list[str], tag: str) -> list[str]:
        """`argv` under the session's reaper, tagged `tag` (the session's id, or it and a
        suffix): the supervisor ends it, and reaps what it started, when the session ends."""
        return reaped(
            argv,
            init=self.init_path,
            sh=self.probe.get("sh") or "/bin/sh",
            tag=tag,
            toolkit_path=self.toolkit_path,
        )

    def run(self, argv: list[str], timeout: float = 10.0) -> tuple[int, bytes, bytes]:
        """Runs a command in the sidecar (the toolkit's root, the target's namespaces), under
        a reaper; a command that overruns `timeout` is killed with all it started.

        Returns:
            (exit code, stdout, stderr).

        Raises:
            SessionError: When it overran, or the sidecar stopped answering.
        """
        tag = f"{self.session_id}-r{next(self._runs)}"
        with self.busy():
            exec_id = self.engine.exec_create(self.sidecar_id, self.reaped(argv, tag), user="0")
            stream = self.engine.exec_start(exec_id)
            try:
                read = stream.read_all(timeout)
            except OSError as exc:
                raise SessionError(f"the sidecar stopped answering: {exc}") from exc
            finally:
                stream.close()
            if read is None:
                self._end_run(tag)
                raise SessionError(f"{shlex.join(argv)[:60]} did not finish within {timeout:.0f}s")
        out, err = read
        code = self.engine.exec_inspect(exec_id).exit_code
        return int(code if code is not None else -1), out, err

    def _end_run(self, tag: str, how: str = "end") -> None:
        """Kills a command that overran (and what it started), waiting until it is reaped
        (`how`: "end"; "stop" waits only until it is killed, see reaper.sh)."""
        sh = self.probe.get("sh") or "/bin/sh"
        end = [sh, "-c", 'eval "$CDEBUG_REAPER"', "cdebug-end", how, self.toolkit_path, tag]
        try:
            stream = self.engine.exec_start(self.engine.exec_create(self.sidecar_id, end))
        except CdebugError:
            return  # the sidecar is gone, and the command with it
        try:
            stream.read_all(10.0)
        except OSError:
            pass
        finally:
            stream.close()

    # -- the end ---------------------------------------------------------------------------

    def close(self, timeout: float = 10.0) -> None:
        """Ends the session: the shell, the links in the target, the sidecar. Idempotent."""
        with self._idle:
            already = self._closed
            self._closed = True
        if already:
            # Closing in another thread (the target's watcher): wait for the copy's removal,
            # which a process about to exit would otherwise cut short.
            if self.copy is not None:
                self._copy_released.wait(timeout + 5)
            return
        if self.direct:
            self._end_direct()
        # Unblock whoever reads the shell first: everything after this may wait on the engine.
        if self.stream is not None:
            self.stream.close()
            self.exit_code(wait=0.0)
        if self._watcher is not None:
            self._watcher.close()
        self._wait_idle(min(timeout, 5.0))
        # EOF on the supervisor's stdin: it ends the session's processes, removes its links
        # and exits.
        self.supervisor.close_write()
        if self.sidecar_id:
            self.engine.wait_removed(self.sidecar_id, timeout)
            # AutoRemove usually did this; do it ourselves when it has not (yet).
            try:
                self.engine.remove_container(self.sidecar_id)
            except CdebugError:
                pass
        self.supervisor.close()
        if self.copy is not None:
            try:
                self.copy.release(self, timeout)
            finally:
                self._copy_released.set()

    def _wait_idle(self, timeout: float) -> None:
        """Waits until the commands being started or run in the sidecar are (commands
        overrun by then are ended with the session), and until the shell runs."""
        deadline = time.monotonic() + timeout
        with self._idle:
            self._idle.wait_for(lambda: self._busy == 0, timeout)
        # The engine answers an exec's start before the process exists (the answer upgrades
        # the connection, then the process starts): the supervisor would not find it yet.
        # A shell whose exit code is known has come and gone: nothing to ask.
        while (
            self.exec_id
            and not self.direct
            and self._exit_code is None
            and time.monotonic() < deadline
        ):
            try:
                state = self.engine.exec_inspect(self.exec_id)
            except CdebugError:
                return
            if state.running or state.exit_code is not None:
                return
            time.sleep(0.01)

    # -- direct sessions ---------------------------------------------------------------------

    def _wait_exit(self) -> None:
        try:
            self._sidecar_code = self.engine.wait_exit(self.sidecar_id)
        finally:
            self._exited.set()

    def _watchdog_argv(self) -> list[str]:
        sh = self.probe.get("sh") or "/bin/sh"
        return [sh, "-c", _WATCHDOG, "cdebug-watchdog", "stop", self.toolkit_path, self.session_id]

    def _watch_soon(self) -> None:
        """Starts the watchdog, once, in a thread of its own."""
        with self._close_lock:
            if self._watchdog_started:
                return
            self._watchdog_started = True
        threading.Thread(target=self._start_watchdog, name="watchdog", daemon=True).start()

    def _start_watchdog(self) -> None:
        argv = self._watchdog_argv()
        try:
            with self.busy():
                exec_id = self.engine.exec_create(self.sidecar_id, argv, stdin=True)
                stream = self.engine.exec_start(exec_id)
        except CdebugError:
            return  # the session has ended (or is ending): nothing left to watch
        with self._close_lock:
            if not self._closed:
                self._watchdog = stream
                return
        stream.close()

    def _end_direct(self, timeout: float = 5.0) -> None:
        """Ends a direct session's processes (close()): the supervisor then removes its links
        and exits. Waits until the sidecar has exited (at most `timeout` seconds)."""
        if not self._shell_sent:
            self.supervisor.end()  # still speaking the protocol: the shell never ran
            return
        if self._watchdog is not None:
            self._watchdog.close()  # its stdin's EOF: it ends the session's processes
        deadline = time.monotonic() + timeout
        while not self._exited.wait(0.5) and time.monotonic() < deadline:
            # No watchdog yet, or a reaper that had not started when it looked: as it would
            # (see reaper.sh), again until the shell has ended.
            self._end_run(self.session_id, "stop")

    def __enter__(self) -> DebugSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Steps:
    def __init__(self, on_step: StepCallback | None) -> None:
        self.steps: list[Step] = []
        self.on_step = on_step

    def add(
        self, title: str, command: str, started: float, detail: str = "", ended: float = 0.0
    ) -> None:
        step = Step(title, command, started, (ended or time.monotonic()) - started, detail)
        self.steps.append(step)
        if self.on_step:
            self.on_step(step)


def start_error(text: str, image: str, target: str) -> CdebugError:
    """What the engine's refusal to start a sidecar means, as our error.

    A target that died as the sidecar joins makes runc say "namespace path: lstat
    /proc/PID/ns/net: no such file or directory": not a toolkit without a shell, which it
    was taken for (and the session on a crash loop failed instead of going on with a copy).
    """
    gone = "namespace path" in text and "no such file" in text
    if "is not running" in text or "cannot join" in text or gone:
        return TargetNotRunningError(f"{target} stopped before the sidecar could join it")
    if "executable file not found" in text or "no such file" in text.lower():
        return ToolkitError(f"the toolkit image {image} has no shell (sh)")
    return SessionError(f"cannot start the sidecar: {text}")


def start_session(
    engine: Engine,
    spec: SessionSpec,
    *,
    on_step: StepCallback | None = None,
    on_progress: ProgressCallback | None = None,
    notice: Callable[[str], None] | None = None,
    direct: bool = False,
    quick: QuickStart | None = None,
) -> DebugSession:
    """Starts a debug session on a running target: its sidecar, then its shell.

    On any failure nothing is left behind. Arguments as for prepare_session; `direct` asks
    for a direct session (see DebugSession) where one is possible.

    Raises:
        CdebugError: A subclass saying what is wrong, for the user.
    """

    def prepare(direct: bool, quick: QuickStart | None = None) -> DebugSession:
        return prepare_session(
            engine,
            spec,
            on_step=on_step,
            on_progress=on_progress,
            notice=notice,
            direct=direct,
            quick=quick,
        )

    if direct or quick is not None:
        try:
            return _with_shell(prepare(True, quick))
        except DirectDeclined as exc:
            # Nothing of it was left: the usual session, its steps after this one.
            if on_step is not None:
                started = time.monotonic()
                on_step(Step("take the usual way", f"# {exc}", started, 0.0, "an exec"))
    return _with_shell(prepare(False))


def _with_shell(session: DebugSession) -> DebugSession:
    """The session with its shell started; closed (nothing left behind) when it cannot be."""
    try:
        session.start_shell()
    except BaseException:
        session.close(timeout=5)
        raise
    return session


def start_session_in_copy(
    engine: Engine,
    spec: SessionSpec,
    copy: copies.DebugCopy,
    *,
    on_step: StepCallback | None = None,
    notice: Callable[[str], None] | None = None,
) -> DebugSession:
    """Starts another session in the debug copy a session made (a tab's `n`): its own
    sidecar and shell in the same copy, which goes with the last session in it. On any
    failure nothing of this session is left behind.

    Raises:
        CdebugError: A subclass saying what is wrong (the copy has gone, say).
    """
    if copy.removed:
        raise SessionError(f"the debug copy {copy.name} has gone")
    steps = _Steps(on_step)
    t0 = time.monotonic()
    steps.add(
        "find the target",
        f"docker inspect {copy.name}",
        t0,
        f"the running {copy.source.describe().replace('container', 'debug copy of', 1)}",
    )
    events = engine.events(container=copy.target.id)
    try:
        session = _prepare(engine, spec, copy.target, steps, events, None, notice, None, copy)
    except BaseException:
        events.close()
        raise
    return _with_shell(session)


def prepare_session(
    engine: Engine,
    spec: SessionSpec,
    *,
    on_step: StepCallback | None = None,
    on_progress: ProgressCallback | None = None,
    notice: Callable[[str], None] | None = None,
    direct: bool = False,
    quick: QuickStart | None = None,
) -> DebugSession:
    """Starts a session's sidecar and links the toolkit in, without a shell yet.

    The app prepares a session while the user is still choosing, so that the shell, an exec
    into the running sidecar, answers at once. On any failure nothing is left behind.

    Args:
        engine: The engine the target runs on.
        spec: What the user asked for.
        on_step: Called with each step taken, as it ends.
        on_progress: Called with pull progress, per layer.
        notice: Called with one-line notices for the user (fallbacks, local builds).
        direct: Whether to make a direct session (see DebugSession) where one is possible.
        quick: A direct session's sidecar, made and being started (exec's quick start).

    Raises:
        CdebugError: A subclass saying what is wrong, for the user.
    """
    profiles.profile(spec.profile)  # an unknown profile fails before anything is made
    steps = _Steps(on_step)
    t0 = time.monotonic()
    found: TargetInfo | copies.CopySource
    if quick is not None:
        found = target_info(quick.target, engine.name)
        t0 = quick.times["find the target"][0]
        if notice is not None:
            if quick.notice:
                notice(quick.notice)
            copies.say_if_an_image_too(engine, spec.target, notice)
    else:
        found = copies.find(engine, spec.target, notice=notice, on_progress=on_progress)
    retried = False
    while True:
        try:
            return _prepare_found(
                engine, spec, found, steps, t0, on_progress, notice, direct, quick
            )
        except CdebugError as exc:
            if quick is not None and not quick.adopted:
                quick.abandon()  # a failure before the session took it over
            quick = None
            if isinstance(found, copies.CopySource) or isinstance(exc, DirectDeclined):
                raise
            try:
                now = engine.inspect(found.id)
            except CdebugError:
                now = None
            if now is None:
                raise
            if now.restarting or now.state in copies.STOPPED_STATES:
                break
            if not isinstance(exc, TargetNotRunningError) or not now.running or retried:
                raise
            # It died as the sidecar joined, and its restart policy started it again: this
            # run is joined (once; a crash loop caught between two runs is copied above).
            retried, found, t0 = True, now, time.monotonic()
    # It died as the sidecar joined it (a crash loop caught in one of its short runs): its
    # files, through a copy, as when it is caught between two runs.
    if notice is not None:
        notice(f"{found.name} stopped as the session started: debugging a copy of it")
    source = copies.container_source(now)
    return _prepare_found(engine, spec, source, steps, time.monotonic(), on_progress, notice)


def _prepare_found(
    engine: Engine,
    spec: SessionSpec,
    found: TargetInfo | copies.CopySource,
    steps: _Steps,
    t0: float,
    on_progress: ProgressCallback | None,
    notice: Callable[[str], None] | None,
    direct: bool = False,
    quick: QuickStart | None = None,
) -> DebugSession:
    """prepare_session for a target found: a running one joined, or a copy made and joined."""
    copy: copies.DebugCopy | None = None
    toolkit: tuple[str, str] | None = None
    if isinstance(found, copies.CopySource):
        # A stopped container or an image: the sidecar joins a running copy of it.
        steps.add("find the target", f"docker inspect {found.name}", t0, found.describe())
        toolkit = ensure_image(engine, spec.image, on_progress, notice)
        copy = copies.make_copy(
            engine, found, toolkit=toolkit[0], toolkit_id=toolkit[1], add_step=steps.add
        )
        target = copy.target
    else:
        target = found
        check_target(target)
        ended = quick.times["find the target"][1] if quick is not None else 0.0
        steps.add(
            "find the target", f"docker inspect {target.name}", t0, f"id {target.short_id}", ended
        )
    try:
        # Listened to from now on: the engine subscribes a moment after it answers, and a pause
        # in that moment would go unseen if the subscription came last.
        events = engine.events(container=target.id)
        try:
            session = _prepare(
                engine,
                spec,
                target,
                steps,
                events,
                on_progress,
                notice,
                toolkit,
                copy,
                direct,
                quick,
            )
        except BaseException:
            events.close()
            raise
    except BaseException:
        if copy is not None:
            copy.remove()
        raise
    if copy is not None:
        copy.watch_original()
    return session


def _prepare(
    engine: Engine,
    spec: SessionSpec,
    target: TargetInfo,
    steps: _Steps,
    events: EventStream,
    on_progress: ProgressCallback | None,
    notice: Callable[[str], None] | None,
    toolkit: tuple[str, str] | None = None,
    copy: copies.DebugCopy | None = None,
    direct: bool = False,
    quick: QuickStart | None = None,
) -> DebugSession:
    """The rest of prepare_session, with the target's events already listened to (and the
    toolkit image, when a copy needed it first); with `quick`, its sidecar made already."""
    if quick is not None:
        t0, ended = quick.times["toolkit image"]
        image, image_id = quick.image, quick.image_id
    else:
        t0, ended = time.monotonic(), 0.0
        image, image_id = toolkit or ensure_image(engine, spec.image, on_progress, notice)
    steps.add("toolkit image", f"docker image inspect {image}", t0, image_id[:19], ended)

    uid_gid = None
    home: str | None = None
    passwd: str | None = None
    if spec.user:
        try:
            passwd = engine.read_file(target.id, "/etc/passwd").decode(errors="replace")
        except FileNotFoundError:
            passwd = None
        uid_gid = resolve_user(spec.user, passwd)
        home = home_of(uid_gid[0], passwd)

    config = sidecar_config(spec, target, image, quick.session_id if quick else None)
    title = copy.source.describe() if copy is not None else ""
    if quick is not None:
        entry, host_init = quick.entry, quick.host_init
    else:
        entry = _entrypoint_env(engine, target, title, config.target_pid, passwd)
        host_init = direct_init(engine, spec, target) if direct else ""
    config = dataclasses.replace(config, env=(*config.env, entry))
    if host_init:
        config = direct_config(config, host_init)
    # The engine's tini, for the reapers: read (once per engine version, then from the cache)
    # while the engine creates and starts the sidecar; the supervisor receives it once it is
    # ready. Begun before the create: its cache's path imports platformdirs (5 ms), which the
    # toolkit's profile needs next, during the create's wait rather than after it.
    init_box: list[tuple[bytes, str] | None] = []
    init_read = threading.Thread(
        target=lambda: init_box.append(None if host_init else engine_init(engine, image)),
        name="read-init",
        daemon=True,
    )
    init_read.start()
    # A copy's sidecar runs `entrypoint --run` in its own cgroup: the original's memory
    # limit there, so that a crash it caused (an OOM kill) happens again.
    if copy is not None and copy.source.original is not None:
        limits = tuple((k, v) for k, v in copy.source.original.limits if k in SIDECAR_LIMIT_KEYS)
        config = dataclasses.replace(config, limits=limits)
    if quick is not None:
        sidecar_id = quick.sidecar_id
        t0, ended = quick.times["create the sidecar"]
    else:
        t0, ended = time.monotonic(), 0.0
        try:
            sidecar_id = _create_sidecar(engine, image, config, target)
        except BaseException:
            # Its helper container, if it had to make one, goes before we do: nothing left.
            init_read.join(timeout=60)
            raise
    detail = sidecar_id[:12]
    memory = dict(config.limits).get("Memory")
    if memory:
        from cdebug_tui.engine.stats import format_bytes

        detail += f"; memory {format_bytes(memory)}, the original's: entrypoint --run runs under it"
    steps.add("create the sidecar", config.docker_create_command(), t0, detail, ended)

    supervisor: SupervisorChannel | None = None
    session: DebugSession | None = None
    try:
        if quick is not None:
            quick.adopted = True  # removed below, from now on, as any sidecar of ours
        t0 = time.monotonic()
        profile = tk.classify(engine, image_id, sidecar_id)
        steps.add("look at the toolkit's binaries", f"# ELF headers of {image}", t0, profile.reason)

        t0 = time.monotonic()
        if quick is not None and quick.stream is not None:
            t0 = quick.times["start the sidecar"][0]
            supervisor = SupervisorChannel(quick.stream)
        else:
            try:
                stream = engine.attach(sidecar_id, tty=config.tty)
                supervisor = SupervisorChannel(stream)
            except EngineRequestError as exc:
                # Podman prepares (runc create) the container at attach: start errors surface
                # here.
                raise SessionError(f"cannot attach to the sidecar: {exc.explanation}") from exc
        try:
            if quick is not None:
                quick.started()
            else:
                engine.start(sidecar_id)
        except EngineRequestError as exc:
            raise start_error(exc.explanation, image, target.name) from exc
        session = DebugSession(engine, spec, target, config, supervisor, steps)
        session.sidecar_id = sidecar_id
        session.direct = bool(host_init)
        if session.direct:
            # Its TTY's size, before the shell runs (the engine answers once it runs), and
            # its exit (the shell's code), from now: an exit is missed if asked after it.
            session.resize(spec.rows, spec.cols)
            threading.Thread(target=session._wait_exit, name="wait-exit", daemon=True).start()
        if copy is not None:
            copy.hold(session)
            session.copy = copy
        steps.add("start the sidecar", config.docker_start_command(), t0)

        t0 = time.monotonic()
        probe = supervisor.read_probe(timeout=15)
        session.probe = probe
        session.supervisor_pid = int(probe.get("pid") or 0)
        if session.direct and (probe.get("raw") != "1" or not probe.get("head")):
            # stty makes the TTY raw; head reads the shell's script.
            raise DirectDeclined("the toolkit has no stty or no head for a direct session")
        if probe.get("troot") != "1":
            raise SessionError(
                f"the sidecar cannot read {target.name}'s root filesystem through "
                f"/proc/{config.target_pid}/root"
            )
        mode, reason = _plan_mode(spec, profile, probe, uid_gid)
        anchor = session.supervisor_pid
        if mode == Mode.ROOT and uid_gid is not None:
            anchor = supervisor.start_anchor(engine, sidecar_id, uid_gid)
        if mode == Mode.ROOT:
            supervisor.plan_root(anchor, nix=profile.kind == tk.NIX)
        else:
            supervisor.plan_toolkit(reason)
        setup = supervisor.read_setup(timeout=15)
        session.mode = setup.mode
        session.target_root = setup.root
        session.mode_reason = setup.reason
        if session.mode == Mode.ROOT and probe.get("tsh") == "0":
            # Said, as it fails silently: busybox `watch` showed its header over nothing.
            session.mode_warnings.append(
                "the target has no /bin/sh: watch and system() fail (--mode toolkit runs them)"
            )
        if config.pid_mode == "host":
            # The sidecar joined it there: the shell's ps and kill reach the whole host.
            session.mode_warnings.append(
                "the target runs in the host's PID namespace: ps lists every process of the "
                "host, and kill reaches them"
            )
        if mode == Mode.ROOT and session.mode == Mode.TOOLKIT and spec.mode == Mode.ROOT:
            raise SessionError(f"root mode is not possible: {session.mode_explained}")
        steps.add(
            "link the toolkit into the target",
            "\n".join(setup.commands) or "# nothing to link",
            t0,
            f"{session.mode} mode: {session.mode_explained}",
        )

        link = f"/.cdebug-{config.session_id}"
        if session.mode == Mode.ROOT and uid_gid is not None:
            t0 = time.monotonic()
            commands = supervisor.link_for_user(anchor, uid_gid[0], timeout=10)
            link = f"{link}-u{uid_gid[0]}"
            steps.add(
                "link the toolkit for the user",
                "\n".join(commands),
                t0,
                f"through process {anchor}, which runs as uid {uid_gid[0]}",
            )

        t0 = time.monotonic()
        init_read.join(timeout=60)
        found = init_box[0] if init_box else None
        how = "# neither the engine nor this host has a static tini to lend"
        if host_init:
            session.init_path = INIT_PATH
            how = f"# the host's {host_init}, bound read-only by the create's --mount"
        elif found:
            init, origin = found
            # Through the supervisor's stdin: an archive upload (docker cp) is unpacked by a
            # process the engine starts for it, which slowed the sidecar's start beside it.
            if probe.get("head") and supervisor.send_init(init, INIT_PATH):
                session.init_path = INIT_PATH
                how = f"head -c {len(init)} > {INIT_PATH}  # the supervisor reads it on stdin"
            else:
                session.init_path = install_init(engine, sidecar_id, init)
                how = f"docker cp init {config.name}:{INIT_PATH}"
            how = f"{origin}\n{how}"
        steps.add(
            "give the sidecar a reaper",
            how,
            t0,
            "tini -s: what the shell leaves behind is killed and reaped when it ends"
            if session.init_path
            else "processes the shell leaves behind go to the target's PID 1",
        )

        session.link = link
        session.uid_gid = uid_gid
        session.home = home if uid_gid else None
        session.toolkit_path = f"{ep.BIN_DIR}:{profile.path}"
        session.watch_target(events)
        if not session.direct:
            # A direct sidecar ends with its shell: its end is the shell's stream's.
            session.watch_sidecar()
        return session
    except BaseException:
        # Leave nothing behind: the links (the supervisor removes them on EOF), the sidecar.
        if session is not None:
            session.close(timeout=5)
        else:
            if supervisor is not None:
                supervisor.close()
            try:
                engine.remove_container(sidecar_id)
            except CdebugError:
                pass
        init_read.join(timeout=60)  # as above: its helper container goes with it
        raise


def create_args(config: SidecarConfig, target: TargetInfo, is_podman: bool) -> dict[str, Any]:
    """The options of the sidecar's create (Engine.create_container's), for `config`."""
    args: dict[str, Any] = {
        "entrypoint": list(config.entrypoint),
        "name": config.name,
        "user": "0",
        "stdin_open": True,
        "env": list(config.env),
        "labels": dict(config.labels),
        "pid_mode": config.pid_mode,
        "network_mode": config.network_mode,
        "ipc_mode": config.ipc_mode,
        "cap_add": list(config.cap_add),
        "cap_drop": list(config.cap_drop),
        "privileged": config.privileged,
        "auto_remove": True,
        "ulimits": _podman_ulimits(target) if is_podman else None,
        "limits": dict(config.limits) or None,
    }
    if config.tty:
        # Only a direct session's: Engine (docker-py) takes neither otherwise.
        args.update(tty=True, bind=config.bind)
    return args


def direct_config(config: SidecarConfig, host_init: str) -> SidecarConfig:
    """`config` for a direct session's sidecar: a TTY, and this host's tini bound read-only
    (as `docker run --init` mounts Docker's: nothing to send)."""
    return dataclasses.replace(
        config,
        tty=True,
        bind=(host_init, INIT_PATH),
        env=(*config.env, "CDEBUG_DIRECT=1"),
    )


def _create_sidecar(engine: Engine, image: str, config: SidecarConfig, target: TargetInfo) -> str:
    """Creates the sidecar `config` describes; its id.

    Raises:
        DirectDeclined: When the engine will not make a direct session's sidecar.
        CdebugError: A subclass saying why it cannot be made.
    """
    try:
        return engine.create_container(image, **create_args(config, target, engine.is_podman))
    except EngineRequestError as exc:
        if config.tty and "mount" in exc.explanation.lower():
            # An engine that will not bind the host's tini (its files are not this host's).
            raise DirectDeclined(f"cannot create a direct sidecar: {exc.explanation}") from exc
        if exc.not_found:
            raise TargetNotFoundError(f"{target.name} went away: {exc.explanation}") from exc
        raise SessionError(f"cannot create the sidecar: {exc.explanation}") from exc


def remove_stale_links(
    engine: Engine, image: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str, str]]]:
    """Removes the links (`/.cdebug-*`) that sessions left in running targets: a target that
    stopped or restarted under a session took its supervisor with it, before it could remove
    them. A supervisor removes every link whose session is gone as it starts, so a sidecar
    (of toolkit `image`) started and ended at once on such a target is the cleanup; live
    sessions' links stay.

    Returns:
        (target name, path) of each link removed (from a stopped target too, through its
        writable layer: see Engine.remove_links_offline); (target name, why) of each target
        that could not be cleaned; (target name, state, path) of each link that waits in a
        target that does not run now (restarting, or on a storage driver without an upper
        directory), until it runs again.
    """
    from cdebug_tui.engine.models import TARGET_LABEL

    removed: list[tuple[str, str]] = []
    failed: list[tuple[str, str]] = []
    waiting: list[tuple[str, str, str]] = []
    rows = engine.list_containers(shells=False)
    # A target with a live session has no stale link: its supervisor removed them as it
    # started (a target that stops takes its sessions with it).
    served = {c.label(TARGET_LABEL) for c in rows if c.is_sidecar and c.running}
    for c in rows:
        if c.is_sidecar or c.id in served:
            continue
        try:
            removed += [(c.name, path) for path in remove_stale_links_of(engine, c.id, image)]
        except TargetNotFoundError:
            continue  # removed meanwhile: nothing of it is left
        except TargetNotRunningError:
            try:
                waiting += [(c.name, c.state, path) for path in _links_in(engine, c.id)]
            except CdebugError:
                pass  # gone meanwhile
        except CdebugError as exc:
            failed.append((c.name, str(exc)))
    return removed, failed, waiting


def _links_in(engine: Engine, container_id: str) -> list[str]:
    """The links (`/.cdebug-*`) a container's writable layer holds, as `docker diff` shows."""
    return _links_of(engine.changed_paths(container_id))


def _links_of(changes: dict[str, str], nix: bool = False) -> list[str]:
    """The links (`/.cdebug-*`, and with `nix` an added `/nix`, which may be a Nix-style
    toolkit's link or the container's own directory) among a `docker diff`'s changes."""
    return [
        path
        for path, kind in changes.items()
        if kind == "A" and (path.startswith("/.cdebug-") or (nix and path == "/nix"))
    ]


def _join_and_leave(engine: Engine, target: TargetInfo, image: str) -> None:
    """A sidecar on a running target, ended at once: its supervisor removes, as it starts,
    the links whose session is gone. Never a debug copy (a commit of the user's container):
    a target that stops as it is joined keeps its links for now.

    Raises:
        TargetNotRunningError: When the target stopped meanwhile.
    """
    spec = SessionSpec(target=target.id, image=image)
    try:
        _prepare_found(engine, spec, target, _Steps(None), time.monotonic(), None, None).close()
    except TargetNotRunningError:
        raise
    except CdebugError as exc:
        now = engine.inspect(target.id)
        if not now.running or now.restarting:
            raise TargetNotRunningError(
                f"{now.name} is {now.state}: its links stay for now"
            ) from exc
        raise


def remove_stale_links_of(engine: Engine, target_id: str, image: str) -> list[str]:
    """Removes the links sessions left in one running target (see remove_stale_links), with a
    sidecar of toolkit `image` started and ended at once, when `docker diff` shows any.

    Returns:
        The paths removed.

    Raises:
        CdebugError: When the target cannot be read or the sidecar cannot start.
    """
    changes = engine.changed_paths(target_id)
    stale = _links_of(changes)
    if not stale:
        return []
    # Its state now: the list said "running" a moment before it stopped, perhaps.
    target = engine.inspect(target_id)
    if not target.running or target.restarting:
        # Stopped, or between two runs of a crash loop (which Docker reports as running):
        # through its writable layer, where the engine keeps one (overlay). A Nix-style
        # toolkit's /nix link too (the helper removes only a link to /proc/*/root).
        nix_too = _links_of(changes, nix=True)
        names = [path.lstrip("/") for path in nix_too]
        # The toolkit as a session gets it (a local build when it cannot be pulled).
        image = ensure_image(engine, image, None, None)[0]
        if engine.remove_links_offline(target_id, names, image):
            left = engine.changed_paths(target_id)
            return [path for path in nix_too if path not in left]
        target = engine.inspect(target_id)  # started again meanwhile, perhaps
        if not target.running or target.restarting:
            raise TargetNotRunningError(f"{target.name} is {target.state}: its links stay for now")
    _join_and_leave(engine, target, image)
    left = engine.changed_paths(target_id)
    return [path for path in stale if path not in left]


def direct_init(engine: Engine, spec: SessionSpec, target: TargetInfo) -> str:
    """The host's static tini for a direct session's sidecar (see DebugSession); "" when the
    session cannot be direct: an engine that is not Docker on this host's socket, a session
    without a terminal both ways, another user (-u needs the supervisor's anchors), or an
    environment name the shell's `export` refuses."""
    if not getattr(engine, "direct_capable", False) or not (spec.tty and spec.interactive):
        return ""
    if spec.user or not exportable((*target.env, *spec.env)):
        return ""
    return host_init_path()


def _entrypoint_env(
    engine: Engine, target: TargetInfo, title: str, target_pid: int, passwd: str | None
) -> str:
    """`CDEBUG_ENTRYPOINT=<script>` for the sidecar: the supervisor writes `entrypoint` into the
    sidecar's own filesystem (never the target's) with the #! line of the session's mode.

    Args:
        passwd: The target's /etc/passwd when -u has read it already; None reads it here
            (when the target's user is a name).
    """
    uid_gid: tuple[int, int] | None = None
    try:
        if target.user.replace(":", "").isdigit():
            passwd = None  # a numeric user is taken as it is
        elif target.user and passwd is None:
            passwd = engine.read_file(target.id, "/etc/passwd").decode(errors="replace")
        uid_gid = resolve_user(target.user, passwd) if target.user else (0, 0)
    except (FileNotFoundError, CdebugError):
        uid_gid = None  # a user the target's /etc/passwd does not know: the script says so
    body = ep.script(target, uid_gid=uid_gid, title=title, target_pid=target_pid)
    return f"CDEBUG_ENTRYPOINT={body}"


def _plan_mode(
    spec: SessionSpec,
    profile: tk.ToolkitProfile,
    probe: dict[str, str],
    uid_gid: tuple[int, int] | None,
) -> tuple[Mode, str]:
    """Chooses root or toolkit mode from what the toolkit's binaries are; says why."""
    if spec.mode == Mode.TOOLKIT:
        return Mode.TOOLKIT, "asked for with --mode toolkit"
    problems = []
    if profile.kind == tk.DYNAMIC:
        problems.append(f"the toolkit's binaries cannot run in the target's root: {profile.reason}")
    if not probe.get("chroot") and uid_gid is None:
        problems.append("the toolkit has no chroot")
    if probe.get("canchroot") == "0":
        problems.append("the sidecar may not chroot: the target drops CAP_SYS_CHROOT")
    if uid_gid is not None and not probe.get("nsenter"):
        problems.append("the toolkit has no nsenter to switch to that user")
    if problems:
        if spec.mode == Mode.ROOT:
            raise SessionError(f"root mode is not possible: {problems[0]}")
        return Mode.TOOLKIT, problems[0]
    return Mode.ROOT, profile.reason


def _podman_ulimits(target: TargetInfo) -> list[tuple[str, int, int]]:
    """The sidecar's nofile and nproc limits on Podman: the target's own.

    Podman sets nofile and nproc to its own high defaults, which a service without
    CAP_SYS_RESOURCE (rootless, or a sandbox) may not set: the sidecar then fails to start
    ("error setting rlimit type 7"). The target's limits are ones this engine has already
    applied, so they are known to work, and the sidecar lives beside the target anyway.
    """
    limits = {name: (soft, hard) for name, soft, hard in target.ulimits}
    # Values nearly every host allows, for a target that reports none.
    fallback = {"nofile": (1024, 1024), "nproc": (4096, 4096)}
    return [(name, *limits.get(name, fallback[name])) for name in fallback]
