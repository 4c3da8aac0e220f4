"""Provides CdebugError, the one root error whose message a user reads."""

from __future__ import annotations

import re


class CdebugError(Exception):
    """An error with a message meant for the user, never shown with a traceback.

    Attributes:
        exit_code: The process exit code the CLI uses, 125 as `docker exec` does for tool errors.
    """

    exit_code = 125

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class EngineUnavailableError(CdebugError):
    """The container engine cannot be reached."""


class TargetNotFoundError(CdebugError):
    """No container matches what the user named."""


class AmbiguousTargetError(CdebugError):
    """A prefix matched more than one container."""


class TargetNotRunningError(CdebugError):
    """The target exists but is not running (stopped, paused, restarting)."""


class UnsupportedTargetError(CdebugError):
    """The target cannot be debugged safely, e.g. it shares the host's PID namespace."""


class ImageUnavailableError(CdebugError):
    """The toolkit image is neither present nor pullable, or the reference is invalid."""


class ToolkitError(CdebugError):
    """The toolkit image cannot serve as a toolkit (no shell, no usable binaries)."""


class SessionError(CdebugError):
    """Setting up or running a debug session failed."""


class UserNotFoundError(CdebugError):
    """The user given with -u does not exist in the target."""


#: A full container or image id, and its first 12 digits (the short id `docker ps` shows).
#: Not a digest (sha256:...) nor a path's part, which the user may need whole.
_LONG_ID = re.compile(r"(?<![:/])\b([0-9a-f]{12})[0-9a-f]{52}\b")


class EngineRequestError(CdebugError):
    """The engine answered a request with an error: a conflict, a refusal, a missing object.

    Attributes:
        status: The HTTP status the engine answered with (404 when the object is missing).
        explanation: The engine's own words.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        explanation: str = "",
        hint: str | None = None,
    ) -> None:
        # The engine names containers by their 64-digit id ("Container 40e47f4c...faa6645 is
        # not running"), which wrapped a notification over three lines: the short id says it.
        message = _LONG_ID.sub(r"\1", message)
        super().__init__(message, hint=hint)
        self.status = status
        self.explanation = _LONG_ID.sub(r"\1", explanation) or message

    @property
    def not_found(self) -> bool:
        return self.status == 404


class LogsUnavailableError(CdebugError):
    """A container's logs cannot be read (its log driver does not support reading, say)."""


class PortForwardError(CdebugError):
    """A port cannot be forwarded: the local port is taken, the target does not listen, ..."""


class ActionRefusedError(CdebugError):
    """A container action (stop, remove, ...) that cdebug-tui or the engine refused."""


class CopyError(CdebugError):
    """A debug copy of a stopped container or an image cannot be made."""


class ProfileError(CdebugError):
    """An unknown privilege profile was asked for."""
