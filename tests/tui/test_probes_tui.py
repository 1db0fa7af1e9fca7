"""Ready checks, health checks and ports in the terminal UI (pilot tests over a scripted
keeper, tests/fake_keeper.py): a ready check's failure in the pane's title while it still
tries, an unhealthy process, and the other types' ports in the inspector with where they come
from. The checks themselves run in the keeper, tested with real processes in
tests/integration/test_ports_and_probes.py."""

from tests.tui_helpers import fake_app, wait_until
from tuirunner.events import State
from tuirunner.tui.screens.inspector import EnvInspector

SIZE = (160, 40)
URL = "http://127.0.0.1:5000/"


def title(app, name: str) -> str:
    return app.pane(name).header_text()


async def test_a_long_reason_is_cut_not_left_out_after_an_error_mark(tmp_path):
    app, fake = fake_app(tmp_path, "web: runserver\nworker: celery\n")
    fake.set("web.1", state=State.STARTING, ready=False)
    async with app.run_test(size=(200, 30)) as pilot:  # two panes of ~100 columns
        fake.print("web.1", "Traceback (most recent call last):", "ValueError: boom")
        why = "HTTP 400 from http://127.0.0.1:5000/ — Django's DisallowedHost: " + "x" * 80
        fake.set("web.1", ready_failure=why, ready_tries=3)
        await wait_until(pilot, lambda: "✖ error" in title(app, "web.1"))
        await wait_until(pilot, lambda: "not ready yet: HTTP 400" in title(app, "web.1"))
        assert title(app, "web.1").endswith("…"), title(app, "web.1")


async def test_the_pane_says_why_a_process_is_not_ready_yet_and_when_it_is_unhealthy(tmp_path):
    app, fake = fake_app(tmp_path, "web: runserver\nworker: celery\n")
    fake.set("web.1", state=State.STARTING, ready=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1", "z")  # web's pane, zoomed: its whole title shows
        fake.set(
            "web.1",
            ready_failure=f"HTTP 400 from {URL} (3 tries, 12 s)",
            ready_tries=3,
        )
        await wait_until(pilot, lambda: "not ready yet" in title(app, "web.1"))
        assert f"not ready yet: HTTP 400 from {URL} (3 tries, 12 s)" in title(app, "web.1")
        fake.runner_line("web.1", f"tuirunner: web.1 is not ready yet: HTTP 400 from {URL}")
        fake.set("web.1", state=State.RUNNING, ready=True, ready_failure=None)
        await wait_until(pilot, lambda: "not ready yet" not in title(app, "web.1"))
        assert "ready" in title(app, "web.1")
        fake.set(
            "web.1",
            unhealthy=True,
            health_failures=3,
            health_failure=f"HTTP 500 from {URL}",
        )
        await wait_until(pilot, lambda: "unhealthy" in title(app, "web.1"))
        assert f"unhealthy: HTTP 500 from {URL}" in title(app, "web.1")
        fake.set("web.1", unhealthy=False, health_failures=0, health_failure=None)
        await wait_until(pilot, lambda: "unhealthy" not in title(app, "web.1"))


async def test_the_inspector_shows_the_other_types_ports_and_where_they_come_from(tmp_path):
    from textual.widgets import DataTable

    app, fake = fake_app(tmp_path, "worker: celery\nweb: runserver\n")
    fake.set("web.1", port=8000, port_from="tuirunner.toml [processes.web.port]")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.client.get("web.1").port == 8000)
        app.focus_process("worker.1")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, EnvInspector))
        table = app.screen.query_one(DataTable)
        rows = {
            str(cells[0]): [str(c) for c in cells[1:]]
            for cells in (table.get_row_at(i) for i in range(table.row_count))
        }
        value, source, notes = rows["TUIRUNNER_PORT_WEB"][:3]
        assert (value, source) == ("8000", "tuirunner")
        assert notes.endswith("; the port of web.1 (tuirunner.toml [processes.web.port])")
        assert rows["TUIRUNNER_PORT_WORKER"][0] == rows["PORT"][0]
