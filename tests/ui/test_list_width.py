"""Tests the container list in a narrow window: long cells are cut before columns are lost."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from textual.app import App, ComposeResult

from cdebug_tui.engine.readings import Container, PublishedPort
from cdebug_tui.ui.widgets.container_list import ContainerListPanel, ContainerTableView
from tests.ui.helpers import run, screenshot_text, wait_for


def _containers() -> list[Container]:
    now = datetime.now(UTC)
    return [
        Container(
            engine="docker",
            id=f"{i:064x}",
            name=f"payments-worker-{i}-eu-west-1-canary",
            image="registry.example.com:5000/platform/payments-service:2024.11.30-rc7",
            state="running",
            status="Up 2 hours",
            created=now,
            has_shell=False,
            ports=(PublishedPort(8080, "tcp", "0.0.0.0", 18080), PublishedPort(9090)),
            health="healthy",
        )
        for i in range(3)
    ]


class _ListApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ContainerListPanel()


def test_a_narrow_list_cuts_long_cells_first_and_names_the_columns_past_its_edge(
    tmp_path: Path,
) -> None:
    """At 100 columns a long image and name are cut with … and every column shows (MEM,
    HEALTH and PORTS were pushed off the edge with no sign); at 70 the status line names
    the columns past the right edge and → scrolls to them, then names those past the left;
    Home scrolls back; wide again, the cells are whole and nothing is named."""

    async def body() -> None:
        app = _ListApp()
        async with app.run_test(size=(100, 12)) as pilot:
            panel = app.query_one(ContainerListPanel)
            panel.set_containers(_containers(), engine="docker")
            table = app.query_one(ContainerTableView)
            await wait_for(pilot, lambda: table.row_count == 3, "the rows")
            await pilot.pause()
            shot = screenshot_text(app, tmp_path / "100.svg")
            for header in ("NAME", "IMAGE", "MEM", "HEALTH", "PORTS"):
                assert header in shot, header
            # One image: cut at its end (its repository shows); names that would look alike
            # cut in their middle (their number is in their middle) are cut at their end.
            assert "registry.exam…" in shot and "payments-worker-0-eu…" in shot
            assert "healthy" in shot and table.hidden == []
            await pilot.resize_terminal(70, 12)
            await wait_for(pilot, lambda: table.hidden, "columns past the edge")

            def status_line() -> str:
                text = screenshot_text(app, tmp_path / "status.svg")
                return next((x for x in text.splitlines() if "3 containers" in x), "")

            status = screenshot_text(app, tmp_path / "70.svg")
            right = [h[2:] for h in table.hidden]
            assert all(h.startswith("→ ") for h in table.hidden) and "PORTS" in right
            assert f"{', '.join(right)} →" in status
            # Narrower still, the columns are counted rather than named, the arrow kept.
            await pilot.resize_terminal(50, 12)
            await wait_for(pilot, lambda: "columns →" in status_line(), "the count")
            assert ", " not in status_line().split("·")[-1]
            await pilot.resize_terminal(70, 12)
            # The status line says what it can whole: the key hints that do not fit go.
            line = next(x for x in status.splitlines() if "3 containers" in x).rstrip()
            assert len(line) <= 70 and line.endswith(("PORTS →", "debugs", "inspects", "stats"))
            # → brings the next of them into view whole; at the far right, those gone past
            # the left edge are named.
            table.focus()
            first = table.hidden[0]
            await pilot.press("right")
            await wait_for(pilot, lambda: first not in table.hidden, f"{first} in view")
            assert table.hidden[0].startswith("← ")
            # The view starts at a column's start: scrolled by the cells the next column
            # lacked, the names read `ebug-demo`, like another container's.
            starts = {start for start, _ in table._column_edges()}
            assert int(table.scroll_x) in starts, (table.scroll_x, starts)
            await pilot.press(*["right"] * len(right))
            await wait_for(pilot, lambda: "→ PORTS" not in table.hidden, "PORTS in view")
            await wait_for(pilot, lambda: "← NAME" in table.hidden, "NAME past the left edge")
            status = screenshot_text(app, tmp_path / "70-right.svg")
            assert "← NAME" in status and "PORTS →" not in status
            last = [h for h in table.hidden if h.startswith("← ")][-1]
            await pilot.press("left")  # the nearest column past the left edge, from its start
            await wait_for(pilot, lambda: last not in table.hidden, f"{last} in view")
            await pilot.press("home")  # back to the first row and the first column
            await wait_for(pilot, lambda: table.scroll_x == 0, "Home to scroll back")
            await wait_for(pilot, lambda: "← NAME" not in table.hidden, "NAME in view again")
            await pilot.resize_terminal(200, 12)
            await wait_for(pilot, lambda: not table.hidden, "every column")
            await pilot.pause()
            shot = screenshot_text(app, tmp_path / "200.svg")
            assert "payments-service:2024.11.30-rc7" in shot
            assert "→" not in shot.split("3 containers")[1].split("Enter")[0]

    run(body())


def test_a_rebuilt_list_draws_whole_cells_at_once(tmp_path: Path) -> None:
    """A list rebuilt for an event is drawn right in its very next frame: its column widths
    were reset to the headers' and measured on the table's idle, so a frame drawn between
    the two (behind the picker, for a while) cut every cell to its header ("runni")."""
    from dataclasses import replace

    async def body() -> None:
        app = _ListApp()
        async with app.run_test(size=(160, 12)) as pilot:
            panel = app.query_one(ContainerListPanel)
            table = app.query_one(ContainerTableView)
            panel.set_containers(_containers(), engine="docker")
            await wait_for(pilot, lambda: table.row_count == 3, "the rows")
            await pilot.pause()
            one = replace(_containers()[0], state="restarting", name="api")
            panel.set_containers([one], engine="docker")
            # No await: the frame the compositor would draw now, before any idle.
            shot = screenshot_text(app, tmp_path / "rebuilt.svg")
            assert "restarting" in shot and "registry.example.com:5000/platform" in shot

    run(body())


def test_names_that_differ_at_their_end_are_cut_in_their_middle(tmp_path: Path) -> None:
    """Long names alike but for their end (a replica's number, a hash) keep their end in a
    narrow list: cut at the end, twelve rows read `cdebug-bench-load-66…` alike. So do
    images alike but for their tag."""
    from dataclasses import replace

    async def body() -> None:
        app = _ListApp()
        async with app.run_test(size=(100, 12)) as pilot:
            rows = [
                replace(
                    c,
                    name=f"payments-bench-load-66c6d3-eu-west-00{i}",
                    image=c.image.replace("2024.11.30", f"2024.11.3{i}"),
                )
                for i, c in enumerate(_containers())
            ]
            app.query_one(ContainerListPanel).set_containers(rows, engine="docker")
            table = app.query_one(ContainerTableView)
            await wait_for(pilot, lambda: table.row_count == 3, "the rows")
            await pilot.pause()
            shot = screenshot_text(app, tmp_path / "names.svg")
            for i in range(3):
                assert f"payments-b…u-west-00{i} " in shot, i
                assert f"regist….3{i}-rc7" in shot, i  # images that differ by their tag
            assert "payments-bench-load-66c6d3-eu-west-000" not in shot

    run(body())


def test_a_column_cut_at_its_end_cuts_every_row_alike(tmp_path: Path) -> None:
    """A row that makes a middle cut ambiguous turns the column to cutting at the end, every
    row of it: rows drawn before kept their middle cut (a cache of drawn cells)."""
    from dataclasses import replace

    name = "payments-service-{}-eu-west-canary-{}"

    async def body() -> None:
        app = _ListApp()
        async with app.run_test(size=(100, 12)) as pilot:
            panel = app.query_one(ContainerListPanel)
            table = app.query_one(ContainerTableView)
            rows = [replace(c, name=name.format(i, "aba"[i])) for i, c in enumerate(_containers())]
            panel.set_containers(rows[:2], engine="docker")
            await wait_for(pilot, lambda: table.row_count == 2, "two rows")
            await pilot.pause()
            assert "payments-s…t-canary-a " in screenshot_text(app, tmp_path / "two.svg")
            # A third alike but in its middle ("payments-s…t-canary-a" twice): every row is
            # cut at its end.
            panel.set_containers(rows, engine="docker")
            await wait_for(pilot, lambda: table.row_count == 3, "three rows")
            await pilot.pause()
            shot = screenshot_text(app, tmp_path / "three.svg")
            for i in range(3):
                assert f"payments-service-{i}-e… " in shot, i

    run(body())


def test_a_crash_loop_between_its_states_moves_no_column(tmp_path: Path) -> None:
    """At 90 columns, a crash-looping row alternates `restarting (3) ↻13` and `running ↻13`:
    the columns stay where they are. STATE was measured from what each row showed at the
    time, so it narrowed and widened, and NAME and IMAGE jumped with it at every restart."""
    import dataclasses

    looping = dataclasses.replace(_containers()[0], name="api", restarts=13)
    states = {
        "restarting": dataclasses.replace(looping, state="restarting", exit_code=3),
        "running": looping,
    }

    async def body() -> None:
        app = _ListApp()
        async with app.run_test(size=(90, 12)) as pilot:
            panel = app.query_one(ContainerListPanel)
            table = app.query_one(ContainerTableView)
            edges = []
            for n, state in enumerate(["restarting", "running", "restarting", "running"]):
                panel.set_containers([states[state], *_containers()[1:]], engine="docker")
                await wait_for(pilot, lambda: table.row_count == 3, "the rows")
                await pilot.pause()
                header = screenshot_text(app, tmp_path / f"{n}.svg")
                assert "↻13" in header
                name = header.find("NAME")
                edges.append([(col, header.find(col) - name) for col in ("STATE", "UP", "IMAGE")])
            assert edges[1:] == edges[:-1], edges

    run(body())


def test_a_container_that_stopped_gives_back_the_width_its_ports_took(tmp_path: Path) -> None:
    """At 110 columns a container publishing four ports pushes IMAGE into `…`; once it has
    stopped (its ports gone, no restart to come) the image shows whole again. The width each
    row once had was kept for as long as the row was there, so the image stayed cut."""
    import dataclasses

    now = datetime.now(UTC)
    base = Container(
        engine="docker",
        id="a" * 64,
        name="web",
        image="cdebug-tui/demo-distroless:latest",
        state="running",
        status="Up 2 seconds",
        created=now,
        has_shell=False,
    )
    publishing = dataclasses.replace(
        base,
        id="b" * 64,
        name="trial-ports",
        ports=tuple(PublishedPort(p, "tcp", "0.0.0.0", 30000 + p) for p in (1111, 2222, 3333)),
    )
    stopped = dataclasses.replace(publishing, state="exited", exit_code=137, ports=())

    async def body() -> None:
        app = _ListApp()
        async with app.run_test(size=(110, 12)) as pilot:
            panel = app.query_one(ContainerListPanel)
            table = app.query_one(ContainerTableView)
            panel.set_containers([base, publishing], engine="docker")
            await wait_for(pilot, lambda: table.row_count == 2, "the rows")
            await pilot.pause()
            assert "cdebug-tui/demo-distroless:latest" not in screenshot_text(
                app, tmp_path / "ports.svg"
            )
            panel.set_containers([base, stopped], engine="docker")
            await pilot.pause()
            await pilot.pause()
            shot = screenshot_text(app, tmp_path / "stopped.svg")
            assert shot.count("cdebug-tui/demo-distroless:latest") == 2, shot

    run(body())


def test_a_narrow_name_column_keeps_the_name_before_the_session_mark() -> None:
    """At 80 columns a trial saw `tri…-app  ▶ 1 session`: the mark shortens to `▶1` before
    the name is cut for it; where the name must be cut anyway it has the room the mark gave."""
    from rich.text import Text

    from cdebug_tui.ui.widgets.container_list import middle_cut

    def named(name: str, n: int) -> Text:
        text = Text(name)
        text.append(f"  ▶ {n} session{'s' if n > 1 else ''}", style="bold magenta")
        return text

    assert middle_cut(named("trial-app", 1), 30).plain == "trial-app  ▶ 1 session"
    short = middle_cut(named("trial-app", 1), 20)
    assert short.plain == "trial-app ▶1" and short.spans[-1].style == "bold magenta"
    assert middle_cut(named("trial-app", 12), 13).plain == "trial-app ▶12"
    assert middle_cut(named("payments-worker-eu-west-1", 2), 20).plain == "payments…u-west-1 ▶2"
    assert middle_cut(Text("payments-worker-eu-west-1"), 20).plain == "payments-…-eu-west-1"


def test_a_pass_of_shell_probes_keeps_the_details_of_the_runs() -> None:
    """The details of the runs (restart count, OOM kill) now come first and the shell probes
    after them (the counts came 5 s after the list): a pass of the probes alone keeps them,
    and a pass of the runs alone keeps what the probes found."""
    from dataclasses import replace

    async def body() -> None:
        app = _ListApp()
        async with app.run_test(size=(160, 12)) as pilot:
            panel = app.query_one(ContainerListPanel)
            plain = [replace(c, has_shell=None) for c in _containers()]
            panel.set_containers(plain, engine="docker")
            await wait_for(pilot, lambda: app.query_one(ContainerTableView).row_count == 3, "rows")
            runs = [replace(c, restarts=4, oom_killed=True) for c in plain]
            panel.set_details(runs, read_at=10**9, runs=True)
            shells = [replace(c, has_shell=False) for c in plain]
            panel.set_details(shells, read_at=10**9, runs=False)
            row = panel.containers[f"docker/{plain[0].id}"]
            assert (row.restarts, row.oom_killed, row.has_shell) == (4, True, False)
            panel.set_details(runs, read_at=10**9, runs=True)  # has_shell None: not probed
            row = panel.containers[f"docker/{plain[0].id}"]
            assert (row.restarts, row.has_shell) == (4, False)

    run(body())
