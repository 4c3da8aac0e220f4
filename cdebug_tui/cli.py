"""Provides the command line: argument parsing and wiring; Textual is imported only for the TUI."""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cdebug_tui import __version__
from cdebug_tui.errors import CdebugError

if TYPE_CHECKING:
    from cdebug_tui.engine.client import Engine
    from cdebug_tui.engine.models import PullProgress
    from cdebug_tui.engine.recording import CastRecorder
    from cdebug_tui.engine.session import DebugSession

SUBCOMMANDS = ("exec", "toolkit", "demo", "cleanup")
DEFAULT_IMAGE = "busybox:musl"


class _Exit(Exception):
    """Unwinds to main() with an exit code, after every finally block has cleaned up."""

    def __init__(self, code: int) -> None:
        self.code = code


def _warn(message: str) -> None:
    sys.stderr.write(f"cdebug-tui: {message}\n")
    sys.stderr.flush()


def _exec_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cdebug-tui exec",
        description="Run a command (a shell by default) in a running container, shell-less or not, "
        "through a sidecar that shares its namespaces. Options after TARGET belong to CMD.",
    )
    p.add_argument("-i", "--interactive", action="store_true", help="keep stdin open")
    p.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    p.add_argument(
        "--image", default=DEFAULT_IMAGE, help=f"toolkit image (default {DEFAULT_IMAGE})"
    )
    p.add_argument("--privileged", action="store_true", help="run the sidecar privileged")
    p.add_argument(
        "--profile",
        default="general",
        metavar="PROFILE",
        help="the sidecar's privileges, as kubectl debug's: general (default), netadmin "
        "(+NET_ADMIN, NET_RAW), sysadmin (--privileged), restricted (only what reading needs)",
    )
    p.add_argument("-u", "--user", help="run as this user: a name in the target, or uid[:gid]")
    p.add_argument("--name", help="the sidecar's container name")
    p.add_argument(
        "--mode",
        choices=("auto", "root", "toolkit"),
        default="auto",
        help="root: the target's root is /; toolkit: the toolkit's root, the target at /target",
    )
    p.add_argument("--explain", action="store_true", help="print every step taken, as commands")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print the mode line")
    p.add_argument("--record", metavar="FILE", help="record the session as an asciicast v2 file")
    _add_engine_option(p)
    p.add_argument(
        "target",
        metavar="TARGET",
        help="container name, id or unique id prefix; ENGINE/CONTAINER names the engine too",
    )
    p.add_argument("command", metavar="CMD", nargs=argparse.REMAINDER, help="command and args")
    return p


def _tui_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cdebug-tui",
        description="Debug running containers, shell-less ones first. With no TARGET it opens the "
        "container list; with one, a session on it. Subcommands: exec, toolkit build, demo, "
        "cleanup (see `cdebug-tui exec --help`).",
    )
    p.add_argument("--version", action="version", version=f"cdebug-tui {__version__}")
    p.add_argument("--image", default=None, help="toolkit image for the session on TARGET")
    _add_engine_option(p)
    p.add_argument("target", metavar="TARGET", nargs="?", help="open a session on it at start")
    return p


def _add_engine_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine",
        metavar="NAME",
        help="the engine: a Docker context name, default, podman, or an address "
        "(unix:///path, tcp://host:port, ssh://user@host); the current context by default",
    )


def _pop_engine(args: list[str]) -> tuple[str | None, list[str]]:
    """Takes `--engine NAME` (or `--engine=NAME`) out of args that argparse does not parse."""
    out: list[str] = []
    engine = None
    it = iter(args)
    for arg in it:
        if arg == "--engine":
            engine = next(it, None)
            if engine is None:
                raise CdebugError("--engine needs a NAME")
        elif arg.startswith("--engine="):
            engine = arg.partition("=")[2]
        else:
            out.append(arg)
    return engine, out


def main(argv: Sequence[str] | None = None) -> int:
    """Runs cdebug-tui; returns the process exit code (125 for cdebug-tui's own errors)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        # `cdebug-tui --engine NAME SUBCOMMAND ...` as well as `cdebug-tui SUBCOMMAND --engine`.
        engine = None
        if len(args) >= 3 and args[0] == "--engine" and args[2] in SUBCOMMANDS:
            engine, args = args[1], args[2:]
        elif args and args[0].startswith("--engine=") and args[1:2] and args[1] in SUBCOMMANDS:
            engine, args = args[0].partition("=")[2], args[1:]
        if args and args[0] in SUBCOMMANDS:
            command, rest = args[0], args[1:]
            if command == "exec":
                ns = _exec_parser().parse_args(rest)
                ns.engine = ns.engine or engine
                return cmd_exec(ns)
            named, rest = _pop_engine(rest)
            engine = named or engine
            if command == "toolkit":
                return cmd_toolkit(rest, engine)
            if command == "cleanup":
                return cmd_cleanup(engine)
            return cmd_demo(rest, engine)
        ns = _tui_parser().parse_args(args)
        _select_engine_for_tui(ns.engine)
        from cdebug_tui.ui.launch import run_app

        return run_app(ns.target, ns.image)
    except CdebugError as exc:
        _warn(f"error: {exc}")
        return exc.exit_code
    except _Exit as exc:
        return exc.code
    except KeyboardInterrupt:
        return 130


# -- exec --------------------------------------------------------------------------------------


class _PullBars:
    """Shows a pull as `docker pull` does: one line per layer, redrawn in place on a terminal."""

    def __init__(self) -> None:
        self.lines: dict[str, str] = {}
        self.drawn = 0
        self.tty = sys.stderr.isatty()

    def __call__(self, p: PullProgress) -> None:
        if not p.layer:
            _warn(p.status)
            return
        bar = ""
        if p.total:
            width = 30
            done = int(width * min(p.current, p.total) / p.total)
            bar = f" [{'=' * max(0, done - 1)}{'>' if done else ''}{' ' * (width - done)}] " + (
                f"{p.current / 1e6:.1f}MB/{p.total / 1e6:.1f}MB"
            )
        self.lines[p.layer] = f"{p.layer}: {p.status}{bar}"
        if not self.tty:
            if not p.total:
                sys.stderr.write(self.lines[p.layer] + "\n")
            return
        if self.drawn:
            sys.stderr.write(f"\x1b[{self.drawn}A")
        for line in self.lines.values():
            sys.stderr.write(f"\x1b[2K{line}\n")
        self.drawn = len(self.lines)
        sys.stderr.flush()


def _connect(name: str | None = None) -> Engine:
    """The engine named with --engine (a context, default, podman or an address), or the
    current one as the docker CLI picks it (DOCKER_HOST, DOCKER_CONTEXT, currentContext)."""
    from cdebug_tui.engine.engines import EngineRegistry

    return EngineRegistry().get(name)


def _select_engine_for_tui(name: str | None) -> None:
    """Points the app at the chosen engine through DOCKER_HOST (and its TLS variables).

    The app connects with Engine(base_url=None), which reads them; the engine layer's
    EngineRegistry is there for an app that shows every engine at once.
    """
    from cdebug_tui.engine.engines import EngineRegistry

    registry = EngineRegistry()
    cfg = registry.config(name)
    if name is None and cfg.source in ("env", "default"):
        return  # What the app would pick anyway.
    os.environ["DOCKER_HOST"] = cfg.address
    for var in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT"):
        os.environ.pop(var, None)
    if cfg.tls is not None:
        material = cfg.tls.ca or cfg.tls.cert
        if material:
            os.environ["DOCKER_CERT_PATH"] = os.path.dirname(material)
        if cfg.tls.verify:
            os.environ["DOCKER_TLS_VERIFY"] = "1"


def cmd_exec(ns: argparse.Namespace) -> int:
    """`cdebug-tui exec`: like `docker exec`, for any running container."""
    from cdebug_tui.engine.engines import split_target
    from cdebug_tui.engine.models import Mode, SessionSpec, Step
    from cdebug_tui.engine.session import start_session

    if ns.tty and not os.isatty(sys.stdin.fileno()):
        raise CdebugError("the input device is not a TTY", hint="drop -t, or run in a terminal")
    rows, cols = 24, 80
    if ns.tty:
        size = os.get_terminal_size(sys.stdin.fileno())
        rows, cols = size.lines, size.columns
    command = tuple(ns.command)
    if command and command[0] == "--":
        command = command[1:]
    spec = SessionSpec(
        target=ns.target,
        image=ns.image,
        mode=Mode(ns.mode),
        user=ns.user,
        privileged=ns.privileged,
        tty=ns.tty,
        interactive=ns.interactive or ns.tty,
        command=command,
        name=ns.name,
        rows=rows,
        cols=cols,
        term=os.environ.get("TERM") or "xterm",
        profile=ns.profile,
    )

    def on_step(step: Step) -> None:
        if ns.explain:
            sys.stderr.write(f"# {step.title} ({step.duration * 1000:.0f} ms)")
            sys.stderr.write(f": {step.detail}\n" if step.detail else "\n")
            for line in step.command.splitlines():
                sys.stderr.write(f"  {line}\n")
            sys.stderr.flush()

    from cdebug_tui.engine.engines import EngineRegistry

    registry = EngineRegistry()
    # ENGINE/CONTAINER: only a known engine name counts, since container names have no '/'.
    prefix, container = split_target(ns.target, registry.names)
    if prefix is not None and ns.engine is not None and registry.config(ns.engine).name != prefix:
        raise CdebugError(
            f"TARGET {ns.target!r} names engine {prefix!r} but --engine is {ns.engine!r}"
        )
    engine = registry.get(prefix or ns.engine)
    spec = dataclasses.replace(spec, target=container)
    with _TermSignals() as signals:
        session = start_session(
            engine, spec, on_step=on_step, on_progress=_PullBars(), notice=_warn
        )
        try:
            if session.copy is not None:
                # Always, -q or not: its volumes are the original's, writable for real.
                _warn(session.copy.banner())
            if not ns.quiet:
                _warn(f"{session.mode} mode: {session.mode_reason}")
            if ns.explain:
                from cdebug_tui.engine.internals import read_internals, summary

                sys.stderr.write(summary(read_internals(session), session) + "\n")
                sys.stderr.flush()
            recorder = None
            if ns.record:
                from cdebug_tui.engine.recording import CastRecorder

                recorder = CastRecorder(ns.record, rows, cols, session.target.name, session.steps)
            try:
                code = _pump(session, ns.tty, spec.interactive, recorder)
            finally:
                if recorder is not None:
                    recorder.close()
        finally:
            session.close()
    if signals.signal_code is not None:
        return signals.signal_code
    if session.ended_reason:
        # The target (or a copy's original) went: the command's own code would mislead.
        _warn(f"session ended: {session.ended_reason}")
        return 125
    return code


class _TermSignals:
    """Turns SIGTERM, SIGHUP (and SIGINT without a TTY) into a clean end of the session."""

    def __init__(self) -> None:
        self.signal_code: int | None = None
        self._old: dict[int, Any] = {}

    def _handle(self, signum: int, _frame: object) -> None:
        self.signal_code = 128 + signum
        raise _Exit(128 + signum)

    def __enter__(self) -> _TermSignals:
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def _pump(
    session: DebugSession, tty: bool, interactive: bool, recorder: CastRecorder | None = None
) -> int:
    """Copies the terminal to the session and back until the command ends."""
    stdin_fd, stdout_fd, stderr_fd = 0, sys.stdout.fileno(), sys.stderr.fileno()
    restore = None
    if tty:
        import termios
        import tty as ttymod

        restore = termios.tcgetattr(stdin_fd)
        # TCSANOW, not setraw's default TCSAFLUSH: keys typed while the session started are
        # kept and reach the shell, as with docker exec.
        ttymod.setraw(stdin_fd, termios.TCSANOW)

        def on_winch(_s: int, _f: object) -> None:
            size = os.get_terminal_size(stdin_fd)
            session.resize(size.lines, size.columns)
            if recorder is not None:
                recorder.resize(size.lines, size.columns)

        signal.signal(signal.SIGWINCH, on_winch)
        on_winch(0, None)
    if interactive:
        threading.Thread(target=_feed_stdin, args=(session, stdin_fd), daemon=True).start()
    try:
        while True:
            stream, data = session.read()
            if not data:
                break
            if recorder is not None:
                recorder.output(data)
            fd = stderr_fd if stream == 2 else stdout_fd
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
    finally:
        if restore is not None:
            import termios

            signal.signal(signal.SIGWINCH, signal.SIG_DFL)
            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, restore)
    code = session.exit_code()
    return 125 if code is None else code


def _feed_stdin(session: DebugSession, fd: int) -> None:
    try:
        while True:
            data = os.read(fd, 65536)
            if not data:
                session.close_stdin()
                return
            session.write(data)
    except OSError:
        return


# -- other subcommands -----------------------------------------------------------------------


def cmd_toolkit(rest: list[str], engine: str | None = None) -> int:
    """`cdebug-tui toolkit build`: builds the local toolkit from the host's static busybox."""
    from cdebug_tui.engine import toolkit

    if rest[:1] != ["build"]:
        raise CdebugError("usage: cdebug-tui toolkit build [REF]")
    ref = rest[1] if len(rest) > 1 else toolkit.LOCAL_TOOLKIT
    image_id = toolkit.build_local_toolkit(_connect(engine), ref)
    print(f"built {ref} ({image_id[:19]}) from {toolkit.host_busybox()}")
    return 0


def cmd_cleanup(name: str | None = None) -> int:
    """`cdebug-tui cleanup`: removes sidecars, debug copies and their images whose cdebug-tui
    process is gone."""
    engine = _connect(name)
    orphans = engine.orphaned_sidecars()
    for c in orphans:
        engine.remove_container(c.id, remove_volumes=True)
        print(f"removed {c.name} ({c.short_id}), left by a cdebug-tui that is gone")
    # After the copies that use them: images committed for debug copies.
    images = engine.orphaned_copy_images()
    for image in images:
        engine.remove_image(image.id)
        print(f"removed image {image.id[7:19]}, a debug copy's, left by a cdebug-tui that is gone")
    if not orphans and not images:
        print("no sidecars left behind")
    return 0


def cmd_demo(rest: list[str], name: str | None = None) -> int:
    """`cdebug-tui demo [--exec]`: makes a shell-less demo target if none runs, then debugs it."""
    from cdebug_tui.engine import demo

    engine = _connect(name)
    target = demo.ensure_demo_target(engine, notice=_warn)
    image = demo.ensure_toolkit(engine, notice=_warn)
    if "--exec" in rest:
        return cmd_exec(
            _exec_parser().parse_args(["-it", "--image", image, "--engine", engine.name, target])
        )
    _select_engine_for_tui(engine.name)
    from cdebug_tui.ui.launch import run_app

    return run_app(target, image)


if __name__ == "__main__":
    sys.exit(main())
