"""Provides LogsPanel: a container's log, live, searchable, paged backwards on demand."""

from __future__ import annotations

import bisect
import itertools
import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.style import Style
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.cache import LRUCache
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Static

from cdebug_tui.engine.stats import counted
from cdebug_tui.terminal.widget import key_again
from cdebug_tui.ui.widgets.burst import OrderedInput, forward_burst

if TYPE_CHECKING:
    from cdebug_tui.engine.client import EventStream, LogStream
    from cdebug_tui.engine.models import ContainerEvent
    from cdebug_tui.engine.readings import LogLine

#: Lines read at open: the tail of the log; the rest comes on scrolling up.
INITIAL_TAIL = 2000
#: Lines the live stream re-reads from the end to join the tail read before it.
CATCH_UP = 1000
#: Lines read per page when scrolling up past the first loaded line.
PAGE = 5000

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_STDERR_GUTTER = Style(color="red", bold=True)
_TIMESTAMP = Style(dim=True)
_MATCH = Style(color="black", bgcolor="yellow")
_CURRENT = Style(color="black", bgcolor="dark_orange", bold=True)
_STAMP_CACHE: dict[int, str] = {}


def format_timestamp(ns: int) -> str:
    """A log line's time as `docker logs -t` writes it, to the millisecond, in UTC."""
    if not ns:
        return " " * 24
    seconds, rest = divmod(ns, 1_000_000_000)
    head = _STAMP_CACHE.get(seconds)
    if head is None:
        if len(_STAMP_CACHE) > 4096:
            _STAMP_CACHE.clear()
        head = _STAMP_CACHE[seconds] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{head}.{rest // 1_000_000:03d}Z"


#: How the Logs' status begins for a container that never ran: its start failed.
_START_FAILED = "created, its start failed"
#: The stream of the lines that mark where a run ended and the next began (not the log's own).
RUN_MARK = "run"
_RUN_STYLE = Style(color="yellow", bold=True)


def mark_runs(
    lines: Sequence[LogLine], ends: Sequence[tuple[int, int | None]], prev_ns: int | None = None
) -> list[LogLine]:
    """The lines with a mark before the first line of each run after the first: a crash loop's
    runs wrote the same lines, which ran together.

    Args:
        lines: Log lines in order (no marks).
        ends: (time in ns, exit code) of each of the container's deaths, sorted: the engine
            sends a death once the run's output is read, so its lines are all before it.
        prev_ns: The time of the line shown before `lines`; None when none is.
    """
    from cdebug_tui.engine.readings import LogLine

    if not ends:
        return list(lines)
    times = [t for t, _ in ends]
    out: list[LogLine] = []
    for line in lines:
        ts = line.timestamp_ns
        if prev_ns is not None and ts:
            at = bisect.bisect_left(times, prev_ns)
            while at < len(ends) and ends[at][0] < ts:
                end_ns, code = ends[at]
                how = f"exited ({code})" if code is not None else "stopped"
                out.append(LogLine(RUN_MARK, end_ns, f"──── {how} · started again ────"))
                at += 1
        out.append(line)
        if ts:
            prev_ns = ts
    return out


class SearchIndex:
    """The lines' texts joined into one string and its lower-case copy, with where each line
    starts: `str.find` scans them in C, and each hit maps back to its line by bisection.

    The view feeds it as lines arrive (a batch costs its own size), so that a search over a
    million loaded lines costs one join of the chunks (a copy) and the scan.
    """

    def __init__(self) -> None:
        self.count = 0
        self._chunks: list[str] = []
        self._lower: list[str] = []
        self._ascii = True
        self._starts: list[int] = [0]

    def update(self, lines: Sequence[LogLine]) -> None:
        """Takes in the lines appended since the last update (lines[self.count:])."""
        new = [line.text for line in lines[self.count :]]
        if not new:
            return
        chunk = "\n".join(new)
        self._ascii = self._ascii and chunk.isascii()
        self._chunks.append(chunk)
        self._lower.append(chunk.lower())
        last = self._starts.pop()
        self._starts.extend(itertools.accumulate((len(t) + 1 for t in new), initial=last))
        self.count = len(lines)

    @staticmethod
    def _joined(chunks: list[str]) -> str:
        if len(chunks) > 1:
            chunks[:] = ["\n".join(chunks)]
        return chunks[0] if chunks else ""

    def find(self, lines: Sequence[LogLine], query: str) -> list[int]:
        """The indices of the lines that contain `query` (smart case)."""
        self.update(lines)
        if not query or "\n" in query:
            return []
        if query != query.lower():
            blob = self._joined(self._chunks)
        elif self._ascii:
            blob = self._joined(self._lower)
        else:
            # Lower-casing may change a non-ASCII text's length: offsets would drift.
            return [i for i, line in enumerate(lines) if query in line.text.lower()]
        starts = self._starts
        out: list[int] = []
        find = blob.find
        at = find(query)
        while at >= 0:
            index = bisect.bisect_right(starts, at) - 1
            out.append(index)
            at = find(query, starts[index + 1])
        return out


def find_matches(lines: Sequence[LogLine], query: str) -> list[int]:
    """The indices of the lines that contain `query`: case-insensitive unless it has a capital
    (smart case, as vim and less do). See SearchIndex, which the view keeps between searches.
    """
    return SearchIndex().find(lines, query)


def _pattern(query: str) -> re.Pattern[str] | None:
    if not query:
        return None
    return re.compile(re.escape(query), 0 if query != query.lower() else re.IGNORECASE)


def _real_counts(lines: Sequence[LogLine]) -> Iterator[int]:
    """For each line, how many log lines (not marks) there are up to it, itself included."""
    n = 0
    for line in lines:
        if line.stream != RUN_MARK:
            n += 1
        yield n


class LogView(ScrollView, can_focus=True):
    """The lines of a log, drawn with Textual's line API: only the lines on screen are
    rendered, each once into a cached Strip (as Textual's own Log widget does).

    Following: new lines scroll into view while the view is at the bottom; scrolling up pauses
    that, reaching the bottom again resumes it.
    """

    DEFAULT_CSS = """
    LogView {
        height: 1fr;
        background: $surface;
        overflow: auto auto;
    }
    LogView:focus {
        background-tint: $foreground 5%;
    }
    """

    BINDINGS = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("g", "scroll_home", "Top", show=False),
        Binding("G", "scroll_end", "Follow", show=False),
    ]

    def on_key(self, event: events.Key) -> None:
        # A burst (`/err 17` Enter from a fast typist or ssh) is queued here whole before the
        # panel's `/` binding would run: its `t` toggled the timestamps, `k` paused following
        # and the search box opened empty. So `/` opens the search here, at once, and the keys
        # queued behind it go to the search box, as the container list's filter does.
        panel = self.parent
        if not self.screen.is_current:
            # Queued behind an Escape that closed the log's screen (`Escape i` from the list's
            # Logs): the key is for where the Escape led.
            focused = self.app.screen.focused
            if focused is not None:
                event.stop()
                event.prevent_default()
                focused.post_message(key_again(event))
            return
        if event.key == "slash" and isinstance(panel, LogsPanel):
            event.stop()
            event.prevent_default()
            panel.action_search(at_once=True)
            return
        if event.key == "escape" and isinstance(panel, LogsPanel):
            # In order too: as the panel's binding it ran once the key had bubbled up, after
            # the keys behind it (`Escape i`, `Escape s`) had reached the log and done nothing.
            event.stop()
            event.prevent_default()
            panel.action_back()  # a search still shown closes first
            return
        forward_burst(self, event)

    class OlderWanted(Message):
        """The view was scrolled to its first line: older lines are wanted."""

    class FollowChanged(Message):
        """Following was paused or resumed."""

        def __init__(self, following: bool) -> None:
            super().__init__()
            self.following = following

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.lines: list[LogLine] = []
        #: How many of `lines` are run marks (mark_runs), not the log's own lines.
        self.marks = 0
        self.following = True
        self.show_timestamps = False
        self.wrap = False
        #: Whether lines older than the first one loaded may exist.
        self.more_above = False
        self.query_text = ""
        self.matches: list[int] = []
        #: The position in `matches` of the current match, -1 when there is none.
        self.current = -1
        self._pattern: re.Pattern[str] | None = None
        self._index = SearchIndex()
        self._widest = 0
        self._cache: LRUCache[int, Strip] = LRUCache(2048)
        #: With wrap on: the first row of each line, and the total after the last.
        self._row_starts: list[int] = [0]
        self._wrap_width = 0
        #: Set while the view scrolls to a match: reaching the bottom then is not a wish to
        #: follow (N wrapped to the last match, and new lines scrolled it away).
        self._to_match = False

    # -- content ---------------------------------------------------------------------------

    def _prefix_len(self) -> int:
        return 1 + (25 if self.show_timestamps else 0)

    def append(self, lines: list[LogLine]) -> None:
        """Adds lines at the end; the view follows them when it is following."""
        if not lines:
            return
        start = len(self.lines)
        self.lines.extend(lines)
        self.marks += sum(1 for line in lines if line.stream == RUN_MARK)
        self._index.update(self.lines)
        self._widest = max(self._widest, max(len(line.text) for line in lines))
        if self.query_text:
            self.matches.extend(start + i for i in find_matches(lines, self.query_text))
        if self.wrap:
            self._extend_rows(lines)
        self._resize()
        if self.following:
            self._follow_end()
            if self.scroll_y < self.max_scroll_y:
                # A view that could not scroll yet (its scrollbar comes with the next layout):
                # a log's first 500 lines, in one read, showed its top while "following".
                self.call_after_refresh(self._follow_end)
        else:
            self.refresh()

    def _follow_end(self) -> None:
        if self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def prepend(self, lines: list[LogLine]) -> None:
        """Adds older lines at the start, keeping what is on screen where it is."""
        if not lines:
            return
        n = len(lines)
        before = self.virtual_size.height
        self.lines[:0] = lines
        self.marks += sum(1 for line in lines if line.stream == RUN_MARK)
        self._index = SearchIndex()  # its offsets are for the old first line
        self._widest = max(self._widest, max(len(line.text) for line in lines))
        if self.query_text:
            older = find_matches(lines, self.query_text)
            self.matches = older + [m + n for m in self.matches]
            if self.current >= 0:
                self.current += len(older)
        self._relayout()
        added = self.virtual_size.height - before
        self.scroll_to(y=self.scroll_y + added, animate=False, immediate=True)
        self.refresh()

    def remark(self, ends: Sequence[tuple[int, int | None]]) -> None:
        """Marks the runs again, for a death learned after the lines around it were shown
        (the engine can send it late), keeping the line at the top where it is."""
        real = [line for line in self.lines if line.stream != RUN_MARK]
        marked = mark_runs(real, ends)
        if len(marked) == len(self.lines):
            return
        top = self._line_at(int(self.scroll_y))[0]
        above = sum(1 for line in self.lines[:top] if line.stream != RUN_MARK)
        self.lines = marked
        self.marks = len(marked) - len(real)
        self._index = SearchIndex()
        if self.query_text:
            self.matches = self._index.find(self.lines, self.query_text)
            self.current = min(self.current, len(self.matches) - 1)
        self._relayout()
        if self.following:
            self._follow_end()
            return
        # The same log line at the top as before (the one after it, if a mark was there).
        counts = _real_counts(self.lines)
        index = next((i for i, n in enumerate(counts) if n > above), len(self.lines) - 1)
        self.scroll_to(y=self._row_of(index), animate=False, immediate=True)

    def clear(self) -> None:
        self.lines = []
        self.marks = 0
        self._index = SearchIndex()
        self.matches = []
        self.current = -1
        self._widest = 0
        self._relayout()

    def _line_width(self, line: LogLine) -> int:
        return self._prefix_len() + len(line.text)

    def _extend_rows(self, lines: Sequence[LogLine]) -> None:
        width = max(1, self._wrap_width)
        prefix = self._prefix_len()
        total = self._row_starts[-1]
        starts = self._row_starts
        for line in lines:
            total += max(1, -(-(prefix + len(line.text)) // width))
            starts.append(total)

    def _relayout(self) -> None:
        """Recomputes the rows (wrap) and the virtual size, and drops every cached line."""
        self._cache.clear()
        self._row_starts = [0]
        if self.wrap:
            self._wrap_width = max(1, self.scrollable_content_region.width or self.size.width)
            self._extend_rows(self.lines)
        self._resize()
        self.refresh()

    def _resize(self) -> None:
        if self.wrap:
            self.virtual_size = Size(self._wrap_width, self._row_starts[-1])
        else:
            self.virtual_size = Size(self._prefix_len() + self._widest, len(self.lines))

    def on_resize(self) -> None:
        if self.wrap:
            self._relayout()
            if self.following:
                self.scroll_end(animate=False, immediate=True, x_axis=False)

    def set_options(self, *, timestamps: bool | None = None, wrap: bool | None = None) -> None:
        """Turns timestamps or wrapping on or off, keeping the line at the top in view."""
        top = self._line_at(int(self.scroll_y))[0]
        if timestamps is not None:
            self.show_timestamps = timestamps
        if wrap is not None:
            self.wrap = wrap
        self._relayout()
        if self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        else:
            self.scroll_to(y=self._row_of(top), animate=False, immediate=True)

    # -- search ----------------------------------------------------------------------------

    def search(self, query: str) -> int:
        """Highlights every line that contains `query` and goes to the last match (the most
        recent) at or above the bottom of the screen. Returns the number of matching lines."""
        self.query_text = query
        self._pattern = _pattern(query)
        self.matches = self._index.find(self.lines, query)
        self.current = -1
        self._cache.clear()
        self.refresh()
        if self.matches:
            bottom = self._line_at(int(self.scroll_y) + max(0, self.size.height - 1))[0]
            at = bisect.bisect_right(self.matches, bottom) - 1
            self.go_to_match(at if at >= 0 else 0)
        return len(self.matches)

    def go_to_match(self, position: int) -> None:
        """Makes the match at `position` (wrapping around) the current one and shows it."""
        if not self.matches:
            return
        old = self.current
        self.current = position % len(self.matches)
        for pos in (old, self.current):
            if 0 <= pos < len(self.matches):
                self._cache.discard(self.matches[pos])
        index = self.matches[self.current]
        row = self._row_of(index)
        if self.following:
            # The user looks at a match: new lines must not scroll it away (G follows again).
            self.following = False
            self.post_message(self.FollowChanged(False))
        if not (self.scroll_y <= row < self.scroll_y + self.size.height):
            self._to_match = True
            try:
                y = max(0, row - self.size.height // 2)
                self.scroll_to(y=y, animate=False, immediate=True)
            finally:
                self._to_match = False
        self.refresh()

    def next_match(self, step: int) -> None:
        if self.matches:
            self.go_to_match(self.current + step if self.current >= 0 else 0)

    # -- geometry --------------------------------------------------------------------------

    def _row_of(self, index: int) -> int:
        if not self.wrap:
            return index
        return self._row_starts[min(index, len(self._row_starts) - 1)]

    def _line_at(self, row: int) -> tuple[int, int]:
        """(line index, row within the line) of a row of the virtual canvas."""
        if not self.wrap:
            return row, 0
        index = bisect.bisect_right(self._row_starts, row) - 1
        return index, row - self._row_starts[max(0, index)]

    # -- drawing ---------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        style = self.rich_style
        index, sub = self._line_at(scroll_y + y)
        if index >= len(self.lines) or index < 0:
            return Strip.blank(width, style)
        strip = self._line_strip(index)
        if self.wrap:
            wrap = max(1, self._wrap_width)
            strip = strip.crop(sub * wrap, (sub + 1) * wrap)
            return strip.extend_cell_length(width, style).crop(0, width)
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def _line_strip(self, index: int) -> Strip:
        cached = self._cache.get(index)
        if cached is not None:
            return cached
        line = self.lines[index]
        # The widget's style is the base, under the markers and the matches.
        text = Text(no_wrap=True, end="", style=self.rich_style)
        if line.stream == "stderr":
            text.append("▌", _STDERR_GUTTER)
        else:
            text.append(" ")
        if self.show_timestamps:
            text.append(format_timestamp(line.timestamp_ns) + " ", _TIMESTAMP)
        body = line.text
        if "\t" in body:
            body = body.expandtabs()
        body = _CONTROL.sub("�", body)
        start = len(text)
        text.append(body, _RUN_STYLE if line.stream == RUN_MARK else None)
        if self._pattern is not None:
            current = self.current >= 0 and self.matches[self.current] == index
            for m in self._pattern.finditer(body):
                text.stylize(_CURRENT if current else _MATCH, start + m.start(), start + m.end())
        strip = Strip(text.render(self.app.console), text.cell_len)
        self._cache[index] = strip
        return strip

    # -- following -------------------------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        at_end = new_value >= self.max_scroll_y
        # Following resumes when the user scrolls down to the end, not when the view grows
        # taller and its scroll is clamped to the end (the search field closing after `/B`
        # Enter resumed it, and new lines scrolled the match away).
        if at_end:
            wanted = new_value > old_value
        else:
            wanted = new_value < old_value
        if not self._to_match and at_end != self.following and wanted:
            self.following = at_end
            self.post_message(self.FollowChanged(at_end))
        if new_value <= 0 and old_value > 0 and self.more_above:
            self.post_message(self.OlderWanted())

    def _scrolling_up(self) -> None:
        """The user scrolls up: following pauses now, not after an animation's first frame
        (lines arriving meanwhile would scroll the view back to the bottom), and at the first
        line, older lines are wanted."""
        if self.following:
            self.following = False
            self.post_message(self.FollowChanged(False))
        if self.scroll_y <= 0 and self.more_above:
            self.post_message(self.OlderWanted())

    def action_scroll_up(self) -> None:
        self._scrolling_up()
        self.scroll_up(animate=False)

    def action_page_up(self) -> None:
        self._scrolling_up()
        self.scroll_page_up(animate=False)

    def action_scroll_home(self) -> None:
        self._scrolling_up()
        self.scroll_home(animate=False, x_axis=False)

    def action_scroll_end(self) -> None:
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        if not self.following:
            self.following = True
            self.post_message(self.FollowChanged(True))

    def _on_mouse_scroll_up(self, event: Any) -> None:
        self._scrolling_up()
        super()._on_mouse_scroll_up(event)


class LogsPanel(Vertical):
    """A container's log: its tail at once, new lines live, older ones on scrolling up.

    Args:
        engine: The engine the container runs on.
        container_id: The container.
        name: Its name, for the status line and the saved file.
    """

    DEFAULT_CSS = """
    LogsPanel {
        height: 1fr;
    }
    LogsPanel > .logs-status {
        height: 1;
        background: $boost;
        padding: 0 1;
    }
    LogsPanel > .logs-search {
        height: 3;
        border: tall $accent;
    }
    """

    BINDINGS = [
        Binding("slash", "search", "Search"),
        Binding("n", "next_match", "Next", show=False),
        Binding("N", "previous_match", "Previous", show=False),
        Binding("t", "toggle_timestamps", "Timestamps"),
        Binding("w", "toggle_wrap", "Wrap"),
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "back", "Back"),
    ]

    class LinesArrived(Message):
        """New lines wait in the pending list (posted when it was empty)."""

    class DeathLearned(Message):
        """A death of the container was learned after lines of the run after it were taken."""

    class OlderLoaded(Message):
        """A page of older lines was read (empty: the log starts at the first line shown)."""

        def __init__(self, lines: list[LogLine], asked: int) -> None:
            super().__init__()
            self.lines = lines
            self.asked = asked

    class Ended(Message):
        """The live log ended: the container stopped or went, or the log cannot be read."""

        def __init__(self, state: str, error: str | None = None) -> None:
            super().__init__()
            self.state = state
            self.error = error

    _ids = itertools.count(1)

    def __init__(self, engine: Any, container_id: str, name: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.engine = engine
        self.container_id = container_id
        self.container_name = name
        #: "opening", "following" (live), "ended" (the container stopped; no more lines come),
        #: "removed", "failed".
        self.state = "opening"
        #: The engine's events for this container, watched for its removal while following.
        self._removal_watch: Any = None
        #: The events the engine kept, read for the marks between runs (in a thread of its
        #: own: an engine whose clock is behind ours streams them until `until` comes).
        self._history: Any = None
        self._removal_seen = False
        self.detail = ""
        self._pending: list[LogLine] = []
        #: (time in ns, exit code) of the container's deaths known, sorted: mark_runs's.
        self._ends: list[tuple[int, int | None]] = []
        #: The newest line's time among those taken for the view (under the lock).
        self._taken_ns = 0
        #: Whether every death since the container's creation is known (its create event
        #: was): only then does the status line count the runs.
        self._all_runs_known = False
        self._lock = threading.Lock()
        #: What the follow worker reads now: the log, or the events while the container is
        #: stopped; stop() closes either.
        self._stream: LogStream | EventStream | None = None
        self._loading_older = False
        self._tail_full = False
        self._closed = False
        self.opened_at = time.monotonic()
        #: Seconds from opening to the first lines shown (for the benchmark), None before.
        self.open_time: float | None = None

    def compose(self) -> ComposeResult:
        yield Static("", classes="logs-status")
        # Hidden and disabled until `/` (see _show_search).
        box = OrderedInput(
            placeholder="search (smart case) · Enter: go · Esc: close",
            classes="logs-search",
            disabled=True,
        )
        box.display = False
        yield box
        yield LogView(classes="log-view")

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    def _last_time(self) -> int | None:
        """The time of the last line shown, for the marks before the lines after it."""
        for line in reversed(self.view.lines):
            if line.timestamp_ns:
                return line.timestamp_ns
        return None

    def _ended(self, end_ns: int, code: int | None) -> None:
        """Notes a death of the container (from any thread), for the marks between runs."""
        with self._lock:
            if any(t == end_ns for t, _ in self._ends):
                return
            bisect.insort(self._ends, (end_ns, code))
            late = end_ns < self._taken_ns
        if late:
            # Lines after it were shown unmarked: the engine sent the death late (its stream
            # ended as the process exited, before the engine had said so).
            self.post_message(self.DeathLearned())

    def on_logs_panel_death_learned(self, message: LogsPanel.DeathLearned) -> None:
        message.stop()
        if self._gone:
            return
        with self._lock:
            ends = list(self._ends)
        self.view.remark(ends)
        self._status()

    def _past_ends(self, since: float = 1.0) -> None:
        """Reads the container's deaths that the engine still keeps (Docker: its last 256
        events, of all containers) since `since`, for the marks between runs."""
        from cdebug_tui.errors import CdebugError

        try:
            events = self.engine.events(since=since, until=time.time(), container=self.container_id)
        except CdebugError:
            return
        self._history = events  # closed by stop() like the log stream
        if self._closed:
            events.close()
            return
        try:
            for event in events:
                self._heard(event)
        except CdebugError:
            pass
        finally:
            events.close()

    def _heard(self, event: ContainerEvent) -> None:
        if event.action == "die":
            self._ended(int(event.time * 1e9), event.exit_code)
        elif event.action == "create":
            # Every death since is known: the runs can be counted.
            self._all_runs_known = True

    def on_mount(self) -> None:
        self._status()
        # The deaths the app heard while it ran (as the Events view shows them): the engine
        # keeps only its latest 256 events, which a busy engine soon pushes a crash loop's out of.
        key = (getattr(self.engine, "name", ""), self.container_id)
        for event in list(getattr(self.app, "event_history", {}).get(key) or ()):
            self._heard(event)
        self.follow()

    def on_unmount(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Stops following (the stream is closed from this thread; its reader sees it)."""
        self._closed = True
        for stream in (self._stream, self._removal_watch, self._history):
            if stream is not None:
                stream.close()

    def _watch_removal(self) -> None:
        """Closes the log stream when the engine destroys the container: Docker 20.10's
        follow of a json-file log can stay open, silent, after a forced removal."""
        from cdebug_tui.errors import CdebugError

        try:
            events = self.engine.events(container=self.container_id)
        except CdebugError:
            return  # the stream's own end (or break) still says what happened
        self._removal_watch = events

        def watch() -> None:
            try:
                for event in events:
                    if event.action == "destroy":
                        self._removal_seen = True
                        stream = self._stream
                        if stream is not None:
                            stream.close()
                        return
            except CdebugError:
                pass
            finally:
                events.close()

        threading.Thread(target=watch, name="logs-removal", daemon=True).start()

    # -- reading ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="logs-follow")
    def follow(self) -> None:
        """Reads the tail, then every new line, into the pending list the UI takes from; when
        the container stops, waits for it to start again (and follows on) or to be removed."""
        from cdebug_tui.errors import CdebugError, TargetNotFoundError

        # The tail in one plain request (its body read at once), then the live stream from
        # the last line read: a followed tail arrives frame by frame, several times slower.
        # Lines that came between the two are in the stream's own short tail, and `since`
        # (inclusive, so filtered here) keeps the ones already read out.
        try:
            first = self.engine.read_logs(self.container_id, tail=INITIAL_TAIL)
        except CdebugError as exc:
            if isinstance(exc, TargetNotFoundError):
                self.post_message(self.Ended("removed", f"{self.container_name} was removed"))
            else:
                self.post_message(self.Ended("failed", str(exc)))
            return
        # The deaths the engine kept: a crash loop's runs are marked in the lines once they
        # come (a death learned after its lines were shown marks them then).
        threading.Thread(target=self._past_ends, name="logs-runs", daemon=True).start()
        if first:
            with self._lock:
                self._pending.extend(first)
            self.post_message(self.LinesArrived())
        # The newest line's time, not the last line's: the engine may give a stdout line
        # after a stderr one that it stamped later, and the stream then sent both again.
        since_ns = max(ln.timestamp_ns for ln in first) if first else None
        #: The time of the newest line read: a run followed again goes on after it.
        newest = since_ns or 0
        self._watch_removal()
        while not self._closed:
            try:
                stream = self.engine.follow_logs(
                    self.container_id, tail=CATCH_UP, since_ns=since_ns
                )
            except CdebugError as exc:
                if isinstance(exc, TargetNotFoundError):
                    # Whichever call saw it gone first, the user reads the same words.
                    self.post_message(self.Ended("removed", f"{self.container_name} was removed"))
                else:
                    self.post_message(self.Ended("failed", str(exc)))
                return
            self._stream = stream
            if self._closed:
                stream.close()
                return
            if not first and self.state == "opening":
                # A log with no line yet (a quiet process) is followed all the same: it must
                # not say "reading the log…" until its first line.
                self.post_message(self.Ended("following", ""))
            try:
                for batch in stream:
                    if since_ns is not None:
                        batch = [ln for ln in batch if ln.timestamp_ns > since_ns]
                        if batch:
                            since_ns = None  # past the overlap: every line is new
                    if not batch:
                        continue
                    newest = max(newest, max(ln.timestamp_ns for ln in batch))
                    with self._lock:
                        idle = not self._pending
                        self._pending.extend(batch)
                    if idle:
                        # One message per burst: the UI takes everything pending at once.
                        self.post_message(self.LinesArrived())
            except CdebugError as exc:
                if not self._closed:
                    # A stream cut by the container's removal breaks rather than ends.
                    if self._removal_seen or self._container_gone():
                        self.post_message(
                            self.Ended("removed", f"{self.container_name} was removed")
                        )
                    else:
                        self.post_message(self.Ended("failed", str(exc)))
                return
            if self._removal_seen:
                self.post_message(self.Ended("removed", f"{self.container_name} was removed"))
                return
            if self._closed:
                return
            # The stream ends when the container stops (or goes): say which, then wait.
            ended_at = time.time()
            since = ended_at - 1
            try:
                info = self.engine.inspect(self.container_id)
                if info.running and not info.restarting:
                    # Started again already (a stream that ended as it ran: not waited for,
                    # as no start comes): on from the newest line read, after a breath, so
                    # that a stream that keeps ending at once does not spin. The death in
                    # between is read for its mark.
                    self._past_ends(since)
                    if self._closed:
                        return
                    since_ns = newest or None
                    time.sleep(0.2)
                    continue
                if not info.running:
                    # As the list says it, with the code: "exited (1)", why the log stops.
                    ended = info.state
                    if info.state in ("exited", "dead"):
                        oom = ", OOMKilled" if info.oom_killed else ""
                        ended = f"{info.state} ({info.exit_code}{oom})"
                    elif info.state == "created" and info.error:
                        # It never ran, so it logged nothing: why, which only inspect said
                        # (runc's own words, without the layers that relayed them: `exec:
                        # "/app": stat /app: no such file or directory`).
                        why = info.error
                        for said in ("caused: ", "unable to start container process: "):
                            why = why.rsplit(said, 1)[-1]
                        why = why.removesuffix(": unknown")
                        ended = f"{_START_FAILED} ({info.exit_code}): {why}"
                    self.post_message(self.Ended("ended", ended))
                events = self.engine.events(since=since, container=self.container_id)
            except TargetNotFoundError:
                self.post_message(self.Ended("removed", f"{self.container_name} was removed"))
                return
            except CdebugError as exc:
                self.post_message(self.Ended("failed", str(exc)))
                return
            self._stream = events  # closed by stop() like the log stream
            if self._closed:
                events.close()
                return
            started = None
            try:
                for event in events:
                    if event.action == "destroy":
                        self.post_message(
                            self.Ended("removed", f"{self.container_name} was removed")
                        )
                        return
                    self._heard(event)
                    # The replayed second may hold starts whose lines were read (a crash loop's
                    # runs were read again and again): only one after the stream's end is new.
                    # Not one after the newest line: a run's lines may come before its start.
                    if event.action == "start" and event.time > ended_at:
                        started = int(event.time * 1e9)
                        break
            except CdebugError:
                pass
            finally:
                events.close()
            if started is None:
                if self._removal_seen and not self._closed:
                    # The removal watch closed this wait before it read the destroy itself.
                    self.post_message(self.Ended("removed", f"{self.container_name} was removed"))
                return
            self.post_message(self.Ended("following", ""))
            # On from the newest line read, not from the start: a run's first lines may be
            # stamped before its start event (4 ms before, seen), and were lost.
            since_ns = newest or None

    def on_logs_panel_lines_arrived(self, message: LogsPanel.LinesArrived) -> None:
        message.stop()
        self._flush()

    @property
    def _gone(self) -> bool:
        """Whether the panel is closing: messages its reader posted may still arrive then,
        after its children are gone."""
        return self._closed or not self.is_attached or not self.query(LogView)

    def _flush(self) -> None:
        if self._gone:
            return
        with self._lock:
            lines, self._pending = self._pending, []
            ends = list(self._ends)
            if lines:
                self._taken_ns = max(self._taken_ns, max(ln.timestamp_ns for ln in lines))
        if not lines:
            return
        view = self.view
        lines = mark_runs(lines, ends, self._last_time())
        first = not view.lines
        view.append(lines)
        if first and self.open_time is None:
            self.open_time = time.monotonic() - self.opened_at
        if not self._tail_full and len(view.lines) >= INITIAL_TAIL:
            # A whole tail came (perhaps over several flushes): older lines may exist. A page
            # that finds none says otherwise.
            self._tail_full = view.more_above = True
        if self.state == "opening":
            self.state = "following"
        self._status()

    @on(LogView.OlderWanted)
    def _older_wanted(self, event: LogView.OlderWanted) -> None:
        event.stop()
        view = self.view
        if self._loading_older or not view.more_above or not view.lines:
            return
        self._loading_older = True
        self._status()
        self.load_older(len(view.lines) - view.marks + PAGE, view.lines[0].timestamp_ns)

    def _container_gone(self) -> bool:
        """Whether the container no longer exists (an engine that does not answer: not known).

        A forced removal cuts the stream while the engine still shows the container (stopped,
        or "removing") for a moment: that is waited out, up to 3 s (in the reading's thread).
        """
        from cdebug_tui.errors import CdebugError, TargetNotFoundError

        deadline = time.monotonic() + 3.0
        while True:
            try:
                info = self.engine.inspect(self.container_id)
            except TargetNotFoundError:
                return True
            except CdebugError:
                return False
            if info.running or time.monotonic() > deadline or self._closed:
                return False
            time.sleep(0.1)

    @work(thread=True, exclusive=True, exit_on_error=False, group="logs-older")
    def load_older(self, tail: int, until_ns: int) -> None:
        """Reads the page before the first loaded line: the last `tail` lines up to its time."""
        from cdebug_tui.errors import CdebugError

        try:
            lines = self.engine.read_logs(self.container_id, tail=tail, until_ns=until_ns)
        except CdebugError as exc:
            self.post_message(self.Ended("failed", str(exc)))
            self.post_message(self.OlderLoaded([], 0))
            return
        self.post_message(
            self.OlderLoaded([ln for ln in lines if ln.timestamp_ns < until_ns], tail)
        )

    def on_logs_panel_older_loaded(self, message: LogsPanel.OlderLoaded) -> None:
        message.stop()
        self._loading_older = False
        if self._gone:
            return
        view = self.view
        if message.asked and not message.lines:
            view.more_above = False
        older = message.lines
        if older and view.lines:
            with self._lock:
                ends = list(self._ends)
            # Marked with the first line shown after them, for a run that began there.
            older = mark_runs([*older, view.lines[0]], ends)[:-1]
        view.prepend(older)
        self._status()

    def on_logs_panel_ended(self, message: LogsPanel.Ended) -> None:
        message.stop()
        if self._gone:
            return
        self._flush()
        if message.state == "following":
            self.state, self.detail = "following", ""
        elif message.state == "ended":
            self.state = "ended"
            self.detail = message.error or "stopped"
        else:
            self.state = message.state
            self.detail = message.error or ""
            if message.error:
                self.app.notify(message.error, title="logs", severity="error", timeout=8)
        self._status()

    # -- the status line -------------------------------------------------------------------

    def _status(self) -> None:
        if self._gone:
            return
        view = self.view
        text = Text()
        text.append(f" {self.container_name} ", style="bold reverse")
        text.append(" ")
        if self.state == "opening":
            text.append("reading the log…", style="italic")
        elif self.state == "following":
            if view.following:
                text.append("● following", style="bold green")
            else:
                text.append("⏸ paused", style="bold yellow")
                text.append(" (End/G follows)", style="dim")
        elif self.state == "ended" and self.detail.startswith(_START_FAILED):
            text.append(f"■ {self.detail}", style="bold red")
        elif self.state == "ended" and not view.lines:
            # A stopped container that logged nothing (a debug copy's original, often).
            text.append(f"■ {self.detail}: it logged nothing", style="bold")
        elif self.state == "ended":
            text.append(f"■ {self.detail}: no new lines", style="bold")
        elif self.state == "removed":
            text.append(f"✗ {self.detail or 'the container was removed'}", style="bold red")
        else:
            text.append(f"✗ {self.detail}", style="bold red")
        text.append("  " + counted(len(view.lines) - view.marks, "line"), style="")
        if view.marks and self._all_runs_known and not view.more_above:
            text.append(f" · {counted(view.marks + 1, 'run')}", style="")
        if self._loading_older:
            text.append(" · reading older lines…", style="italic")
        elif view.more_above:
            text.append(" · more above", style="dim")
        if view.query_text:
            n = len(view.matches)
            at = f"{view.current + 1}/{n}" if n and view.current >= 0 else str(n)
            text.append(f"  “{view.query_text}” {at} match{'es' if n != 1 else ''}", style="bold")
        text.append("  ")
        text.append("▌", style="bold red")
        text.append("stderr", style="dim")
        flags = []
        if view.show_timestamps:
            flags.append("time")
        if view.wrap:
            flags.append("wrap")
        if flags:
            text.append("  [" + " ".join(flags) + "]", style="dim")
        self.query_one(".logs-status", Static).update(text)

    @on(LogView.FollowChanged)
    def _follow_changed(self, event: LogView.FollowChanged) -> None:
        event.stop()
        self._status()

    # -- keys ------------------------------------------------------------------------------

    def action_search(self, at_once: bool = False) -> None:
        box = self._show_search(True)
        box.value = self.view.query_text
        if at_once:
            self.screen.set_focus(box)  # not on the next turn, as focus() would
        else:
            box.focus()

    @on(Input.Submitted, ".logs-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        view = self.view
        view.search(event.value)
        self._show_search(False)
        view.focus()
        self._status()

    def _show_search(self, shown: bool) -> Input:
        # Disabled while hidden, so that focusing "the first focusable widget" (ctrl+], the
        # Logs tab) lands on the log, not on an invisible field that would take every key.
        box = self.query_one(".logs-search", Input)
        box.display = shown
        box.disabled = not shown
        return box

    def action_next_match(self) -> None:
        self.view.next_match(1)
        self._status()

    def action_previous_match(self) -> None:
        self.view.next_match(-1)
        self._status()

    def action_toggle_timestamps(self) -> None:
        self.view.set_options(timestamps=not self.view.show_timestamps)
        self._status()

    def action_toggle_wrap(self) -> None:
        self.view.set_options(wrap=not self.view.wrap)
        self._status()

    def action_back(self) -> None:
        if self.query_one(".logs-search", Input).display:
            self._show_search(False)
            self.view.focus()
            return
        self.leave()

    def leave(self) -> None:
        """Esc: back to where the log was opened from, at once, not as a message handled after
        the keys typed behind it (see LogView.on_key): what holds it (a session's tab, the
        log's screen) does it with its `leave_logs`."""
        for node in self.ancestors:
            leave = getattr(node, "leave_logs", None)
            if callable(leave):
                leave()
                return

    def action_save(self) -> None:
        """Saves the loaded lines, with their times and streams, to a file only the user may
        read (a log may hold secrets), in the working directory."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", self.container_name) or "container"
        path = Path.cwd() / f"{safe}-{stamp}.log"
        try:
            save_lines(path, self.view.lines)
        except OSError as exc:
            self.app.notify(f"cannot save to {path}: {exc.strerror}", severity="error")
            return
        marks = self.view.marks
        said = counted(len(self.view.lines) - marks, "line")
        if marks:
            said += f" and {counted(marks, 'mark')} between runs"
        self.app.notify(f"saved {said} to {path}", title="logs")


def save_lines(path: Path, lines: Sequence[LogLine]) -> None:
    """Writes lines as `TIMESTAMP STREAM TEXT`, to a new file of mode 0600.

    Raises:
        OSError: When the file exists already or cannot be written.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as f:
        for line in lines:
            f.write(f"{format_timestamp(line.timestamp_ns)} {line.stream} {line.text}\n")
