"""Provides RootfsPanel: the target's root filesystem as a lazily loaded tree."""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from cdebug_tui.ui.messages import DirectoryLoaded, FilePreviewed
from cdebug_tui.ui.widgets.processes import format_bytes

if TYPE_CHECKING:
    from cdebug_tui.engine.models import RootfsEntry

_CHANGE_STYLE = {"A": ("+", "bold green"), "C": ("~", "bold yellow"), "D": ("-", "bold red")}
_KIND_STYLE = {
    "dir": "bold blue",
    "link": "cyan",
    "char": "yellow",
    "block": "yellow",
    "fifo": "magenta",
    "socket": "magenta",
}


def entry_label(entry: RootfsEntry) -> Text:
    """One tree line: change marker, name, link target, then size, mode and owner dimmed."""
    text = Text()
    marker, style = _CHANGE_STYLE.get(entry.change or "", (" ", ""))
    text.append(marker + " ", style=style)
    name_style = _KIND_STYLE.get(entry.kind, "")
    if entry.kind == "file" and "x" in entry.mode[1:4]:
        name_style = "bold green"
    if entry.change == "D":
        name_style = "strike dim"
    text.append(entry.name + ("/" if entry.is_dir else ""), style=name_style)
    if entry.link_target is not None:
        text.append(" → " + entry.link_target, style="cyan dim")
    size = "" if entry.is_dir else format_bytes(entry.size)
    text.append(f"  {size} {entry.mode} {entry.owner}".rstrip(), style="dim")
    return text


class RootfsPanel(Tree["RootfsEntry | None"]):
    """The target's files: a directory is read when it is first opened; Enter previews a file.

    Files that `docker diff` reports are marked: + added, ~ changed, - deleted.
    """

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    class PreviewRequested(Message):
        """The user chose a file to preview."""

        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("/", data=None, id=id)
        self.session: Any = None
        self.loaded_paths: set[str] = set()
        self.show_root = True
        self.guide_depth = 2

    def on_mount(self) -> None:
        self.border_title = "target rootfs"
        self.border_subtitle = "+ added ~ changed - deleted"

    def start(self, session: Any) -> None:
        """Reads `/` of a running session's target and opens it."""
        self.session = session
        self.root.set_label(Text("/", style="bold blue"))
        self.root.data = None
        self.load_node(self.root, "/")

    @staticmethod
    def node_path(node: TreeNode[RootfsEntry | None]) -> str:
        return node.data.path if node.data is not None else "/"

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[RootfsEntry | None]) -> None:
        event.stop()
        path = self.node_path(event.node)
        if path not in self.loaded_paths and self.session is not None:
            self.loaded_paths.add(path)
            self.load_node(event.node, path)

    def on_tree_node_selected(self, event: Tree.NodeSelected[RootfsEntry | None]) -> None:
        event.stop()
        entry = event.node.data
        if entry is None or entry.is_dir or entry.change == "D":
            return
        path = entry.path
        if entry.kind == "link" and entry.link_target:
            # Resolve one hop ourselves: the sidecar would follow absolute links in its own root.
            path = posixpath.normpath(
                posixpath.join(posixpath.dirname(entry.path), entry.link_target)
            )
        if entry.kind in ("file", "link"):
            self.post_message(self.PreviewRequested(path))

    @work(thread=True, exit_on_error=False)
    def load_node(self, node: TreeNode[RootfsEntry | None], path: str) -> None:
        """Reads one directory in the sidecar."""
        from cdebug_tui.engine.panels import list_dir
        from cdebug_tui.errors import CdebugError

        try:
            entries = list_dir(self.session, path)
        except CdebugError as exc:  # shown in the tree, not as a crash
            self.post_message(DirectoryLoaded(node, None, str(exc)))
            return
        self.post_message(DirectoryLoaded(node, entries))

    def on_directory_loaded(self, message: DirectoryLoaded) -> None:
        message.stop()
        node: TreeNode[RootfsEntry | None] = message.node
        self.loaded_paths.add(self.node_path(node))
        node.remove_children()
        if message.entries is None:
            node.add_leaf(Text(message.error, style="red"), data=None)
            node.expand()
            return
        for entry in message.entries:
            label = entry_label(entry)
            if entry.is_dir:
                node.add(label, data=entry, allow_expand=True)
            else:
                node.add_leaf(label, data=entry)
        if not message.entries:
            node.add_leaf(Text("(empty)", style="dim italic"), data=None)
        node.expand()

    @work(thread=True, exit_on_error=False, group="preview")
    def preview(self, path: str) -> None:
        """Reads the start of a file in the sidecar and posts FilePreviewed."""
        from cdebug_tui.engine.panels import preview_file
        from cdebug_tui.errors import CdebugError

        try:
            data = preview_file(self.session, path, 64 * 1024)
        except CdebugError as exc:  # the reason becomes the preview
            data = f"cannot preview {path}: {exc}".encode()
        self.post_message(FilePreviewed(path, data))
