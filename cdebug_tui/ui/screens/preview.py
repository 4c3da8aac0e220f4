"""Provides FilePreviewScreen: the start of one file of the target, text or hex."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea


def render_preview(data: bytes) -> str:
    """Text as it is; binary data as a hex dump of its first 1 KiB."""
    if b"\0" not in data[:4096]:
        return data.decode(errors="replace")
    lines = []
    for off in range(0, min(len(data), 1024), 16):
        chunk = data[off : off + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        ascii_ = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:08x}  {hexes:<47}  {ascii_}")
    return "\n".join(lines)


class FilePreviewScreen(ModalScreen[None]):
    """A read-only view of a file's first 64 KiB; Esc or q closes it."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def __init__(self, path: str, data: bytes) -> None:
        super().__init__()
        self.path = path
        self.data = data

    def compose(self) -> ComposeResult:
        with Vertical(id="preview-box"):
            binary = b"\0" in self.data[:4096]
            yield Static(
                Text.assemble(
                    (self.path, "bold"),
                    (f"  {len(self.data)} bytes read", "dim"),
                    ("  (binary: hex dump)" if binary else "", "dim"),
                    ("  Esc closes", "dim"),
                ),
                id="preview-title",
            )
            yield TextArea(render_preview(self.data), read_only=True, id="preview-text")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
