"""Provides InspectScreen: what `docker inspect` says about a container, grouped as a person
reads it, secrets masked until revealed, any value copied with c."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.geometry import Size
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.widgets.data_table import ColumnKey

from cdebug_tui.engine.stats import format_bytes
from cdebug_tui.ui.secrets import MASK, looks_secret
from cdebug_tui.ui.widgets.footer import AppFooter
from cdebug_tui.ui.widgets.rows import RowTable

if TYPE_CHECKING:
    from cdebug_tui.engine.readings import ContainerDetails


@dataclass(frozen=True)
class InspectRow:
    """One line of the inspect view: a group title (key empty) or a key and its value."""

    group: str
    key: str
    value: str
    secret: bool = False
    style: str = ""


def _when(t: datetime | None) -> str:
    return t.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z") if t is not None else "-"


def _argv(argv: tuple[str, ...]) -> str:
    return shlex.join(argv) if argv else "-"


def inspect_rows(d: ContainerDetails) -> list[InspectRow]:
    """The inspect view's lines, in the order a person reads them."""
    rows: list[InspectRow] = []

    def group(title: str, items: list[tuple[str, str]] | list[InspectRow]) -> None:
        rows.append(InspectRow(title, "", ""))
        for item in items:
            if isinstance(item, InspectRow):
                rows.append(item)
            else:
                rows.append(InspectRow(title, item[0], item[1]))

    group(
        "Container",
        [
            ("name", d.name),
            ("id", d.id),
            ("image", d.image),
            ("image id", d.image_id),
            ("created", _when(d.created)),
        ],
    )
    group(
        "Command",
        [
            ("entrypoint", _argv(d.entrypoint)),
            ("command", _argv(d.cmd)),
            ("user", d.user or "root (the image's default)"),
            ("workdir", d.workdir or "/"),
        ],
    )
    group(
        f"Environment ({len(d.env)})",
        [InspectRow("Environment", k, v, secret=looks_secret(k, v)) for k, v in d.env],
    )
    group(
        f"Mounts ({len(d.mounts)})",
        [
            (
                m.kind,
                f"{m.source} -> {m.destination}  {'rw' if m.writable else 'ro'}",
            )
            for m in d.mounts
        ]
        or [("", "none")],
    )
    nets: list[tuple[str, str]] = [("mode", d.network_mode or "-")]
    for n in d.networks:
        parts = [p for p in (n.ip, n.ipv6) if p]
        nets.append((n.name, ", ".join(parts) or "no address"))
        if n.gateway:
            nets.append(("  gateway", n.gateway))
        if n.aliases:
            nets.append(("  aliases", ", ".join(dict.fromkeys(n.aliases))))
        if n.mac:
            nets.append(("  mac", n.mac))
    group("Networks", nets)
    published = {f"{p.private_port}/{p.protocol}" for p in d.ports if p.public_port}
    group(
        "Ports",
        [("published", str(p)) for p in d.ports if p.public_port]
        + [("exposed", e) for e in d.exposed if e not in published]
        or [("", "none")],
    )
    group(f"Labels ({len(d.labels)})", list(d.labels) or [("", "none")])
    policy = d.restart_policy
    if policy == "on-failure" and d.restart_max:
        policy += f" (at most {d.restart_max} times)"
    group("Restart", [("policy", policy), ("restarts so far", str(d.restart_count))])
    if d.health_status is None:
        group("Health", [("", "no healthcheck")])
    else:
        style = {"healthy": "green", "unhealthy": "bold red"}.get(d.health_status, "yellow")
        health = [
            InspectRow("Health", "status", d.health_status, style=style),
            InspectRow("Health", "failing streak", str(d.health_failing_streak)),
            InspectRow("Health", "test", _argv(d.health_test[1:]) if d.health_test else "-"),
        ]
        for probe in reversed(d.health_probes):
            output = " ⏎ ".join(line for line in probe.output.strip().splitlines()) or "(no output)"
            health.append(
                InspectRow(
                    "Health",
                    f"  {_when(probe.start)}",
                    f"exit {probe.exit_code}: {output}",
                    style="" if probe.exit_code == 0 else "red",
                )
            )
        group("Health", health)
    group(
        "State",
        [
            InspectRow("State", "status", d.status, style="green" if d.status == "running" else ""),
            InspectRow(
                "State", "exit code", str(d.exit_code), style="bold red" if d.exit_code else ""
            ),
            InspectRow(
                "State",
                "OOMKilled",
                str(d.oom_killed).lower(),
                style="bold red" if d.oom_killed else "",
            ),
            InspectRow("State", "error", d.error or "-", style="red" if d.error else ""),
            InspectRow("State", "pid (host)", str(d.pid) if d.pid else "-"),
            InspectRow("State", "started", _when(d.started_at)),
            InspectRow("State", "finished", _when(d.finished_at)),
        ],
    )
    cpus = d.cpu_limit
    swap = "unlimited" if d.memory_swap in (0, -1) else format_bytes(d.memory_swap)
    group(
        "Resources",
        [
            ("memory limit", format_bytes(d.memory_limit) if d.memory_limit else "none"),
            (
                "memory reservation",
                format_bytes(d.memory_reservation) if d.memory_reservation else "none",
            ),
            ("memory + swap", swap if d.memory_limit else "-"),
            ("CPUs", f"{cpus:g}" if cpus else "no limit"),
            ("CPU shares", str(d.cpu_shares) if d.cpu_shares else "default (1024)"),
            ("cpuset", d.cpuset_cpus or "all"),
            ("pids limit", str(d.pids_limit) if d.pids_limit > 0 else "none"),
        ],
    )
    group(
        "Security",
        [
            InspectRow(
                "Security",
                "privileged",
                str(d.privileged).lower(),
                style="bold red" if d.privileged else "",
            ),
            InspectRow("Security", "capabilities added", ", ".join(d.cap_add) or "none"),
            InspectRow("Security", "capabilities dropped", ", ".join(d.cap_drop) or "none"),
            InspectRow("Security", "seccomp", d.seccomp),
            InspectRow("Security", "AppArmor", d.apparmor or "none"),
            InspectRow("Security", "no-new-privileges", str(d.no_new_privileges).lower()),
            InspectRow("Security", "read-only root", str(d.readonly_rootfs).lower()),
        ],
    )
    return rows


class _InspectTable(RowTable):
    """The inspect rows; the values' column no wider than the window, so that a value it cuts
    ends in `…` (the line under the table shows it whole): its end was off screen, with no
    sign of it, and → scrolled the names away with it."""

    def _update_dimensions(self, new_rows: Any) -> None:
        super()._update_dimensions(new_rows)
        self.fit_values()

    def on_resize(self) -> None:
        self.fit_values()

    def fit_values(self) -> None:
        width = self.scrollable_content_region.width
        names, values = ColumnKey("key"), ColumnKey("value")
        if width <= 0 or names not in self.columns or values not in self.columns:
            return
        column = self.columns[values]
        room = max(10, width - self.columns[names].get_render_width(self) - 2 * self.cell_padding)
        auto = column.content_width <= room
        if column.auto_width != auto or (not auto and column.width != room):
            column.auto_width, column.width = auto, room
            total = sum(c.get_render_width(self) for c in self.columns.values())
            self.virtual_size = Size(total, self.virtual_size.height)
            self._clear_caches()
            self.refresh()


class InspectScreen(Screen[None]):
    """A container's configuration and state; c copies the value under the cursor, v reveals
    or masks secret-looking values, r reads it again, Esc goes back."""

    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("q", "close", "Back", show=False),
        Binding("c", "copy", "Copy value"),
        Binding("y", "copy", "Copy value", show=False),
        Binding("v", "reveal", "Show secrets"),
        Binding("r", "reload", "Reload"),
        Binding("e", "explain", "What is this?"),
    ]

    def action_explain(self) -> None:
        from cdebug_tui.ui.screens.explain import ExplainScreen

        self.app.push_screen(ExplainScreen("inspect"))

    def __init__(self, engine: str, container_id: str, name: str) -> None:
        super().__init__()
        self.engine_name = engine
        self.container_id = container_id
        self.container_name = name
        self.details: ContainerDetails | None = None
        self.rows: list[InspectRow] = []
        self.revealed = False
        self.gone = False

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="inspect-title")
        table: DataTable[Text] = _InspectTable(
            id="inspect-table", cursor_type="row", zebra_stripes=False
        )
        table.add_column("", key="key")
        table.add_column("", key="value")
        table.show_header = False
        yield table
        # The value under the cursor, whole, when its column cuts it (a start's error ends
        # with its cause: "... stat /app/server: no such file or directory").
        yield Static("", id="inspect-value")
        yield AppFooter()

    def _title(self, note: str = "") -> Text:
        title = Text.assemble(
            (" inspect ", "bold reverse"),
            (f"  {self.container_name}", "bold"),
            (f"  {self.container_id[:12]} on {self.engine_name}", "dim"),
        )
        if note:
            title.append(f"  {note}", style="bold red")
        return title

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect")
    def load(self) -> None:
        from cdebug_tui.errors import CdebugError

        engine = getattr(self.app, "engines", {}).get(self.engine_name)
        if engine is None:
            self.app.call_from_thread(self._failed, f"engine {self.engine_name} does not answer")
            return
        try:
            details = engine.details(self.container_id)
        except CdebugError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self._loaded, details)

    def _failed(self, error: str) -> None:
        if "no such container" in error:
            self.container_removed(self.engine_name, self.container_id)
            return
        self.notify(error, title="inspect", severity="error")
        self.query_one("#inspect-title", Static).update(self._title(error))

    def _loaded(self, details: ContainerDetails) -> None:
        self.details = details
        self.rows = inspect_rows(details)
        self._fill()

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for i, r in enumerate(self.rows):
            if not r.key and not r.value:
                table.add_row(Text(r.group, style="bold underline"), Text(""), key=str(i))
                continue
            value = MASK if r.secret and not self.revealed else r.value
            table.add_row(
                Text(r.key, style="cyan"),
                Text(
                    value,
                    style=r.style or ("dim" if value == MASK else ""),
                    no_wrap=True,
                    overflow="ellipsis",
                ),
                key=str(i),
            )
        if self.rows:
            table.move_cursor(row=min(max(row, 0), len(self.rows) - 1), animate=False)
        # After the layout, which fits the values' column to the window (fit_values).
        self.call_after_refresh(self._show_value)

    @on(DataTable.RowHighlighted, "#inspect-table")
    def _show_value(self) -> None:
        """Shows the value under the cursor below the table when its column cuts it."""
        line = self.query_one("#inspect-value", Static)
        table = self.query_one(DataTable)
        row = self.value_under_cursor()
        value = "" if row is None else MASK if row.secret and not self.revealed else row.value
        column = table.columns.get(ColumnKey("value"))
        cut = (
            row is not None
            and column is not None
            and not column.auto_width
            and cell_len(value) > column.width
        )
        line.display = cut
        if cut and row is not None:
            line.update(Text.assemble((f"{row.key.strip()}: ", "cyan"), value))

    def on_resize(self) -> None:
        self.call_after_refresh(self._show_value)

    def value_under_cursor(self) -> InspectRow | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row < 0:
            return None
        return self.rows[min(table.cursor_row, len(self.rows) - 1)]

    def container_removed(self, engine: str, container_id: str) -> None:
        """The app heard that a container was removed; this screen may be showing it."""
        if (engine, container_id) != (self.engine_name, self.container_id) or self.gone:
            return
        self.gone = True
        shown = "what is shown is how it was" if self.rows else "nothing to show"
        self.query_one("#inspect-title", Static).update(self._title(f"✗ removed: {shown}"))
        self.notify(f"{self.container_name} was removed", severity="warning")

    def action_copy(self) -> None:
        row = self.value_under_cursor()
        if row is None or (not row.key and not row.value):
            return
        self.app.copy_to_clipboard(row.value)
        what = f"the value of {row.key.strip()}" if row.key.strip() else "the value"
        # A masked value is copied whole: say so, as it is not what the screen shows.
        secret = " (a secret: the real value, though masked here)" if row.secret else ""
        if row.secret and self.revealed:
            secret = " (a secret)"
        self.notify(f"copied {what} to the clipboard{secret}", title="inspect")

    def describe_binding(self, binding: Binding) -> str | None:
        """The footer's v says what it does next: show the secrets, or hide them again."""
        return "Hide secrets" if binding.action == "reveal" and self.revealed else None

    def action_reveal(self) -> None:
        self.revealed = not self.revealed
        self.refresh_bindings()  # the footer's v: Show or Hide
        self._fill()

    def action_reload(self) -> None:
        if not self.gone:
            self.load()

    def action_close(self) -> None:
        self.dismiss(None)
