"""The terminal UI with 1,000 processes (ten types × 100, the formation limit per type), over
the scripted keeper (tests/fake_keeper.py): it starts, lists them, filters them (the command
palette's search) and quits. Speed is bench/always_on.py's (--only thousand)."""

from __future__ import annotations

from tests.tui_helpers import fake_app, wait_until
from tuirunner.events import State
from tuirunner.tui.commands import ProcessCommands

TYPES = "pqrstuvwxy"
PROCFILE = "".join(f"{t}: sleep 600\n" for t in TYPES)
CONCURRENCY = ",".join(f"{t}=100" for t in TYPES)


async def test_a_thousand_processes_start_list_filter_and_quit(tmp_path, monkeypatch):
    app, fake = fake_app(tmp_path, PROCFILE, concurrency=CONCURRENCY)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_until(pilot, lambda: len(app.client.processes) == 1000, timeout=120)
        assert all(p.state is State.RUNNING for p in app.client)
        # Listed: a list beside one pane, not a thousand panes.
        assert app.list_mode
        assert app.process_list.option_count == 1000
        assert len(app.panes) == 1
        app.process_list.focus()
        await pilot.press("end")
        await wait_until(pilot, lambda: app.current == "y.100", message="the last process")
        assert app.pane("y.100").display
        assert len(app.panes) == 2  # made when shown
        # A state change shows in the list.
        fake.exit("y.97", 3)
        await wait_until(
            pilot,
            lambda: "crashed" in str(app.process_list.get_option("process-996").prompt),
            message="y.97's crash in the list",
        )
        fake.exit("q.7", 3)  # out of view: its line is made when asked for
        await wait_until(pilot, lambda: app.client.get("q.7").crashed)
        assert "crashed" in app.process_list.prompt_of(app.client.get("q.7"))
        # A state change looks at its own process, not at all 1,000 (a quit's 2,000 changes
        # were quadratic): no process but the one that changed is asked whether it collapses.
        looked: list[str] = []
        collapsible = type(app).collapsible
        monkeypatch.setattr(
            type(app),
            "collapsible",
            staticmethod(lambda p: looked.append(p.name) or collapsible(p)),
        )
        fake.exit("r.3", 3)
        await wait_until(pilot, lambda: app.client.get("r.3").crashed)
        assert set(looked) <= {"r.3"}, len(looked)
        # Filtered: the palette's search finds the one process asked for among 1,000.
        provider = ProcessCommands(app.screen)
        hits = [str(hit.text) async for hit in provider.search("Stop x.42")]
        assert "Stop x.42" in hits
        assert not any(h.startswith("Stop p.") for h in hits[:3])
        # Quits: asks the keeper to stop everything, and exits when it has.
        await pilot.press("q")
        await wait_until(pilot, lambda: any(op == "down" for op, _ in fake.ops()))
        assert app.quitting
        fake.bye("down")
        await wait_until(pilot, lambda: not app.is_running, timeout=60, message="the exit")
    assert app.return_code == 0
