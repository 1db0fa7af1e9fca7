"""Pilot tests of the environment inspector: over a scripted keeper (tests/fake_keeper.py)
that loads the environment as a keeper does, and, for revealing a secret and for an env file
edited while processes run, over a real keeper."""

import shlex

from tests.helpers import PYTHON, clean_env
from tests.tui_helpers import buffer_text, fake_app, make_app, screen_text, wait_until
from tuirunner.events import State
from tuirunner.secrets import MASK
from tuirunner.tui.screens.inspector import EnvInspector

PY = shlex.quote(PYTHON)
SIZE = (140, 45)
SECRET = "s3cr3t-do-not-show-8f2a"


def rows(screen: EnvInspector) -> dict[str, list[str]]:
    from textual.widgets import DataTable

    table = screen.query_one(DataTable)
    return {
        str(cells[0]): [str(c) for c in cells[1:]]
        for cells in (table.get_row_at(i) for i in range(table.row_count))
    }


def project(
    tmp_path,
    env_text: str,
    procfile: str = "web: sleep 600\nworker: sleep 600\n",
    shell: dict | None = None,
    **kwargs,
):
    (tmp_path / ".env").write_text(env_text)
    shell_env = clean_env(**(shell or {}))
    return make_app(tmp_path, procfile, env_files=[".env"], shell_env=shell_env, **kwargs)


def scripted(
    tmp_path,
    env_text: str,
    procfile: str = "web: sleep 600\nworker: sleep 600\n",
    shell: dict | None = None,
):
    """As :func:`project`, over a scripted keeper: the app, and the keeper."""
    (tmp_path / ".env").write_text(env_text)
    shell_env = clean_env(**(shell or {}))
    return fake_app(tmp_path, procfile, env_files=[".env"], shell_env=shell_env)


async def open_inspector(app, pilot, name="web.1") -> EnvInspector:
    await wait_until(pilot, lambda: app.client.get(name).state is State.RUNNING)
    app.focus_process(name)
    await pilot.press("e")
    await wait_until(pilot, lambda: isinstance(app.screen, EnvInspector))
    return app.screen


async def test_a_file_value_shadowing_the_shell_shows_both_with_sources(tmp_path):
    app, _ = scripted(tmp_path, "# settings\nDEBUG=1\n", shell={"DEBUG": "0"})
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspector(app, pilot)
        value, source, notes = rows(screen)["DEBUG"]
        assert (value, source) == ("1", ".env:2")
        assert "overrides shell value '0'" in notes
        assert rows(screen)["PORT"][1] == "tuirunner"


async def test_secrets_are_masked_until_revealed_and_then_masked_again(tmp_path):
    app = project(
        tmp_path, f"SECRET_KEY={SECRET}\nDATABASE_URL=postgres://app:{SECRET}@db/x\nAPI_TOKEN=abc\n"
    )
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspector(app, pilot)
        table = rows(screen)
        assert table["SECRET_KEY"][0] == MASK
        assert table["DATABASE_URL"][0] == f"postgres://app:{MASK}@db/x"
        assert SECRET not in str(table)
        assert SECRET not in app.export_screenshot()
        # Reveal exactly the selected row.
        await pilot.press("slash", *"secret_key", "enter")
        assert list(rows(screen)) == ["SECRET_KEY"]
        await pilot.press("v")
        assert rows(screen)["SECRET_KEY"][0] == SECRET
        assert SECRET in app.export_screenshot()
        await pilot.press("v")
        assert rows(screen)["SECRET_KEY"][0] == MASK
        await pilot.press("v", "escape")  # closing forgets what was revealed
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, EnvInspector))
        assert SECRET not in str(rows(app.screen))


async def test_a_value_still_being_checked_is_masked_and_shows_once_checked(tmp_path):
    # The keeper sends the UI the environments before detect-secrets has answered (it would
    # hold up the first frame): a value being checked is masked meanwhile, then shown.
    scratch = "/var/folders/xz/6h2k5b9d3s1f_8g7j4k2l0m0000gn/T/"  # needs detect-secrets' look
    (tmp_path / ".env").write_text(f"SCRATCH={scratch}\n")
    app, fake = fake_app(
        tmp_path,
        "web: sleep 600\n",
        env_files=[".env"],
        shell_env=clean_env(),
        checking=("SCRATCH",),
    )
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspector(app, pilot)
        value, _, notes = rows(screen)["SCRATCH"]
        assert value == MASK and "masked: still being checked for token formats" in notes
        fake.environment_checked()
        await wait_until(pilot, lambda: rows(screen)["SCRATCH"][0] == scratch, message="shown")
        assert "masked" not in rows(screen)["SCRATCH"][2]


async def test_copy_a_value_without_showing_it(tmp_path):
    app, _ = scripted(tmp_path, f"SECRET_KEY={SECRET}\n")
    copied = []
    app.copy_to_clipboard = copied.append
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspector(app, pilot)
        await pilot.press("slash", *"SECRET_KEY", "enter", "c")
        await wait_until(pilot, lambda: copied, message="the copy")
        assert copied == [SECRET]
        assert SECRET not in str(rows(screen))


async def test_filter_and_modes(tmp_path):
    app, _ = scripted(tmp_path, "ALPHA=1\nBETA=2\nSAME=x\n", shell={"SAME": "x", "GAMMA": "3"})
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspector(app, pilot)
        # It opens on what the project sets: env files (SAME too) and tuirunner, not the shell.
        ports = {"TUIRUNNER_PORT_WEB", "TUIRUNNER_PORT_WORKER"}  # every type's, for every process
        assert (
            set(rows(screen)) == {"ALPHA", "BETA", "SAME", "PORT", "PS", "TUIRUNNER_RUN_ID"} | ports
        )
        await pilot.press("m")  # all variables
        assert {"ALPHA", "BETA", "GAMMA", "PATH"} <= set(rows(screen))
        await pilot.press("m")  # only from env files
        assert set(rows(screen)) == {"ALPHA", "BETA", "SAME"}
        await pilot.press("m")  # only what differs from the shell
        assert set(rows(screen)) == {
            "ALPHA",
            "BETA",
            "PORT",
            "PS",
            "TUIRUNNER_RUN_ID",
            "TUIRUNNER_PORT_WEB",  # every type's port, for every process
            "TUIRUNNER_PORT_WORKER",
        }
        await pilot.press("m", "slash", *"alp")
        await pilot.pause()
        assert set(rows(screen)) == {"ALPHA"}
        await pilot.press("escape")  # closes the filter, not the inspector
        await pilot.pause()
        assert app.screen is screen and screen.query_text == ""
        assert {"ALPHA", "BETA"} <= set(rows(screen))
        await pilot.press("escape")  # now the inspector
        await wait_until(pilot, lambda: not isinstance(app.screen, EnvInspector))


async def test_a_revealed_value_is_shown_whole_wrapped(tmp_path):
    long_secret = "tok_" + "x9" * 60 + "_end"
    app, _ = scripted(tmp_path, f"API_TOKEN={long_secret}\n")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_inspector(app, pilot)
        await pilot.press("slash", *"API_TOKEN", "enter", "v")
        await wait_until(pilot, lambda: screen.revealed == "API_TOKEN")
        await pilot.pause()
        panel = screen.query_one("#env-value")
        assert panel.display and panel.size.height >= 2  # wrapped over lines
        shown = "".join(line.rstrip() for line in screen_text(panel).splitlines())
        assert f"API_TOKEN={long_secret}" in shown
        await pilot.press("v")  # masked again: the panel goes
        await pilot.pause()
        assert not panel.display
        assert long_secret not in app.export_screenshot()


async def test_switching_process_shows_port_and_ps_differ(tmp_path):
    app, _ = scripted(tmp_path, "X=1\n")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspector(app, pilot)
        await wait_until(pilot, lambda: app.client.get("worker.1").state is State.RUNNING)
        assert rows(screen)["PORT"][0] == "5000"
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert screen.process_name == "worker.1"
        port = rows(screen)["PORT"]
        assert port[0] == "5100" and "differs from web.1" in port[2]
        assert rows(screen)["PS"][0] == "worker.1"
        assert "differs" not in rows(screen)["X"][2]


async def test_warnings_list_bad_lines_and_missing_example_variables(tmp_path):
    (tmp_path / ".env.example").write_text("SECRET_KEY=\nDEBUG=\n")
    app, _ = scripted(tmp_path, f'DEBUG=1\nBROKEN_PASSWORD="{SECRET}"oops\n')
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspector(app, pilot)
        text = str(screen.query_one("#env-warnings").render())
        assert ".env:2: python-dotenv could not parse this statement" in text
        assert f"BROKEN_PASSWORD={MASK}" in text and SECRET not in text
        assert "SECRET_KEY is listed in .env.example" in text
        assert "DEBUG is listed" not in text


async def test_editing_env_while_running_offers_a_restart_that_gives_the_new_value(tmp_path):
    script = (
        "import os, time; print('GREETING is', os.environ.get('GREETING'), flush=True); "
        "time.sleep(600)"
    )
    procfile = f"web: {PY} -c {shlex.quote(script)}\nother: sleep 600\n"
    app = project(tmp_path, "GREETING=hello\n", procfile=procfile)
    async with app.run_test(size=SIZE) as pilot:
        web = app.client.get("web.1")
        await wait_until(pilot, lambda: "GREETING is hello" in buffer_text(web))
        screen = await open_inspector(app, pilot)
        (tmp_path / ".env").write_text("GREETING=bonjour\nEXTRA=1\n")
        await wait_until(
            pilot,
            lambda: app.client.environment.get("GREETING") == "bonjour",
            message="the watcher to reload .env",
        )
        await pilot.pause()
        assert [p.name for p in app.client.stale_processes()] == ["web.1", "other.1"]
        banner = str(screen.query_one("#env-change").render())
        assert "added EXTRA; changed GREETING" in banner and "press u" in banner
        assert "a restart gives 'bonjour'" in rows(screen)["GREETING"][2]
        assert rows(screen)["GREETING"][0] == "hello"  # what web.1 actually has
        assert app.check_action("restart_stale", ()) is True
        first = web.pid
        await pilot.press("u")
        await wait_until(
            pilot,
            lambda: "GREETING is bonjour" in buffer_text(web),
            message="the child's own output with the new value",
        )
        assert web.pid != first
        await wait_until(pilot, lambda: not app.client.stale_processes())
        assert rows(screen)["GREETING"][0] == "bonjour"


async def test_a_crash_naming_a_missing_variable_points_to_the_inspector(tmp_path):
    app, fake = scripted(
        tmp_path, "DEBUG=1\n", procfile="web: python settings.py\nworker: sleep 600\n"
    )
    async with app.run_test(size=SIZE) as pilot:
        fake.print(
            "web.1",
            "Traceback (most recent call last):",
            '  File "<string>", line 1, in <module>',
            "KeyError: 'SECRET_KEY'",
        )
        fake.exit("web.1", 1)
        web = app.client.get("web.1")
        await wait_until(pilot, lambda: web.state is State.EXITED)
        pane = app.pane("web.1")
        await wait_until(pilot, lambda: pane.hint_bar.has_class("-visible"))
        hint = str(pane.hint_bar.render())
        assert hint == "SECRET_KEY is not set — press e to inspect the environment"
        assert "KeyError: 'SECRET_KEY'" in screen_text(pane.view)
        assert app.client.get("worker.1").state is State.RUNNING


async def test_reveal_works_on_any_row_and_moving_away_masks_it_again(tmp_path):
    app, _ = scripted(tmp_path, f"AAA=1\nBBB=2\nZZZ_TOKEN={SECRET}\n")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspector(app, pilot)
        names = list(rows(screen))
        target = names.index("ZZZ_TOKEN")
        assert target > 3
        await pilot.press(*["down"] * target)
        await pilot.pause()
        await pilot.press("v")
        await pilot.pause()
        assert rows(screen)["ZZZ_TOKEN"][0] == SECRET
        await pilot.press("up")
        await pilot.pause()
        assert rows(screen)["ZZZ_TOKEN"][0] == MASK


async def test_a_value_built_from_a_secret_is_masked(tmp_path):
    app, _ = scripted(
        tmp_path,
        f"ZZZ_SECRET_KEY={SECRET}\n"
        "UPSTREAM=https://api.example.com/?key=${ZZZ_SECRET_KEY}\n"
        "ALIAS=${UPSTREAM}\n",
    )
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_inspector(app, pilot)
        table = rows(screen)
        assert table["UPSTREAM"][0] == MASK and table["ALIAS"][0] == MASK
        assert SECRET not in str(table)
