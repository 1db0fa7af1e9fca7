"""Snapshot tests of the main layouts (``pytest --snapshot-update`` records them), over a
scripted keeper (tests/fake_keeper.py): the processes' states and output are the test's.

Everything that changes from run to run is pinned: pids and uptimes (SnapshotApp), the run id,
the shell environment (a fixed one), toasts (cleared) and the cursor blink.
"""

from textual.widgets import Input

from tests.tui_helpers import SnapshotApp, fake_app, settle, wait_until
from tuirunner.events import State
from tuirunner.tui.screens.inspector import EnvInspector

SHELL = {
    "HOME": "/home/dev",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "DEBUG": "0",
}


def app_for(tmp_path, procfile: str, theme: str | None = None, **kwargs):
    """The app over a fake keeper whose processes all run (the run id is fixed)."""
    app, fake = fake_app(
        tmp_path, procfile, app_class=SnapshotApp, shell_env=dict(SHELL), theme=theme, **kwargs
    )
    return app, fake


def crash(fake, name: str, lines: list[str], code: int = 1) -> None:
    fake.print(name, *lines)
    fake.exit(name, code)


def settled(*conditions):
    async def run_before(pilot) -> None:
        app = pilot.app
        await wait_until(pilot, lambda: all(c(app) for c in conditions))
        await settle(pilot)
        app.clear_notifications()
        for widget in app.screen.query(Input):
            widget.cursor_blink = False
        await settle(pilot)

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
    app, fake = app_for(tmp_path, "web: python manage.py runserver\n")
    fake.print("web.1", *WEB_LINES)
    assert snap_compare(
        app, terminal_size=(100, 24), run_before=settled(has_output("web.1", "GET /"))
    )


def test_three_processes(tmp_path, snap_compare):
    procfile = "web: python manage.py runserver\nworker: python worker.py\nmail: aiosmtpd\n"
    app, fake = app_for(tmp_path, procfile)
    fake.print("web.1", *WEB_LINES)
    fake.print("worker.1", "Starting worker", "task greet finished")
    fake.print("mail.1", "Server is listening on 127.0.0.1:1025")
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
    procfile = "web: serve\nworker: work\nclock: tick\n"
    app, fake = app_for(tmp_path, procfile, concurrency="web=4,worker=6,clock=2")
    said = {"web": "web ready", "worker": "worker ready", "clock": "tick"}
    for proc in fake.processes:
        fake.print(proc.name, said[proc.type])

    async def run_before(pilot):
        await settled(
            *(in_state(p.name, State.RUNNING) for p in pilot.app.client),
            has_output("worker.2", "ready"),
        )(pilot)
        await pilot.press("5")  # worker.1, the fifth process
        await settle(pilot)

    assert snap_compare(app, terminal_size=(120, 30), run_before=run_before)


def test_crashed_process(tmp_path, snap_compare):
    app, fake = app_for(tmp_path, "web: python settings.py\nworker: python worker.py\n")
    traceback = [
        "Traceback (most recent call last):",
        '  File "settings.py", line 3, in <module>',
        "KeyError: 'SECRET_KEY'",
    ]
    crash(fake, "web.1", traceback)
    fake.print("worker.1", "Starting worker")
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
    app, fake = app_for(tmp_path, "web: serve\n")
    fake.print("web.1", *lines)

    async def run_before(pilot):
        await settled(has_output("web.1", "POST"))(pilot)
        await pilot.press("slash", *"items/1")
        pane = pilot.app.pane("web.1")
        await wait_until(pilot, lambda: pane.view.search and pane.view.search.query == "items/1")
        pane.search_input.cursor_blink = False
        await settle(pilot)

    assert snap_compare(app, terminal_size=(100, 24), run_before=run_before)


def test_inspector_with_masked_values(tmp_path, snap_compare):
    (tmp_path / ".env").write_text(
        "# development settings\nSECRET_KEY=dev-secret-never-shown\nDEBUG=1\n"
        "DATABASE_URL=postgres://app:hunter2@localhost/app\nSITE=http://127.0.0.1:${WEB}\n"
        'BROKEN="x"y\n'
    )
    (tmp_path / ".env.example").write_text("SECRET_KEY=\nDEBUG=\nSENTRY_DSN=\n")
    app, _ = app_for(tmp_path, "web: sleep 600\nworker: sleep 600\n", env_files=[".env"])

    async def run_before(pilot):
        await settled(in_state("web.1", State.RUNNING), in_state("worker.1", State.RUNNING))(pilot)
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, EnvInspector))
        await settle(pilot)
        pilot.app.clear_notifications()
        pilot.app.screen.query_one("#env-filter", Input).cursor_blink = False
        await settle(pilot)

    assert snap_compare(app, terminal_size=(140, 32), run_before=run_before)


CRASH = [
    "Traceback (most recent call last):",
    '  File "boom.py", line 1, in <module>',
    "ZeroDivisionError: division by zero",
]


def test_two_panes_one_crashed_at_80_by_24(tmp_path, snap_compare):
    """Both headers keep the name and the state; the buttons and details go first."""
    app, fake = app_for(tmp_path, "web: python manage.py runserver\nboom: python boom.py\n")
    fake.print("web.1", *WEB_LINES)
    crash(fake, "boom.1", CRASH)
    assert snap_compare(
        app,
        terminal_size=(80, 24),
        run_before=settled(in_state("boom.1", State.EXITED), has_output("web.1", "GET /")),
    )


def test_crashed_process_in_a_light_theme(tmp_path, snap_compare):
    app, fake = app_for(
        tmp_path, "web: python boom.py\nworker: python worker.py\n", theme="textual-light"
    )
    crash(fake, "web.1", CRASH)
    fake.print("worker.1", "Starting worker")
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
        await settle(pilot)
        pilot.app.clear_notifications()
        pilot.app.screen.query_one("#env-filter", Input).cursor_blink = False
        await settle(pilot)

    return run_before


def test_inspector_at_120_columns_with_a_long_env_file_path(tmp_path, snap_compare):
    """Sources keep their line numbers: the path is shortened from the left."""
    env = tmp_path / "config" / "environments" / "development"
    env.mkdir(parents=True)
    lines = [f"VARIABLE_{i:02d}=value {i}" for i in range(1, 14)]
    (env / "local.env").write_text("\n".join(lines) + "\n")
    app, _ = app_for(
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
    app, _ = app_for(tmp_path, "web: sleep 600\n", env_files=[".env"], theme="textual-light")
    assert snap_compare(app, terminal_size=(120, 24), run_before=inspector_run_before())
