"""Widgets get what they show from above: a pane's header from a PaneStatus, an output view's
input mode from its pane and the app. They work in an app that is not tuirunner's."""

import time

from textual.app import App, ComposeResult

from tests.tui_helpers import SnapshotApp, fake_app, wait_until
from tuirunner.client import ProcessView
from tuirunner.events import ProcessInfo, State
from tuirunner.tui.app import TuirunnerApp
from tuirunner.tui.widgets.output_view import OutputView
from tuirunner.tui.widgets.process_pane import PaneStatus, ProcessPane


def view_of(state: State = State.RUNNING, **fields) -> ProcessView:
    info = ProcessInfo(name="web.1", type="web", number=1, command="serve", port=5000)
    info.state = state
    for name, value in fields.items():
        setattr(info, name, value)
    return ProcessView(0, info, 100)


class OnePane(App):
    """A bare app: no format_pid, clock or input_target to reach for."""

    def __init__(self, pane: ProcessPane) -> None:
        super().__init__()
        self.pane = pane
        self.clicked: list[OutputView.InputClicked] = []

    def compose(self) -> ComposeResult:
        yield self.pane

    def on_output_view_input_clicked(self, message: OutputView.InputClicked) -> None:
        self.clicked.append(message)


async def test_a_pane_header_shows_the_status_it_is_given():
    now = time.time()
    proc = view_of(pid=77, started_at=now - 600, next_start_at=None)
    pane = ProcessPane(proc, 1, PaneStatus(pid="pid 77", uptime="up 10m", now=now))
    app = OnePane(pane)
    async with app.run_test(size=(120, 10)) as pilot:
        await wait_until(pilot, lambda: "pid 77" in pane.header_text())
        assert "up 10m" in pane.header_text() and "running" in pane.header_text()
        pane.show(PaneStatus(pid="pid 78", uptime=None, now=now))
        await wait_until(pilot, lambda: "pid 78" in pane.header_text())
        assert "up " not in pane.header_text()


async def test_a_pane_header_counts_down_with_the_time_it_is_given():
    now = 1_000_000.0
    proc = view_of(
        State.EXITED, next_start_at=now + 8, failures=1, failing_since=now, started_at=now - 5
    )
    pane = ProcessPane(proc, 1, PaneStatus(pid=None, uptime=None, now=now))
    app = OnePane(pane)
    async with app.run_test(size=(120, 10)) as pilot:
        await wait_until(pilot, lambda: "next start in 8 s" in pane.header_text())
        pane.show(PaneStatus(pid=None, uptime=None, now=now + 5))
        await wait_until(pilot, lambda: "next start in 3 s" in pane.header_text())


async def test_an_output_view_asks_for_input_mode_only_when_told_the_app_is_in_it():
    pane = ProcessPane(view_of(), 1, PaneStatus(pid=None, uptime=None, now=time.time()))
    app = OnePane(pane)
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.click(OutputView)
        await pilot.pause()
        assert app.clicked == []
        pane.view.app_in_input_mode = True  # another pane takes the keys
        await pilot.click(OutputView)
        await wait_until(pilot, lambda: app.clicked, message="InputClicked")
        assert app.clicked[0].view is pane.view


async def test_the_app_tells_every_view_about_input_mode(tmp_path):
    app, _ = fake_app(tmp_path, "web: serve\nworker: work\n")
    async with app.run_test(size=(120, 30)) as pilot:
        web, worker = app.pane("web.1").view, app.pane("worker.1").view
        await pilot.press("i")
        assert app.input_target == "web.1"
        assert web.app_in_input_mode and worker.app_in_input_mode
        assert web.input_mode and not worker.input_mode
        await pilot.click("#pane-2 OutputView")  # a click moves input mode there
        await wait_until(pilot, lambda: app.input_target == "worker.1")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.input_target is None)
        assert not web.app_in_input_mode and not worker.app_in_input_mode


class FixedClock(TuirunnerApp):
    def clock(self) -> float:
        return self.client.get("web.1").started_at + 3 * 3600 + 7 * 60


async def test_the_apps_hooks_decide_what_headers_say(tmp_path):
    app, _ = fake_app(tmp_path, "web: serve\n", app_class=FixedClock)
    async with app.run_test(size=(120, 30)) as pilot:
        pid = app.client.get("web.1").pid
        await wait_until(pilot, lambda: "up 3h07m" in app.pane("web.1").header_text())
        assert f"pid {pid}" in app.pane("web.1").header_text()
    app, _ = fake_app(tmp_path, "web: serve\n", app_class=SnapshotApp)
    async with app.run_test(size=(120, 30)) as pilot:
        header = app.pane("web.1").header_text()
        await wait_until(pilot, lambda: "pid 4242" in app.pane("web.1").header_text())
        assert "up 5m" in app.pane("web.1").header_text(), header
