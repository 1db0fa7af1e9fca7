"""What the app makes of the keeper's messages (over a scripted keeper, tests/fake_keeper.py):
notices, runner lines, env file changes, a resync after falling behind, the keeper leaving."""

from tests.tui_helpers import drawn, fake_app, notifications, screen_text, wait_until
from tuirunner.events import State
from tuirunner.tui.widgets.key_bar import KeyBar


async def test_a_kill_is_toasted_and_other_notices_are_not(tmp_path):
    app, fake = fake_app(tmp_path, "web: serve\nworker: work\n")
    async with app.run_test(size=(120, 30)) as pilot:
        fake.notice("web.1", "sent SIGTERM to web.1")
        fake.notice("worker.1", "worker.1 did not stop in 2 s: sent [b]SIGKILL[/b]", "killed")
        await wait_until(pilot, lambda: notifications(app), message="the toast")
        assert notifications(app) == ["worker.1 did not stop in 2 s: sent [b]SIGKILL[/b]"]


async def test_runner_lines_are_shown_in_the_output(tmp_path):
    app, fake = fake_app(tmp_path, "web: serve\n")
    async with app.run_test(size=(120, 30)) as pilot:
        fake.print("web.1", "serving")
        fake.runner_line("web.1", "── restarted: models.py changed ──")
        view = app.pane("web.1").view
        await wait_until(pilot, lambda: "restarted: models.py" in screen_text(view))
        assert [row.rstrip() for row in screen_text(view).splitlines()[:2]] == [
            "serving",
            "── restarted: models.py changed ──",
        ]


async def test_an_env_file_change_names_who_runs_with_the_old_values(tmp_path):
    (tmp_path / ".env").write_text("GREETING=hello\n")
    app, fake = fake_app(tmp_path, "web: serve\nworker: work\n", env_files=[".env"])
    async with app.run_test(size=(120, 30)) as pilot:
        (tmp_path / ".env").write_text("GREETING=bonjour\nEXTRA=1\n")
        fake.reload_environment()
        await wait_until(pilot, lambda: notifications(app), message="the notification")
        assert notifications(app) == [
            "Env files changed: added EXTRA; changed GREETING. web.1, worker.1 still run with "
            "the old environment: press u to restart them."
        ]
        # The key bar offers u while a process runs with the old environment.
        bar = app.screen.query_one(KeyBar)
        await wait_until(pilot, lambda: "Restart stale" in drawn(bar), message="u offered")
        assert app.client.environment.get("GREETING") == "bonjour"
        await pilot.press("u")
        await wait_until(pilot, lambda: len(fake.ops()) == 2, message="the restarts")
        assert fake.ops() == [
            ("restart", {"names": ["web.1"]}),
            ("restart", {"names": ["worker.1"]}),
        ]
        await wait_until(pilot, lambda: not app.client.stale_processes())
        assert "Restarting web.1, worker.1 with the new environment" in notifications(app)
        # ... and no longer once none does.
        await wait_until(pilot, lambda: "Restart stale" not in drawn(bar), message="u gone")


async def test_a_resync_shows_what_was_missed(tmp_path):
    app, fake = fake_app(tmp_path, "web: serve\nworker: work\n")
    async with app.run_test(size=(120, 30)) as pilot:
        fake.print("web.1", "before")
        view = app.pane("web.1").view
        await wait_until(pilot, lambda: "before" in screen_text(view))
        # The client falls behind: what happens meanwhile is not sent, then comes in one go.
        fake.print("web.1", *(f"missed {i}" for i in range(5)), dropped=True)
        fake.set("worker.1", state=State.STOPPED, pid=None, dropped=True)
        fake.resync()
        await wait_until(pilot, lambda: "missed 4" in screen_text(view), message="the output")
        assert [row.rstrip() for row in screen_text(view).splitlines()[:6]] == [
            "before",
            *(f"missed {i}" for i in range(5)),
        ]
        await wait_until(pilot, lambda: "stopped" in app.pane("worker.1").header_text())


async def test_the_keeper_saying_goodbye_ends_the_app(tmp_path):
    app, fake = fake_app(tmp_path, "web: serve\n")
    async with app.run_test(size=(120, 30)) as pilot:
        fake.bye("down")
        await wait_until(pilot, lambda: not app.is_running, message="the app to end")
    assert app.outcome == "down" and app.return_code == 0
