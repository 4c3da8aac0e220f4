"""Provides RootfsPanel: the target's root filesystem as a lazily loaded tree."""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode
from textual.worker import get_current_worker

from cdebug_tui.ui.messages import DirectoryLoaded, FilePreviewed
from cdebug_tui.ui.widgets.processes import format_bytes

if TYPE_CHECKING:
    from collections.abc import Iterable

    from cdebug_tui.engine.readings import RootfsEntry

_CHANGE_STYLE = {"A": ("+", "bold green"), "C": ("~", "bold yellow"), "D": ("-", "bold red")}
_KIND_STYLE = {
    "dir": "bold blue",
    "link": "cyan",
    "char": "yellow",
    "block": "yellow",
    "fifo": "magenta",
    "socket": "magenta",
}


#: Seconds between two readings of `docker diff` while the tree is shown.
CHANGES_EVERY = 2.0
#: The mark of a directory with changes inside it that is not itself reported.
_INSIDE = ("•", "yellow")


#: A name longer than this pushes its own line's columns right, not every sibling's.
NAME_COLUMN_MAX = 28


#: How a name's control characters show (a newline would break the tree's line): as in C.
_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\"}


def _shown_name(entry: RootfsEntry) -> str:
    name = entry.name
    if not name.isprintable():
        name = "".join(_ESCAPES.get(c, c if c.isprintable() else f"\\x{ord(c):02x}") for c in name)
    return name + ("/" if entry.is_dir else "")


def _shown_size(entry: RootfsEntry) -> str:
    if entry.device is not None:
        return f"{entry.device[0]}, {entry.device[1]}"  # as ls -l shows a device file
    return "" if entry.is_dir or not entry.mode else format_bytes(entry.size)  # not read: none


def column_widths(entries: Iterable[RootfsEntry]) -> tuple[int, int]:
    """The name and size columns' widths for a directory's entries, as `ls -l` aligns them."""
    entries = list(entries)
    names = [cell_len(_shown_name(e)) for e in entries]
    sizes = [len(_shown_size(e)) for e in entries]
    return min(NAME_COLUMN_MAX, max(names, default=0)), max(sizes, default=0)


def entry_label(entry: RootfsEntry, inside: bool = False, widths: tuple[int, int] = (0, 0)) -> Text:
    """One tree line: change marker, name, then size, mode and owner dimmed, in columns
    aligned with its siblings' (`widths`, see column_widths), then a link's target.

    Args:
        entry: The entry.
        inside: Whether something under it changed (a directory's mark when it has none).
        widths: The name and size columns' widths among its siblings.
    """
    # The tree draws a directory's ▶/▼ before its label: a file's label starts with as much,
    # so that names line up as ls -l's do.
    text = Text("" if entry.is_dir else "  ")
    marker, style = _CHANGE_STYLE.get(entry.change or "", _INSIDE if inside else (" ", ""))
    text.append(marker + " ", style=style)
    name_style = _KIND_STYLE.get(entry.kind, "")
    if entry.kind == "file" and "x" in entry.mode[1:4]:
        name_style = "bold green"
    if entry.change == "D":
        name_style = "strike dim"
    name = _shown_name(entry)
    text.append(name, style=name_style)
    text.append(" " * max(0, widths[0] - cell_len(name)))
    text.append(
        f"  {_shown_size(entry):>{widths[1]}} {entry.mode} {entry.owner}".rstrip(), style="dim"
    )
    if entry.link_target is not None:
        text.append(" → " + entry.link_target, style="cyan dim")
    return text


def changed_dirs(changes: dict[str, str]) -> set[str]:
    """The directories with a change somewhere under them (`/` included)."""
    out: set[str] = set()
    for path in changes:
        parent = posixpath.dirname(path)
        while parent not in out:
            out.add(parent)
            if parent == "/":
                break
            parent = posixpath.dirname(parent)
    return out


class RootfsPanel(Tree["RootfsEntry | None"]):
    """The target's files: a directory is read when it is first opened; Enter previews a file.

    Files that `docker diff` reports are marked: + added, ~ changed, - deleted.
    """

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("r", "reread", "Read again"),
        Binding("c", "toggle_changed", "Changed only"),
        Binding("ctrl+s", "save", "Save to this host"),
    ]

    class ChangesLoaded(Message):
        """`docker diff` of the target was read: kinds by path."""

        def __init__(
            self, changes: dict[str, str], entries: dict[str, RootfsEntry] | None = None
        ) -> None:
            super().__init__()
            self.changes = changes
            #: The changed entries as read (changed only): size, mode, owner.
            self.entries = entries

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
        #: Set when the session has ended: nothing more is read.
        self.stopped = False
        #: `docker diff` of the target as last read: "A", "C" or "D" by path.
        self.changes: dict[str, str] = {}
        #: Directories with a change somewhere under them.
        self.changed_dirs: set[str] = set()
        #: The changed entries as read for the changed-only tree (see changed_entries).
        self.changed_read: dict[str, RootfsEntry] = {}
        #: Whether the tree shows only what `docker diff` reports.
        self.changed_only = False
        #: The name and size columns' widths of each directory read, by its node's id.
        self._column_widths: dict[int, tuple[int, int]] = {}

    def on_mount(self) -> None:
        self.border_title = "target rootfs"
        self.border_subtitle = "+ added ~ changed - deleted • inside · c changed only"

    def start(self, session: Any) -> None:
        """Reads `/` of a running session's target and opens it; marks follow `docker diff`."""
        self.session = session
        self._read_root()
        self.set_timer(CHANGES_EVERY, self._tick)

    def _read_root(self) -> None:
        self.loaded_paths = set()
        self.root.remove_children()
        self.root.set_label(Text("/", style="bold blue"))
        self.root.data = None
        self.load_node(self.root, "/")

    # -- changes ---------------------------------------------------------------------------

    def _shown(self) -> bool:
        """Whether someone can see the tree: its tab is the active one and it has rows."""
        from cdebug_tui.ui.widgets.processes import ProcessesPanel

        return self.region.height > 0 and ProcessesPanel._tab_active(self)  # type: ignore[arg-type]

    def _tick(self) -> None:
        if self.stopped or self.session is None:
            return
        if self._shown():
            self.read_changes()
        else:
            self.set_timer(CHANGES_EVERY, self._tick)

    @work(thread=True, exclusive=True, exit_on_error=False, group="changes")
    def read_changes(self) -> None:
        """Reads `docker diff` of the target (the engine's, not the sidecar's: it is cheap);
        showing changed only, the changed entries too when the diff is new."""
        from cdebug_tui.engine.panels import changed_entries, changes_of

        changes = changes_of(self.session)
        entries = None
        if self.changed_only and (changes != self.changes or not self.changed_read):
            entries = changed_entries(self.session, changes)
        self.post_message(self.ChangesLoaded(changes, entries))

    def on_rootfs_panel_changes_loaded(self, message: RootfsPanel.ChangesLoaded) -> None:
        message.stop()
        if not self.stopped:
            self.set_timer(CHANGES_EVERY, self._tick)
        fresh = message.entries is not None and message.entries != self.changed_read
        if message.entries is not None:
            self.changed_read = message.entries
        if message.changes == self.changes:
            if fresh and self.changed_only:
                self._show_changed_only()
            return
        before = self.changes
        self.changes = message.changes
        self.changed_dirs = changed_dirs(self.changes)
        if self.changed_only:
            self._show_changed_only()
            return
        # Directories whose entries came or went are read again; every other line is relabelled.
        moved = {
            posixpath.dirname(path)
            for path in set(before) ^ set(self.changes)
            if before.get(path) in ("A", "D", None) and self.changes.get(path) in ("A", "D", None)
        }
        for node in self._loaded_nodes():
            path = self.node_path(node)
            if path in moved and path in self.loaded_paths:
                self.load_node(node, path)
            self._relabel(node)

    def _loaded_nodes(self) -> list[TreeNode[RootfsEntry | None]]:
        out: list[TreeNode[RootfsEntry | None]] = []
        stack = [self.root]
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(node.children)
        return out

    def _relabel(self, node: TreeNode[RootfsEntry | None]) -> None:
        from dataclasses import replace

        entry = node.data
        if entry is None:
            return
        change = self.changes.get(entry.path)
        if change != entry.change and entry.change != "D":
            entry = replace(entry, change=change)
            node.data = entry
        widths = self._widths_under(node.parent) if node.parent is not None else (0, 0)
        node.set_label(entry_label(entry, entry.path in self.changed_dirs, widths))

    def _widths_under(self, parent: TreeNode[RootfsEntry | None]) -> tuple[int, int]:
        """The columns' widths among a directory's entries, measured once: a relabel pass
        over a directory of n entries measured them n times (seconds for /usr/bin)."""
        widths = self._column_widths.get(parent.id)
        if widths is None:
            widths = column_widths(n.data for n in parent.children if n.data is not None)
            self._column_widths[parent.id] = widths
        return widths

    def action_reread(self) -> None:
        """Reads the opened directories and the change marks again."""
        if self.session is None or self.stopped:
            return
        self.changes = {}
        if self.changed_only:
            self.read_changes()
            return
        for node in self._loaded_nodes():
            path = self.node_path(node)
            if path in self.loaded_paths:
                self.load_node(node, path)
        self.notify("reading the files again", timeout=2)

    def action_toggle_changed(self) -> None:
        """Shows only what `docker diff` reports, as a tree; pressed again, every file."""
        if self.session is None:
            return
        self.changed_only = not self.changed_only
        if self.changed_only:
            self.border_title = "target rootfs · changed only (docker diff)"
            self._show_changed_only()
            self.read_changes()
        else:
            self.border_title = "target rootfs"
            self._read_root()

    def _show_changed_only(self) -> None:
        from cdebug_tui.engine.readings import RootfsEntry

        self.root.remove_children()
        self.root.set_label(Text("/", style="bold blue"))
        nodes: dict[str, TreeNode[RootfsEntry | None]] = {"/": self.root}
        entries: dict[str, RootfsEntry] = {}
        for path in sorted(self.changes):
            # As read (size, mode, owner); a deleted path, or one not read yet, by its name.
            entries[path] = self.changed_read.get(path) or RootfsEntry(
                path=path,
                name=posixpath.basename(path),
                kind="dir" if path in self.changed_dirs else "file",
                size=0,
                mode="",
                uid=0,
                gid=0,
                owner="",
                change=self.changes[path],
            )
        siblings: dict[str, list[RootfsEntry]] = {}
        for path, entry in entries.items():
            siblings.setdefault(posixpath.dirname(path), []).append(entry)
        widths = {parent: column_widths(group) for parent, group in siblings.items()}
        for path, entry in entries.items():
            parent = nodes.get(posixpath.dirname(path))
            if parent is None:
                continue  # docker diff lists a parent before its children
            is_dir = path in self.changed_dirs or entry.is_dir
            label = entry_label(entry, is_dir, widths[posixpath.dirname(path)])
            if is_dir:
                nodes[path] = parent.add(label, data=entry, expand=True)
            else:
                parent.add_leaf(label, data=entry)
        if not self.changes:
            self.root.add_leaf(Text("(docker diff reports nothing)", style="dim italic"))
        self.root.expand()

    def stop(self, why: str = "") -> None:
        """Marks the tree as what the files were when the session ended."""
        self.stopped = True
        self.border_title = "target rootfs · last reading"
        self.border_subtitle = Text(why or "the session ended", style="yellow")

    @staticmethod
    def node_path(node: TreeNode[RootfsEntry | None]) -> str:
        return node.data.path if node.data is not None else "/"

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[RootfsEntry | None]) -> None:
        event.stop()
        path = self.node_path(event.node)
        if self.changed_only:
            return
        if path not in self.loaded_paths and self.session is not None and not self.stopped:
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
            entries = list_dir(self.session, path, self.changes or None)
        except CdebugError as exc:  # shown in the tree, not as a crash
            self.post_message(DirectoryLoaded(node, None, str(exc)))
            return
        self.post_message(DirectoryLoaded(node, entries))

    def on_directory_loaded(self, message: DirectoryLoaded) -> None:
        message.stop()
        if self.changed_only:
            return
        node: TreeNode[RootfsEntry | None] = message.node
        path = self.node_path(node)
        # Read again: the directories below it are new nodes, to be read when opened.
        below = path.rstrip("/") + "/"
        self.loaded_paths = {p for p in self.loaded_paths if not p.startswith(below)}
        self.loaded_paths.add(path)
        node.remove_children()
        if message.entries is None:
            node.add_leaf(Text(message.error, style="red"), data=None)
            node.expand()
            return
        widths = self._column_widths[node.id] = column_widths(message.entries)
        for entry in message.entries:
            label = entry_label(entry, entry.path in self.changed_dirs, widths)
            if entry.is_dir:
                node.add(label, data=entry, allow_expand=True)
            else:
                node.add_leaf(label, data=entry)
        if not message.entries:
            node.add_leaf(Text("(empty)", style="dim italic"), data=None)
        node.expand()

    def action_save(self) -> None:
        """Saves the file under the cursor (a directory as a tar archive) in the working
        directory of this host, as `docker cp` would; a link, what it names."""
        entry = self.cursor_node.data if self.cursor_node is not None else None
        if self.session is None:
            return
        if entry is None:
            self.notify("nothing to save here: choose a file or a directory", timeout=4)
            return
        if entry.change == "D":
            self.notify(f"{entry.path} was deleted (docker diff): nothing to save", timeout=4)
            return
        if entry.kind not in ("file", "dir", "link"):
            self.notify(f"{entry.path} is a {entry.kind}: only files and directories are saved")
            return
        self.notify(f"saving {entry.path}…", title="files", timeout=3)
        self.save(entry.path)

    @work(thread=True, exit_on_error=False, group="save")
    def save(self, path: str) -> None:
        """Saves a file of the target in the working directory, then says where (or why not);
        the tree going (the app quitting) cancels it, and nothing is left."""
        from pathlib import Path

        from cdebug_tui.engine.panels import save_from_target
        from cdebug_tui.errors import CdebugError

        worker = get_current_worker()
        try:
            dest, saved, size = save_from_target(
                self.session, path, Path.cwd(), cancelled=lambda: worker.is_cancelled
            )
        except CdebugError as exc:
            if not worker.is_cancelled:
                self.app.call_from_thread(self.notify, str(exc), title="files", severity="error")
            return
        except OSError as exc:
            note = f"cannot save {path} here: {exc.strerror or exc}"
            self.app.call_from_thread(self.notify, note, title="files", severity="error")
            return
        what = f"{path} → {saved}" if saved != path else path
        if dest.suffix == ".tar" and not saved.endswith(".tar"):
            what += " as a tar archive"
        amount = f"{size} bytes" if size < 1024 else format_bytes(size)
        note = f"saved {what} to {dest} ({amount}, only you may read it)"
        self.app.call_from_thread(self.notify, note, title="files", timeout=8)

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
