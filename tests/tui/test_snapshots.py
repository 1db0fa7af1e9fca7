"""Snapshot tests of the main layouts (``pytest --snapshot-update`` records them).

Everything that changes from run to run is pinned: pids and uptimes (SnapshotApp), the run id,
the shell environment (a fixed one), toasts (cleared) and the cursor blink.
"""

import shlex

from textual.widgets import Input

from tests.helpers import PYTHON
from tests.tui_helpers import SnapshotApp, make_app, wait_until
from tuirunner.events import State
from tuirunner.tui.preferences import Preferences
from tuirunner.tui.screens.inspector import EnvInspector

PY = shlex.quote(PYTHON)
SHELL = {
    "HOME": "/home/dev",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "DEBUG": "0",
}


def app_for(tmp_path, procfile: str, theme: str | None = None, **kwargs):
    app = make_app(
        tmp_path,
        procfile,
        app_class=SnapshotApp,
        shell_env=dict(SHELL),
        preferences=Preferences(tmp_path / "tui.json", theme),
        **kwargs,
    )
    app.client.run_id = "0123456789abcdef"  # normally random per run
    return app


_scripts = iter(range(1_000_000))


def printing(tmp_path, lines: list[str]) -> str:
    """A command that prints *lines* (with colours) and then waits."""
    script = (
        "import time\n"
        + "".join(f"print({line!r})\n" for line in lines)
        + "import sys; sys.stdout.flush(); time.sleep(600)\n"
    )
    path = tmp_path / f"child{next(_scripts)}.py"
    path.write_text(script)
    return f"{PY} {path.name}"


def settled(*conditions):
    async def run_before(pilot) -> None:
        app = pilot.app
        await wait_until(pilot, lambda: all(c(app) for c in conditions))
        await pilot.pause(0.2)
        app.clear_notifications()
        for widget in app.screen.query(Input):
            widget.cursor_blink = False
        await pilot.pause()

    return run_before


def has_output(name: str, text: str):
    return lambda app: text in "\n".join(app.client.get(name).buffer.snapshot())


def in_state(name: str, state: State):
    return lambda app: app.client.get(name).state is state


WEB_LINES = [
    "Watching for file changes with StatReloader",
    "Performing system checks...",
    "System check identified no issues (0 silenced).",
    "\x1b[32mDjango version 5.2, using settings 'demo_site.settings'\x1b[0m",
    "Starting development server at http://127.0.0.1:5000/",
    "Quit the server with CONTROL-C.",
    '[24/Nov/2026 10:00:00] \x1b[1m"GET / HTTP/1.1" 200 1234\x1b[0m',
]


def test_one_process(tmp_path, snap_compare):
    app = app_for(tmp_path, f"web: {printing(tmp_path, WEB_LINES)}\n")
    assert snap_compare(
        app, terminal_size=(100, 24), run_before=settled(has_output("web.1", "GET /"))
    )


def test_three_processes(tmp_path, snap_compare):
    procfile = (
        f"web: {printing(tmp_path, WEB_LINES)}\n"
        f"worker: {printing(tmp_path, ['Starting worker', 'task greet finished'])}\n"
        f"mail: {printing(tmp_path, ['Server is listening on 127.0.0.1:1025'])}\n"
    )
    app = app_for(tmp_path, procfile)
    assert snap_compare(
        app,
        terminal_size=(140, 36),
        run_before=settled(
            has_output("web.1", "GET /"),
            has_output("worker.1", "finished"),
            has_output("mail.1", "listening"),
        ),
    )


def test_twelve_processes_list_and_selected_pane(tmp_path, snap_compare):
    procfile = (
        f"web: {printing(tmp_path, ['web ready'])}\n"
        f"worker: {printing(tmp_path, ['worker ready'])}\n"
        f"clock: {printing(tmp_path, ['tick'])}\n"
    )
    app = app_for(tmp_path, procfile, concurrency="web=4,worker=6,clock=2")

    async def run_before(pilot):
        await settled(
            *(in_state(p.name, State.RUNNING) for p in pilot.app.client),
            has_output("worker.2", "ready"),
        )(pilot)
        await pilot.press("5")  # worker.1, the fifth process
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 30), run_before=run_before)


def test_crashed_process(tmp_path, snap_compare):
    crash = (
        "echo 'Traceback (most recent call last):'; "
        "echo '  File \"settings.py\", line 3, in <module>'; "
        "echo \"KeyError: 'SECRET_KEY'\"; exit 1"
    )
    procfile = f"web: {crash}\nworker: {printing(tmp_path, ['Starting worker'])}\n"
    app = app_for(tmp_path, procfile)
    assert snap_compare(
        app,
        terminal_size=(120, 24),
        run_before=settled(
            in_state("web.1", State.EXITED),
            has_output("worker.1", "Starting"),
            lambda app: app.pane("web.1").hint_bar.has_class("-visible"),
        ),
    )


def test_search_active(tmp_path, snap_compare):
    lines = [f"GET /api/items/{i} 200" for i in range(40)] + ["POST /api/orders 500"]
    app = app_for(tmp_path, f"web: {printing(tmp_path, lines)}\n")

    async def run_before(pilot):
        await settled(has_output("web.1", "POST"))(pilot)
        await pilot.press("slash", *"items/1")
        await pilot.pause(0.1)
        pilot.app.pane("web.1").search_input.cursor_blink = False
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 24), run_before=run_before)


def test_inspector_with_masked_values(tmp_path, snap_compare):
    (tmp_path / ".env").write_text(
        "# development settings\nSECRET_KEY=dev-secret-never-shown\nDEBUG=1\n"
        "DATABASE_URL=postgres://app:hunter2@localhost/app\nSITE=http://127.0.0.1:${WEB}\n"
        'BROKEN="x"y\n'
    )
    (tmp_path / ".env.example").write_text("SECRET_KEY=\nDEBUG=\nSENTRY_DSN=\n")
    app = app_for(tmp_path, "web: sleep 600\nworker: sleep 600\n", env_files=[".env"])

    async def run_before(pilot):
        await settled(in_state("web.1", State.RUNNING), in_state("worker.1", State.RUNNING))(pilot)
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, EnvInspector))
        await pilot.pause(0.1)
        pilot.app.clear_notifications()
        pilot.app.screen.query_one("#env-filter", Input).cursor_blink = False
        await pilot.pause()

    assert snap_compare(app, terminal_size=(140, 32), run_before=run_before)


CRASH = (
    "echo 'Traceback (most recent call last):'; "
    "echo '  File \"boom.py\", line 1, in <module>'; "
    "echo 'ZeroDivisionError: division by zero'; exit 1"
)


def test_two_panes_one_crashed_at_80_by_24(tmp_path, snap_compare):
    """Both headers keep the name and the state; the buttons and details go first."""
    procfile = f"web: {printing(tmp_path, WEB_LINES)}\nboom: {CRASH}\n"
    app = app_for(tmp_path, procfile)
    assert snap_compare(
        app,
        terminal_size=(80, 24),
        run_before=settled(in_state("boom.1", State.EXITED), has_output("web.1", "GET /")),
    )


def test_crashed_process_in_a_light_theme(tmp_path, snap_compare):
    procfile = f"web: {CRASH}\nworker: {printing(tmp_path, ['Starting worker'])}\n"
    app = app_for(tmp_path, procfile, theme="textual-light")
    assert snap_compare(
        app,
        terminal_size=(120, 24),
        run_before=settled(in_state("web.1", State.EXITED), has_output("worker.1", "Starting")),
    )


def inspector_run_before(process: str = "web.1"):
    async def run_before(pilot):
        await settled(in_state(process, State.RUNNING))(pilot)
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, EnvInspector))
        await pilot.pause(0.1)
        pilot.app.clear_notifications()
        pilot.app.screen.query_one("#env-filter", Input).cursor_blink = False
        await pilot.pause()

    return run_before


def test_inspector_at_120_columns_with_a_long_env_file_path(tmp_path, snap_compare):
    """Sources keep their line numbers: the path is shortened from the left."""
    env = tmp_path / "config" / "environments" / "development"
    env.mkdir(parents=True)
    lines = [f"VARIABLE_{i:02d}=value {i}" for i in range(1, 14)]
    (env / "local.env").write_text("\n".join(lines) + "\n")
    app = app_for(
        tmp_path,
        "web: sleep 600\n",
        env_files=["config/environments/development/local.env"],
    )
    assert snap_compare(app, terminal_size=(120, 32), run_before=inspector_run_before())


def test_inspector_in_a_light_theme(tmp_path, snap_compare):
    (tmp_path / ".env").write_text(
        "SECRET_KEY=dev-secret-never-shown\nDEBUG=1\n"
        "DATABASE_URL=postgres://app:hunter2@localhost/app\n"
    )
    app = app_for(tmp_path, "web: sleep 600\n", env_files=[".env"], theme="textual-light")
    assert snap_compare(app, terminal_size=(120, 24), run_before=inspector_run_before())
