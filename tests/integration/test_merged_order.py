"""One order for every process's lines, wherever it is read: the merged view attached while
the lines come (output frames), the merged view re-attached later (copies of the buffers),
``logs --timestamps`` and ``logs --since``: the same lines in the same order, with the same
times (a run started with ``start -D``: real keeper, real processes)."""

from __future__ import annotations

import shlex
from datetime import datetime

from tests.helpers import PYTHON, run_cli, wait_for, write_files
from tests.tui_helpers import settle, wait_until
from tuirunner.client import Client
from tuirunner.output import strip_ansi
from tuirunner.tui.app import TuirunnerApp
from tuirunner.tui.preferences import Preferences
from tuirunner.tui.screens.merged import MergedScreen

PY = shlex.quote(PYTHON)
LINES = 30


SCRIPT = f"""\
import sys, time
name, gap = sys.argv[1], float(sys.argv[2])
for i in range({LINES}):
    print(name, "line", i, flush=True)
    time.sleep(gap)
time.sleep(600)
"""


def printer(name: str, gap: float) -> str:
    """A process that prints LINES lines, *gap* seconds apart, and then waits."""
    return f"exec {PY} printer.py {name} {gap}"


def body(lines: list[str]) -> list[str]:
    """The processes' lines (not the runner's own)."""
    return [line for line in lines if not line.split(" ", 1)[1].startswith("system")]


async def merged_lines(tmp_path, wait_all: bool) -> list[str]:
    """Attach a terminal UI, open the merged view, read it (once every line came, if
    *wait_all*), and detach."""
    client = Client.connect(tmp_path, env=True, resources=True, skim=True)
    app = TuirunnerApp(client, handle_signals=False, preferences=Preferences(tmp_path / "p"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("t")  # with times: they must match too
        await pilot.press("m")
        await wait_until(pilot, lambda: isinstance(app.screen, MergedScreen))
        screen = app.screen
        if wait_all:
            await wait_until(
                pilot,
                lambda: sum(f"line {LINES - 1}" in x for x in screen.model.snapshot()) == 3,
                timeout=60,
                message="every line",
            )
        await settle(pilot)
        screen.view.sync()
        lines = screen.model.snapshot()
        await pilot.press("d")  # detach
        await wait_until(pilot, lambda: app.outcome == "detached")
    return [strip_ansi(line) for line in lines]


async def test_merged_view_attached_reattached_and_logs_agree(tmp_path):
    write_files(
        tmp_path,
        {
            "printer.py": SCRIPT,
            "Procfile": (
                f"web: {printer('web', 0.07)}\n"
                f"worker: {printer('worker', 0.05)}\n"
                f"clock: {printer('clock', 0.11)}\n"
            ),
        },
    )
    assert run_cli(["start", "-D", "-t", "2"], tmp_path).returncode == 0
    try:
        live = await merged_lines(tmp_path, wait_all=True)  # attached while lines came
        again = await merged_lines(tmp_path, wait_all=False)  # re-attached: buffer copies
        # "HH:MM:SS.mmm name | line": the same lines, times and order.
        assert len(body(live)) == 3 * LINES
        assert body(again) == body(live)
        names = [line.split()[1] for line in body(live)]
        assert names != sorted(names)  # interleaved, not one process after another

        logs = run_cli(["logs", "--timestamps", "--no-color"], tmp_path)
        assert logs.returncode == 0, logs.stderr
        printed = logs.stdout.splitlines()
        assert [line.split(" ", 1)[1] for line in printed] == [
            line.split(" ", 1)[1] for line in body(live)
        ]
        # The ISO times are the merged view's times.
        first = datetime.fromisoformat(printed[0].split(" ", 1)[0])
        assert first.strftime("%H:%M:%S.%f")[:-3] == body(live)[0].split(" ", 1)[0]

        # --since: the lines from a time on, in the same order.
        middle = printed[len(printed) // 2].split(" ", 1)[0]
        since = run_cli(["logs", "--since", middle, "--no-color"], tmp_path)
        assert since.returncode == 0, since.stderr
        expected = [line.split(" ", 1)[1] for line in printed if line.split(" ", 1)[0] >= middle]
        assert since.stdout.splitlines() == expected
        assert 0 < len(expected) < len(printed)
        recent = run_cli(["logs", "--since", "10m", "--no-color"], tmp_path)
        assert len(recent.stdout.splitlines()) == len(printed)
        bad = run_cli(["logs", "--since", "yesterday-ish"], tmp_path)
        assert bad.returncode != 0 and "--since 'yesterday-ish'" in bad.stderr
    finally:
        run_cli(["down"], tmp_path)
        wait_for(lambda: run_cli(["ps"], tmp_path).returncode != 0, 30)
