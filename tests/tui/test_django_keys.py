"""The Django marks in the UI: the header says what runserver reported, M (and the palette)
applies the migrations, K stops a stray holding the port; each key only while it means
something."""

from tests.tui_helpers import drawn, fake_app, notifications, wait_until
from tuirunner.events import ExitStatus, State
from tuirunner.tui.commands import ProcessCommands
from tuirunner.tui.widgets.key_bar import KeyBar

SIZE = (160, 40)


def titles(app) -> list[str]:
    return [title for title, _, _ in ProcessCommands(app.screen)._commands()]


async def test_m_applies_migrations_only_while_some_are_pending(tmp_path):
    app, fake = fake_app(tmp_path, "web: python manage.py runserver $PORT\n")
    fake.handlers["migrate"] = lambda args: "restarting release.1"
    async with app.run_test(size=SIZE) as pilot:
        fake.run_all()
        await pilot.press("M")
        await pilot.pause()
        assert ("migrate", {}) not in fake.ops()  # nothing pending: the key does nothing
        assert "Apply migrations" not in titles(app)
        fake.set("web.1", migrations="2 unapplied migrations (polls, shop)")
        await wait_until(pilot, lambda: "2 unapplied migrations" in app.pane("web.1").header_text())
        assert app.check_action("migrate", ()) is True
        assert "Apply migrations" in titles(app)
        await pilot.press("M")
        await wait_until(pilot, lambda: ("migrate", {}) in fake.ops())
        await wait_until(
            pilot, lambda: any("restarting release.1" in n for n in notifications(app))
        )
        fake.set("web.1", migrations=None)
        await wait_until(pilot, lambda: "unapplied" not in app.pane("web.1").header_text())
        assert app.check_action("migrate", ()) is False


async def test_k_stops_a_stray_of_this_app_root_only_when_there_is_one(tmp_path):
    app, fake = fake_app(tmp_path, "web: python -m http.server $PORT\n")
    fake.handlers["stop_stray"] = lambda args: f"stopped pid 999; restarting {args['name']}"
    async with app.run_test(size=SIZE) as pilot:
        fake.set(
            "web.1",
            port_holder="port 5000 is already in use by pid 4321 (python -m http.server 5000)",
        )
        await wait_until(pilot, lambda: "pid 4321" in app.pane("web.1").header_text())
        assert not any("stray" in t for t in titles(app))
        await pilot.press("K")
        await pilot.pause()
        assert not [op for op, _ in fake.ops() if op == "stop_stray"]  # not a stray: never
        fake.set("web.1", stray_pid=4321)
        await wait_until(pilot, lambda: app.check_action("stop_stray", ()) is True)
        assert "Stop the stray holding web.1's port" in titles(app)
        await pilot.press("K")
        await wait_until(pilot, lambda: ("stop_stray", {"name": "web.1"}) in fake.ops())
        await wait_until(pilot, lambda: any("stopped pid 999" in n for n in notifications(app)))


async def test_k_is_offered_when_a_stray_comes_with_a_state_change(tmp_path):
    # r on a process whose port a stray holds: it crashes again, and the stray is known with
    # that state change (not a change of info alone). The key bar offers K at once.
    app, fake = fake_app(tmp_path, "web: python -m http.server $PORT\n")
    async with app.run_test(size=SIZE) as pilot:
        fake.run_all()
        bar = app.screen.query_one(KeyBar)
        await wait_until(pilot, lambda: "Quit" in drawn(bar))
        assert "Stop stray" not in drawn(bar)
        fake.set(
            "web.1",
            state=State.EXITED,
            pid=None,
            exit=ExitStatus(returncode=1),
            stray_pid=4321,
        )
        await wait_until(pilot, lambda: "Stop stray" in drawn(bar), message="K offered")
