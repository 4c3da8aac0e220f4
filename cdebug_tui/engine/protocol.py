"""Provides SupervisorChannel: cdebug-tui's side of the sidecar supervisor's line protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cdebug_tui.engine.models import Mode
from cdebug_tui.engine.stream import Stream
from cdebug_tui.errors import SessionError

if TYPE_CHECKING:
    from cdebug_tui.engine.client import Engine


@dataclass
class Setup:
    """What the supervisor reported while it linked the toolkit in."""

    mode: Mode = Mode.ROOT
    #: The target's root as the shell sees it: "/" in root mode, "/target" in toolkit mode.
    root: str = "/"
    reason: str = ""
    #: Each change the supervisor made, as the command it ran.
    commands: list[str] = field(default_factory=list)


class SupervisorChannel:
    """Speaks the protocol that engine/supervisor.sh opens with, over the sidecar's attach stream.

    Every line either way is one line: a line with a newline inside would be read as two, so
    lines are refused (or, for free text, flattened) before they are sent. The end of the
    stream during set-up is an error, never a silent default. The channel also holds the
    connection of the anchor process (started for `-u` in root mode), which lives as long as
    it is held, and closes it with the rest.

    Args:
        stream: The supervisor's attach stream (stdin, and its stdout).
    """

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self._anchor: Stream | None = None

    # -- lines -----------------------------------------------------------------------------

    def send(self, *words: str) -> None:
        """Sends one protocol line made of `words`.

        Raises:
            ValueError: When a word holds a line break (it would split the line in two).
        """
        line = " ".join(words)
        if "\n" in line or "\r" in line:
            raise ValueError(f"a protocol line cannot hold a line break: {line!r}")
        self.stream.write(line.encode() + b"\n")

    def _line(self, timeout: float, during: str) -> str:
        line = self.stream.readline(timeout=timeout)
        if line is None:
            raise SessionError(f"the sidecar's supervisor ended {during}")
        return line

    # -- the steps -------------------------------------------------------------------------

    def read_probe(self, timeout: float = 15) -> dict[str, str]:
        """The supervisor's first report: what the toolkit has and what the sidecar may do.

        Raises:
            SessionError: When the supervisor ends (or says nothing in time) before it.
        """
        while True:
            line = self._line(timeout, "before it reported")
            if line.startswith("CDEBUG-PROBE "):
                return dict(item.partition("=")[::2] for item in line.split(" ")[1:] if "=" in item)

    def plan_root(self, anchor: int, nix: bool) -> None:
        """Asks for root mode: link the toolkit through process `anchor` (and /nix)."""
        self.send("root", str(anchor), "1" if nix else "0")

    def plan_toolkit(self, reason: str) -> None:
        """Asks for toolkit mode, saying why (the reason is flattened to one line)."""
        self.send("toolkit", *reason.split())

    def read_setup(self, timeout: float = 15) -> Setup:
        """What the supervisor did for the plan, up to its CDEBUG-READY.

        Raises:
            SessionError: When the supervisor ends (or stalls) before it is ready.
        """
        setup = Setup()
        while True:
            line = self._line(timeout, "during set-up")
            if line.startswith("+ "):
                setup.commands.append(line[2:])
            elif line.startswith("CDEBUG-MODE "):
                _, mode, root, *why = line.split(" ")
                setup.mode, setup.root, setup.reason = Mode(mode), root, " ".join(why)
            elif line == "CDEBUG-READY":
                return setup

    def link_for_user(self, anchor: int, uid: int, timeout: float = 10) -> list[str]:
        """Asks the supervisor to link the toolkit through the anchor, for a non-root uid (at
        /.cdebug-SESSION-uUID in the target).

        Returns:
            The commands the supervisor ran.

        Raises:
            SessionError: When it cannot, or the supervisor ends first.
        """
        self.send("anchor", str(anchor), str(uid))
        commands = []
        while True:
            line = self._line(timeout, "while linking the toolkit for that user")
            if line.startswith("+ "):
                commands.append(line[2:])
            elif line.startswith("CDEBUG-ANCHORED "):
                if line.removeprefix("CDEBUG-ANCHORED ") == "-":
                    raise SessionError("cannot link the toolkit for that user")
                return commands

    def send_init(self, data: bytes, path: str, timeout: float = 15) -> bool:
        """Sends the reapers' init (a binary) to the supervisor, which writes it to `path` in
        the sidecar's own root: through its stdin, with no archive upload (which the engine
        unpacks in a process of its own, beside the sidecar's start).

        Returns:
            Whether it is there, executable.

        Raises:
            SessionError: When the supervisor ends first.
        """
        self.send("init", str(len(data)), path)
        self.stream.write(data)
        while True:
            line = self._line(timeout, "while it received the reapers' init")
            if line.startswith("CDEBUG-INIT "):
                return line.removeprefix("CDEBUG-INIT ") == path

    def send_shell(self, script: str, timeout: float = 15) -> None:
        """Direct sessions: sends the shell's script, which the supervisor runs on the
        sidecar's TTY once it has answered; what follows on the stream is the shell's.

        Raises:
            SessionError: When the supervisor refuses it or ends first.
        """
        # An environment's bytes as they were (os.environ keeps undecodable ones escaped).
        data = script.encode(errors="surrogateescape")
        self.send("shell", str(len(data)))
        self.stream.write(data)
        while True:
            line = self._line(timeout, "before the shell started").rstrip("\r")
            if line == "CDEBUG-SHELL":
                self.stream.unread_pending()
                return
            if line.startswith("CDEBUG-SHELL "):
                raise SessionError("the sidecar's supervisor could not read the shell's command")

    def end(self) -> None:
        """Direct sessions, before the shell runs: asks the supervisor to end (its stdin, a
        TTY, never closes); nothing when it has gone."""
        try:
            self.send("end")
        except OSError:
            pass

    def start_anchor(self, engine: Engine, sidecar_id: str, uid_gid: tuple[int, int]) -> int:
        """Starts a process of the user's uid in the sidecar, whose /proc/PID/root that user may
        follow; it lives while this channel holds its connection.

        Returns:
            Its PID in the target's PID namespace.

        Raises:
            SessionError: When it does not start.
        """
        uid, gid = uid_gid
        exec_id = engine.exec_create(
            sidecar_id, ["sh", "-c", 'echo "$$"; exec sleep 2147483647'], user=f"{uid}:{gid}"
        )
        if self._anchor is not None:
            self._anchor.close()
        self._anchor = engine.exec_start(exec_id)
        line = self._anchor.readline(timeout=10)
        if not line or not line.strip().isdigit():
            raise SessionError(f"cannot start a process as uid {uid} in the sidecar")
        return int(line.strip())

    # -- the end ---------------------------------------------------------------------------

    def wait_end(self) -> None:
        """Blocks until the supervisor's stream ends: when it exits, at the session's end, or
        with its sidecar, killed or removed from outside. What it says meanwhile (the links it
        removes, at the end) is passed over."""
        while True:
            try:
                _, data = self.stream.read()
            except OSError:
                return  # closed under us: the session's own end
            if not data:
                return

    def close_write(self) -> None:
        """Ends the supervisor's stdin: it ends the session's processes, removes its links and
        exits."""
        self.stream.close_write()

    def close(self) -> None:
        """Closes the connections: the supervisor's and the anchor's."""
        if self._anchor is not None:
            self._anchor.close()
            self._anchor = None
        self.stream.close()
