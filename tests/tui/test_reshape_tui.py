"""The run shaped while the app shows it, over a real keeper and real processes: an on-demand
process started by ``s``, a process added with ``a`` and removed with ``x``, a Procfile edit
(a pane appears, one goes), a settings edit announced and applied only on ``u``, an invalid
edit reported."""

from __future__ import annotations

from textual.widgets import Input

from tests.tui_helpers import fake_app, make_app, notifications, wait_until
from tuirunner.events import State
from tuirunner.tui.screens.add_process import AddProcess

SIZE = (120, 36)


def running(app, name: str) -> bool:
    try:
        return app.client.get(name).state is State.RUNNING
    except KeyError:
        return False


async def test_an_on_demand_process_is_not_started_until_s(tmp_path):
    (tmp_path / "tuirunner.toml").write_text("[processes.flower]\nautostart = false\n")
    app = make_app(tmp_path, "web: sleep 600\nflower: echo flower up; sleep 600\n")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: running(app, "web.1"))
        flower = app.client.get("flower.1")
        assert flower.label()[0] == "not started" and flower.pid is None
        assert "not started" in app.pane("flower.1").header_text()
        await pilot.press("2", "s")
        await wait_until(pilot, lambda: running(app, "flower.1"), message="flower started")
        assert flower.pid is not None and not flower.on_demand


async def test_a_process_added_with_a_and_removed_with_x(tmp_path):
    app = make_app(tmp_path, "web: sleep 600\n")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: running(app, "web.1"))
        await pilot.press("a")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "AddProcess")
        await pilot.press(*"shell", "enter", *"echo from the shell; sleep 600", "enter")
        await wait_until(pilot, lambda: running(app, "shell.1"), message="shell.1 running")
        shell = app.client.get("shell.1")
        assert shell.added and shell.port == app.client.get("web.1").port + 100
        await wait_until(pilot, lambda: "from the shell" in "\n".join(shell.buffer.snapshot()))
        assert app.pane("shell.1").is_mounted
        # x on a Procfile process says what it does instead.
        await pilot.press("1", "x")
        await wait_until(pilot, lambda: notifications(app))
        assert "web.1 is in the Procfile" in notifications(app)[-1]
        await pilot.press("2", "x")
        await wait_until(pilot, lambda: len(app.client.processes) == 1, message="the removal")
        assert "shell.1" not in app._panes and app.current == "web.1"
        assert [p.name for p in app.process_list.processes] == ["web.1"]


async def test_a_procfile_edit_adds_and_removes_panes(tmp_path):
    app = make_app(tmp_path, "web: sleep 600\nworker: sleep 600\n")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: running(app, "web.1") and running(app, "worker.1"))
        (tmp_path / "Procfile").write_text("web: sleep 600\nbeat: echo beat up; sleep 600\n")
        await wait_until(
            pilot,
            lambda: [p.name for p in app.client] == ["web.1", "beat.1"] and running(app, "beat.1"),
            message="beat in, worker out",
        )
        assert app.pane("beat.1").is_mounted and "worker.1" not in app._panes
        assert any(
            n.startswith("The Procfile or the settings changed:") and "added beat.1" in n
            for n in notifications(app)
        )


async def test_a_settings_edit_waits_for_u_and_an_invalid_one_is_reported(tmp_path):
    settings = tmp_path / "tuirunner.toml"
    settings.write_text("[processes.web]\ntimeout = 1\n")
    app = make_app(tmp_path, "web: sleep 600\n")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: running(app, "web.1"))
        web = app.client.get("web.1")
        first = web.pid
        settings.write_text("[processes.web]\ntimeout = 2\n")
        await wait_until(pilot, lambda: web.stale_settings, message="the edit announced")
        assert web.pid == first  # not applied behind the user's back
        assert "press u to restart web.1" in notifications(app)[-1]
        settings.write_text("[processes.web]\ntimeout = 'long'\n")
        await wait_until(pilot, lambda: app.client.settings_error, message="the error")
        assert "tuirunner.toml: processes.web.timeout" in app.client.settings_error
        assert "Not applied" in notifications(app)[-1]
        await pilot.press("u")
        await wait_until(pilot, lambda: web.pid not in (None, first) and running(app, "web.1"))
        assert web.stale_settings is None


async def test_the_inspector_names_the_override_file_as_the_source(tmp_path):
    from tests.tui.test_inspector import open_inspector, rows

    (tmp_path / "tuirunner.toml").write_text('[processes.web.env]\nMODE = "team"\nTEAM = "1"\n')
    (tmp_path / "tuirunner.local.toml").write_text('[processes.web.env]\nMODE = "mine"\n')
    app = make_app(tmp_path, "web: sleep 600\n")
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_inspector(app, pilot)
        # The source column is cut from the left when narrow: the end is the file's key.
        value, source = rows(screen)["MODE"][:2]
        assert value == "mine" and source.endswith(".local.toml [processes.web.env]")
        assert rows(screen)["TEAM"][1].endswith("runner.toml [processes.web.env]")
        env = app.client.environment_for(app.client.get("web.1"))
        assert str(env.variables["MODE"].source) == "tuirunner.local.toml [processes.web.env]"
        assert str(env.variables["TEAM"].source) == "tuirunner.toml [processes.web.env]"


async def test_the_palette_acts_on_a_group_by_name(tmp_path):
    from tests.tui_helpers import fake_app
    from tuirunner.tui.commands import ProcessCommands

    app, fake = fake_app(tmp_path, "web: serve\nvite: vite\ntailwind: tw\n")
    app.client.groups = {"frontend": ["vite", "tailwind"]}  # as the keeper's welcome says
    async with app.run_test(size=SIZE) as pilot:
        provider = ProcessCommands(app.screen)
        commands = {title: callback for title, callback, _ in provider._commands()}
        assert {"Restart frontend", "Start frontend", "Stop frontend", "Add a process"} <= set(
            commands
        )
        commands["Restart frontend"]()
        await wait_until(pilot, lambda: fake.ops(), message="the restart")
        assert fake.ops() == [("restart", {"names": ["frontend"]})]


async def test_after_a_removal_the_panes_are_numbered_as_the_keys_select_them(tmp_path):
    """A pane's number is the key that selects it: a removal renumbers the panes after it, and
    a process added later gets a pane of its own (no clash with a pane's old number)."""
    app = make_app(tmp_path, "web: sleep 600\nworker: sleep 600\nbeat: sleep 600\n")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(
            pilot, lambda: all(running(app, n) for n in ("web.1", "worker.1", "beat.1"))
        )
        (tmp_path / "Procfile").write_text("web: sleep 600\nbeat: sleep 600\n")
        await wait_until(pilot, lambda: "worker.1" not in app._panes, message="worker out")
        await pilot.press("a")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "AddProcess")
        await pilot.press(*"shell", "enter", *"sleep 600", "enter")
        await wait_until(pilot, lambda: running(app, "shell.1"), message="shell.1 running")
        await wait_until(pilot, lambda: app.pane("shell.1").is_mounted, message="shell's pane")
        numbers = {name: app.pane(name).header.number for name in ("web.1", "beat.1", "shell.1")}
        assert numbers == {"web.1": 1, "beat.1": 2, "shell.1": 3}
        await pilot.press("2")
        assert app.current == "beat.1"
        assert app.pane("beat.1").header_text().startswith("2 ")


async def test_tab_moves_between_the_fields_of_the_add_dialog(tmp_path):
    app, _ = fake_app(tmp_path, "web: serve\n")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, AddProcess))
        await pilot.press(*"shell", "tab", *"echo hi")
        await pilot.pause()
        name, command = app.screen.query(Input)
        assert (name.value, command.value) == ("shell", "echo hi")
        await pilot.press("shift+tab")
        await pilot.pause()
        assert app.focused is name
