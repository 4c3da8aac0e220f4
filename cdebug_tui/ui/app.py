"""Provides CdebugApp: the full-screen app: the container list, then one tab per debug session."""

from __future__ import annotations

import asyncio
import gc
import heapq
import queue
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.driver import Driver
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from cdebug_tui.engine.profiles import DEFAULT_PROFILE
from cdebug_tui.engine.stats import counted
from cdebug_tui.terminal.keys import encode_key
from cdebug_tui.terminal.rawinput import InputRouter
from cdebug_tui.ui.commands import ImageCommands
from cdebug_tui.ui.container_actions import ContainerCommands
from cdebug_tui.ui.messages import (
    ContainerChanged,
    ContainersLoaded,
    EngineConnected,
    EngineFailed,
)
from cdebug_tui.ui.stats_poller import StatsPoller
from cdebug_tui.ui.widgets.container_list import ContainerListPanel
from cdebug_tui.ui.widgets.footer import AppFooter
from cdebug_tui.ui.widgets.tabs import SteadyTabs

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual.timer import Timer

    from cdebug_tui.engine.client import EventStream
    from cdebug_tui.engine.models import ContainerEvent
    from cdebug_tui.engine.readings import Container
    from cdebug_tui.ui.screens.picker import ToolkitPickerScreen
    from cdebug_tui.ui.widgets.session_pane import SessionPane

#: Seconds after a tab closes when the app frees it (reclaim_heap): a moment after the close,
#: not in it, for the collector's one pause.
RECLAIM_AFTER = 2.0
#: Event actions that change a container's row; exec_* events (our own panels) are not among them.
ROW_ACTIONS = frozenset(
    {
        "create",
        "start",
        "restart",
        "die",
        "stop",
        "kill",
        "destroy",
        "rename",
        "pause",
        "unpause",
        "update",
        "health_status",
        "oom",
    }
)


def _listed_target(pane: SessionPane) -> str:
    """The list row a session tab marks: its target, or the original its copy was made of
    (the copy is no row of the list)."""
    session = pane.session
    if session is None:
        return pane.target
    copy = session.copy
    if copy is not None and copy.source.original is not None:
        return copy.source.original.id
    return session.target.id


def _session_pane_class() -> type[SessionPane]:
    from cdebug_tui.ui.widgets.session_pane import SessionPane

    return SessionPane


def _end_quietly(pane: SessionPane) -> None:
    from cdebug_tui.errors import CdebugError

    try:
        pane.end()
    except CdebugError:
        pass  # best effort at exit


#: The list's keys that leave the focus on it (cursor moves, sorts, Escape's clearing of the
#: filter; the arrows and pages are escape sequences, allowed as such): typed before its Enter
#: in one burst, the Enter is still the list's.
LIST_KEYS_BEFORE_ENTER = b"jkgGoO\x1b"


class CdebugApp(App[int], inherit_bindings=False):
    """Debug running containers: pick one, pick a toolkit, get a shell and the target's insides.

    Args:
        target: A container to start a session on right away, or None for the list.
        image: The toolkit image for that session (None: the last one chosen, or the default).
        base_url: The engine's address; None takes DOCKER_HOST or the default socket.
    """

    # Absolute, so that subclasses defined elsewhere (benchmarks, tests) find it too.
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "cdebug-tui"
    # ctrl+p (or :, as k9s's command mode) opens the palette: container actions, debug an
    # image. Inside the terminal ctrl+p is the shell's (TerminalView refuses the palette's
    # priority binding while it has the focus).
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = {ContainerCommands, ImageCommands}
    # App's own ctrl+q and ctrl+c bindings are left out (inherit_bindings=False): inside the
    # terminal they belong to the shell. The tab keys (ctrl+PgDn/PgUp unless the settings say
    # otherwise) are bound in __init__, as priority bindings, so that they work from inside
    # the terminal too; no other key is taken from a shell (alt+arrows are readline's).
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("r", "reload", "Reload", show=False),
        # Outside the terminal: the list, then the session tabs by their place.
        *(Binding(str(n), f"tab({n})", f"Tab {n}", show=False) for n in range(10)),
        # From a session's panels, as the key is dispatched (check_action): the keys typed
        # after it in one burst (`0 /name`) went to the tab left behind while the key bubbled
        # up to the binding above. (From the list, its table takes digits in order itself: a
        # priority binding there took the digits of `/web-1` typed before the filter opened.)
        *(
            Binding(str(n), f"tab_now({n})", f"Tab {n}", show=False, priority=True)
            for n in range(10)
        ),
        Binding("colon", "command_palette", "Commands", key_display=":"),
        # Declared, since one of ours is: Textual adds its own ctrl+p only when none is.
        Binding("ctrl+p", "command_palette", "Commands", show=False, priority=True),
    ]

    def __init__(
        self,
        target: str | None = None,
        image: str | None = None,
        base_url: str | None = None,
    ) -> None:
        super().__init__()
        from cdebug_tui.ui.settings import app_keys

        #: The app's own keys (settings "keys"), by role: leave_terminal, next_tab, previous_tab.
        self.app_keys = app_keys()
        self._bindings.bind(
            self.app_keys["next_tab"], "next_tab", "Next tab", priority=True, key_display=None
        )
        self._bindings.bind(
            self.app_keys["previous_tab"], "previous_tab", "Prev tab", show=False, priority=True
        )
        #: Splits raw input between the focused terminal and the app (see RawInputDriver).
        self.input_router = InputRouter(
            (encode_key(k) for k in self.app_keys.values() if "+" in k or len(k) == 1),
            # The terminal's scrollback, as in xterm: the view's keys, never the program's.
            view_keys=(encode_key(k) for k in ("shift+pageup", "shift+pagedown")),
        )
        self.initial_target = target
        if target:
            # `cdebug-tui TARGET`: what is typed before the prompt shows is the shell's.
            self.input_router.begin_typeahead()
        self.initial_image = image
        self.base_url = base_url
        #: The engine sessions start on when none is named: the current one.
        self.engine: Any = None
        #: Every engine that answered, by name; rows and sessions name theirs.
        self.engines: dict[str, Any] = {}
        self.registry: Any = None
        #: One event stream per engine, closed when the app ends.
        self._events: dict[str, EventStream] = {}
        self._events_lock = threading.Lock()
        #: Each container's events as the app received them, by (engine, id): the Events view
        #: shows them beside what the engine kept (Docker keeps its latest 256, of all).
        self.event_history: dict[tuple[str, str], deque[ContainerEvent]] = {}
        self._quitting = False
        self._watching: set[str] = set()
        #: Sidecars started while the user picks a toolkit, by (engine, container): at most one
        #: each. A choice of a container makes a new ticket (the image it prepares for); a
        #: prepared session whose ticket is no longer the wanted one is closed, never kept.
        self._warm: dict[tuple[str, str], Any] = {}
        self._warm_wanted: dict[tuple[str, str], tuple[str, object]] = {}
        #: Tickets whose preparation still runs, and the tabs waiting for one (picked before
        #: it was ready: it began earlier than a new start would).
        self._warm_busy: set[tuple[str, object]] = set()
        self._warm_claims: dict[tuple[str, object], Future[Any]] = {}
        self._warm_lock = threading.Lock()
        #: The tab built, hidden, behind the picker for a prepared sidecar, by (engine,
        #: container): its session and when its mount has ended. The pick shows it, so that
        #: Enter costs no tab's building; any other answer removes it.
        self._staged: dict[tuple[str, str], tuple[SessionPane, Any, asyncio.Event]] = {}
        #: The tab a key has just shown and focused (see _focus_switched), until its TabActivated.
        self._switched_to: str | None = None
        #: Engines that went away, with how many attempts to reach them failed since.
        self._retries: dict[str, int] = {}
        #: Targets whose sessions' links stay in their root until they run again: (engine, id)
        #: -> (name, the toolkit that removes them, attempts that failed).
        self._links_left: dict[tuple[str, str], tuple[str, str, int]] = {}
        #: Targets whose links a worker removes now (two tabs on one target ended together).
        self._links_cleaning: set[tuple[str, str]] = set()
        #: Every session tab opened and not yet freed: at unmount the DOM is gone, these are not.
        self._all_panes: list[SessionPane] = []
        #: The pending reclaim_heap after a tab closed, if any.
        self._reclaim_timer: Timer | None = None
        #: Stats of the containers on screen (list rows, stats views), read every 2 s at most.
        self.stats = StatsPoller(self)
        #: Session tabs being added (open_session to mounted): typeahead waits for them.
        self._opening = 0
        self._typeahead_timer: Timer | None = None
        self._typeahead_misses = 0
        self._typeahead_since = 0.0
        #: The tab the keys typed ahead are for (None: the next one to open).
        self.typeahead_pane: SessionPane | None = None
        #: The tab whose `t` (enter the terminal) is armed for typeahead.
        self.typeahead_key_pane: SessionPane | None = None
        #: The predicate the list's Enter is armed with (its arming, to disarm only that one),
        #: and whether keys are held after it for the picker it opens (see _arm_list_enter).
        self._list_enter_when: Callable[[], bool] | None = None
        self._held_for_picker = False
        #: Gives the keys held after the list's Enter back when no container was chosen.
        self._list_keys_timer: Timer | None = None

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver, or on Linux and macOS its variant that gives the focused terminal
        the raw input (keys as typed, ESC sequences however fast)."""
        driver = super().get_driver_class()
        from textual.drivers.linux_driver import LinuxDriver

        if driver is LinuxDriver:
            from cdebug_tui.ui.driver import RawInputDriver

            return RawInputDriver
        return driver

    #: App actions that stay active while a terminal has the focus (the rest would take keys
    #: the shell gets anyway: they are hidden from the footer).
    TERMINAL_ACTIONS = frozenset({"next_tab", "previous_tab"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hides the app's letters from the footer while the keys go to a terminal."""
        from cdebug_tui.terminal.widget import TerminalView

        if isinstance(self.focused, TerminalView) and action not in self.TERMINAL_ACTIONS:
            return False
        if action == "tab_now":
            focused = self.focused
            return (
                self.screen is self.screen_stack[0]
                and focused is not None
                and not isinstance(focused, Input)
                and any(isinstance(node, _session_pane_class()) for node in focused.ancestors)
            )
        return True

    def compose(self) -> ComposeResult:
        # Kept as attributes: App.query_one looks at the active screen, which may be a modal.
        self.title_bar = Static(Text(" cdebug-tui  connecting…"), id="title-bar")
        self.tabs = SteadyTabs(id="tabs", refocus=self._focus_active)
        self.list_panel = ContainerListPanel(id="list")
        yield self.title_bar
        with self.tabs:
            with TabPane("Containers", id="tab-list"):
                yield self.list_panel
        yield AppFooter()

    #: Below this width the side panels are hidden (unless `b` shows them in a tab): the
    #: terminal needs the columns more.
    NARROW = 110
    #: Below this height the side panels show one of processes and files at a time.
    SHORT = 32

    def on_resize(self, event: events.Resize) -> None:
        # The event's size: self.size still held the previous one here, so the rule lagged a
        # resize behind (panels gone for good after 100x30 and back to 160x45).
        self.apply_layout(event.size.width, event.size.height)

    def apply_layout(self, width: int, height: int) -> None:
        """Applies the size rules to the app and to every session tab."""
        self.set_class(width < self.NARROW, "-narrow")
        for pane in self.sessions():
            pane.apply_layout(width, height)

    #: Thread workers run in asyncio's default executor, which has min(32, cores + 4) threads:
    #: on 2 cores, five session readers (each blocks for the session's life) and an event
    #: stream took every thread, and the next session never started. Threads are made on
    #: demand, so a large ceiling costs nothing until it is used.
    WORKER_THREADS = 512

    def on_mount(self) -> None:
        if self.input_router.typing_ahead:
            self.watch_typeahead()

        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=self.WORKER_THREADS, thread_name_prefix="cdebug")
        )
        self.set_class(self.size.width < self.NARROW, "-narrow")
        self.list_panel.query_one("#containers").focus()
        self.watch(self.screen, "focused", self._focus_moved, init=False)
        # Back on the main screen from any dialog (help, explain, a process's details): its
        # focus is restored without a change to watch, so `t` there was left unarmed, and
        # `t 'cmd' Enter` typed at once lost the command (only the picker re-armed).
        self.screen_change_signal.subscribe(self, lambda _screen: self.rearm_keys())
        # Whichever way the active tab changes (keys, a click, a new or closed tab), the
        # terminals learn whether they are shown: a hidden one is emulated within a budget
        # and not drawn, so the shown one must never be left marked hidden.
        self.watch(self.tabs, "active", self._sync_backgrounds, init=False)
        # After the first frame: importing docker-py in a thread still competes for the GIL.
        self.call_after_refresh(self.connect)

    # -- the engine ------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="connect")
    def connect(self) -> None:
        """Connects to every configured engine (importing docker-py only now), then lists
        their containers and follows their events; an engine that fails spares the others."""
        from cdebug_tui.engine.engines import EngineConfig, EngineRegistry
        from cdebug_tui.errors import CdebugError

        configs = None
        if self.base_url:
            configs = [EngineConfig("docker", self.base_url, source="address", current=True)]
        try:
            registry = EngineRegistry(configs)
        except CdebugError as exc:
            self.post_message(EngineFailed(str(exc)))
            return
        self.registry = registry
        for cfg in registry.configs:
            self.connect_engine(cfg.name)

    def connect_engine(self, name: str) -> None:
        """Connects one engine (in the calling worker thread) and starts following it."""
        from cdebug_tui.errors import CdebugError

        try:
            engine = self.registry.get(name, check=True)
        except CdebugError as exc:
            self.post_message(EngineFailed(str(exc), engine=name))
            return
        self.post_message(EngineConnected(engine))
        self._remove_orphans(engine)
        since = time.time()
        # First without the shell probes so that the rows show at once, then with them.
        self.post_message(ContainersLoaded(engine.list_containers(shells=False), engine.name))
        self.call_from_thread(self._follow, engine.name, since)
        # Only the SHELL column and the details of the runs are taken from these: read before
        # their probes, which take seconds on a busy engine, their states are older than the
        # events applied meanwhile (a container that died in between showed "running" again,
        # for good). The runs first (an inspect each: restart counts, OOM kills, exact ages,
        # a failed start's code), then the shell probes (archive reads, seconds): the counts
        # came 5 s after the list.
        for shells, restarts in ((False, True), (True, False)):
            read_at = time.monotonic()
            details = engine.list_containers(shells=shells, restarts=restarts)
            self.post_message(
                ContainersLoaded(
                    details, engine.name, details_only=True, read_at=read_at, runs=restarts
                )
            )

    def _remove_orphans(self, engine: Any) -> None:
        """Removes the sidecars a crashed cdebug-tui left (their owner process is gone)."""
        from cdebug_tui.errors import CdebugError

        try:
            orphans = engine.orphaned_sidecars()
            for c in orphans:
                engine.remove_container(c.id, remove_volumes=True)
            # Then the images committed for debug copies (the copies used them).
            for image in engine.orphaned_copy_images():
                engine.remove_image(image.id)
        except CdebugError as exc:
            self.call_from_thread(self.notify, f"cannot clean up old sidecars: {exc}")
            return
        if orphans:
            names = ", ".join(c.name for c in orphans[:5]) + ("…" if len(orphans) > 5 else "")
            self.call_from_thread(
                self.notify,
                f"removed {counted(len(orphans), 'sidecar')} left by a cdebug-tui that is gone: "
                + names,
                title="cleaned up",
                timeout=10,
            )

    def _follow(self, name: str, since: float) -> None:
        with self._events_lock:
            if name in self._watching or self._quitting:
                return
            self._watching.add(name)
        self.watch_events(name, since)

    @work(thread=True, exit_on_error=False, group="events")
    def watch_events(self, name: str, since: float) -> None:
        """Follows one engine's event stream and posts each changed row."""
        from cdebug_tui.engine.engines import connect
        from cdebug_tui.errors import CdebugError

        # A connection of its own: the stream holds it for as long as the app runs.
        try:
            engine = connect(self.registry.config(name), timeout=10)
        except CdebugError as exc:
            with self._events_lock:
                self._watching.discard(name)
            if not self._quitting:
                self.post_message(EngineFailed(f"disconnected: {exc}", engine=name))
            return
        # Rows are looked up in a thread of their own, in order: this one only reads the
        # stream, so that its end (the engine going away) shows at once, not after lookups
        # that wait on a dying engine.
        lookups: queue.SimpleQueue[tuple[ContainerEvent, int] | None] = queue.SimpleQueue()
        latest: dict[str, ContainerEvent] = {}  # each container's last event
        ended = threading.Event()

        def look_up() -> None:
            # Rows read too early, read again at their times (without holding up the others).
            again: list[tuple[float, int, ContainerEvent, int]] = []
            try:
                while not ended.is_set():
                    wait = max(0.0, again[0][0] - time.monotonic()) if again else None
                    try:
                        item = lookups.get(timeout=wait)
                    except queue.Empty:
                        _, _, event, tries = heapq.heappop(again)
                        item = (event, tries)
                    if item is None or ended.is_set():
                        break
                    event, tries = item
                    if latest.get(event.id) is not event:
                        continue  # a later event's lookup reads a row at least as new
                    try:
                        container = engine.container(event.id)
                    except CdebugError:
                        continue
                    if ended.is_set() or self._quitting:
                        break
                    self.post_message(ContainerChanged(event.id, container, name))
                    if container is None and event.action == "destroy":
                        latest.pop(event.id, None)  # ids are not reused: no later event
                    elif not event.shown_by(container) and tries < len(self.EVENT_RETRIES):
                        due = time.monotonic() + self.EVENT_RETRIES[tries]
                        heapq.heappush(again, (due, id(event), event, tries + 1))
            finally:
                engine.close()

        threading.Thread(target=look_up, name=f"rows-{name}", daemon=True).start()
        try:
            # Opened outside the lock, which the UI thread takes: it must not wait on the engine.
            stream = engine.events(since=since)
            with self._events_lock:
                if self._quitting:
                    stream.close()
                    return
                self._events[name] = stream
            for event in stream:
                if self._quitting:
                    break
                self._remember(name, event)
                if event.action in ROW_ACTIONS:
                    latest[event.id] = event
                    lookups.put((event, 0))
            broke = "the engine closed its event stream (it stopped?)"
        except CdebugError as exc:  # whatever ends the stream, the user hears of it
            broke = f"the event stream broke: {exc}"
        finally:
            ended.set()
            lookups.put(None)
            with self._events_lock:
                self._events.pop(name, None)
                self._watching.discard(name)  # a reconnection starts a new stream
        if not self._quitting:
            self.post_message(EngineFailed(f"disconnected: {broke}", engine=name))

    #: Events kept per container for the Events view (a crash loop makes 3 per restart).
    EVENTS_KEPT = 3000

    def _remember(self, engine: str, event: ContainerEvent) -> None:
        """Keeps an event for the Events view (on the events thread; deque appends are
        atomic, and a container's deque is made once)."""
        key = (engine, event.id)
        if event.action == "destroy":
            self.event_history.pop(key, None)  # its Events view, if open, follows on its own
            return
        kept = self.event_history.get(key)
        if kept is None:
            kept = self.event_history[key] = deque(maxlen=self.EVENTS_KEPT)
        kept.append(event)

    def on_engine_connected(self, message: EngineConnected) -> None:
        engine = message.engine
        if self._retries.pop(engine.name, None):
            self.notify(f"{engine.name} answers again", title="engine", timeout=5)
        self.engines[engine.name] = engine
        if self.engine is None or engine.name == self.registry.current.name:
            self.engine = engine
        panel = self._list_panel()
        if panel is not None and self.registry is not None:
            self._sync_engine_order(panel)
            panel.set_engine_status(engine.name, None)
        self.refresh_title()
        if self.initial_target and engine.name == self.registry.current.name:
            from cdebug_tui.ui.settings import last_toolkit

            image = self.initial_image or last_toolkit() or "busybox:musl"
            self.open_session(self.initial_target, self.initial_target, image, engine)
            self.initial_target = None

    def _sync_engine_order(self, panel: ContainerListPanel) -> None:
        # Groups follow the registry's order, the current engine first, from the start.
        for name in self.registry.names:
            panel.engines.setdefault(name, None)

    #: Seconds before reading a row again that does not show its event yet (Docker's list
    #: can lag its events): about 3 s in all, then the row stays as the engine lists it.
    EVENT_RETRIES = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)

    #: Seconds between attempts to reach an engine that went away: doubling up to the last.
    RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0)

    def on_engine_failed(self, message: EngineFailed) -> None:
        name = message.engine
        if self.initial_target is not None:
            # No session soon: the keys typed for its shell go, the app's come back.
            self.end_typeahead()
        first = name is None or name not in self._retries
        if first:
            where = f"{name}: " if name and len(self.engines) else ""
            self.notify(where + message.error, title="engine", severity="error", timeout=10)
        if name and name in self.engines:
            # Its rows stay as they were (the list keeps what it shows), marked unreachable;
            # new sessions on it wait until it answers again.
            del self.engines[name]
            self.refresh_title()
        if name and not self._quitting:
            tries = self._retries.get(name, 0)
            self._retries[name] = tries + 1
            delay = self.RETRY_DELAYS[min(tries, len(self.RETRY_DELAYS) - 1)]
            self.set_timer(delay, lambda: self.reconnect(name))
        panel = self._list_panel()
        if panel is None:
            return
        if message.engine and self.registry is not None and len(self.registry.names) > 1:
            self._sync_engine_order(panel)
            panel.set_engine_status(message.engine, message.error)
            return
        panel.query_one("#list-status", Static).update(
            Text.assemble(
                ("✗ ", "bold red"), message.error, ("  (trying again on its own; r now)", "dim")
            )
        )

    @work(thread=True, exit_on_error=False, group="reconnect")
    def reconnect(self, name: str) -> None:
        """Tries an engine that went away again; the list is read anew when it answers."""
        if self._quitting or self.registry is None:
            return
        with self._events_lock:
            followed = name in self._watching
        if not followed:
            self.connect_engine(name)

    def links_left(self, engine: str, target_id: str, name: str, image: str) -> None:
        """A session ended with its target (stopped, or restarted) or its sidecar (stopped from
        outside): its supervisor went before it removed its link from the target's root. Removed
        now, through the stopped target's writable layer, or once the target runs (now, or at
        its next start), with a sidecar of `image` that is started and ended at once: the app
        leaves no file in a target."""
        key = (engine, target_id)
        self._links_left[key] = (name, image, 0)
        panel = self._list_panel()
        row = panel.row(target_id, engine) if panel is not None else None
        # Running, or stopped (through its writable layer); not one about to run again.
        if row is not None and row.state in ("running", "exited", "created", "dead"):
            self._remove_links(key)

    def _remove_links(self, key: tuple[str, str]) -> None:
        if key in self._links_cleaning:
            return  # under way: the worker removes every stale link of the target
        left = self._links_left.pop(key, None)
        engine = self.engines.get(key[0])
        if left is None or engine is None:
            return
        self._links_cleaning.add(key)
        self.run_worker(
            partial(self._remove_links_now, engine, key, *left),
            thread=True,
            group="links",
            exit_on_error=False,
        )

    def _remove_links_now(
        self, engine: Any, key: tuple[str, str], name: str, image: str, tries: int
    ) -> None:
        from cdebug_tui.engine.session import remove_stale_links_of
        from cdebug_tui.errors import CdebugError

        try:
            removed = remove_stale_links_of(engine, key[1], image)
        except CdebugError:
            # It stopped again (a crash loop), say: its next start tries again, twice more;
            # then the next session's supervisor removes them, or `cdebug-tui cleanup`.
            if tries < 2:
                again = (name, image, tries + 1)
                # Lambdas: call_from_thread reads its callable's signature, which builtin
                # methods (dict.setdefault, set.discard) have none of.
                self.call_from_thread(lambda: self._links_left.setdefault(key, again))
            return
        finally:
            self.call_from_thread(lambda: self._links_cleaning.discard(key))
        for path in removed:
            self.call_from_thread(
                self.notify,
                f"removed {path} from {name}: a session's link, which its sidecar could not "
                "remove (the target, or the sidecar, stopped under it)",
                title="cleanup",
                timeout=6,
            )

    def shell_less_images(self, engine: str) -> set[str]:
        """The images of an engine's containers that the list found without a shell (its
        SHELL column): no toolkit, since a sidecar's supervisor is a shell script."""
        return {
            c.image
            for c in self.list_panel.containers.values()
            if c.engine == engine and c.has_shell is False
        }

    def _list_panel(self) -> ContainerListPanel | None:
        # Worker results may still arrive while the app tears its widgets down.
        return self.list_panel if self.list_panel.is_attached else None

    def on_containers_loaded(self, message: ContainersLoaded) -> None:
        panel = self._list_panel()
        if panel is None:
            return
        if message.details_only:
            panel.set_details(message.containers, message.read_at, runs=message.runs)
        else:
            first = not panel.loaded
            panel.set_containers(message.containers, message.engine)
            if first:
                self.call_after_refresh(self.freeze_heap)

    def freeze_heap(self) -> None:
        """Leaves what the app has built so far (docker-py, the widgets, the list) out of the
        collector's full passes: each pass walked all of it, 60-135 ms on this machine during
        which no key was handled and no frame drawn (one fell in most picks' Enter-to-prompt).

        Called once the list is shown and once a session's tab is built; objects frozen are
        never collected while frozen, so the app thaws them when it ends.
        """
        gc.freeze()

    def on_container_changed(self, message: ContainerChanged) -> None:
        panel = self._list_panel()
        if panel is not None and panel.loaded:
            panel.update_container(message.container_id, message.container, message.engine)
        key = (message.engine or "", message.container_id)
        if key in self._links_left:
            if message.container is None:
                self._links_left.pop(key)  # removed with its writable layer, links and all
            elif message.container.state == "running":
                self._remove_links(key)
        if message.container is None and message.engine is not None:
            # A tab that ended with its target stopped: n there would start on a container
            # that is gone now (it tried to pull its id as an image).
            for pane in self.sessions():
                if pane.is_on(message.container_id):
                    pane.target_removed()
            # Views of a removed container (inspect, stats) say so instead of going blank.
            self.stats.forget((message.engine, message.container_id))
            for screen in self.screen_stack:
                removed = getattr(screen, "container_removed", None)
                if callable(removed):
                    removed(message.engine, message.container_id)

    def action_reload(self) -> None:
        if self.registry is None:
            self.connect()
            return
        self.reload_containers()

    @work(thread=True, exclusive=True, exit_on_error=False, group="reload")
    def reload_containers(self) -> None:
        """Reads every engine's list again, reconnecting engines that were gone and following
        again the event streams that broke (an engine restarted, say)."""
        from cdebug_tui.errors import CdebugError

        for name in self.registry.names:
            with self._events_lock:
                followed = name in self._watching
            if not followed:
                self.connect_engine(name)
                continue
            try:
                engine = self.registry.get(name)
                self.post_message(
                    ContainersLoaded(engine.list_containers(shells=True, restarts=True), name)
                )
            except CdebugError as exc:
                self.post_message(EngineFailed(str(exc), engine=name))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Every worker runs with exit_on_error=False: its error becomes a notification.
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            from cdebug_tui.errors import CdebugError

            error = event.worker.error
            text = str(error)
            if not isinstance(error, CdebugError):
                text = f"{type(error).__name__}: {error}"
            self.notify(text, title="error", severity="error", timeout=8)

    # -- sessions --------------------------------------------------------------------------

    @on(ContainerListPanel.ContainerChosen)
    def _container_chosen(self, event: ContainerListPanel.ContainerChosen) -> None:
        from cdebug_tui.ui.screens.picker import ToolkitPickerScreen

        if isinstance(self.screen, ToolkitPickerScreen):
            return  # a second Enter that reached the list before the picker was up
        picker = self._open_picker(event.container)
        if self._held_for_picker:
            # The keys typed after the list's Enter in the same burst: the picker's once it
            # has the focus, else the list's again.
            self._held_for_picker = False
            if picker is not None:
                picker.take_typed_ahead = True
            else:
                self.input_router.end_typeahead(give_back=True)
                self.rearm_keys()

    def _open_picker(self, c: Container) -> ToolkitPickerScreen | None:
        """Opens the toolkit picker for a session on `c` (and prepares the likely sidecar);
        None when `c` cannot be debugged now (the user is told why)."""
        from cdebug_tui.ui.screens.picker import ToolkitPickerScreen

        if c.is_sidecar:
            self.notify(f"{c.name} is a cdebug-tui sidecar, not a target", severity="warning")
            return None
        # A restarting one (a crash loop) too: between its runs there is nothing to join.
        stopped = c.state in ("exited", "created", "dead", "restarting")
        if not c.running and not stopped:
            self.notify(
                f"{c.name} is {c.state}: a {c.state} container cannot be debugged (its processes "
                "are frozen or on their way); try again when it runs or has stopped",
                title="cannot debug yet",
                severity="warning",
                timeout=6,
            )
            return None
        if self.engine is None:
            return None

        engine = self.engines.get(c.engine)
        if engine is None:
            self.notify(f"engine {c.engine} does not answer (r retries)", severity="error")
            return None

        from cdebug_tui.ui.settings import last_toolkit

        # While the user picks, the sidecar for the likely choice starts: the shell is then
        # an exec into it, which answers faster than a new container.
        key = (engine.name, c.id)
        likely = last_toolkit() or "busybox:musl"
        ticket = (likely, object())
        with self._warm_lock:
            # Not for a stopped one: its debug copy (a commit) costs more than a guess is worth.
            if not stopped:
                self._warm_wanted[key] = ticket
                self._warm_busy.add(ticket)
            # Prepared for an earlier choice of this container: a new one is on its way.
            stale = self._warm.pop(key, None)
        if stale is not None:
            self.close_sessions_quietly([stale])
        self._unstage(key)
        if not stopped:
            self.prepare_warm(
                engine,
                c.id,
                c.name,
                ticket,
                _session_pane_class().expected_terminal_size(
                    self.size.width, self.size.height, self.NARROW
                ),
            )

        picker = ToolkitPickerScreen(engine, c.name, c.id)

        def picked(image: str | None) -> None:
            profile = picker.profile
            pending: Future[Any] | None = None
            with self._warm_lock:
                if self._warm_wanted.get(key) is ticket:
                    del self._warm_wanted[key]
                warm = self._warm.pop(key, None)
                if (
                    warm is None
                    and ticket in self._warm_busy
                    and image == ticket[0]
                    and profile == DEFAULT_PROFILE
                ):
                    # Picked before its sidecar was ready: the tab takes that one when it is,
                    # sooner than a start of its own, which would also compete with it.
                    pending = self._warm_claims[ticket] = Future()
            if warm is not None and (
                not image or image != warm.spec.image or profile != warm.spec.profile
            ):
                self.close_sessions_quietly([warm])
                warm = None
            staged = self._staged.get(key)
            if warm is not None and staged is not None and staged[1] is warm:
                del self._staged[key]
                self._show_staged(staged[0], staged[2])
                return
            self._unstage(key)
            if image:
                self.open_session(
                    c.id, c.name, image, engine, prepared=warm, profile=profile, pending=pending
                )

        self.push_screen(picker, picked)
        return picker

    def debug_image(self, ref: str) -> None:
        """Opens the toolkit picker for a session on a throwaway container of image `ref`."""
        from cdebug_tui.ui.screens.picker import ToolkitPickerScreen

        if self.engine is None:
            return
        engine = self.engine
        picker = ToolkitPickerScreen(engine, f"image {ref}")

        def picked(image: str | None) -> None:
            if image:
                self.open_session(ref, ref, image, engine, profile=picker.profile)

        # After the palette has gone: pushed while it closed, the picker's screen and focus
        # came back to the list, and the new session's tab opened behind it.
        self.call_after_refresh(self.push_screen, picker, picked)

    @on(ContainerListPanel.LogsRequested)
    def _logs_requested(self, event: ContainerListPanel.LogsRequested) -> None:
        """Opens a container's log, running or not: a crashed one's last words come first."""
        from cdebug_tui.ui.screens.logs import LogsScreen

        c = event.container
        engine = self.engines.get(c.engine)
        if engine is None:
            self.notify(f"engine {c.engine} does not answer (r retries)", severity="error")
            return
        self.push_screen(LogsScreen(engine, c.id, c.name))

    @work(thread=True, exit_on_error=False, group="warm")
    def prepare_warm(
        self,
        engine: Any,
        container_id: str,
        name: str,
        ticket: tuple[str, object],
        size: tuple[int, int],
    ) -> None:
        """Starts a sidecar and its shell for a likely session (the ticket's image, a
        terminal of `size`); it is kept only while its ticket is the wanted one, and closed
        otherwise (picked, cancelled, chosen again).

        The shell starts too: an exec takes 50-100 ms, more beside a tab being built, and
        its prompt, read ahead, is in the first frame of the tab that picks it.
        """
        key = (engine.name, container_id)
        session = None
        try:
            session = self._prepare_likely(engine, container_id, ticket, size)
        finally:
            # Decided here, under the lock, not on the UI thread: a session handed to a thread
            # that might not run it (the app ending) could leak its sidecar.
            previous = None
            with self._warm_lock:
                self._warm_busy.discard(ticket)
                claim = self._warm_claims.pop(ticket, None)
                handed = claim is not None and session is not None and not self._quitting
                keep = (
                    claim is None
                    and session is not None
                    and self._warm_wanted.get(key) is ticket
                    and not self._quitting
                )
                if keep:
                    previous = self._warm.pop(key, None)
                    self._warm[key] = session
            if claim is not None:
                claim.set_result(session if handed else None)  # None: the tab starts its own
            if keep:
                self.post_message(self.WarmPrepared(engine, container_id, name, ticket))
            if session is not None and not keep and not handed:
                session.close()  # picked already, cancelled, or chosen again
            if previous is not None:
                previous.close()

    def _prepare_likely(
        self, engine: Any, container_id: str, ticket: tuple[str, object], size: tuple[int, int]
    ) -> Any:
        """prepare_warm's session, its shell started while it is still wanted; None when the
        image is not here or the engine refuses (the real start will say what is wrong)."""
        from cdebug_tui.engine.models import SessionSpec
        from cdebug_tui.engine.session import prepare_session
        from cdebug_tui.errors import CdebugError

        key = (engine.name, container_id)
        image = ticket[0]
        rows, cols = size
        try:
            # Only an image that is here already: a pull is the picker's, with its progress.
            if engine.image_id(image) is None:
                return None
            session = prepare_session(
                engine, SessionSpec(target=container_id, image=image, rows=rows, cols=cols)
            )
        except CdebugError:
            return None
        with self._warm_lock:
            wanted = (
                self._warm_wanted.get(key) is ticket or ticket in self._warm_claims
            ) and not self._quitting
        if wanted:
            try:
                session.start_shell()
            except CdebugError:
                session.close()
                return None
            # Its banner and prompt: the tab that picks it shows them in its first frame.
            session.read_ahead()
        return session

    class WarmPrepared(Message):
        """A sidecar prepared while the user picks runs its shell: its tab can be built."""

        def __init__(
            self, engine: Any, container_id: str, name: str, ticket: tuple[str, object]
        ) -> None:
            super().__init__()
            self.engine = engine
            self.container_id = container_id
            self.name = name
            self.ticket = ticket

    def on_cdebug_app_warm_prepared(self, message: WarmPrepared) -> None:
        """Builds the prepared session's tab behind the picker, hidden: the pick only shows
        it. (Built on the pick, its widgets' mount and styles took 40-50 ms of the Enter.)"""
        from cdebug_tui.ui.screens.picker import ToolkitPickerScreen
        from cdebug_tui.ui.widgets.session_pane import SessionPane

        key = (message.engine.name, message.container_id)
        with self._warm_lock:
            session = self._warm.get(key)
            wanted = self._warm_wanted.get(key) is message.ticket and not self._quitting
        if session is None or not wanted or key in self._staged:
            return
        if not isinstance(self.screen, ToolkitPickerScreen) or not self.is_attached:
            return
        pane = SessionPane(
            message.engine,
            message.container_id,
            message.name,
            session.spec.image,
            session,
            profile=session.spec.profile,
        )
        pane.staged = True
        self.screen.present.add(session.spec.image)
        mounted = asyncio.Event()
        self._staged[key] = (pane, session, mounted)
        self._all_panes.append(pane)
        self.run_worker(self._stage_pane(pane, mounted), group="tabs")

    async def _stage_pane(self, pane: SessionPane, mounted: asyncio.Event) -> None:
        tabs = self.tabs
        # One frame or none: its tab must never show in the bar before it is hidden.
        with self.batch_update():
            try:
                await tabs.add_pane(pane)
                tabs.hide_tab(pane.id or "")
            finally:
                mounted.set()

    def _show_staged(self, pane: SessionPane, mounted: asyncio.Event) -> None:
        """Shows the tab staged behind the picker, as open_session shows a new one."""
        self._tab_coming(pane)
        self.run_worker(self._bring_staged(pane, mounted), group="tabs")

    def _tab_coming(self, pane: SessionPane) -> None:
        """A tab is on its way to the front (_opening until it is there): the keys typed
        after the Enter that opened it are its shell's."""
        self._opening += 1
        if self.input_router.typing_ahead or self.input_router.armed:
            self.typeahead_pane = pane

    async def _bring_staged(self, pane: SessionPane, mounted: asyncio.Event) -> None:
        tabs = self.tabs
        try:
            await mounted.wait()
            if not pane.is_attached:
                self.end_sessions([pane])  # the app is ending
                return
            with self.batch_update():
                tabs.show_tab(pane.id or "")
                pane.claim()
                tabs.active = pane.id or ""
                self._sync_backgrounds()
                if pane.state == "running" and pane.last_focus is None:
                    # Focused now, not on the app's next turn (Widget.focus): the first frame
                    # shows the terminal focused and the footer with its keys.
                    pane.last_focus = pane.view
                    self.screen.set_focus(pane.view)
                    self.query_one(AppFooter).refresh_keys()
                else:
                    self._focus_active()
                self.refresh_title()
                # Laid out in the next frame: that frame, the first without the picker, would
                # otherwise draw the list again (18 ms) before a second one lays out the tab.
                self.screen.refresh(layout=True)
        finally:
            self._opening -= 1

    def _unstage(self, key: tuple[str, str]) -> None:
        """Removes the tab staged for `key` behind the picker, and ends its session."""
        staged = self._staged.pop(key, None)
        if staged is None:
            return
        pane, _session, mounted = staged
        self.end_sessions([pane])
        self.run_worker(self._remove_staged(pane, mounted), group="tabs")

    async def _remove_staged(self, pane: SessionPane, mounted: asyncio.Event) -> None:
        await mounted.wait()
        if pane.is_attached:
            await self.tabs.remove_pane(pane.id or "")
        self._reclaim_soon()

    @work(thread=True, exit_on_error=False, group="end")
    def close_sessions_quietly(self, sessions: list[Any]) -> None:
        for session in sessions:
            session.close()

    def open_session(
        self,
        target: str,
        name: str,
        image: str,
        engine: Any = None,
        prepared: Any = None,
        command: tuple[str, ...] = (),
        profile: str = "general",
        pending: Future[Any] | None = None,
        copy: Any = None,
    ) -> SessionPane:
        """Opens a tab that starts a session on `target` (of `engine`, by default the current
        one) with the toolkit `image` (in `prepared`'s sidecar, when one is given, or in the
        one `pending` gives when its preparation ends) and the sidecar's privilege `profile`,
        running `command` (by default the toolkit's shell), in the debug copy `copy` (another
        tab's) when one is given."""
        from cdebug_tui.ui.widgets.session_pane import SessionPane

        pane = SessionPane(
            engine or self.engine,
            target,
            name,
            image,
            prepared,
            command,
            profile=profile,
            pending=pending,
            copy=copy,
        )
        self._all_panes.append(pane)
        self._tab_coming(pane)
        self.run_worker(self._show_pane(pane), group="tabs")
        return pane

    async def _show_pane(self, pane: SessionPane) -> None:
        tabs = self.tabs
        # One frame for it all: the frame drawn between the mount and the switch showed the
        # list again, and cost as much as the one that shows the tab.
        with self.batch_update():
            try:
                # The tab is shown once it is mounted: made active before, a busy app could
                # leave the list showing (the tabs fall back to the first one while the new
                # one is not there).
                await tabs.add_pane(pane)
            finally:
                self._opening -= 1
            try:
                tabs.active = pane.id or ""
            except ValueError:
                return  # closed (x, the app quitting) before its tab was there: nothing to show
            self._sync_backgrounds()
            self._focus_active()
            self.refresh_title()

    # -- typeahead: keys typed before a session's prompt are its shell's -------------------

    def watch_typeahead(self) -> None:
        """Checks, while typeahead is armed or under way, that a session is still coming for
        it: when none is (the tab failed, another tab came forward), the keys are dropped and
        the app has its keys again."""
        if self._typeahead_timer is None:
            self._typeahead_misses = 0
            self._typeahead_timer = self.set_interval(0.25, self._check_typeahead)

    #: Seconds typeahead may wait for its session: past them the start is slow (a pull, an
    #: engine that hardly answers), the user watches it, and the keys are the app's again.
    TYPEAHEAD_LIMIT = 10.0

    def _check_typeahead(self) -> None:
        if not self.screen_stack:
            # The app is ending, its screens gone before this timer (as rearm_keys checks):
            # self.screen raised ScreenStackError, a traceback as the app quit.
            return
        router = self.input_router
        if not router.typing_ahead:
            self._typeahead_since = 0.0
            self.typeahead_pane = None
            # Armed on `t`, or on the list's Enter: no watch until it fires (it posts a
            # message); the panels and the list can keep the focus for hours. Only the
            # picker's Enter is watched while armed.
            from cdebug_tui.ui.screens.picker import ToolkitPickerScreen

            picker = isinstance(self.screen, ToolkitPickerScreen)
            if (not router.armed or router.trigger == b"t" or not picker) and self._typeahead_timer:
                self._typeahead_timer.stop()
                self._typeahead_timer = None
            return
        now = time.monotonic()
        self._typeahead_since = self._typeahead_since or now
        # `t` in a running tab waits as long as a session's start: its terminal takes the
        # focus once the app has handled the keys queued before it, which a loaded machine
        # took more than 3 s to do (the keys held for the terminal were dropped as it took the
        # focus). A `t` that went elsewhere (the Logs' timestamps) is rare: ctrl+] keeps the
        # focus off the Logs while one is on its way (SessionPane._coming_back).
        over = now - self._typeahead_since >= self.TYPEAHEAD_LIMIT
        if not over and self._typeahead_expected():
            self._typeahead_misses = 0
            return
        # A few times in a row: a check can fall between a picker's Enter and its tab.
        self._typeahead_misses += 1
        if self._typeahead_misses >= 3 or over:
            self.end_typeahead()

    def end_typeahead(self) -> None:
        """Drops the keys typed ahead: no session is coming for them."""
        self.input_router.end_typeahead()
        self.typeahead_pane = self.typeahead_key_pane = None
        self._typeahead_since = 0.0

    def typed_ahead_for(self, view: Any) -> bool:
        """Whether a terminal taking the focus is the one the keys typed ahead are for."""
        pane = self.typeahead_pane or self.typeahead_key_pane
        return pane is None or pane in view.ancestors

    def _typeahead_expected(self) -> bool:
        """Whether a session's terminal is coming for the keys typed ahead."""
        from cdebug_tui.ui.screens.picker import ToolkitPickerScreen
        from cdebug_tui.ui.widgets.session_pane import PaneState

        screen = self.screen
        if self._held_for_picker:
            return True  # after the list's Enter: the picker it opens takes them
        if isinstance(screen, ToolkitPickerScreen):
            # Its Enter picked (the image is checked), or it takes the list's keys.
            return screen.pulling is not None or screen.take_typed_ahead
        if self._opening:
            return True
        if self.initial_target is not None:
            return True  # `cdebug-tui TARGET`, the engine not connected yet
        try:
            pane = self.tabs.active_pane if self.is_attached else None
        except NoMatches:
            pane = None  # the app is tearing its tabs down (a timer's last tick)
        key_pane = self.typeahead_key_pane
        if self.typeahead_pane is None and key_pane is not None:
            return (
                screen is self.screen_stack[0]
                and pane is key_pane
                and pane.state == PaneState.RUNNING
            )
        if self.typeahead_pane is not None and pane is not self.typeahead_pane:
            return False  # another tab came forward
        # Starting, or started: its terminal takes the focus a turn after the start (later on a
        # loaded machine). Only STARTING counted, the checks in between were misses, and the
        # keys typed before the prompt were dropped after three; a `t` typed in that tab later
        # (`typeahead_pane` still set) was dropped at once, its misses added to those.
        return isinstance(pane, _session_pane_class()) and pane.state in (
            PaneState.STARTING,
            PaneState.RUNNING,
        )

    def sessions(self) -> list[SessionPane]:
        """The session tabs, in order (none before the app has composed)."""
        # Imported here, like every session module: the first frame does not need them.
        from cdebug_tui.ui.widgets.session_pane import SessionPane

        tabs = getattr(self, "tabs", None)
        if tabs is None:
            return []
        return [p for p in tabs.query(SessionPane) if not p.staged]

    def on_session_pane_close_requested(self, event: SessionPane.CloseRequested) -> None:
        self.close_pane(event.pane)

    @work(exclusive=False, group="close")
    async def close_pane(self, pane: SessionPane) -> None:
        """Ends a tab's session (in a thread) and removes the tab; the next session's tab
        (else the one before, else the list) comes forward."""
        tabs = self.tabs
        ids = [p.id or "" for p in self.sessions()]
        where = ids.index(pane.id or "") if pane.id in ids else -1
        rest = [i for i in ids if i != pane.id]
        # Now: the tab is gone before its session's end comes, which finished it (a recording
        # stayed empty until the collector found the tab, minutes later).
        pane.stop_recording()
        self.end_sessions([pane])
        await tabs.remove_pane(pane.id or "")
        tabs.active = rest[min(where, len(rest) - 1)] if rest and where >= 0 else "tab-list"
        self._focus_active()
        self.refresh_title()
        self._reclaim_soon()

    def _reclaim_soon(self) -> None:
        """reclaim_heap RECLAIM_AFTER from now: once for closes in a row, not once each."""
        if self._reclaim_timer is not None:
            self._reclaim_timer.reset()
        else:
            self._reclaim_timer = self.set_timer(RECLAIM_AFTER, self.reclaim_heap)

    def reclaim_heap(self) -> None:
        """Frees closed tabs (with their scrollback): what freeze_heap froze is never collected
        while frozen, and a tab is a cycle (its widgets point at it). So: thaw, collect (one
        pause, RECLAIM_AFTER after a close), freeze what lives again. Waits for the sessions
        still ending: their threads hold their tabs until then."""
        ending = any(
            w.group == "end" and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
            for w in self.workers
        )
        self._reclaim_timer = None
        if ending or self._quitting:
            if not self._quitting:
                self._reclaim_soon()
            return
        self._forget_closed_panes()
        gc.unfreeze()
        gc.collect()
        gc.freeze()

    def _forget_closed_panes(self) -> None:
        # A closed tab whose session has ended needs nothing at exit: let it go (with its
        # scrollback, up to a few MiB), or a day of sessions would stay in memory.
        self._all_panes = [
            p
            for p in self._all_panes
            if p.is_attached or p.alive or (p.session is not None and not p.session.closed)
        ]

    @work(thread=True, exit_on_error=False, group="end")
    def end_sessions(self, panes: list[SessionPane], then_exit: bool = False) -> None:
        """Ends sessions in parallel: each removes its links and its sidecar."""
        alive = [p for p in panes if p.session is not None or p.alive]
        if alive:
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(lambda p: p.end(), alive))
        if then_exit:
            self.call_from_thread(self.exit, 0)

    def refresh_title(self) -> None:
        """Redraws the title bar: the engine's address and how many sessions are open."""
        engine = self.engine
        where = getattr(engine, "address", "") if engine is not None else "connecting…"
        live = sum(1 for p in self.sessions() if p.alive)
        if len(self.engines) > 1:
            title = Text.assemble((" cdebug-tui ", "bold reverse"), ("  engines ", "dim"))
            title.append(", ".join(self.engines))
        else:
            title = Text.assemble(
                (" cdebug-tui ", "bold reverse"),
                ("  engine ", "dim"),
                (where, ""),
            )
        if live:
            title.append(f"  {counted(live, 'session')} open", style="bold")
        if self.title_bar.is_attached:
            self.title_bar.update(title)
        self._mark_sessions()

    def _mark_sessions(self) -> None:
        """Numbers the session tabs by their place (the digit that shows each) and marks the
        containers that have a session in the list."""
        panes = self.sessions()
        for place, pane in enumerate(panes, 1):
            pane.place = place
        panel = self._list_panel()
        if panel is not None:
            panel.set_sessions(
                [(getattr(p.engine, "name", ""), _listed_target(p)) for p in panes if p.alive]
            )

    # -- tabs and focus --------------------------------------------------------------------

    def _tab_ids(self) -> list[str]:
        return ["tab-list", *(p.id or "" for p in self.sessions())]

    def _switch(self, step: int) -> None:
        tabs = self.tabs
        ids = self._tab_ids()
        if tabs.active not in ids:
            return
        tabs.active = ids[(ids.index(tabs.active) + step) % len(ids)]
        self._sync_backgrounds()
        self._focus_switched()

    def _close_views(self) -> bool:
        """Closes the full-screen views (Logs, Inspect, Events, Stats) over the tabs, so that
        the tab keys their footers offer act there as on the list; False under a dialog,
        whose keys are its own."""
        if isinstance(self.screen, ModalScreen):
            return False
        while len(self.screen_stack) > 1:
            self.pop_screen()
        return True

    def action_tab(self, place: int) -> None:
        """Shows the list (0) or the session tab at that place (1-9)."""
        ids = self._tab_ids()
        if place < len(ids) and self._close_views():
            self.tabs.active = ids[place]
            self._focus_switched()

    def action_tab_now(self, place: int) -> None:
        """action_tab, run as its key is dispatched (see BINDINGS)."""
        self.action_tab(place)

    def _focus_switched(self) -> None:
        """Focuses the tab a key has just shown, at once: the keys typed after the switch in
        the same burst are dispatched next, to the focus then (`0 /` went to the tab left
        behind, and `/` opened no filter there). Its TabActivated need not focus it again."""
        self._focus_active()
        self._switched_to = self.tabs.active

    def action_next_tab(self) -> None:
        if len(self._tab_ids()) > 1 and self._close_views():
            self._switch(1)

    def action_previous_tab(self) -> None:
        if len(self._tab_ids()) > 1 and self._close_views():
            self._switch(-1)

    @on(TabbedContent.TabActivated, "#tabs")
    def _tab_activated(self) -> None:
        self._sync_backgrounds()
        switched, self._switched_to = self._switched_to, None
        if switched is not None and switched == self.tabs.active:
            # Focused by the key's action already; again a turn later, it took the focus from
            # where the keys after the switch had moved it (the filter `0 /` opened).
            return
        self.call_after_refresh(self._focus_active)

    def _sync_backgrounds(self) -> None:
        """Tells each session's terminal whether it is shown: hidden ones get a budget."""
        active = self.tabs.active
        for pane in self.sessions():
            if pane.id == active:
                pane.shown()
            try:
                pane.view.set_background(pane.id != active)
            except NoMatches:
                pass  # not composed yet: it starts shown, and this runs again on a switch

    def _tab_of(self, widget: Any) -> TabPane | None:
        for node in widget.ancestors_with_self:
            if isinstance(node, TabPane) and node.parent is not None:
                if node.parent.parent is self.tabs:
                    return node
        return None

    def rearm_keys(self) -> None:
        """Arms the typeahead of what has the focus on the main screen again (a dialog that
        armed its own, the picker, has just been popped)."""
        if not self.is_attached or not self.screen_stack or self.screen is not self.screen_stack[0]:
            return
        focused = self.screen_stack[0].focused
        self._arm_terminal_key(focused)
        self._arm_list_enter(focused)

    def _focus_moved(self, old: Any, new: Any) -> None:
        """Remembers each session tab's last focus, for a switch back to restore it."""
        # The `t` of the panels first: it also forgets a tab whose `t` was armed before.
        self._arm_terminal_key(new)
        self._arm_list_enter(new)
        if new is None:
            return
        pane = self._tab_of(new)
        if not isinstance(pane, _session_pane_class()) or pane.id != self.tabs.active:
            return
        came_from = self._tab_of(old) if old is not None else None
        if came_from is not None and came_from is not pane:
            # Arrived with a switch of tabs: Textual moves the focus of a hidden tab to a
            # widget near it (another tab's terminal, say), which is not the user's choice.
            return
        pane.last_focus = new

    def _arm_list_enter(self, focused: Any) -> None:
        """Where Enter on the list opens the toolkit picker, arms typeahead on it: the keys
        after that Enter in the same burst reached the list before the picker was up (Enter
        Enter opened a second picker; Enter D y would remove a container). Held, they are the
        picker's once it has the focus (_container_chosen)."""
        router = self.input_router
        table: Any
        field: Any
        try:
            table = self.list_panel.query_one("#containers")
            field = self.list_panel.query_one("#filter")
        except NoMatches:
            table = field = None
        if focused is not None and focused is field and not router.typing_ahead:
            # Typed on from the filter (`Enter Enter Enter ls Enter` in one burst): its Enter
            # moves to the list, whose Enter must hold what follows for the picker. Armed
            # only when the list has the focus, it came too late: the keys went to the filter.
            in_field = self._focused_on(field)
            router.arm_typeahead(b"\r", None, in_field, then=(b"\r", self._list_enter_fired, True))
            self._list_enter_when = in_field
            return
        if focused is None or focused is not table or router.typing_ahead:
            if self._list_enter_when is not None:
                router.disarm_typeahead(self._list_enter_when)
                self._list_enter_when = None
            return
        still = self._focused_on(table)
        router.arm_typeahead(
            b"\r",
            self._list_enter_fired,
            still,
            verbatim=True,
            # Keys that keep the focus on the list (the cursor's, the sort's) may come before
            # its Enter in a burst; after `/` the first Enter is the filter's.
            only_after=LIST_KEYS_BEFORE_ENTER,
            via=b"/",
        )
        self._list_enter_when = still

    def _focused_on(self, widget: Any) -> Callable[[], bool]:
        """Whether `widget` still has the focus on the screen shown now: read on the input
        thread (a dialog over the list makes Enter the dialog's)."""
        screen = self.screen

        def still() -> bool:
            try:
                return self.screen is screen and screen.focused is widget
            except Exception:  # noqa: BLE001 - being torn down: the app's key then
                return False

        return still

    class ListEnterFired(Message):
        """The input thread began holding the keys after the list's Enter."""

    def _list_enter_fired(self) -> None:
        self.post_message(self.ListEnterFired())  # on the input thread: thread-safe

    def on_cdebug_app_list_enter_fired(self, message: ListEnterFired) -> None:
        # Handled before the Enter's own key event (posted first): _container_chosen sees it.
        self._held_for_picker = True
        # A row under the cursor: its ContainerChosen comes, however late, and gives the keys
        # on. Given back after 1 s, under load they reached the list before the picker was up
        # (its Enter picked before the picker had them, `echo ...` went into its field).
        wait = self.TYPEAHEAD_LIMIT if self._list_enter_chooses() else 1.0
        if self._list_keys_timer is not None:
            self._list_keys_timer.stop()  # an earlier Enter's: not this one's to end
        self._list_keys_timer = self.set_timer(wait, self._give_back_list_keys)

    def _list_enter_chooses(self) -> bool:
        """Whether Enter on the list chooses a container: a known row is under its cursor."""
        try:
            return self.list_panel.selected() is not None
        except NoMatches:
            return False

    @on(ContainerListPanel.NothingChosen)
    def _nothing_chosen(self) -> None:
        # The keys held for the picker are the list's again now, not after the wait.
        self._give_back_list_keys()

    def _give_back_list_keys(self) -> None:
        """The list's Enter opened nothing (an empty list, say): the keys are the list's."""
        if self._held_for_picker:
            self._held_for_picker = False
            self.input_router.end_typeahead(give_back=True)
            self.rearm_keys()

    class TypeaheadFired(Message):
        """The input thread began typeahead (its `t`): the watch starts on the UI's turn."""

    def _typeahead_fired(self) -> None:
        # On the input thread, which must not wait on the UI's; post_message is thread-safe
        # and runs the handler in the app's context (a timer started from the input thread's
        # own context died at its first tick).
        self.post_message(self.TypeaheadFired())

    def on_cdebug_app_typeahead_fired(self, message: TypeaheadFired) -> None:
        # A new typeahead: its wait starts now, not with one that ended between two checks
        # (`ctrl+] t ls Enter` twice in a quarter of a second).
        self._typeahead_since = 0.0
        self._typeahead_misses = 0
        self.watch_typeahead()

    def _arm_terminal_key(self, focused: Any) -> None:
        """Where `t` enters a running session's terminal, arms typeahead on it: in a burst
        (`t ls Enter`) Textual hands the keys after `t` to the panel that has the focus
        before the binding moves it (`l` opened the Logs, `e` an explanation)."""
        from cdebug_tui.ui.widgets.session_pane import KEYS_BEFORE_T, PaneState

        router = self.input_router
        pane = self._tab_of(focused) if focused is not None else None
        held_for = self.typeahead_key_pane
        if (
            router.typing_ahead
            and held_for is not None
            and focused is not held_for.view
            and (focused is None or held_for not in focused.ancestors)
        ):
            # The focus went elsewhere (a click on another tab) before the terminal took it:
            # never to another tab's terminal. Within the tab it moves on its way back
            # (`ctrl+] t`: the header, then the panels).
            self.end_typeahead()
        running = (
            pane
            if isinstance(pane, _session_pane_class()) and pane.state == PaneState.RUNNING
            else None
        )
        if running is not None and focused is running.view:
            # `ctrl+] t ...` in one burst: the input thread arms `t` as it meets ctrl+].
            router.arm_leave(
                encode_key(self.app_keys["leave_terminal"]),
                b"t",
                self._typeahead_fired,
                KEYS_BEFORE_T.encode(),
            )
            self.typeahead_key_pane = running
            return
        router.disarm_leave()
        if running is not None:
            active = self.screen.active_bindings.get("t")
            if active is not None and active.binding.action == "focus_terminal":
                main = self.screen

                def still(pane: Any = running, main: Any = main) -> bool:
                    # Read on the input thread, as the terminal's sink reads its own state:
                    # a dialog over the tab (help, the palette, a prompt) or another focus
                    # makes `t` theirs.
                    try:
                        focused = main.focused
                        return (
                            self.screen is main
                            and pane.state == PaneState.RUNNING
                            and focused is not None
                            and focused is not pane.view
                            and pane in focused.ancestors
                        )
                    except Exception:  # noqa: BLE001 - being torn down: the app's key then
                        return False

                router.arm_typeahead(
                    b"t",
                    self._typeahead_fired,
                    still,
                    keep=True,
                    # Keys that keep the focus in the tab may come before `t` in a burst; after
                    # any other (`0 /trial` went to the list) the `t` is not the tab's.
                    only_after=(KEYS_BEFORE_T + "jkgG").encode() + b"\x1b",
                )
                self.typeahead_key_pane = running
                return
        if router.trigger == b"t":
            router.disarm_typeahead()
        if not router.typing_ahead:
            self.typeahead_key_pane = None

    def _focus_active(self) -> None:
        """Focuses what the active tab is for: the terminal, the side panels or the list."""
        pane = self.tabs.active_pane
        try:
            if isinstance(pane, _session_pane_class()):
                # Each tab keeps its own last focus: a switch never puts the keys into a
                # terminal the user had left.
                if pane.restore_focus():
                    return
                if pane.state == "starting":
                    # The terminal takes the focus when the session starts (SessionStarted);
                    # taking it for the panels now could land after that and keep it there.
                    # A focus left in another tab goes: keys must not reach a hidden widget.
                    screen = self.tabs.screen
                    if screen.focused is not None and pane not in screen.focused.ancestors:
                        screen.set_focus(None)
                    return
                elif pane.state == "running" and pane.last_focus is None:
                    # Its first showing (its session may have started before its tab was
                    # there, the prepared sidecar's way): the shell, as when it starts in front.
                    pane.last_focus = pane.view
                    pane.focus_terminal_soon()
                else:
                    pane.focus_panels()
            else:
                table = self.list_panel.query_one("#containers", DataTable)
                screen = self.tabs.screen
                focused = screen.focused
                if focused is None or self.list_panel not in focused.ancestors_with_self:
                    # At once, as a tab's restore_focus; not from the filter, which a `/` typed
                    # with the switch (`0 /name`) opened before this ran.
                    screen.set_focus(table)
        except NoMatches:
            pass  # A new tab is not composed yet; it focuses its terminal once it runs.

    # -- help and quitting -----------------------------------------------------------------

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """As App.notify, but a notification already on screen is not shown twice: R pressed
        six times on a restarting container stacked four identical refusals over the list."""
        for shown in self._notifications:
            if (shown.message, shown.title, shown.severity) == (message, title, severity):
                return
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def action_help(self) -> None:
        from cdebug_tui.ui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        live = [p for p in self.sessions() if p.alive]
        if not live:
            self.exit(0)
            return
        from cdebug_tui.ui.screens.confirm import ConfirmScreen

        n = len(live)
        ending = (
            "ending them and removing their sidecars"
            if n > 1
            else "ending it and removing its sidecar"
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.notify(f"{ending}…")
                for pane in live:
                    pane.stop_recording()  # here, on the UI thread, before the tabs go
                self.end_sessions(live, then_exit=True)

        self.push_screen(
            ConfirmScreen(
                f"{n} debug session{'s are' if n > 1 else ' is'} open.\nQuit, {ending}?",
                yes="Quit",
                no="Stay",
            ),
            answered,
        )

    def on_unmount(self) -> None:
        # What freeze_heap kept out of collection can go with the app (tests run many apps).
        gc.unfreeze()
        # Whatever way the app ends, leave no sidecar and no blocked thread behind.
        self.stats.close()
        with self._events_lock:
            self._quitting = True
            streams = list(self._events.values())
        for stream in streams:
            stream.close()
        # Sidecars started for a pick that never came.
        with self._warm_lock:
            warm, self._warm = list(self._warm.values()), {}
        for session in warm:
            session.close()
        # The widgets are gone by now (Textual unmounts the app last): use our own list.
        panes = [p for p in self._all_panes if p.session is not None]
        if panes:
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(_end_quietly, panes))
