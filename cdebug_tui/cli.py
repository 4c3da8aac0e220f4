"""Provides the command line: argument parsing and wiring; Textual is imported only for the TUI."""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from cdebug_tui import __version__
from cdebug_tui.errors import CdebugError

# typing's TYPE_CHECKING without typing's import (3-4 ms of exec's start, before its sidecar
# exists); mypy takes any TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

    from cdebug_tui.engine.client import Engine
    from cdebug_tui.engine.engines import EngineRegistry
    from cdebug_tui.engine.quick import QuickStart
    from cdebug_tui.engine.readings import PullProgress
    from cdebug_tui.engine.recording import CastRecorder
    from cdebug_tui.engine.session import DebugSession

SUBCOMMANDS = ("exec", "toolkit", "demo", "cleanup", "completion", "port-forward")
DEFAULT_IMAGE = "busybox:musl"


class _Exit(BaseException):  # not caught by a best-effort `except Exception` on the way
    """Unwinds to main() with an exit code, after every finally block has cleaned up."""

    def __init__(self, code: int) -> None:
        self.code = code


def _warn(message: str) -> None:
    sys.stderr.write(f"cdebug-tui: {message}\n")
    sys.stderr.flush()


class _UsageError(CdebugError):
    """A command line argparse refused: unknown option, missing TARGET, bad choice."""


def _columns() -> int:
    """The terminal's width as shutil.get_terminal_size reads it ($COLUMNS, else stdout's
    terminal, else 80)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Formatter(argparse.HelpFormatter):
    """argparse's, without shutil's import (2-3 ms of every start, before exec's sidecar
    exists): argparse makes a formatter for each option it adds, which reads the width."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        width = _columns() - 2 if width is None else width  # as HelpFormatter takes it
        super().__init__(prog, indent_increment, max_help_position, width)


class _Parser(argparse.ArgumentParser):
    """argparse with docker's exit code for usage errors: 125, not 2, which `exec` could not
    tell from its command's own exit 2; the message fits on one line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


def _common_parser() -> _Parser:
    """The options every command shares (`--engine`), given before or after the command."""
    common = _Parser(add_help=False)
    common.add_argument(
        "--engine",
        metavar="NAME",
        # SUPPRESS: a subcommand's unset --engine must not hide one given before it.
        default=argparse.SUPPRESS,
        help="the engine: a Docker context name, default, podman, or an address "
        "(unix:///path, tcp://host:port, ssh://user@host); the current context by default",
    )
    return common


def _add_exec_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-i", "--interactive", action="store_true", help="keep stdin open")
    p.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    image = p.add_argument(
        "--image", default=DEFAULT_IMAGE, help=f"toolkit image (default {DEFAULT_IMAGE})"
    )
    image.completer = _complete_images  # type: ignore[attr-defined]
    p.add_argument("--privileged", action="store_true", help="run the sidecar privileged")
    profile = p.add_argument(
        "--profile",
        default="general",
        metavar="PROFILE",
        help="the sidecar's privileges, as kubectl debug's: general (default), netadmin "
        "(+NET_ADMIN, NET_RAW), sysadmin (--privileged), restricted (only what reading needs)",
    )
    profile.completer = _complete_profiles  # type: ignore[attr-defined]
    p.add_argument("-u", "--user", help="run as this user: a name in the target, or uid[:gid]")
    p.add_argument(
        "-e",
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a variable in the shell's environment, over the target's (KEY alone: its "
        "value here, as docker exec -e takes it)",
    )
    p.add_argument(
        "-w", "--workdir", metavar="DIR", help="the shell's working directory in the target"
    )
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
    target = p.add_argument(
        "target",
        metavar="TARGET",
        help="container name, id or unique id prefix (running or stopped), or an image "
        "reference; ENGINE/CONTAINER names the engine too",
    )
    target.completer = _complete_targets  # type: ignore[attr-defined]
    # REMAINDER: options after TARGET belong to CMD (`exec web ls -la` is ls's -la).
    cmd = p.add_argument(
        "command", metavar="CMD", nargs=argparse.REMAINDER, help="command and args"
    )
    # argparse counts an empty REMAINDER as missing; CMD is optional (a shell by default).
    cmd.required = False
    # A program in the target's root: neither this host's files nor exec's own options.
    cmd.completer = _complete_nothing  # type: ignore[attr-defined]


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line: the app's options and every subcommand, each with --help;
    `only`: that subcommand alone (exec's start builds no other: 3-4 ms)."""
    common = _common_parser()
    root = _Parser(
        prog="cdebug-tui",
        parents=[common],
        usage="%(prog)s [-h] [--version] [--engine NAME] [--image IMAGE] [TARGET]\n"
        "       %(prog)s [--engine NAME] COMMAND ...",
        description="Debug running containers, shell-less ones first. With no TARGET it opens the "
        "list of every container of every engine; with one, a session on it.",
        epilog="Run `cdebug-tui COMMAND --help` for a command's options.",
    )
    root.add_argument("--version", action="version", version=f"cdebug-tui {__version__}")
    root.add_argument(
        "--image",
        dest="app_image",
        metavar="IMAGE",
        default=None,
        help="toolkit image for the session on TARGET",
    )
    sub = root.add_subparsers(dest="command_name", metavar="COMMAND", title="commands")
    ex = sub.add_parser(
        "exec",
        prog="cdebug-tui exec",
        parents=[common],
        help="run a command in a container, like docker exec",
        description="Run a command (a shell by default) in a container, shell-less or not, "
        "through a sidecar that shares its namespaces; a stopped container is debugged in a "
        "copy, and an image in a throwaway container of it. Options after TARGET belong to CMD.",
    )
    _add_exec_arguments(ex)
    if only == "exec":
        return root
    tk = sub.add_parser(
        "toolkit",
        prog="cdebug-tui toolkit",
        parents=[common],
        help="manage the local toolkit image",
        description="Manage the local toolkit image.",
    )
    tk_sub = tk.add_subparsers(dest="toolkit_command", metavar="ACTION", required=True)
    build = tk_sub.add_parser(
        "build",
        prog="cdebug-tui toolkit build",
        parents=[common],
        help="build it from the host's static busybox",
        description="Build the local toolkit image from the host's static busybox, offline.",
    )
    build.add_argument("ref", metavar="REF", nargs="?", help="the image reference to tag")
    demo = sub.add_parser(
        "demo",
        prog="cdebug-tui demo",
        parents=[common],
        help="debug a shell-less demo target (made when none runs)",
        description="Make a shell-less demo target when none runs, then open the app on it.",
    )
    demo.add_argument(
        "--exec", action="store_true", help="cdebug-tui exec -it on it instead of the app"
    )
    sub.add_parser(
        "cleanup",
        prog="cdebug-tui cleanup",
        parents=[common],
        help="remove what a cdebug-tui that is gone left behind",
        description=(
            "Remove the sidecars, debug copies and their committed images whose cdebug-tui "
            "process, on this host, is gone, and the links that sessions left in running "
            "targets that stopped or restarted under them."
        ),
    )
    comp = sub.add_parser(
        "completion",
        prog="cdebug-tui completion",
        help="print the shell completion script",
        description="Print the script that completes cdebug-tui's commands and container names "
        'in a shell. bash: `eval "$(cdebug-tui completion bash)"` in ~/.bashrc; zsh: the same '
        "in ~/.zshrc; fish: `cdebug-tui completion fish | source` in config.fish.",
    )
    comp.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell")
    pf = sub.add_parser(
        "port-forward",
        prog="cdebug-tui port-forward",
        parents=[common],
        help="forward local ports to a container's ports, published or not",
        description="Forward local ports to ports a running container listens on, published or "
        "not, shell-less or not (as `kubectl port-forward`): through a relay container in the "
        "target's network namespace, removed when this command ends. Ctrl-C stops.",
    )
    _add_port_forward_arguments(pf)
    return root


def _tui_parser() -> argparse.ArgumentParser:
    """`cdebug-tui [--engine NAME] [--image IMAGE] [TARGET]`: the app, on a target or not."""
    p = _Parser(prog="cdebug-tui", parents=[_common_parser()], add_help=False)
    p.add_argument("--image", dest="app_image", default=None)
    p.add_argument("target", metavar="TARGET", nargs="?")
    return p


def _near_command(word: str) -> str | None:
    """The subcommand `word` is a slip of (`exce`, `clean-up`), if any."""
    import difflib

    found = difflib.get_close_matches(word, SUBCOMMANDS, n=1, cutoff=0.75)
    return found[0] if found else None


def _is_container(name: str, engine: str | None) -> bool:
    """Whether a container of that name (or id) exists; True when the engine cannot say."""
    from cdebug_tui.engine.engines import EngineRegistry
    from cdebug_tui.errors import TargetNotFoundError

    try:
        EngineRegistry().resolve(name, engine)
    except TargetNotFoundError:
        return False
    except CdebugError:
        return True  # the app says what is wrong with the engine
    return True


def _first_positional(args: list[str]) -> str | None:
    """The first argument that is not an option or an option's value, or None."""
    it = iter(args)
    for arg in it:
        if arg == "--":
            return next(it, None)
        if arg in ("--engine", "--image"):
            next(it, None)
        elif not arg.startswith("-") or arg == "-":
            return arg
    return None


def _names_completer(what: str, **options: Any) -> Callable[..., list[str]]:
    """A completer of names the engine named so far (or the current one) has, by prefix:
    `what` is the engines module's function that lists them (container_names, image_names).

    Shell completion runs on every Tab: it asks a local engine over its socket without
    importing docker-py, gives up after a second, and says nothing when the engine is down.
    """

    def complete(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
        from cdebug_tui.engine import engines

        try:
            names = getattr(engines, what)(getattr(parsed_args, "engine", None), 1.0, **options)
        except CdebugError:
            return []
        return [n for n in names if n.startswith(prefix)]

    return complete


#: exec takes containers running or stopped (a crashed one most needs a debugger);
#: port-forward reaches running ones only.
_complete_targets = _names_completer("container_names")
_complete_running = _names_completer("container_names", running=True)
_complete_images = _names_completer("image_names")


def _complete_profiles(prefix: str, **_: Any) -> list[str]:
    """The sidecar profiles' names (as --mode's choices complete)."""
    from cdebug_tui.engine.profiles import PROFILES

    return [name for name in PROFILES if name.startswith(prefix)]


def _complete_nothing(**_: Any) -> list[str]:
    """No completion: what goes there is not on this host (a command in the target, a port)."""
    return []


def main(argv: Sequence[str] | None = None) -> int:
    """Runs cdebug-tui; returns the process exit code (125 for cdebug-tui's own errors)."""
    if argv is None and "_ARGCOMPLETE" in os.environ:
        import argcomplete

        # Exits after printing the completions; imported only then, it costs nothing otherwise.
        # Options when a `-` is typed: a bare Tab offers what goes there (a command, the
        # containers' names), not every option of the command first.
        argcomplete.autocomplete(build_parser(), always_complete_options=False)
    args = list(sys.argv[1:] if argv is None else argv)
    # No garbage collection while `exec` starts: its imports allocate enough to run the
    # collector over and over (10-15 ms of its time to a prompt), and nothing it makes then is
    # garbage. Collected again once the session runs (see cmd_exec), or at once for the rest.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _main(args)
    finally:
        if collecting:
            gc.enable()


def _main(args: list[str]) -> int:
    try:
        first = _first_positional(args)
        if first is None or first in SUBCOMMANDS or "-h" in args or "--help" in args:
            if first is not None and first not in SUBCOMMANDS:
                # `cdebug-tui web --help`: the app's help, not a complaint about `web`.
                args = ["--help"]
            # `exec` (without --help, which lists every command): its own parser only.
            only = first if first == "exec" and "-h" not in args and "--help" not in args else None
            try:
                ns = build_parser(only).parse_args(args)
            except _UsageError as exc:
                # The root parser reports a subcommand's unknown options: its help is the one.
                if first in SUBCOMMANDS and "see `cdebug-tui --help`" in exc.message:
                    raise _UsageError(
                        exc.message.replace("cdebug-tui --help", f"cdebug-tui {first} --help")
                    ) from None
                raise
        else:
            near = _near_command(first)
            try:
                ns = _tui_parser().parse_args(args)
            except _UsageError:
                if near:  # `cdebug-tui exce web ls`: a command mistyped, not a TARGET
                    raise _UsageError(
                        f"unknown command {first!r}: did you mean {near!r}?"
                    ) from None
                raise
            if near and not _is_container(first, getattr(ns, "engine", None)):
                # `cdebug-tui exce` opened the app on a TARGET named exce, and tried to pull
                # an image of that name.
                raise _UsageError(f"unknown command {first!r}: did you mean {near!r}?")
            ns.command_name = None
        # --engine's default is SUPPRESS (see _common_parser): absent when given nowhere.
        engine = ns.engine = getattr(ns, "engine", None)
        if ns.command_name and ns.app_image:
            # `cdebug-tui --image X exec T`: exec's own --image would silently win.
            where = "after exec" if ns.command_name == "exec" else "with the app's TARGET"
            raise _UsageError(f"--image goes {where}, not before {ns.command_name}")
        if ns.command_name == "exec":
            return cmd_exec(ns)
        gc.enable()
        if ns.command_name == "toolkit":
            return cmd_toolkit(ns.ref, engine)
        if ns.command_name == "cleanup":
            return cmd_cleanup(engine)
        if ns.command_name == "demo":
            return cmd_demo(ns.exec, engine)
        if ns.command_name == "completion":
            return cmd_completion(ns.shell)
        if ns.command_name == "port-forward":
            return cmd_port_forward(ns)
        _need_terminal()
        _select_engine_for_tui(engine)
        from cdebug_tui.ui.launch import run_app

        return run_app(getattr(ns, "target", None), ns.app_image)
    except CdebugError as exc:
        _warn(f"error: {exc}")
        return exc.exit_code
    except _Exit as exc:
        return exc.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader of our output went (`| head`): quietly, as docker does (SIGPIPE's 141).
        _drop_stdout()
        return 141


def _need_terminal() -> None:
    """The full-screen app reads keys from stdin and draws on stderr (Textual's driver): it
    hung without a terminal, writing its escape codes into a file.

    Raises:
        CdebugError: When either is not a terminal.
    """
    if not (os.isatty(0) and sys.__stderr__ is not None and sys.__stderr__.isatty()):
        raise CdebugError(
            "the app needs a terminal (stdin and stderr are not a TTY)",
            hint="run it in a terminal; `cdebug-tui exec TARGET CMD` works without one",
        )


def _drop_stdout() -> None:
    """Points stdout at /dev/null: Python's flush at exit would fail on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


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
    stdin_tty = os.isatty(0)  # fd 0: a closed stdin (`<&-`) leaves sys.stdin None
    if ns.tty and ns.interactive and not stdin_tty:
        raise CdebugError("the input device is not a TTY", hint="drop -t, or run in a terminal")
    if ns.record:
        _check_writable(ns.record, "the recording")
    # -t alone, stdin redirected (`exec -t T cmd < file | less`): a TTY without input, as
    # docker exec -t gives; its size is the output's terminal's, else 24x80.
    size_fd = next((fd for fd in (0, 1) if ns.tty and os.isatty(fd)), None)
    rows, cols = 24, 80
    if size_fd is not None:
        size = os.get_terminal_size(size_fd)
        rows, cols = size.lines, size.columns
    command = tuple(ns.command)
    if command and command[0] == "--":
        command = command[1:]
    env = []
    for item in ns.env:
        key, eq, _ = item.partition("=")
        if not key or "\0" in item:
            raise _UsageError(f"bad -e {item!r}: KEY=VALUE, or KEY")
        if not eq:
            # KEY alone: this terminal's value, as docker exec -e takes it (unset: left out).
            if key not in os.environ:
                continue
            item = f"{key}={os.environ[key]}"
        env.append(item)
    if ns.workdir is not None and not ns.workdir.startswith("/"):
        raise _UsageError(f"-w takes an absolute path, not {ns.workdir!r}")
    if ns.privileged and ns.profile == "restricted":
        # One asks for every privilege, the other for the fewest: neither silently wins.
        raise _UsageError("--privileged and --profile restricted contradict each other")
    quick: QuickStart | None = None
    # From here on, a signal unwinds (_Exit): what quick.begin makes is removed on the way.
    with _TermSignals() as signals:
        try:
            quickly = ns.tty and ns.interactive and stdin_tty and not ns.user
            if quickly and ns.engine is None and ns.profile == "general" and "/" not in ns.target:
                # The sidecar made and started before the session's modules load: they load
                # while the engine starts it (engine/quick.py). Not begun: the usual way.
                from cdebug_tui.engine import quick as quick_start

                quick = quick_start.current(os.environ)
                if quick is not None and not quick.begin(
                    ns.target,
                    image=ns.image,
                    name=ns.name,
                    privileged=ns.privileged,
                    env=tuple(env),
                ):
                    quick = None
            return _exec(ns, quick, signals, command, tuple(env), stdin_tty, size_fd, rows, cols)
        except BaseException:
            if quick is not None and not quick.adopted:
                quick.abandon()  # nothing left behind, whatever stopped us before the session
            raise


def _exec(
    ns: argparse.Namespace,
    quick: QuickStart | None,
    signals: _TermSignals,
    command: tuple[str, ...],
    env: tuple[str, ...],
    stdin_tty: bool,
    size_fd: int | None,
    rows: int,
    cols: int,
) -> int:
    from cdebug_tui.engine.models import SIDECAR_GONE, Mode, SessionSpec, Step
    from cdebug_tui.engine.session import start_session

    spec = SessionSpec(
        target=ns.target,
        image=ns.image,
        mode=Mode(ns.mode),
        user=ns.user,
        privileged=ns.privileged,
        tty=ns.tty,
        # -t at a terminal takes its keys too (our -t has always been -it there).
        interactive=ns.interactive or (ns.tty and stdin_tty),
        command=command,
        name=ns.name,
        rows=rows,
        cols=cols,
        term=os.environ.get("TERM") or "xterm",
        profile=ns.profile,
        env=env,
        workdir=ns.workdir,
    )

    def on_step(step: Step) -> None:
        if ns.explain:
            sys.stderr.write(f"# {step.title} ({step.duration * 1000:.0f} ms)")
            sys.stderr.write(f": {step.detail}\n" if step.detail else "\n")
            for line in step.command.splitlines():
                sys.stderr.write(f"  {line}\n")
            sys.stderr.flush()

    if quick is not None:
        from cdebug_tui.engine.unixapi import LocalEngine

        # The current engine (engines.discover's first), at the socket quick.begin found.
        local = LocalEngine("default", quick.path)
        local.learn(quick.headers)
        engine: Engine = local  # type: ignore[assignment]  # it answers as Engine does
    else:
        import dataclasses

        # Discovery (Docker contexts, Podman's sockets) only here: the quick start needed none.
        from cdebug_tui.engine.engines import EngineRegistry, split_target

        registry = EngineRegistry()
        # ENGINE/CONTAINER: only a known engine name counts, since container names have no '/'.
        prefix, container = split_target(ns.target, registry.names)
        if (
            prefix is not None
            and ns.engine is not None
            and registry.config(ns.engine).name != prefix
        ):
            raise CdebugError(
                f"TARGET {ns.target!r} names engine {prefix!r} but --engine is {ns.engine!r}"
            )
        engine = _exec_engine(registry, prefix or ns.engine)
        spec = dataclasses.replace(spec, target=container)
    notices: list[str] = []
    session = start_session(
        engine,
        spec,
        on_step=on_step,
        on_progress=_PullBars(),
        # Said once the session runs: an error then is the only line (a notice before it,
        # "busybox:musl is not here; using ...", made two). -q: none (the mode line says
        # which toolkit it is).
        notice=notices.append,
        # The shell on the sidecar's own TTY, where it can be: no exec (see DebugSession).
        direct=True,
        quick=quick,
    )
    # Collected again, but not what the start made, which stays: the first collection
    # would otherwise go through all of it as the prompt comes.
    gc.freeze()
    gc.enable()
    try:
        # In the try: a hangup (or a closed terminal's EIO) while these are written must
        # still close the session, or its sidecar (and a copy, with its image) stayed.
        if not ns.quiet:
            # Once each: a direct session that was not possible said them before the
            # usual one said them again.
            for text in dict.fromkeys(notices):
                _warn(text)
        if session.copy is not None:
            # Always, -q or not: its volumes are the original's, writable for real.
            _warn(session.copy.banner())
        if not ns.quiet:
            _warn(f"{session.mode} mode: {session.mode_explained}")
        if ns.explain:
            from cdebug_tui.engine.internals import read_internals, summary

            sys.stderr.write(f"# the sidecar's scripts: {session.config.supervisor_hint()}\n")
            try:
                text = summary(read_internals(session), session)
            except CdebugError:
                if not session.direct:
                    raise
                # A direct session's sidecar ends with its command, which may have ended
                # already (`exec -it --explain T true`).
                text = "# the internals: not read, the command had ended"
            sys.stderr.write(text + "\n")
            sys.stderr.flush()
        recorder = None
        if ns.record:
            from cdebug_tui.engine.recording import CastRecorder

            try:
                recorder = CastRecorder(
                    ns.record, rows, cols, session.target.name, session.steps, term=spec.term
                )
            except OSError as exc:
                raise CdebugError(
                    f"cannot write the recording {ns.record}: {exc.strerror or exc}"
                ) from exc
        try:
            code = _pump(session, size_fd, spec.interactive, recorder)
        finally:
            if recorder is not None:
                recorder.close()
    finally:
        signals.interrupts = False
        session.close()
    if signals.signal_code is not None:
        return signals.signal_code
    if session.ended_reason:
        # The target (or a copy's original) went: the command's own code would mislead.
        if ns.tty and sys.stderr.isatty():
            sys.stderr.write("\r\n")  # the shell's last line (its prompt) did not end
        why = session.ended_reason
        if why in ("the target stopped", "the target restarted"):
            # How it ended, as the app's header says it: what a crash's debugger asks first.
            target_code = session.target_end()
            why = session.ended_reason or why
            if target_code is not None:
                why += f" (exit code {target_code})"
        _warn(f"session ended: {why}")
        if session.copy is None and session.ended_reason in (
            "the target stopped",
            "the target restarted",
            SIDECAR_GONE,
        ):
            _remove_links_left(session)
        return 125
    return code


def _check_writable(path: str, what: str) -> None:
    """Refuses a file that cannot be written, before anything is made (nor the file itself).

    Raises:
        CdebugError: Saying why.
    """
    folder = os.path.dirname(os.path.abspath(path))
    why = ""
    if os.path.isdir(path):
        why = "it is a directory"
    elif os.path.isfile(path) and os.path.getsize(path) > 0:
        # As asciinema: an empty file (mktemp's) or a pipe is written to, never a file's data.
        why = "it exists (cdebug-tui writes no file over another)"
    elif not os.path.isdir(folder):
        why = f"no such directory: {folder}"
    elif not os.access(path if os.path.exists(path) else folder, os.W_OK):
        why = "permission denied"
    if why:
        raise CdebugError(f"cannot write {what} {path}: {why}")


def _exec_engine(registry: EngineRegistry, name: str | None) -> Engine:
    """The engine for exec: a local socket through LocalEngine, which spares the exec path
    docker-py's import (150-400 ms, more than `docker run -it` takes to a prompt); any other
    address (tcp, ssh) through Engine. CDEBUG_TUI_DOCKER_PY=1 takes Engine everywhere.

    Raises:
        EngineUnavailableError: When it is unknown or does not answer.
    """
    from cdebug_tui.engine.unixapi import local_engine

    cfg = registry.config(name)
    local = local_engine(cfg.name, cfg.address, registry.timeout)
    if local is None:
        return registry.get(cfg.name)
    local.ping()
    # LocalEngine answers what a session asks as Engine does, and hands Engine the rest.
    return local  # type: ignore[return-value]  # it answers as Engine does


class _TermSignals:
    """Turns SIGTERM, SIGHUP (and SIGINT without a TTY) into a clean end of the session."""

    def __init__(self) -> None:
        self.signal_code: int | None = None
        #: Whether a signal still ends what runs. Not once the session is being closed: a
        #: closed terminal sends SIGHUP twice (the hangup, then tmux's or the shell's), and a
        #: second _Exit cut the cleanup short: a copy's image stayed behind.
        self.interrupts = True
        self._old: dict[int, Any] = {}

    def _handle(self, signum: int, _frame: object) -> None:
        if self.signal_code is None:
            self.signal_code = 128 + signum
        if self.interrupts:
            self.interrupts = False
            raise _Exit(self.signal_code)

    def __enter__(self) -> _TermSignals:
        # SIGQUIT too: ctrl+\ before the terminal is raw, while the session starts.
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def _pump(
    session: DebugSession,
    size_fd: int | None,
    interactive: bool,
    recorder: CastRecorder | None = None,
) -> int:
    """Copies the terminal to the session and back until the command ends. `size_fd` is the
    terminal whose size the session's TTY follows (None: no TTY, or none at hand); a TTY
    session's own keys come through stdin, made raw, when it is that terminal."""
    stdin_fd, stdout_fd, stderr_fd = 0, sys.stdout.fileno(), sys.stderr.fileno()
    restore = None
    if size_fd is not None:
        if size_fd == stdin_fd and interactive:
            import termios
            import tty as ttymod

            restore = termios.tcgetattr(stdin_fd)
            # TCSANOW, not setraw's default TCSAFLUSH: keys typed while the session started
            # are kept and reach the shell, as with docker exec.
            ttymod.setraw(stdin_fd, termios.TCSANOW)

        def on_winch(_s: int, _f: object) -> None:
            size = os.get_terminal_size(size_fd)
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
            try:
                while view:
                    view = view[os.write(fd, view) :]
            except BrokenPipeError:
                raise  # main() ends quietly, as docker does; the session is closed on the way
            except OSError as exc:
                # A full disk, say: one line, not a traceback.
                where = "standard error" if fd == stderr_fd else "standard output"
                raise CdebugError(f"cannot write to {where}: {exc.strerror or exc}") from exc
    finally:
        if size_fd is not None:
            signal.signal(signal.SIGWINCH, signal.SIG_DFL)
        if restore is not None:
            import termios

            try:
                termios.tcsetattr(stdin_fd, termios.TCSADRAIN, restore)
            except termios.error:
                pass  # a terminal hung up (closed) has no settings to restore
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


# -- port-forward -----------------------------------------------------------------------------


def _add_port_forward_arguments(p: argparse.ArgumentParser) -> None:
    image = p.add_argument(
        "--image", default=DEFAULT_IMAGE, help=f"relay image with nc (default {DEFAULT_IMAGE})"
    )
    image.completer = _complete_images  # type: ignore[attr-defined]
    p.add_argument(
        "--address", default="127.0.0.1", help="local address to listen on (default 127.0.0.1)"
    )
    target = p.add_argument(
        "target", metavar="TARGET", help="container name, id or unique id prefix"
    )
    target.completer = _complete_running  # type: ignore[attr-defined]
    ports = p.add_argument(
        "ports",
        metavar="[LOCAL:]REMOTE",
        nargs="+",
        help="8080 (the same port), 8888:80, or :80 (any free local port)",
    )
    ports.completer = _complete_nothing  # type: ignore[attr-defined]


def cmd_port_forward(ns: argparse.Namespace) -> int:
    """`cdebug-tui port-forward TARGET [LOCAL:]REMOTE...`: until Ctrl-C or the target stops."""
    from cdebug_tui.engine.engines import EngineRegistry
    from cdebug_tui.engine.ports import (
        PortForward,
        Relay,
        check_listening,
        list_sockets,
        parse_port_spec,
    )
    from cdebug_tui.engine.session import ENDING_EVENTS, ensure_image
    from cdebug_tui.errors import PortForwardError, TargetNotRunningError

    specs = [parse_port_spec(spec) for spec in ns.ports]  # bad input fails before anything
    locals_ = [local for local, _ in specs if local]
    if len(set(locals_)) < len(locals_):
        # Said first: the second forward found the port taken by the first, after both had
        # been announced.
        twice = sorted({p for p in locals_ if locals_.count(p) > 1})
        raise PortForwardError(f"local port {twice[0]} is given twice")
    engine, target = EngineRegistry().resolve(ns.target, ns.engine)
    if not target.running:
        raise TargetNotRunningError(f"{target.name} is {target.state}: nothing listens there")
    image, _ = ensure_image(engine, ns.image, _PullBars(), _warn)
    ended = threading.Event()
    why: list[str] = []
    forwards: list[Any] = []
    with _TermSignals():
        events = engine.events(container=target.id)
        relay = Relay(engine, target, image)
        try:
            sockets = list_sockets(relay)
            for _, remote in specs:
                check_listening(sockets, remote, target.name)
            for local, remote in specs:
                forwards.append(
                    PortForward(engine, relay.id, remote, local, ns.address, _warn).start()
                )
                print(f"Forwarding from {forwards[-1].address} -> {remote}", flush=True)

            def watch() -> None:
                try:
                    for event in events:
                        if reason := ENDING_EVENTS.get(event.action):
                            why.append(f"{target.name} {reason}")
                            break
                except CdebugError:
                    why.append("the engine went away")
                ended.set()

            threading.Thread(target=watch, daemon=True).start()
            while not ended.wait(0.5):
                pass
        except _Exit as exc:
            return 0 if exc.code == 130 else exc.code
        finally:
            for forward in forwards:
                forward.close()
            events.close()
            relay.close()
    raise CdebugError(f"stopped forwarding: {why[0] if why else 'the target ended'}")


# -- other subcommands -----------------------------------------------------------------------


def cmd_toolkit(ref: str | None, engine: str | None = None) -> int:
    """`cdebug-tui toolkit build [REF]`: builds the local toolkit from the host's static busybox."""
    from cdebug_tui.engine import toolkit

    ref = ref or toolkit.LOCAL_TOOLKIT
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
    links = _remove_stale_links(engine)
    if not orphans and not images and not links:
        print("no sidecars left behind")
    return 0


def _remove_links_left(session: Any) -> None:
    """The link a session's supervisor could not remove, its target having stopped (or
    restarted) under it, with its PID namespace and the supervisor in it: removed now, as
    `cleanup` would, so that the target keeps no file of ours."""
    from cdebug_tui.engine.session import remove_stale_links_of
    from cdebug_tui.errors import TargetNotFoundError

    try:
        remove_stale_links_of(session.engine, session.target.id, session.config.image)
    except TargetNotFoundError:
        pass  # removed (`--rm`): nothing of it is left
    except CdebugError as exc:
        _warn(f"{session.target.name} keeps a link of this session for now: {exc}")


def _remove_stale_links(engine: Engine) -> int:
    """Removes the links sessions left in running targets (see remove_stale_links); says
    what it removed, and what waits in stopped ones. Returns how many it named."""
    from cdebug_tui.engine.session import remove_stale_links

    removed, failed, waiting = remove_stale_links(engine, DEFAULT_IMAGE)
    for name, why in failed:
        _warn(f"cannot clean {name}: {why}")
    for name, path in removed:
        print(f"removed {path} from {name}, left by a session that ended with its target")
    for name, state, path in waiting:
        print(f"{path} stays in {name} ({state}) until it runs again; it is removed then")
    return len(removed) + len(waiting)


def cmd_demo(exec_: bool, name: str | None = None) -> int:
    """`cdebug-tui demo [--exec]`: makes a shell-less demo target if none runs, then debugs it."""
    from cdebug_tui.engine import demo

    if not exec_:
        _need_terminal()  # before anything is made
    engine = _connect(name)
    target = demo.ensure_demo_target(engine, notice=_warn)
    image = demo.ensure_toolkit(engine, notice=_warn)
    if exec_:
        ns = build_parser().parse_args(
            ["exec", "-it", "--image", image, "--engine", engine.name, target]
        )
        return cmd_exec(ns)
    _select_engine_for_tui(engine.name)
    from cdebug_tui.ui.launch import run_app

    return run_app(target, image)


def cmd_completion(shell: str) -> int:
    """`cdebug-tui completion SHELL`: prints argcomplete's hook for cdebug-tui in that shell."""
    import argcomplete

    sys.stdout.write(argcomplete.shellcode(["cdebug-tui"], shell=shell))
    sys.stdout.flush()  # here, not at exit: a closed pipe then ends quietly in main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
