"""Provides CdebugApp: the full-screen app: the container list, then one tab per debug session."""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from cdebug_tui.ui.commands import ImageCommands
from cdebug_tui.ui.messages import (
    ContainerChanged,
    ContainersLoaded,
    EngineConnected,
    EngineFailed,
)
from cdebug_tui.ui.widgets.container_list import ContainerListPanel
from cdebug_tui.ui.widgets.tabs import SteadyTabs

if TYPE_CHECKING:
    from cdebug_tui.engine.client import EventStream
    from cdebug_tui.ui.widgets.session_pane import SessionPane

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


def _session_pane_class() -> type[SessionPane]:
    from cdebug_tui.ui.widgets.session_pane import SessionPane

    return SessionPane


def _end_quietly(pane: SessionPane) -> None:
    try:
        pane.end()
    except Exception:  # noqa: BLE001 - best effort at exit
        pass


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
    # The palette opens with ":" (as k9s's command mode) outside the terminal, never with
    # ctrl+p, which belongs to the shell; a binding of our own keeps Textual's priority one out.
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {ImageCommands}
    # App's own ctrl+q and ctrl+c bindings are left out (inherit_bindings=False): inside the
    # terminal they belong to the shell. Only these two pairs are priority bindings, so that
    # tabs switch from inside the terminal too; shells rarely need them.
    BINDINGS = [
        Binding("ctrl+pagedown", "next_tab", "Next tab", priority=True, key_display="^PgDn"),
        Binding("ctrl+pageup", "previous_tab", "Prev tab", priority=True, show=False),
        Binding("alt+right", "next_tab", "Next tab", priority=True, show=False),
        Binding("alt+left", "previous_tab", "Prev tab", priority=True, show=False),
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("r", "reload", "Reload", show=False),
        Binding("colon", "command_palette", "Commands", key_display=":"),
    ]

    def __init__(
        self,
        target: str | None = None,
        image: str | None = None,
        base_url: str | None = None,
    ) -> None:
        super().__init__()
        self.initial_target = target
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
        self._quitting = False
        self._watching: set[str] = set()
        #: Sidecars started while the user picks a toolkit, and the image each was started for.
        self._warm: dict[tuple[str, str], Any] = {}
        self._warm_wanted: dict[tuple[str, str], str] = {}
        #: Engines that went away, with how many attempts to reach them failed since.
        self._retries: dict[str, int] = {}
        #: Every session tab ever opened: at unmount the DOM is gone, these are not.
        self._all_panes: list[SessionPane] = []

    def compose(self) -> ComposeResult:
        # Kept as attributes: App.query_one looks at the active screen, which may be a modal.
        self.title_bar = Static(Text(" cdebug-tui  connecting…"), id="title-bar")
        self.tabs = SteadyTabs(id="tabs", refocus=self._focus_active)
        self.list_panel = ContainerListPanel(id="list")
        yield self.title_bar
        with self.tabs:
            with TabPane("Containers", id="tab-list"):
                yield self.list_panel
        yield Footer()

    #: Below this width the side panels start hidden: the terminal needs the columns more.
    NARROW = 110

    def on_resize(self) -> None:
        self.set_class(self.size.width < self.NARROW, "-narrow")

    #: Thread workers run in asyncio's default executor, which has min(32, cores + 4) threads:
    #: on 2 cores, five session readers (each blocks for the session's life) and an event
    #: stream took every thread, and the next session never started. Threads are made on
    #: demand, so a large ceiling costs nothing until it is used.
    WORKER_THREADS = 512

    def on_mount(self) -> None:
        import asyncio

        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=self.WORKER_THREADS, thread_name_prefix="cdebug")
        )
        self.set_class(self.size.width < self.NARROW, "-narrow")
        self.list_panel.query_one("#containers").focus()
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
            engine = self.registry.get(name)
        except CdebugError as exc:
            self.post_message(EngineFailed(str(exc), engine=name))
            return
        self.post_message(EngineConnected(engine))
        self._remove_orphans(engine)
        since = time.time()
        # First without the shell probes so that the rows show at once, then with them.
        self.post_message(ContainersLoaded(engine.list_containers(shells=False), engine.name))
        self.call_from_thread(self._follow, engine.name, since)
        self.post_message(ContainersLoaded(engine.list_containers(shells=True), engine.name))

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
                f"removed {len(orphans)} sidecar(s) left by a cdebug-tui that is gone: {names}",
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
        lookups: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        ended = threading.Event()

        def look_up() -> None:
            try:
                while (container_id := lookups.get()) is not None and not ended.is_set():
                    try:
                        container = engine.container(container_id)
                    except CdebugError:
                        continue
                    if not ended.is_set() and not self._quitting:
                        self.post_message(ContainerChanged(container_id, container, name))
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
                if event.action in ROW_ACTIONS:
                    lookups.put(event.id)
            broke = "the engine closed its event stream (it stopped?)"
        except Exception as exc:  # noqa: BLE001 - whatever ends the stream, the user hears of it
            broke = f"the event stream broke: {exc}"
        finally:
            ended.set()
            lookups.put(None)
            with self._events_lock:
                self._events.pop(name, None)
                self._watching.discard(name)  # a reconnection starts a new stream
        if not self._quitting:
            self.post_message(EngineFailed(f"disconnected: {broke}", engine=name))

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

    #: Seconds between attempts to reach an engine that went away: doubling up to the last.
    RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0)

    def on_engine_failed(self, message: EngineFailed) -> None:
        name = message.engine
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

    def _list_panel(self) -> ContainerListPanel | None:
        # Worker results may still arrive while the app tears its widgets down.
        return self.list_panel if self.list_panel.is_attached else None

    def on_containers_loaded(self, message: ContainersLoaded) -> None:
        panel = self._list_panel()
        if panel is not None:
            panel.set_containers(message.containers, message.engine)

    def on_container_changed(self, message: ContainerChanged) -> None:
        panel = self._list_panel()
        if panel is not None and panel.loaded:
            panel.update_container(message.container_id, message.container, message.engine)

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
                self.post_message(ContainersLoaded(engine.list_containers(shells=True), name))
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

        c = event.container
        if c.is_sidecar:
            self.notify(f"{c.name} is a cdebug-tui sidecar, not a target", severity="warning")
            return
        stopped = c.state in ("exited", "created", "dead")
        if not c.running and not stopped:
            self.notify(
                f"{c.name} is {c.state}: a {c.state} container cannot be debugged (its processes "
                "are frozen or on their way); try again when it runs or has stopped",
                title="cannot debug yet",
                severity="warning",
                timeout=6,
            )
            return
        if self.engine is None:
            return

        engine = self.engines.get(c.engine)
        if engine is None:
            self.notify(f"engine {c.engine} does not answer (r retries)", severity="error")
            return

        from cdebug_tui.ui.settings import last_toolkit

        # While the user picks, the sidecar for the likely choice starts: the shell is then
        # an exec into it, which answers faster than a new container.
        key = (engine.name, c.id)
        likely = last_toolkit() or "busybox:musl"
        if not stopped:
            # Not for a stopped one: its debug copy (a commit) costs more than a guess is worth.
            self._warm_wanted[key] = likely
            self.prepare_warm(engine, c.id, likely)

        picker = ToolkitPickerScreen(engine, c.name)

        def picked(image: str | None) -> None:
            self._warm_wanted.pop(key, None)
            warm = self._warm.pop(key, None)
            profile = picker.profile
            if warm is not None and (
                not image or image != warm.spec.image or profile != warm.spec.profile
            ):
                self.close_sessions_quietly([warm])
                warm = None
            if image:
                self.open_session(c.id, c.name, image, engine, prepared=warm, profile=profile)

        self.push_screen(picker, picked)

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

    @work(thread=True, exit_on_error=False, group="warm")
    def prepare_warm(self, engine: Any, container_id: str, image: str) -> None:
        """Starts a sidecar for a likely session; dropped when the user picks otherwise."""
        from cdebug_tui.engine.models import SessionSpec
        from cdebug_tui.engine.session import prepare_session
        from cdebug_tui.errors import CdebugError

        try:
            # Only an image that is here already: a pull is the picker's, with its progress.
            if engine.image_id(image) is None:
                return
            session = prepare_session(engine, SessionSpec(target=container_id, image=image))
        except CdebugError:
            return  # the real start will say what is wrong
        self.call_from_thread(self._warm_ready, (engine.name, container_id), session)

    def _warm_ready(self, key: tuple[str, str], session: Any) -> None:
        if self._warm_wanted.get(key) == session.spec.image and not self._quitting:
            self._warm[key] = session
        else:
            self.close_sessions_quietly([session])  # picked already, or otherwise

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
        profile: str = "general",
    ) -> SessionPane:
        """Opens a tab that starts a session on `target` (of `engine`, by default the current
        one) with the toolkit `image` (in `prepared`'s sidecar, when one is given) and the
        sidecar's privilege `profile`."""
        from cdebug_tui.ui.widgets.session_pane import SessionPane

        pane = SessionPane(engine or self.engine, target, name, image, prepared, profile)
        self._all_panes.append(pane)
        self.run_worker(self._show_pane(pane), group="tabs")
        return pane

    async def _show_pane(self, pane: SessionPane) -> None:
        tabs = self.tabs
        # The tab is shown once it is mounted: made active before, a busy app could leave the
        # list showing (the tabs fall back to the first one while the new one is not there).
        await tabs.add_pane(pane)
        tabs.active = pane.id or ""
        self._focus_active()
        self.refresh_title()

    def sessions(self) -> list[SessionPane]:
        """The session tabs, in order (none before the app has composed)."""
        # Imported here, like every session module: the first frame does not need them.
        from cdebug_tui.ui.widgets.session_pane import SessionPane

        tabs = getattr(self, "tabs", None)
        return list(tabs.query(SessionPane)) if tabs is not None else []

    def on_session_pane_close_requested(self, event: SessionPane.CloseRequested) -> None:
        self.close_pane(event.pane)

    @work(exclusive=False, group="close")
    async def close_pane(self, pane: SessionPane) -> None:
        """Ends a tab's session (in a thread) and removes the tab; the list comes forward."""
        tabs = self.tabs
        self.end_sessions([pane])
        await tabs.remove_pane(pane.id or "")
        tabs.active = "tab-list"
        self._focus_active()
        self.refresh_title()

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
            title.append(f"  {live} session{'s' if live > 1 else ''} open", style="bold")
        if self.title_bar.is_attached:
            self.title_bar.update(title)

    # -- tabs and focus --------------------------------------------------------------------

    def _tab_ids(self) -> list[str]:
        return ["tab-list", *(p.id or "" for p in self.sessions())]

    def _switch(self, step: int) -> None:
        tabs = self.tabs
        ids = self._tab_ids()
        if tabs.active not in ids:
            return
        tabs.active = ids[(ids.index(tabs.active) + step) % len(ids)]
        self._focus_active()

    def action_next_tab(self) -> None:
        if self.screen is self.screen_stack[0]:
            self._switch(1)

    def action_previous_tab(self) -> None:
        if self.screen is self.screen_stack[0]:
            self._switch(-1)

    @on(TabbedContent.TabActivated, "#tabs")
    def _tab_activated(self) -> None:
        self.call_after_refresh(self._focus_active)

    def _focus_active(self) -> None:
        """Focuses what the active tab is for: the terminal, the side panels or the list."""
        pane = self.tabs.active_pane
        try:
            if isinstance(pane, _session_pane_class()):
                if pane.state == "running":
                    pane.view.focus()
                elif pane.state == "starting":
                    # The terminal takes the focus when the session starts (SessionStarted);
                    # taking it for the panels now could land after that and keep it there.
                    # A focus left in another tab goes: keys must not reach a hidden widget.
                    screen = self.tabs.screen
                    if screen.focused is not None and pane not in screen.focused.ancestors:
                        screen.set_focus(None)
                    return
                else:
                    pane.processes.focus()
            else:
                self.list_panel.query_one("#containers", DataTable).focus()
        except NoMatches:
            pass  # A new tab is not composed yet; it focuses its terminal once it runs.

    # -- help and quitting -----------------------------------------------------------------

    def action_help(self) -> None:
        from cdebug_tui.ui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        live = [p for p in self.sessions() if p.alive]
        if not live:
            self.exit(0)
            return
        from cdebug_tui.ui.screens.confirm import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self.notify("ending the sessions and removing their sidecars…")
                self.end_sessions(live, then_exit=True)

        n = len(live)
        self.push_screen(
            ConfirmScreen(
                f"{n} debug session{'s are' if n > 1 else ' is'} open.\n"
                "Quit, ending them and removing their sidecars?",
                yes="Quit",
                no="Stay",
            ),
            answered,
        )

    def on_unmount(self) -> None:
        # Whatever way the app ends, leave no sidecar and no blocked thread behind.
        with self._events_lock:
            self._quitting = True
            streams = list(self._events.values())
        for stream in streams:
            stream.close()
        # Sidecars started for a pick that never came.
        warm, self._warm = list(self._warm.values()), {}
        for session in warm:
            session.close()
        # The widgets are gone by now (Textual unmounts the app last): use our own list.
        panes = [p for p in self._all_panes if p.session is not None]
        if panes:
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(_end_quietly, panes))
