"""Provides the messages that thread workers post back to the UI, named as past events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from cdebug_tui.engine.models import Step
    from cdebug_tui.engine.readings import Container, ImageInfo, Process, PullProgress, RootfsEntry
    from cdebug_tui.engine.session import DebugSession


class EngineConnected(Message):
    """The engine answered; `engine` is a cdebug_tui.engine.client.Engine."""

    def __init__(self, engine: Any) -> None:
        super().__init__()
        self.engine = engine


class EngineFailed(Message):
    """An engine cannot be reached, or its event stream broke; `engine` names it if known."""

    def __init__(self, error: str, engine: str | None = None) -> None:
        super().__init__()
        self.error = error
        self.engine = engine


class ContainersLoaded(Message):
    """The whole container list of one engine (None: of the only engine) was read."""

    def __init__(
        self,
        containers: list[Container],
        engine: str | None = None,
        details_only: bool = False,
        read_at: float = 0.0,
        runs: bool = True,
    ) -> None:
        super().__init__()
        self.containers = containers
        self.engine = engine
        #: When the read began (time.monotonic()): a row an event changed since is newer.
        self.read_at = read_at
        #: Only their SHELL and the details of their runs are news: the rows' states may have
        #: changed since they were read.
        self.details_only = details_only
        #: Whether the details of their runs (restart count, OOM kill, start and end) were
        #: read: a pass of the shell probes alone leaves them as they are.
        self.runs = runs


class ContainerChanged(Message):
    """One container appeared, changed state or (when `container` is None) disappeared."""

    def __init__(
        self, container_id: str, container: Container | None, engine: str | None = None
    ) -> None:
        super().__init__()
        self.container_id = container_id
        self.container = container
        self.engine = engine


class ImagesLoaded(Message):
    """The engine's local images were read (for the toolkit picker)."""

    def __init__(self, images: list[ImageInfo]) -> None:
        super().__init__()
        self.images = images


class ImagePulled(Message):
    """A toolkit image is now on the engine, as `image` (the local fallback may replace it)."""

    def __init__(self, image: str) -> None:
        super().__init__()
        self.image = image


class ImagePullFailed(Message):
    """A toolkit image could not be pulled."""

    def __init__(self, image: str, error: str) -> None:
        super().__init__()
        self.image = image
        self.error = error


class PullProgressed(Message):
    """One progress line of a pull."""

    def __init__(self, progress: PullProgress) -> None:
        super().__init__()
        self.progress = progress


class SessionStepTaken(Message):
    """Starting a session took one more step."""

    def __init__(self, step: Step) -> None:
        super().__init__()
        self.step = step


class SessionNoticed(Message):
    """Starting a session has something to tell the user (a fallback, a local build)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class SessionStarted(Message):
    """A debug session runs; its shell is attached."""

    def __init__(self, session: DebugSession) -> None:
        super().__init__()
        self.session = session


class SessionFailed(Message):
    """A debug session could not start; nothing was left behind."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class SessionEnded(Message):
    """The shell of a session exited and its sidecar was removed."""

    def __init__(self, exit_code: int | None) -> None:
        super().__init__()
        self.exit_code = exit_code


class ProcessesLoaded(Message):
    """The target's process table was read."""

    def __init__(self, processes: list[Process], error: str | None = None) -> None:
        super().__init__()
        self.processes = processes
        #: Why this reading failed (the last table is kept), None when it did not.
        self.error = error


class DirectoryLoaded(Message):
    """A directory of the target's root filesystem was read, for the tree node `node`."""

    def __init__(self, node: Any, entries: list[RootfsEntry] | None, error: str = "") -> None:
        super().__init__()
        self.node = node
        self.entries = entries
        self.error = error


class FilePreviewed(Message):
    """The start of a file of the target was read."""

    def __init__(self, path: str, data: bytes) -> None:
        super().__init__()
        self.path = path
        self.data = data
