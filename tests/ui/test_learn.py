"""Tests the learning panels (InternalsView, StepLog, ExplainScreen) on real containers."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Static

from cdebug_tui.engine.internals import parse_cgroup, parse_internals
from cdebug_tui.engine.models import SessionSpec, Step, TargetInfo
from cdebug_tui.engine.session import DebugSession, start_session
from cdebug_tui.ui.screens.explain import EXPLANATIONS, ExplainScreen
from cdebug_tui.ui.widgets.internals import InternalsView, memory_bar
from cdebug_tui.ui.widgets.step_log import StepItem, StepLog, format_ms
from tests.waiting import wait_for_app

TOPICS = (
    "terminal",
    "processes",
    "rootfs",
    "internals",
    "namespaces",
    "capabilities",
    "cgroup",
    "mounts",
    "steps",
    "logs",
    "ports",
    "events",
    "stats",
    "containers",
    "inspect",
)


# -- helpers ---------------------------------------------------------------------------------


class PanelApp(App[None]):
    """One panel alone, as the session tab would hold it; records the messages it posts."""

    def __init__(self, panel: Widget) -> None:
        super().__init__()
        self.panel = panel
        self.messages: list[Any] = []

    def compose(self) -> ComposeResult:
        yield self.panel

    def on_internals_view_explain_requested(self, message: InternalsView.ExplainRequested) -> None:
        self.messages.append(message)

    def on_step_log_command_copied(self, message: StepLog.CommandCopied) -> None:
        self.messages.append(message)


def run_app(
    app: App[None], size: tuple[int, int], body: Callable[[Pilot[None]], Awaitable[None]]
) -> None:
    """Runs an app headless at a size and the test's body against it."""

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await body(pilot)

    asyncio.run(main())


def text(widget: Widget) -> str:
    """What a widget shows: the text of every Static in it (itself included), in order."""
    statics = [widget] if isinstance(widget, Static) else []
    statics += list(widget.query(Static))
    return "\n".join(str(s.content) for s in statics)


def svg_text(path: Path) -> str:
    """The text of a Textual SVG screenshot, one line per screen row."""
    svg = path.read_text(encoding="utf-8")
    rows: dict[float, list[tuple[float, str]]] = {}
    for m in re.finditer(r'<text [^>]*x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', svg):
        chunk = html.unescape(re.sub(r"<[^>]+>", "", m.group(3))).replace("\xa0", " ")
        rows.setdefault(float(m.group(2)), []).append((float(m.group(1)), chunk))
    return "\n".join("".join(t for _, t in sorted(rows[y])) for y in sorted(rows))


def screenshot(app: App[None], tmp_path: Path, name: str) -> str:
    return svg_text(Path(app.save_screenshot(f"{name}.svg", str(tmp_path))))


@pytest.fixture
def session(
    engine: Any, run_target: Any, distroless_image: str, busybox_image: str
) -> Iterator[DebugSession]:
    """A session on a distroless target limited to 64 MiB and 50 processes, closed after."""
    target = run_target(
        distroless_image, mem_limit="64m", pids_limit=50, environment=["GREETING=hello"]
    )
    spec = SessionSpec(
        target=target.id, image=busybox_image, tty=False, interactive=True, command=("cat",)
    )
    made = start_session(engine, spec)
    try:
        yield made
    finally:
        made.close()


async def loaded(pilot: Pilot[None], view: InternalsView, readings: int = 1) -> None:
    """Waits for the full reading and `readings` live readings of the cgroup."""
    await wait_for_app(
        pilot,
        lambda: view.internals is not None and view.usage_readings >= readings,
        30,
        "view.internals is not None and view.usage_readings >= readings",
    )
    await pilot.pause()


# -- without an engine -----------------------------------------------------------------------


def test_parse_cgroup_reads_v1_and_v2() -> None:
    v2 = parse_cgroup(
        "cgroup 0::/system.slice/docker-abc.scope\ncg memory.max 67108864\n"
        "cg memory.current 1048576\ncg cpu.max 50000 100000\ncg pids.max max\ncg pids.current 3\n"
    )
    assert (v2.version, v2.path, v2.memory_limit, v2.memory_current) == (
        2,
        "/system.slice/docker-abc.scope",
        64 << 20,
        1 << 20,
    )
    assert v2.cpu_quota == 0.5 and v2.pids_max is None and v2.pids_current == 3
    v1 = parse_cgroup(
        "cgroup 12:pids:/docker/abc\ncgroup 4:memory:/docker/abc\n"
        "cg memory/memory.limit_in_bytes 9223372036854771712\n"
        "cg memory/memory.usage_in_bytes 4096\n"
    )
    assert (v1.version, v1.path, v1.memory_limit, v1.memory_current) == (
        1,
        "/docker/abc",
        None,
        4096,
    )


def test_memory_bar_and_durations() -> None:
    assert (
        memory_bar(32 << 20, 64 << 20, width=10).plain == "█████░░░░░ 32.0 MiB of 64.0 MiB (50.0 %)"
    )
    assert memory_bar(1, 64 << 20, width=10).plain.startswith("█░")  # a sliver still shows
    assert "no limit" in memory_bar(4096, None).plain
    assert (format_ms(0.0004), format_ms(0.0864), format_ms(1.2)) == ("0.4 ms", "86 ms", "1,200 ms")


def test_explain_screen_opens_and_closes_for_every_topic(tmp_path: Path) -> None:
    """Every topic opens over the app, shows its text and man pages, and Esc or q closes it.

    The screenshot (explain-namespaces.svg) shows a bordered dialog titled "What am I looking
    at? Namespaces" over an empty app, the text, and "Read more: man 7 namespaces, ...".
    """
    assert set(EXPLANATIONS) == set(TOPICS)
    with pytest.raises(ValueError, match="topics"):
        ExplainScreen("nonsense")
    app = PanelApp(Static("the session tab"))

    async def body(pilot: Pilot[None]) -> None:
        for i, topic in enumerate(TOPICS):
            app.push_screen(ExplainScreen(topic))
            await wait_for_app(
                pilot,
                lambda: isinstance(app.screen, ExplainScreen) and bool(app.screen.query(Static)),
                30,
                "the explanation",
            )
            shown = text(app.screen)
            explanation = EXPLANATIONS[topic]
            assert explanation.text[:40] in shown and "Read more: man " in shown
            assert 5 <= len(explanation.text.splitlines()) + explanation.text.count(". ") <= 40
            if topic == "namespaces":
                svg = screenshot(app, tmp_path, "explain-namespaces")
                assert "What am I looking at? Namespaces" in svg
                assert "man 7 namespaces" in svg and "Esc or q closes" in svg
            await pilot.press("escape" if i % 2 else "q")
            await wait_for_app(
                pilot,
                lambda: not isinstance(app.screen, ExplainScreen),
                30,
                "not isinstance(app.screen, ExplainScreen)",
            )

    run_app(app, (80, 24), body)


def test_every_explanation_points_to_a_man_page() -> None:
    for topic, explanation in EXPLANATIONS.items():
        assert explanation.see_also, topic
        assert all(re.match(r"[\w-]+\(\d\)", ref) for ref in explanation.see_also), topic
        # Short enough to read in one go: at most about ten lines of 80 columns.
        assert len(explanation.text) <= 900, (topic, len(explanation.text))


def test_internals_view_shows_a_reading_without_a_session() -> None:
    """show() alone: a toolkit-mode session on a privileged target, an engine on another host."""
    reading = "\n".join(
        [
            "ns pid pid:[11] pid:[11]",
            "ns mnt mnt:[20] mnt:[21]",
            "status 1 Uid:\t0\t0\t0\t0",
            "status 1 CapBnd:\t000001ffffffffff",
            "status 7 Uid:\t0\t0\t0\t0",
            "status 7 CapEff:\t000001ffffffffff",
            "status 7 CapBnd:\t000001ffffffffff",
            "cmdline nginx -g daemon off;",
            "cgroup 0::/",
            "cg memory.current 1048576",
            "mount 1 0 0:1 / / rw - overlay overlay rw,lowerdir=/a:/b:/c,upperdir=/u",
        ]
    )
    internals = parse_internals(
        reading, host_ns=None, readonly_rootfs=True, privileged=True, host_pid=4242, sup="7"
    )
    target = TargetInfo(
        engine="remote", id="f" * 64, name="web", image="nginx:1", image_id="sha256:1",
        state="running", running=True, paused=False, restarting=False, pid=4242, user="",
        workdir="", env=(), entrypoint=(), cmd=("nginx", "-g", "daemon off;"), privileged=True,
        cap_add=(), cap_drop=(), readonly_rootfs=True, pid_mode="", ipc_mode="",
        network_mode="", security_opt=(),
    )  # fmt: skip
    view = InternalsView()
    app = PanelApp(view)

    async def body(pilot: Pilot[None]) -> None:
        view.show(internals, target, (), mode="toolkit")
        await pilot.pause()
        assert "unreadable" in text(view.query_one("#ns-pid"))  # no host view from afar
        assert not view.query_one("#ns-net").display  # not read: not shown
        assert "/target" in text(view.query_one("#how"))
        assert "(no session steps were given)" in text(view.query_one("#how"))
        assert "CAP_SYS_PTRACE" not in text(view.query_one("#how"))  # nothing added here
        assert text(view.query_one("#caps-privileged")).startswith("yes")
        assert text(view.query_one("#caps-readonly")).startswith("yes")
        assert text(view.query_one("#caps-added")) == "nothing"
        assert "root (the image sets no user)" in text(view.query_one("#target-user"))
        assert "no limit set" in text(view.query_one("#cgroup-memory"))
        assert "overlay of 3 read-only image layer" in text(view.query_one("#mounts-list"))
        assert "not readable from here" in text(view.query_one("#target-host"))

    run_app(app, (80, 24), body)


def test_step_log_copies_the_selected_command() -> None:
    steps = [
        Step("find the target", "docker inspect web", 10.0, 0.008, "id 0123456789ab"),
        Step(
            "link the toolkit into the target",
            "ln -s /proc/6/root /proc/1/root/.cdebug-x",
            10.1,
            0.002,
        ),
    ]
    log = StepLog(steps)
    app = PanelApp(log)

    async def body(pilot: Pilot[None]) -> None:
        await pilot.pause()
        log.query_one("ListView").focus()
        await pilot.press("down", "c")
        assert app.clipboard == "ln -s /proc/6/root /proc/1/root/.cdebug-x"
        log.add_step(Step("start the shell", "docker exec -i x sh", 10.2, 0.02))
        await pilot.pause()
        assert len(log.query(StepItem)) == 3 and "3 steps" in text(log)
        await pilot.click(StepItem, offset=(5, 0))
        await wait_for_app(
            pilot,
            lambda: app.clipboard == "docker inspect web",
            30,
            'app.clipboard == "docker inspect web"',
        )
        assert [m.command for m in app.messages][-1] == "docker inspect web"

    run_app(app, (80, 24), body)


# -- against real containers -----------------------------------------------------------------

pytest_engine = pytest.mark.engine


@pytest_engine
def test_internals_view_shows_what_a_learner_checks(session: DebugSession) -> None:
    """pid and net shared, mnt separate, CAP_SYS_PTRACE added, the 64 MiB limit, read live."""
    view = InternalsView(session, interval=0.2)
    app = PanelApp(view)

    async def body(pilot: Pilot[None]) -> None:
        # Two live readings after the first: the refresh reschedules itself.
        await loaded(pilot, view, readings=2)
        for kind in ("pid", "net"):
            row = view.query_one(f"#ns-{kind}")
            assert row.has_class("-shared") and "shared" in text(row), text(row)
            assert "same" in text(row)
        mnt = view.query_one("#ns-mnt")
        assert mnt.has_class("-separate") and "separate" in text(mnt)
        assert "/proc/1/root" in text(mnt)

        sidecar = text(view.query_one("#caps-sidecar"))
        target = text(view.query_one("#caps-target"))
        assert "CAP_SYS_PTRACE" in sidecar and "CAP_SYS_PTRACE" not in target
        assert "CAP_SYS_CHROOT" in target  # the target's own set, decoded to names
        assert text(view.query_one("#caps-added")).startswith("CAP_SYS_PTRACE")
        assert "uid 65532, effective: none" in target

        assert "of 64.0 MiB" in text(view.query_one("#cgroup-memory"))
        assert "at most 50" in text(view.query_one("#cgroup-pids"))

        facts = text(view.query_one("#section-target"))
        assert session.target.image in facts and "/app/server" in facts
        assert "GREETING=hello" in facts and "65532" in facts
        assert f"PID {session.target.pid}" in facts  # as the host numbers it

        mounts = text(view.query_one("#mounts-list"))
        assert re.search(r"overlay of \d+ read-only image layer", mounts)
        assert "/proc" in mounts and "/etc/hosts" in mounts

        how = text(view.query_one("#how"))
        assert "ln -s /proc/" in how and "chroot /proc/1/root" in how
        assert f"--pid container:{session.target.short_id}" in how
        assert "CAP_SYS_PTRACE, the one capability the sidecar adds" in how

        # A click on a heading asks for that section's explanation.
        view.query_one("#section-cgroup").scroll_visible(animate=False)
        await pilot.pause()
        await pilot.click("#section-cgroup SectionHeading")
        await wait_for_app(pilot, lambda: bool(app.messages), 30, "bool(app.messages)")
        assert app.messages[-1].topic == "cgroup"
        # And ? asks about the whole panel.
        view.focus()
        await pilot.press("question_mark")
        await wait_for_app(
            pilot,
            lambda: app.messages[-1].topic == "internals",
            30,
            'app.messages[-1].topic == "internals"',
        )

    run_app(app, (100, 40), body)


@pytest_engine
@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
def test_internals_view_snapshot(
    session: DebugSession, tmp_path: Path, size: tuple[int, int]
) -> None:
    """A reviewer sees, at 80x24, the "Why the shell sees the target" steps at the top; at
    200x60, everything down to the capabilities, with the namespace table (target PID 1 /
    debug shell / host inode numbers, shared in green, separate in amber) and the sections in
    two columns below it.
    """
    view = InternalsView(session, interval=0)
    app = PanelApp(view)

    async def body(pilot: Pilot[None]) -> None:
        await wait_for_app(
            pilot, lambda: view.internals is not None, 30, "view.internals is not None"
        )
        await pilot.pause()
        svg = screenshot(app, tmp_path, f"internals-{size[0]}x{size[1]}")
        assert "Why the shell sees the target" in svg
        assert f"--pid container:{session.target.short_id}" in svg
        if size == (200, 60):
            assert view.has_class("-wide")
            assert re.search(r"pid +\d+ +\d+ +\d+ +shared", svg), svg
            assert re.search(r"mnt +\d+ +\d+ +\d+ +separate", svg)
            assert "CAP_SYS_PTRACE" in svg and "64.0 MiB" in svg
        else:
            assert not view.has_class("-wide")
            # Scrolled down, the narrow view reaches the mounts, wrapped, nothing cut off.
            view.query_one("#section-mounts").scroll_visible(animate=False, top=True)
            await pilot.pause()
            svg = screenshot(app, tmp_path, "internals-80x24-mounts")
            assert "Mounts of the target" in svg and "overlay" in svg

    run_app(app, size, body)


@pytest_engine
def test_internals_view_says_when_a_reading_fails(session: DebugSession) -> None:
    """Once the session is closed, a new reading fails and the view says so (no crash)."""
    view = InternalsView(session, interval=0)
    app = PanelApp(view)

    async def body(pilot: Pilot[None]) -> None:
        await loaded(pilot, view, readings=0)
        session.close()
        view.focus()
        await pilot.press("r")
        status = view.query_one("#internals-status", Static)
        await wait_for_app(
            pilot,
            lambda: "Could not read" in str(status.content),
            30,
            '"Could not read" in str(status.content)',
        )
        assert status.has_class("-error") and "press r" in str(status.content).lower()
        # The last reading stays on screen.
        assert "shared" in text(view.query_one("#ns-pid"))

    run_app(app, (80, 24), body)


@pytest_engine
def test_internals_view_stops_when_the_target_stops(engine: Any, session: DebugSession) -> None:
    """The target is killed: live reading stops and the view says the session has ended."""
    view = InternalsView(session, interval=0.2)
    app = PanelApp(view)

    async def body(pilot: Pilot[None]) -> None:
        await loaded(pilot, view, readings=1)
        engine.api.kill(session.target.id)
        status = view.query_one("#internals-status", Static)
        await wait_for_app(
            pilot, lambda: "ended" in str(status.content), 30, '"ended" in str(status.content)'
        )
        assert "the target stopped" in str(status.content)
        readings = view.usage_readings
        await pilot.pause(0.6)  # three intervals: no reading may arrive any more
        assert view.usage_readings == readings

    run_app(app, (80, 24), body)


@pytest_engine
def test_step_log_on_a_real_session(session: DebugSession, tmp_path: Path) -> None:
    """The steps a learner could retype, in order, with timings.

    The screenshot (steps.svg) shows numbered steps ("1. find the target ... took 8.4 ms"),
    each with its command below in the accent colour: docker inspect, docker create with
    --pid container:, docker start -a -i, ln -s /proc/N/root /proc/1/root/.cdebug-..., docker exec.
    """
    log = StepLog(session=session)
    app = PanelApp(log)

    async def body(pilot: Pilot[None]) -> None:
        await wait_for_app(
            pilot,
            lambda: len(log.query(StepItem)) == len(session.steps),
            30,
            "len(log.query(StepItem)) == len(session.steps)",
        )
        commands = [item.step.command for item in log.query(StepItem)]
        titles = [item.step.title for item in log.query(StepItem)]
        assert titles[0] == "find the target" and titles[-1] == "start the shell"
        run = next(c for c in commands if c.startswith("docker create"))
        assert "--pid container:" in run and "--cap-add SYS_PTRACE" in run
        link = next(c for c in commands if "ln -s /proc/" in c)
        assert re.search(r"ln -s /proc/\d+/root /proc/1/root/\.cdebug-", link)
        shown = text(log)
        assert "docker create" in shown and "docker start -a -i" in shown and " ms" in shown

        # Enter on the "create the sidecar" step copies its command.
        log.query_one("ListView").focus()
        await pilot.press(*["down"] * titles.index("create the sidecar"), "enter")
        assert app.clipboard == run
        assert app.messages[-1].step.title == "create the sidecar"

        svg = screenshot(app, tmp_path, "steps")
        assert "1. find the target" in svg and "docker create" in svg and "ms" in svg

    run_app(app, (100, 40), body)
