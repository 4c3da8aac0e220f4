"""Provides InternalsView: a session's namespaces, target, capabilities, cgroup and mounts."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, ClassVar, Self

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static
from textual.worker import get_current_worker

from cdebug_tui.engine.internals import (
    NAMESPACES,
    CgroupInfo,
    Internals,
    MountRow,
    NamespaceRow,
    human_bytes,
    read_cgroup,
    read_internals,
)
from cdebug_tui.engine.models import Step, TargetInfo
from cdebug_tui.errors import CdebugError
from cdebug_tui.ui.secrets import mask_env

if TYPE_CHECKING:
    from cdebug_tui.engine.session import DebugSession

__all__ = ["InternalsView", "SECTIONS"]

#: The sections of the view: (topic for ExplainScreen, heading, one plain sentence).
SECTIONS: tuple[tuple[str, str, str], ...] = (
    (
        "internals",
        "Why the shell sees the target",
        "What cdebug-tui did, in the commands you could type, to put a shell inside a "
        "container that has none.",
    ),
    (
        "namespaces",
        "Namespaces",
        "What each process can see: the same number in two columns means the same view, "
        "shared; different numbers mean separate views.",
    ),
    (
        "target",
        "The target",
        "The container being debugged, as its image and `docker run` configured it.",
    ),
    (
        "capabilities",
        "Capabilities and confinement",
        "Which privileged operations each process may perform, and what else restricts it.",
    ),
    (
        "cgroup",
        "cgroup: limits and use",
        "The kernel's accounting group of the target: its limits and current use, read "
        "every 2 s. The debug shell runs in the sidecar's own cgroup and does not count here.",
    ),
    (
        "mounts",
        "Mounts of the target",
        "The filesystems the target's processes see, and where each comes from.",
    ),
)

_READING = "Reading the target's internals through the sidecar…"
_BAR_WIDTH = 24
# Above this width the sections sit in two columns.
_WIDE = 150
_INODE = re.compile(r"\[(\d+)\]")


def _inode(link: str | None) -> str:
    """The inode number of a namespace link such as `pid:[4026532332]`."""
    if not link:
        return "-"
    match = _INODE.search(link)
    return match.group(1) if match else link


def _names(caps: Iterable[str], highlight: Iterable[str] = ()) -> Content:
    """Capability names, space-separated, the highlighted ones stand out."""
    marked = set(highlight)
    parts: list[str | tuple[str, str]] = []
    for name in caps:
        if parts:
            parts.append(" ")
        parts.append((name, "bold $success reverse") if name in marked else name)
    if not parts:
        return Content.styled("none", "$text-muted")
    return Content.assemble(*parts)


def memory_bar(current: int | None, limit: int | None, width: int = _BAR_WIDTH) -> Content:
    """A bar of memory use against its limit, e.g. `████░░░░ 3.1 MiB of 64.0 MiB (4.8 %)`.

    Args:
        current: Bytes in use, None when unknown.
        limit: The limit in bytes, None when there is none.
        width: The bar's width in cells.
    """
    if current is None:
        return Content.styled("not readable", "$text-muted")
    if limit is None:
        return Content.assemble(
            f"{human_bytes(current)} used, ",
            ("no limit set", "$text-muted"),
            (" (docker run --memory sets one)", "$text-muted"),
        )
    share = min(1.0, current / limit) if limit else 1.0
    # A sliver of use still shows as one cell: an empty bar would read as "nothing used".
    filled = max(1 if current else 0, round(share * width))
    colour = "$error" if share > 0.9 else "$warning" if share > 0.7 else "$success"
    return Content.assemble(
        ("█" * filled, colour),
        ("░" * (width - filled), "$text-muted"),
        f" {human_bytes(current)} of {human_bytes(limit)} ({share * 100:.1f} %)",
    )


class SectionHeading(Static):
    """A section heading; clicking it asks for the section's explanation."""

    def __init__(self, text: str, topic: str) -> None:
        super().__init__(Content.assemble((text, "bold"), ("  [?]", "not bold $text-muted")))
        self.topic = topic

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(InternalsView.ExplainRequested(self.topic))


def _facts(prefix: str, keys: Sequence[tuple[str, str]]) -> Container:
    """A two-column grid of labels and values; values are Statics with ids `prefix-key`."""
    cells: list[Widget] = []
    for key, label in keys:
        cells.append(Static(label, classes="fact-label"))
        cells.append(Static("…", id=f"{prefix}-{key}", classes="fact-value"))
    return Container(*cells, classes="facts")


_TARGET_FACTS = (
    ("image", "image"),
    ("entrypoint", "entrypoint"),
    ("command", "command"),
    ("user", "user"),
    ("workdir", "working dir"),
    ("env", "environment"),
    ("pid1", "PID 1 inside"),
    ("host", "on the host"),
)
_CAP_FACTS = (
    ("target", "target PID 1"),
    ("sidecar", "debug shell"),
    ("added", "added"),
    ("dropped", "dropped"),
    ("seccomp", "seccomp"),
    ("apparmor", "AppArmor"),
    ("nnp", "no-new-privs"),
    ("readonly", "read-only /"),
    ("privileged", "privileged"),
)
_CGROUP_FACTS = (
    ("path", "path"),
    ("memory", "memory"),
    ("cpu", "CPU"),
    ("pids", "processes"),
)


class InternalsView(Widget):
    """What a learner looks at to see why the debug shell sees the target, read live.

    With a session, the view reads everything once in a thread worker, then the cgroup's use
    every `interval` seconds (the next reading is scheduled when one ends, so readings never
    overlap and the UI thread never waits on the engine). Without one, call `show()`.

    Args:
        session: The debug session to read, or None to be given readings with `show()`.
        interval: Seconds between two readings of the cgroup's use; 0 reads it once.
        name: The widget's name.
        id: The widget's id.
        classes: The widget's classes.
    """

    DEFAULT_CSS = """
    InternalsView {
        height: 1fr;
        width: 1fr;
    }
    InternalsView > VerticalScroll {
        height: 1fr;
        scrollbar-gutter: stable;
    }
    InternalsView #internals-status {
        color: $text-muted;
        padding: 0 1;
        height: auto;
    }
    InternalsView #internals-status.-error {
        color: $error;
    }
    InternalsView #sections, InternalsView #pairs {
        height: auto;
        layout: vertical;
    }
    InternalsView.-wide #pairs {
        layout: horizontal;
    }
    InternalsView #pairs > .column {
        height: auto;
        width: 1fr;
    }
    InternalsView .section {
        height: auto;
        padding: 0 1 1 1;
    }
    InternalsView SectionHeading {
        color: $primary;
        text-style: bold;
        border-bottom: solid $primary 50%;
        height: auto;
    }
    InternalsView SectionHeading:hover {
        background: $boost;
    }
    InternalsView .lede {
        color: $text-muted;
        text-style: italic;
        height: auto;
        margin-bottom: 1;
    }
    InternalsView .facts {
        layout: grid;
        grid-size: 2;
        grid-columns: 14 1fr;
        grid-rows: auto;
        grid-gutter: 0 1;
        height: auto;
    }
    InternalsView .fact-label {
        color: $text-muted;
        height: auto;
    }
    InternalsView .fact-value {
        height: auto;
    }
    InternalsView .ns-header {
        color: $text-muted;
        height: 1;
        padding-left: 7;
    }
    InternalsView .ns-row {
        height: auto;
    }
    InternalsView .ns-cols {
        height: 1;
    }
    InternalsView .ns-meaning {
        height: auto;
        padding-left: 8;
        color: $text-muted;
    }
    InternalsView .ns-row.-shared .ns-meaning {
        color: $text;
    }
    InternalsView #how, InternalsView #mounts-list, InternalsView .mount-row {
        height: auto;
    }
    InternalsView .mount-points, InternalsView .mount-what {
        height: auto;
    }
    InternalsView .mount-what {
        padding-left: 4;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload", "Read again"),
        Binding("question_mark", "explain", "Explain"),
    ]

    class InternalsLoaded(Message):
        """A full reading arrived (and is shown)."""

        def __init__(self, internals: Internals) -> None:
            super().__init__()
            self.internals = internals

    class UsageRead(Message):
        """A new reading of the cgroup's limits and use arrived (and is shown)."""

        def __init__(self, cgroup: CgroupInfo) -> None:
            super().__init__()
            self.cgroup = cgroup

    class ReadFailed(Message):
        """A reading failed; live reading stops until `reload()`."""

        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    class ExplainRequested(Message):
        """The learner asked what a section means (clicked its heading, or pressed ?)."""

        def __init__(self, topic: str) -> None:
            super().__init__()
            self.topic = topic

    def __init__(
        self,
        session: DebugSession | None = None,
        *,
        interval: float = 2.0,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.session = session
        self.interval = interval
        self._internals: Internals | None = None
        self._timer: Timer | None = None
        self._live = True
        #: How many readings of the cgroup's use arrived (tests wait on it).
        self.usage_readings = 0

    def focus(self, scroll_visible: bool = True) -> Self:
        """Focuses the scrolling body: one tab stop, whose keys scroll and reach our bindings."""
        self.query_one(VerticalScroll).focus(scroll_visible)
        return self

    @property
    def internals(self) -> Internals | None:
        """The last full reading shown, None before the first."""
        return self._internals

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(_READING, id="internals-status")
            # The first two sections always take the full width; the others sit in two
            # columns on wide screens. Columns, not a grid: a grid row's auto height is cut
            # short when the text in its cells wraps.
            with Vertical(id="sections"):
                for topic, heading, lede in SECTIONS[:2]:
                    yield from self._section(topic, heading, lede)
            with Container(id="pairs"):
                for pair in (SECTIONS[2:4], SECTIONS[4:6]):
                    with Vertical(classes="column"):
                        for topic, heading, lede in pair:
                            yield from self._section(topic, heading, lede)

    def _section(self, topic: str, heading: str, lede: str) -> ComposeResult:
        with Vertical(id=f"section-{topic}", classes="section"):
            yield SectionHeading(heading, topic)
            yield Static(lede, classes="lede")
            yield from self._section_body(topic)

    def _section_body(self, topic: str) -> ComposeResult:
        if topic == "internals":
            yield Static("", id="how")
        elif topic == "namespaces":
            yield Static(
                Content(f"{'target PID 1':13}{'debug shell':13}{'host':13}"),
                classes="ns-header",
            )
            for kind in NAMESPACES:
                with Vertical(id=f"ns-{kind}", classes="ns-row"):
                    yield Static(kind, classes="ns-cols")
                    yield Static("", classes="ns-meaning")
        elif topic == "target":
            yield _facts("target", _TARGET_FACTS)
        elif topic == "capabilities":
            yield _facts("caps", _CAP_FACTS)
        elif topic == "cgroup":
            yield _facts("cgroup", _CGROUP_FACTS)
        elif topic == "mounts":
            yield Vertical(id="mounts-list")

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width >= _WIDE, "-wide")

    # -- reading ------------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.session is not None:
            self._read(full=True)

    def on_unmount(self) -> None:
        self._live = False
        if self._timer is not None:
            self._timer.stop()

    def reload(self) -> None:
        """Reads everything again (and restarts live reading after a failure)."""
        if self.session is None:
            return
        self._live = True
        if self._timer is not None:
            self._timer.stop()
        self._status(_READING)
        self._read(full=True)

    def stop(self) -> None:
        """Stops live reading (when the session ends); the last readings stay on screen."""
        self._live = False
        if self._timer is not None:
            self._timer.stop()

    def action_reload(self) -> None:
        self.reload()

    def action_explain(self) -> None:
        self.post_message(self.ExplainRequested("internals"))

    @work(thread=True, exclusive=True, exit_on_error=False, group="internals-read")
    def _read(self, full: bool) -> None:
        session = self.session
        if session is None:
            return
        # Errors become a message: the view says what went wrong instead of the app failing.
        worker = get_current_worker()
        message: Message
        try:
            if full:
                message = self.InternalsLoaded(read_internals(session))
            else:
                message = self.UsageRead(read_cgroup(session))
        except CdebugError as exc:  # any engine failure is shown, not raised
            message = self.ReadFailed(str(exc))
        # A reading overtaken by a newer one (reload) is dropped: it would schedule a second
        # rhythm of readings.
        if not worker.is_cancelled:
            self.post_message(message)

    def _schedule(self) -> None:
        """Schedules the next reading of the cgroup's use, if the session is still live."""
        session = self.session
        if session is None or not self._live or self.interval <= 0 or not self.is_mounted:
            return
        if session.ended_reason:
            self._live = False
            self._status(f"The session has ended ({session.ended_reason}): the last readings.")
            return
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(self.interval, self._tick)

    def _tick(self) -> None:
        if not self._live:
            return
        # Hidden (another tab shown): no reading, but keep the rhythm for when it shows again.
        if not self.is_on_screen:
            self._schedule()
            return
        self._read(full=False)

    @on(InternalsLoaded)
    def _loaded(self, message: InternalsLoaded) -> None:
        session = self.session
        if session is not None:
            self.show(message.internals, session.target, session.steps, str(session.mode))
        self._schedule()

    @on(UsageRead)
    def _usage(self, message: UsageRead) -> None:
        self.usage_readings += 1
        self.show_usage(message.cgroup)
        self._schedule()

    @on(ReadFailed)
    def _failed(self, message: ReadFailed) -> None:
        self._live = False
        reason = ""
        if self.session is not None and self.session.ended_reason:
            reason = f" (the session has ended: {self.session.ended_reason})"
        self._status(f"Could not read: {message.error}{reason}. Press r to try again.", error=True)

    def _status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#internals-status", Static)
        status.update(text)
        status.set_class(error, "-error")
        status.display = bool(text)

    # -- showing ------------------------------------------------------------------------

    def show(
        self,
        internals: Internals,
        target: TargetInfo,
        steps: Sequence[Step] = (),
        mode: str | None = None,
    ) -> None:
        """Shows a full reading.

        Args:
            internals: What `read_internals` returned.
            target: The target as the engine describes it.
            steps: The session's steps, to quote the commands that brought the shell in.
            mode: The session's mode, "root" or "toolkit"; None when unknown.
        """
        self._internals = internals
        self._status("")
        with self.app.batch_update():
            self._show_how(internals, target, steps, mode)
            self._show_namespaces(internals.namespaces)
            self._show_target(internals, target)
            self._show_caps(internals, target)
            self.show_usage(internals.cgroup)
            self._show_mounts(internals.mounts)

    def _value(self, key: str, content: str | Content) -> None:
        self.query_one(f"#{key}", Static).update(content)

    def _show_how(
        self, internals: Internals, target: TargetInfo, steps: Sequence[Step], mode: str | None
    ) -> None:
        run = next((s.command for s in steps if s.command.startswith("docker create")), "")
        link = next(
            (line for s in steps for line in s.command.splitlines() if line.startswith("ln -s")),
            "",
        )
        shell = next((s.command for s in steps if s.command.startswith("docker exec")), "")
        short = target.short_id
        code = "$accent"
        parts: list[str | tuple[str, str]] = [
            ("1. ", "bold"),
            "A sidecar container joined the target's PID and network namespaces: ",
            (f"docker create --pid container:{short} --network container:{short} …", code),
            ". Its processes see the target's processes, with the target's main process as "
            f"PID 1 ({internals.pid1_cmdline or '?'}).\n",
            ("2. ", "bold"),
            "In the sidecar, ",
            ("/proc/1/root", code),
            " is the target's root filesystem, seen through its PID 1; following it needs "
            "the right to ptrace that process"
            + (
                ": CAP_SYS_PTRACE, the one capability the sidecar adds.\n"
                if "CAP_SYS_PTRACE" in internals.added_caps
                else ", which the sidecar has with the target's own capabilities.\n"
            ),
        ]
        if link:
            parts += [
                ("3. ", "bold"),
                (link, code),
                " linked the toolkit (busybox and friends) into the target's root, under a "
                "private name.\n",
            ]
        if mode == "toolkit":
            parts += [
                ("4. ", "bold"),
                "The shell runs in the toolkit's own root (toolkit mode); the target's files "
                "are at ",
                ("/target", code),
                ".",
            ]
        else:
            parts += [
                ("4. " if link else "3. ", "bold"),
                ("chroot /proc/1/root", code),
                " made the target's root the shell's /, so ",
                ("ls /", code),
                " lists the target's files and ",
                ("ps", code),
                " its processes.",
            ]
        if not run and not shell:
            parts.append(("\n(no session steps were given)", "$text-muted"))
        self._value("how", Content.assemble(*parts))

    def _show_namespaces(self, rows: Sequence[NamespaceRow]) -> None:
        by_kind = {row.kind: row for row in rows}
        for kind in NAMESPACES:
            box = self.query_one(f"#ns-{kind}", Vertical)
            row = by_kind.get(kind)
            box.display = row is not None
            if row is None:
                continue  # The kernel has no such namespace.
            mark, style = ("shared", "bold $success") if row.shared else ("separate", "$warning")
            cols = Content.assemble(
                (f"{kind:7}", "bold"),
                f"{_inode(row.target):13}",
                (f"{_inode(row.shell):13}", style),
                (f"{_inode(row.host) if row.host else 'unreadable':13}", "$text-muted"),
                (mark, style),
            )
            box.query_one(".ns-cols", Static).update(cols)
            box.query_one(".ns-meaning", Static).update(row.meaning)
            box.set_class(row.shared, "-shared")
            box.set_class(not row.shared, "-separate")

    def _show_target(self, internals: Internals, target: TargetInfo) -> None:
        muted = "$text-muted"
        self._value("target-image", f"{target.image}")
        self._value(
            "target-entrypoint",
            shlex.join(target.entrypoint) or Content.styled("none (the command runs as is)", muted),
        )
        self._value(
            "target-command",
            shlex.join(target.cmd) or Content.styled("none", muted),
        )
        self._value(
            "target-user",
            target.user or Content.styled("root (the image sets no user)", muted),
        )
        self._value("target-workdir", target.workdir or "/")
        env = mask_env(target.env)  # beside a shell that may be shared or recorded
        shown = "\n".join(env[:12]) + (f"\n… and {len(env) - 12} more" if len(env) > 12 else "")
        self._value("target-env", shown or Content.styled("none", muted))
        self._value(
            "target-pid1",
            Content.assemble(
                f"PID 1: {internals.pid1_cmdline or '?'}",
                (f"  (uid {internals.target.uid})", muted),
            ),
        )
        host = internals.host_view or f"PID {internals.host_pid} (not readable from here)"
        self._value(
            "target-host",
            Content.assemble(host, ("  the same process, numbered by the host", muted)),
        )

    def _show_caps(self, internals: Internals, target: TargetInfo) -> None:
        t, s = internals.target, internals.sidecar
        added, dropped = internals.added_caps, internals.dropped_caps
        muted = "$text-muted"
        self._value(
            "caps-target",
            Content.assemble(
                (f"uid {t.uid}, effective: ", muted),
                _names(t.effective),
                ("\nbounding (the most it could gain): ", muted),
                _names(t.bounding),
            ),
        )
        self._value(
            "caps-sidecar",
            Content.assemble((f"uid {s.uid}, effective: ", muted), _names(s.effective, added)),
        )
        why = {
            "CAP_SYS_PTRACE": " lets the sidecar follow /proc/1/root of the target's process "
            "(and use strace, gdb)",
        }
        if added:
            added_parts: list[str | Content | tuple[str, str]] = []
            for cap in added:
                added_parts += [_names([cap], [cap]), (why.get(cap, ""), muted), "\n"]
            self._value("caps-added", Content.assemble(*added_parts[:-1]))
        else:
            self._value("caps-added", Content.styled("nothing", muted))
        self._value(
            "caps-dropped",
            _names(dropped) if dropped else Content.styled("nothing", muted),
        )
        self._value("caps-seccomp", f"target {t.seccomp}, debug shell {s.seccomp}")
        self._value("caps-apparmor", f"target {t.apparmor}, debug shell {s.apparmor}")
        self._value(
            "caps-nnp",
            f"target {'on' if t.no_new_privs else 'off'}, "
            f"debug shell {'on' if s.no_new_privs else 'off'}",
        )
        self._value(
            "caps-readonly",
            "yes: the target's root filesystem cannot be written"
            if internals.readonly_rootfs
            else "no",
        )
        self._value(
            "caps-privileged",
            Content.styled("yes: the target has every capability and device", "bold $error")
            if target.privileged
            else "no",
        )

    def show_usage(self, cgroup: CgroupInfo) -> None:
        """Shows a reading of the cgroup: its path, limits and current use."""
        muted = "$text-muted"
        self._value(
            "cgroup-path",
            Content.assemble(cgroup.path or "?", (f"  (cgroup v{cgroup.version})", muted)),
        )
        self._value("cgroup-memory", memory_bar(cgroup.memory_current, cgroup.memory_limit))
        if cgroup.cpu_quota:
            cpu: str | Content = f"at most {cgroup.cpu_quota:g} CPUs"
        else:
            cpu = Content.assemble("no quota", (" (docker run --cpus sets one)", muted))
        self._value("cgroup-cpu", cpu)
        current = "?" if cgroup.pids_current is None else str(cgroup.pids_current)
        limit = "no limit" if cgroup.pids_max is None else f"at most {cgroup.pids_max}"
        self._value("cgroup-pids", f"{current} running, {limit}")

    def _show_mounts(self, mounts: Sequence[MountRow]) -> None:
        # Mounts of one kind (a dozen cgroup v1 controllers, masked /proc paths) share a row.
        groups: dict[str, list[MountRow]] = {}
        for row in mounts:
            groups.setdefault(row.what, []).append(row)
        rows: list[Widget] = []
        for what, members in groups.items():
            fstypes = ", ".join(dict.fromkeys(r.fstype for r in members))
            points = Content.assemble(
                (", ".join(r.mount_point for r in members), "bold"),
                (f"  {fstypes}", "$text-muted"),
            )
            rows.append(
                Vertical(
                    Static(points, classes="mount-points"),
                    Static(what, classes="mount-what"),
                    classes="mount-row",
                )
            )
        box = self.query_one("#mounts-list", Vertical)
        box.remove_children()
        box.mount_all(rows or [Static("none read")])
