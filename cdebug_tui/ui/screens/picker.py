"""Provides ToolkitPickerScreen: choose the toolkit image a debug session brings along."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, ProgressBar, Select, Static
from textual.widgets.option_list import Option, OptionDoesNotExist

from cdebug_tui.engine.profiles import DEFAULT_PROFILE, PROFILES
from cdebug_tui.engine.toolkit import LOCAL_TOOLKIT, PRESETS
from cdebug_tui.ui.messages import (
    ImagePulled,
    ImagePullFailed,
    ImagesLoaded,
    PullProgressed,
    SessionNoticed,
)
from cdebug_tui.ui.settings import last_toolkit
from cdebug_tui.ui.widgets.burst import OrderedInput

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual.await_complete import AwaitComplete

    from cdebug_tui.engine.readings import PullProgress


def _normal(ref: str) -> str:
    """A reference with its implied tag, as image tags list it."""
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last or "@" in ref else f"{ref}:latest"


class ToolkitPickerScreen(ModalScreen[str | None]):
    """Presets, the images on the engine, or any reference; pulls the choice before closing.

    Dismisses with the image reference to use (it is on the engine then), or None.
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def __init__(self, engine: Any, target_name: str, target_id: str | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.target_name = target_name
        #: The container debugged, when it is one: its removal closes the picker.
        self.target_id = target_id
        self.local: set[str] = set()
        self.pulling: str | None = None
        #: Images known to be on the engine (the sidecar prepared while the user picks runs
        #: one): choosing one needs no check, and the picker closes at once.
        self.present: set[str] = set()
        self._layers: dict[str, tuple[int, int]] = {}
        #: The sidecar's privilege profile chosen (kubectl debug's), read when it is dismissed.
        self.profile = DEFAULT_PROFILE
        #: Whether keys typed after the list's Enter that opened it are held for it: it takes
        #: them once it has the focus (Enter Enter picks the remembered toolkit).
        self.take_typed_ahead = False
        #: Whether Enter is still this picker's (read on the input thread): once it is gone,
        #: Enter is the key of what it uncovers.
        self._mine: Callable[[], bool] = lambda: self.app.screen is self

    def container_removed(self, engine: str, container_id: str) -> None:
        """The app heard that a container was removed: the one to debug closes the picker
        (picking opened a tab that had ended already)."""
        if container_id == self.target_id and engine == getattr(self.engine, "name", engine):
            self.notify(f"{self.target_name} was removed: nothing to debug", severity="warning")
            self.dismiss(None)

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Static(
                Text.assemble("Debug ", (self.target_name, "bold"), " with which toolkit?"),
                id="picker-title",
            )
            yield OptionList(id="picker-options")
            yield OrderedInput(
                value=last_toolkit() or "",
                placeholder="any image reference, e.g. ghcr.io/org/tools:1.2 (Enter uses it)",
                id="picker-input",
            )
            yield Select(
                [(f"profile {p.name}: {p.summary}", p.name) for p in PROFILES.values()],
                value=DEFAULT_PROFILE,
                allow_blank=False,
                id="picker-profile",
            )
            yield Static("", id="picker-status")
            yield ProgressBar(total=None, show_eta=False, id="picker-progress")
            with Horizontal(id="picker-fallback"):
                yield Button(f"Use {LOCAL_TOOLKIT} (works offline)", id="use-local")
            yield Static(
                Text("Enter picks · ✓ = on the engine, else pulled · Esc cancels", style="dim"),
                id="picker-help",
            )

    #: Fewer rows than this: the picker drops its blank lines (see .-short in app.tcss).
    SHORT = 30

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.height < self.SHORT, "-short")

    def _status(self, text: Text) -> None:
        """Says what the picker does or why it failed; shown only when it says something."""
        status = self.query_one("#picker-status", Static)
        status.update(text)
        status.display = bool(text.plain)

    def on_mount(self) -> None:
        self.set_class(self.app.size.height < self.SHORT, "-short")
        self.query_one("#picker-progress", ProgressBar).display = False
        self.query_one("#picker-fallback").display = False
        self._fill([])
        self.query_one(OptionList).focus()
        self.load_images()
        if self.take_typed_ahead:
            # Once the focus is there (and Enter armed for the session's keys after it).
            self.call_after_refresh(self._take_typed_ahead)

    # -- typeahead: the keys typed after Enter, in the same burst, are the shell's ---------

    def _router(self) -> Any:
        return getattr(self.app, "input_router", None)

    def on_descendant_focus(self, event: Any) -> None:
        self._arm()

    def _arm(self) -> None:
        router = self._router()
        if router is None or not self._mine():
            return  # gone (a focus event of its teardown): what it uncovered armed its own
        # Enter on these picks (the profile's Select opens its list with Enter instead).
        if self.pulling is None and isinstance(self.app.focused, (OptionList, Input, Button)):
            router.arm_typeahead(when=self._mine)
            watch = getattr(self.app, "watch_typeahead", None)
            if watch is not None:
                watch()
        else:
            router.disarm_typeahead(self._mine)

    def _take_typed_ahead(self) -> None:
        self.take_typed_ahead = False
        self._no_pick()

    def _no_pick(self) -> None:
        """An Enter that picked nothing: what was typed after it is the picker's again (or,
        the picker gone already, the app's)."""
        router = self._router()
        if router is not None:
            router.end_typeahead(give_back=True)
            if self._mine():
                self._arm()
            else:
                self._rearm_app()

    def _rearm_app(self) -> None:
        rearm = getattr(self.app, "rearm_keys", None)
        if rearm is not None:
            rearm()

    def dismiss(self, result: str | None = None) -> AwaitComplete:
        """Closes the picker; what it uncovers (the list's Enter) is armed again at once: a
        key typed right after (Escape Enter) must not wait for the picker's teardown."""
        done = super().dismiss(result)
        self._rearm_app()
        return done

    def _drop_typeahead(self) -> None:
        """A pull or a failure: the shell the keys were typed for does not come soon (the
        picker shows why, and Escape must cancel the pull), so they are dropped."""
        router = self._router()
        if router is not None:
            router.end_typeahead()

    def on_unmount(self) -> None:
        router = self._router()
        if router is not None:
            router.disarm_typeahead(self._mine)

    @work(thread=True, exclusive=True, exit_on_error=False, group="images")
    def load_images(self) -> None:
        """Reads the engine's local images."""
        self.post_message(ImagesLoaded(self.engine.images()))

    def on_images_loaded(self, message: ImagesLoaded) -> None:
        self.local = {tag for image in message.images for tag in image.tags}
        # A shell-less image (the target's own, say) is no toolkit: the session would fail.
        shell_less = getattr(self.app, "shell_less_images", None)
        skip = {_normal(p) for p in PRESETS} | {_normal(LOCAL_TOOLKIT)}
        if callable(shell_less):
            skip |= {_normal(ref) for ref in shell_less(self.engine.name)}
        others = sorted(tag for tag in self.local if tag not in skip)
        self._fill(others)

    def _fill(self, others: list[str]) -> None:
        options = self.query_one(OptionList)
        highlighted = options.highlighted_option.id if options.highlighted_option else None
        remembered = last_toolkit()
        options.clear_options()
        refs: list[str] = []
        if remembered and remembered not in PRESETS and remembered not in others:
            refs.append(remembered)
        refs.extend(PRESETS)
        refs.append(LOCAL_TOOLKIT)
        items: list[Option | None] = []
        # The remembered choice may be a preset spelled otherwise, or the local toolkit: once.
        for ref in dict.fromkeys(refs):
            items.append(self._option(ref, "preset" if ref in PRESETS else ""))
        if others:
            items.append(None)
            items.extend(self._option(ref, "") for ref in others)
        options.add_options(items)
        want = highlighted or remembered or PRESETS[0]
        try:
            options.highlighted = options.get_option_index(want)
        except OptionDoesNotExist:  # not listed (any more): keep the first
            options.highlighted = 0

    def _option(self, ref: str, kind: str) -> Option:
        present = _normal(ref) in self.local
        label = Text()
        label.append("✓ " if present else "  ", style="green")
        label.append(ref, style="bold" if ref == last_toolkit() else "")
        if ref == last_toolkit():
            label.append("  last used", style="italic dim")
        if ref == LOCAL_TOOLKIT:
            label.append("  built from this host's busybox", style="dim")
        elif kind == "preset" and not present:
            label.append("  pulled on use", style="dim")
        return Option(label, id=ref)

    # -- choosing --------------------------------------------------------------------------

    @on(Select.Changed, "#picker-profile")
    def _profile_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self.profile = event.value

    @on(OptionList.OptionHighlighted, "#picker-options")
    def _option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # The field shows the choice under the cursor: it kept the last one, and a user read
        # it as what Enter would pick.
        if event.option.id:
            self.query_one("#picker-input", Input).value = event.option.id

    @on(OptionList.OptionSelected, "#picker-options")
    def _option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.choose(event.option.id)
        else:
            self._no_pick()

    @on(Input.Submitted, "#picker-input")
    def _input_submitted(self, event: Input.Submitted) -> None:
        ref = event.value.strip()
        if ref:
            self.choose(ref)
        else:
            self._no_pick()

    @on(Button.Pressed, "#use-local")
    def _use_local(self) -> None:
        self.choose(LOCAL_TOOLKIT)

    @on(Button.Pressed, ".suggestion")
    def _use_suggestion(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.name:
            self.query_one("#picker-input", Input).value = event.button.name
            self.choose(event.button.name)

    def suggestions(self, ref: str) -> list[str]:
        """The local images whose names are closest to a reference that failed (a typo)."""
        import difflib

        wanted = _normal(ref)
        names = sorted({_normal(tag) for tag in self.local} - {wanted})
        close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.6)
        # Compared without the registry part too: `busybx:musl` is close to `busybox:musl`.
        short = {name.rsplit("/", 1)[-1]: name for name in names}
        for match in difflib.get_close_matches(wanted.rsplit("/", 1)[-1], list(short), n=3):
            if short[match] not in close:
                close.append(short[match])
        return close[:3]

    def choose(self, ref: str) -> None:
        """Makes sure the image is on the engine (pulling it), then closes with it."""
        if self.pulling:
            return
        if ref in self.present:
            self.on_image_pulled(ImagePulled(ref))
            return
        self.pulling = ref
        self._arm()  # disarms: an Enter while this one is checked or pulled picks nothing
        self._layers = {}
        self.query_one("#picker-fallback").display = False
        self._status(Text.assemble(("checking ", "dim"), (ref, "bold"), ("…", "dim")))
        self.prepare(ref)

    @work(thread=True, exclusive=True, exit_on_error=False, group="pull")
    def prepare(self, ref: str) -> None:
        """Pulls the image unless it is present (the default falls back to the local build)."""
        from cdebug_tui.engine.toolkit import build_local_toolkit, ensure_image
        from cdebug_tui.errors import CdebugError

        try:
            if ref == LOCAL_TOOLKIT and self.engine.image_id(ref) is None:
                text = f"building {LOCAL_TOOLKIT} from the host's busybox"
                self.post_message(SessionNoticed(text))
                build_local_toolkit(self.engine)
                used = ref
            else:

                def progress(p: PullProgress) -> None:
                    self.post_message(PullProgressed(p))

                def notice(text: str) -> None:
                    self.post_message(SessionNoticed(text))

                used, _ = ensure_image(self.engine, ref, progress, notice)
        except CdebugError as exc:
            self.post_message(ImagePullFailed(ref, exc.message))
            return
        self.post_message(ImagePulled(used))

    def on_pull_progressed(self, message: PullProgressed) -> None:
        self._drop_typeahead()
        p = message.progress
        bar = self.query_one("#picker-progress", ProgressBar)
        bar.display = True
        self._status(
            Text.assemble(("pulling ", "dim"), (p.image, "bold"), f"  {p.layer} {p.status}")
        )
        if p.layer and p.total:
            self._layers[p.layer] = (p.current, p.total)
        total = sum(t for _, t in self._layers.values())
        if total:
            bar.update(total=total, progress=sum(c for c, _ in self._layers.values()))

    def on_session_noticed(self, message: SessionNoticed) -> None:
        self._status(Text(message.text, style="yellow"))

    def on_image_pulled(self, message: ImagePulled) -> None:
        self.pulling = None
        router = self._router()
        if router is not None:
            # From here on the keys are the coming shell's, not the list's the picker uncovers
            # (after a pull, typeahead was dropped: Escape had to cancel it).
            router.begin_typeahead()
        self.dismiss(message.image)

    def on_image_pull_failed(self, message: ImagePullFailed) -> None:
        self._drop_typeahead()
        self.pulling = None
        self.query_one("#picker-progress", ProgressBar).display = False
        self._status(Text.assemble(("✗ ", "bold red"), (message.error, "red")))
        fallback = self.query_one("#picker-fallback")
        fallback.query(".suggestion").remove()
        close = self.suggestions(message.image)
        buttons = [
            Button(f"Use {name}", name=name, classes="suggestion", variant="primary")
            for name in close
        ]
        if buttons:
            fallback.mount_all(buttons, before=0)
        local = self.query_one("#use-local", Button)
        local.display = message.image != LOCAL_TOOLKIT and LOCAL_TOOLKIT not in close
        fallback.display = bool(buttons) or local.display
        if buttons:
            self._status(
                Text.assemble(
                    ("✗ ", "bold red"),
                    (message.error, "red"),
                    ("\non the engine, with a close name: ", ""),
                    (", ".join(close), "bold"),
                )
            )
            self.call_after_refresh(buttons[0].focus)
        elif local.display:
            local.focus()

    def action_cursor_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def action_cancel(self) -> None:
        self.workers.cancel_node(self)
        self.dismiss(None)
