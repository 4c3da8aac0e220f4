"""Provides AppFooter: the key bar, one line drawn by one widget, `? Help` at its right end."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.widget import Widget

__all__ = ["AppFooter", "FooterItem"]


@dataclass(frozen=True)
class FooterItem:
    """One key as the footer shows it."""

    key: str
    display: str
    description: str
    enabled: bool
    tooltip: str


class AppFooter(Widget, can_focus=False):
    """The keys of the focused widget and its ancestors, as Textual's Footer shows them.

    Textual's Footer is a widget per key, recomposed on every change of the focus: each key's
    mount restyles it, and that was half of the time from Enter in the picker to the prompt
    (55-80 ms of 160 here). This draws the same line as one Text, redrawn only when the keys
    change. Help is docked right, so that it shows at every width: at 80 columns Textual's
    footer ended at `^PgDn N` and cut the rest, help among them. Keys that do not fit are left
    out whole rather than cut. A dialog over its screen (the picker, a confirmation, help)
    has its keys shown here, under it: the screen's own were shown, and do nothing there.
    """

    DEFAULT_CSS = """
    AppFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    AppFooter > .footer--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    AppFooter > .footer--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    AppFooter > .footer--hover {
        background: $block-hover-background;
    }
    AppFooter > .footer--separator {
        color: $foreground 20%;
    }
    """

    COMPONENT_CLASSES = {
        "footer--key",
        "footer--description",
        "footer--hover",
        "footer--separator",
    }
    ALLOW_SELECT = False
    HELP_ACTION = "help"

    #: The item under the mouse pointer, by index into the drawn spans.
    hover: reactive[int | None] = reactive(None)

    def __init__(self) -> None:
        super().__init__()
        self.items: tuple[FooterItem, ...] = ()
        self.help: FooterItem | None = None
        #: (first column, end column, item) of each key drawn, for the mouse.
        self.spans: list[tuple[int, int, FooterItem]] = []
        #: The screen whose keys are shown: this one's, or a dialog's over it.
        self._shown: Screen[object] | None = None

    def on_mount(self) -> None:
        self.app.screen_change_signal.subscribe(self, self._screen_changed)
        self._screen_changed(self.app.screen)

    def on_unmount(self) -> None:
        self.app.screen_change_signal.unsubscribe(self)
        if self._shown is not None:
            self._shown.bindings_updated_signal.unsubscribe(self)

    def _screen_changed(self, screen: Screen[object]) -> None:
        shown = screen if isinstance(screen, ModalScreen) else self.screen
        if shown is not self._shown:
            if self._shown is not None:
                self._shown.bindings_updated_signal.unsubscribe(self)
            self._shown = shown
            shown.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.refresh_keys()

    def _bindings_changed(self, screen: object) -> None:
        self.refresh_keys()

    def refresh_keys(self) -> None:
        """Reads the keys of the shown screen's focus again (redrawn if they changed)."""
        shown = self._shown or self.screen
        if not shown.is_attached:
            return
        items: list[FooterItem] = []
        help_item: FooterItem | None = None
        seen: set[str] = set()
        for node, binding, enabled, tooltip in shown.active_bindings.values():
            # One key per action, the first bound, as Textual's footer shows them.
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            # A node whose keys mean what its labels say (a dialog's "Quit (y)") names them so.
            describe = getattr(node, "describe_binding", None)
            description = (describe(binding) if callable(describe) else None) or (
                binding.description
            )
            item = FooterItem(
                binding.key,
                self.app.get_key_display(binding),
                description,
                enabled,
                tooltip or binding.tooltip or description,
            )
            if binding.action == self.HELP_ACTION:
                help_item = item
            else:
                items.append(item)
        if (tuple(items), help_item) != (self.items, self.help):
            self.items, self.help = tuple(items), help_item
            self.refresh()

    def _piece(self, item: FooterItem, index: int) -> Text:
        key_style = self.get_component_rich_style("footer--key")
        text_style = self.get_component_rich_style("footer--description")
        piece = Text.assemble((f" {item.display} ", key_style))
        if item.description:
            piece.append(f"{item.description} ", text_style)
        if not item.enabled:
            piece.stylize("dim")
        if index == self.hover:
            piece.stylize(self.get_component_rich_style("footer--hover"))
        return piece

    def render(self) -> Text:
        width = self.size.width
        line = Text(no_wrap=True, overflow="crop", end="")
        spans: list[tuple[int, int, FooterItem]] = []
        tail: Text | None = None
        if self.help is not None:
            tail = Text("▏", style=self.get_component_rich_style("footer--separator"), end="")
            tail.append_text(self._piece(self.help, len(self.items)))
            tail.append(" ")
        room = width - (tail.cell_len if tail is not None else 0)
        for index, item in enumerate(self.items):
            piece = self._piece(item, index)
            if line.cell_len + piece.cell_len > room:
                break
            spans.append((line.cell_len, line.cell_len + piece.cell_len, item))
            line.append_text(piece)
        if tail is not None and self.help is not None:
            line.append(" " * max(0, room - line.cell_len))
            spans.append((line.cell_len + 1, line.cell_len + tail.cell_len - 1, self.help))
            line.append_text(tail)
        self.spans = spans
        return line

    def item_at(self, x: int) -> FooterItem | None:
        """The key drawn at column `x`, if any."""
        for first, end, item in self.spans:
            if first <= x < end:
                return item
        return None

    def text(self) -> str:
        """The line as it is drawn, for a reader who cannot see colour."""
        return self.render().plain

    def on_mouse_move(self, event: events.MouseMove) -> None:
        item = self.item_at(event.x)
        index = None if item is None else self._index(item)
        if index != self.hover:
            self.hover = index
            self.tooltip = item.tooltip if item is not None and item.tooltip else None

    def on_leave(self, event: events.Leave) -> None:
        self.hover = None

    def _index(self, item: FooterItem) -> int:
        return len(self.items) if item is self.help else self.items.index(item)

    def watch_hover(self) -> None:
        self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        item = self.item_at(event.x)
        if item is None:
            return
        if item.enabled:
            self.app.simulate_key(item.key)
        else:
            self.app.bell()
