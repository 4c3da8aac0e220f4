"""Provides HelpScreen: every key of the app, by where it works."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from cdebug_tui.ui.settings import DEFAULT_APP_KEYS, key_label

#: (where, key, what): the one list the help screen and the README show; "{name}" stands for
#: the app key of that name in DEFAULT_APP_KEYS, which tui.json's "keys" may change.
KEYS: list[tuple[str, str, str]] = [
    ("anywhere", "{next_tab}", "next tab (also from inside the terminal)"),
    ("anywhere", "{previous_tab}", "previous tab (also from inside the terminal)"),
    ("terminal", "{leave_terminal}", "leave the terminal: focus goes to the side panels"),
    (
        "terminal",
        "every other key",
        "goes to the shell as typed: ctrl+c, esc, alt+b, alt+arrows, F-keys, pastes",
    ),
    ("list", "j / k, ↓ / ↑", "move"),
    ("list", "enter, double click", "debug the container: pick a toolkit"),
    ("list", "/", "filter as you type; esc clears it"),
    ("list", "s", "show or hide cdebug-tui's own sidecars"),
    ("list", "r", "reload the list; reconnect engines that were gone"),
    ("list", "l", "the container's log, running or exited (esc goes back)"),
    ("list", "i", "inspect the container: config and state, grouped; c copies, v reveals"),
    ("list", "S", "stats of the container: CPU, memory, network, block I/O with limits"),
    ("list", "o / O, click a header", "sort by the next column / reverse the order"),
    ("list", "→ / ← , home", "narrow window: the next column past an edge / back to the first"),
    ("list", "E", "the container's events: starts, exits and their codes, kills, OOM, live"),
    ("list", "U / X / R", "start / stop / restart the container (asks first)"),
    ("list", "P / K / D", "pause or unpause / kill / remove the container (asks first)"),
    ("list", "ctrl+p, :", "commands for the selected container (actions, inspect, stats, events)"),
    ("list", "e", "what the list shows: states, exit codes, SHELL (also in inspect, logs, stats)"),
    ("tabs", "1-9 / 0", "the session tab at that place / the list (outside the terminal)"),
    ("session", "t, enter, click", "enter the terminal"),
    ("session", "p / f", "Target view: focus the processes / the files"),
    ("session", "s / i / l / P / S", "the Steps / Internals / Logs / Ports / Stats view"),
    ("session", "tab / shift+tab", "next / previous panel (outside the terminal)"),
    (
        "session",
        "b",
        "hide or show the side panels in this tab (by default hidden below 110 columns; "
        "below 72, shown in the terminal's place until t)",
    ),
    ("session", "+ / -", "wider / narrower side panels in this tab (- at the least hides them)"),
    ("session", "R", "record the session to an asciicast file (R again stops)"),
    ("session", "e", "what am I looking at: the view shown explained, with man pages"),
    (
        "session",
        "x",
        "close the tab (ends the session, removes its sidecar; a running shell asks first): "
        "the next one shows",
    ),
    (
        "session",
        "n",
        "a new session (another shell) on the same target, toolkit and profile, also in an "
        "ended tab",
    ),
    ("files", "enter, click", "open a directory; preview a file"),
    ("files", "r / c", "read the opened folders again / only what docker diff reports, as a tree"),
    ("files", "ctrl+s", "save the file here, as docker cp would (a directory as .tar), mode 0600"),
    (
        "processes",
        "enter, →",
        "the process in full; there s sends a signal, t traces (strace), v shows secrets",
    ),
    ("processes", "o", "list cdebug-tui's own (supervisor, reapers, panel reader) or count them"),
    ("steps", "enter, c / o", "copy the command / show the sidecar's script"),
    ("logs", "/ , n / N", "search (smart case), next / previous match; the count shows"),
    (
        "logs",
        "↑ PgUp Home / End G",
        "scroll up (pauses following; older lines load at the top) / follow again",
    ),
    ("logs", "t / w / ctrl+s", "timestamps / wrap / save to a file (mode 0600)"),
    ("ports", "enter", "forward a TCP port to localhost (again: stop)"),
    ("inspect", "c / v / r / esc", "copy the value / reveal secrets / read again / back"),
    ("stats", "esc", "back to the list"),
    ("", "?", "this help"),
    ("", "q", "quit (asks first when sessions are open)"),
]


class HelpScreen(ModalScreen[None]):
    """The keys, grouped by where they work; any of Esc, q, ? closes it."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", expand=True)
        table.add_column("where", style="dim", no_wrap=True)
        table.add_column("key", style="bold cyan", no_wrap=True)
        table.add_column("does")
        keys = {
            name: key_label(value)
            for name, value in getattr(self.app, "app_keys", DEFAULT_APP_KEYS).items()
        }
        for where, key, what in KEYS:
            table.add_row(where, key.format(**keys), what)
        with VerticalScroll(id="help-box"):
            yield Static(Text("cdebug-tui keys", style="bold"), id="help-title")
            yield Static(table)
            yield Static(
                Text(
                    "Sessions run in a sidecar that joins the target's PID and network "
                    "namespaces; closing a tab or quitting removes it.",
                    style="dim",
                )
            )

    def action_close(self) -> None:
        self.dismiss(None)
