"""Provides container actions (start, stop, ... remove) after a confirmation, and the command
palette's provider that lists them for the selected container."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from cdebug_tui.engine.readings import ContainerAction

#: The key of each action in the list, as the help screen and the palette show it.
ACTION_KEYS = {
    ContainerAction.START: "U",
    ContainerAction.STOP: "X",
    ContainerAction.RESTART: "R",
    ContainerAction.PAUSE: "P",
    ContainerAction.UNPAUSE: "P",
    ContainerAction.KILL: "K",
    ContainerAction.REMOVE: "D",
}

#: What each action does, said in the confirmation.
ACTION_EFFECTS = {
    ContainerAction.START: "Its main process starts again; its filesystem is as it was left.",
    ContainerAction.STOP: "SIGTERM to its main process, SIGKILL after 10 s. Debug sessions on "
    "it end.",
    ContainerAction.RESTART: "Stopped (SIGTERM, SIGKILL after 10 s), then started. Debug "
    "sessions on it end.",
    ContainerAction.PAUSE: "Every process of it is frozen (cgroup freezer) until unpaused. "
    "Debug sessions on it end.",
    ContainerAction.UNPAUSE: "Its frozen processes run again.",
    ContainerAction.KILL: "SIGKILL to its main process now: no chance to clean up. Debug "
    "sessions on it end.",
    ContainerAction.REMOVE: "Stopped if it runs, then removed with its writable layer: what it "
    "wrote outside volumes is lost. Debug sessions on it end.",
}


@dataclass(frozen=True)
class ActionTarget:
    """The container an action is for, as the list or a session tab knows it."""

    engine: str
    id: str
    name: str
    state: str
    is_sidecar: bool = False


def actions_for(state: str) -> list[ContainerAction]:
    """The actions that make sense in a state (remove always does)."""
    if state == "running":
        found = [ContainerAction.STOP, ContainerAction.RESTART, ContainerAction.PAUSE]
        return [*found, ContainerAction.KILL, ContainerAction.REMOVE]
    if state == "paused":
        return [ContainerAction.UNPAUSE, ContainerAction.KILL, ContainerAction.REMOVE]
    if state == "restarting":
        return [ContainerAction.STOP, ContainerAction.KILL, ContainerAction.REMOVE]
    return [ContainerAction.START, ContainerAction.REMOVE]


def request_action(app: Any, target: Any, action: ContainerAction) -> None:
    """Asks to confirm an action naming the container, then runs it in a worker thread with
    its progress and result as notifications. cdebug-tui's sidecars, and an action that does
    not apply in the container's state, are refused at once."""
    from cdebug_tui.ui.screens.confirm import ConfirmScreen

    if getattr(target, "is_sidecar", False):
        app.notify(
            f"{target.name} is a cdebug-tui sidecar: it belongs to a session (close its tab)",
            title=f"cannot {action}",
            severity="warning",
        )
        return
    if action not in actions_for(target.state):
        # Asked anyway, a stop of an exited container said "stopped", a start of a running
        # one "started": the engine does nothing and answers success.
        app.notify(
            f"{target.name} is {target.state}: ctrl+p lists what applies",
            title=f"cannot {action}",
            severity="warning",
        )
        return

    def answered(yes: bool | None) -> None:
        if yes:
            run_action(app, target.engine, target.id, target.name, action)

    question = f"{action.value.capitalize()} {target.name}?\n\n{ACTION_EFFECTS[action]}"
    app.push_screen(ConfirmScreen(question, yes=action.value.capitalize(), no="Cancel"), answered)


def run_action(
    app: Any, engine_name: str, container_id: str, name: str, action: ContainerAction
) -> None:
    """Runs a confirmed action in a worker thread; progress and errors are notifications."""
    engine = getattr(app, "engines", {}).get(engine_name)
    if engine is None:
        app.notify(f"engine {engine_name} does not answer (r retries)", severity="error")
        return
    # A stop waits up to 10 s for SIGTERM to work: the note stays that long (it went after
    # 5 s, and a restart then looked stuck until its result came).
    slow = action in (ContainerAction.STOP, ContainerAction.RESTART, ContainerAction.REMOVE)
    app.notify(f"{action.progressive} {name}…", title=action.value, timeout=11 if slow else 5)
    app.run_worker(
        partial(_act, app, engine, container_id, name, action),
        thread=True,
        group="container-action",
        exit_on_error=False,
        description=f"{action} {name}",
    )


def _act(app: Any, engine: Any, container_id: str, name: str, action: ContainerAction) -> None:
    from cdebug_tui.errors import CdebugError

    try:
        engine.act(container_id, action)
    except CdebugError as exc:
        app.call_from_thread(
            app.notify, str(exc), title=f"{action} failed", severity="error", timeout=10
        )
        return
    app.call_from_thread(app.notify, f"{name} {action.past}", title=action.value)


def selected_target(app: Any) -> ActionTarget | None:
    """The container the palette's commands are for: the list's selected row, or the
    target of the session tab in front."""
    tabs = getattr(app, "tabs", None)
    pane = tabs.active_pane if tabs is not None else None
    session = getattr(pane, "session", None)
    engine = getattr(pane, "engine", None)
    panel = getattr(app, "list_panel", None)
    if session is not None and engine is not None:
        t = session.target
        copy = getattr(session, "copy", None)
        if copy is not None:
            if copy.source.original is None:
                # A copy of an image: the copy is ours, like a sidecar (no actions on it).
                return ActionTarget(engine.name, t.id, t.name, t.state, True)
            # A copy of a stopped or crash-looping container: the commands are for that one
            # (its events, stopping its loop), not for the copy, which closing the tab removes.
            t = copy.source.original
        # The list's row has the state now; the session's is its start's (an ended tab's
        # target that exited still said running, and Stop was offered, then "stopped").
        row = panel.row(t.id, engine.name) if panel is not None else None
        state = row.state if row is not None else "paused" if t.paused else t.state
        return ActionTarget(engine.name, t.id, t.name, state)
    c = panel.selected() if panel is not None and panel.is_attached else None
    if c is None:
        return None
    return ActionTarget(c.engine, c.id, c.name, c.state, c.is_sidecar)


class ContainerCommands(Provider):
    """The command palette's commands for the selected container: its actions, inspect, stats
    and events, each with its key."""

    def _commands(self) -> list[tuple[str, Callable[[], Any], str]]:
        app = self.app
        target = selected_target(app)
        if target is None:
            return []
        out: list[tuple[str, Callable[[], Any], str]] = []
        # A sidecar's actions are its session's: the palette offered them, then refused them.
        for action in [] if target.is_sidecar else actions_for(target.state):
            out.append(
                (
                    f"{action.value.capitalize()} {target.name}",
                    partial(request_action, app, target, action),
                    f"{ACTION_EFFECTS[action]} (key {ACTION_KEYS[action]} in the list)",
                )
            )
        out.append(
            (
                f"Inspect {target.name}",
                partial(_open_inspect, app, target),
                "docker inspect, grouped (key i in the list)",
            )
        )
        out.append(
            (
                f"Stats of {target.name}",
                partial(_open_stats, app, target),
                "CPU, memory, network and block I/O over the last minutes (key S in the list)",
            )
        )
        out.append(
            (
                f"Events of {target.name}",
                partial(_open_events, app, target),
                "docker events: starts, exits with their codes, kills, OOM (key E in the list)",
            )
        )
        return out

    async def discover(self) -> Hits:
        for text, callback, help_text in self._commands():
            yield DiscoveryHit(text, callback, text=text, help=help_text)

    async def search(self, query: str) -> AsyncIterator[Hit]:
        matcher = self.matcher(query)
        for text, callback, help_text in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), callback, text=text, help=help_text)


def _open_inspect(app: Any, target: ActionTarget) -> None:
    from cdebug_tui.ui.screens.inspect import InspectScreen

    app.push_screen(InspectScreen(target.engine, target.id, target.name))


def _open_events(app: Any, target: ActionTarget) -> None:
    from cdebug_tui.ui.screens.events import EventsScreen

    app.push_screen(EventsScreen(target.engine, target.id, target.name))


def _open_stats(app: Any, target: ActionTarget) -> None:
    from cdebug_tui.ui.screens.stats import StatsScreen

    app.push_screen(StatsScreen(target.engine, target.id, target.name))
