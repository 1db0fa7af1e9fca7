"""The UI under small terminals, resizes, input mode and themes (pilot tests over a scripted
keeper, tests/fake_keeper.py)."""

import pytest

from tests.tui_helpers import fake_app, screen_text, settle, wait_until
from tuirunner.events import State
from tuirunner.tui.preferences import Preferences
from tuirunner.tui.screens.inspector import shorten_source

CRASHING = "web: sleep 600\nboom: python boom.py\n"


def state(app, name):
    return app.client.get(name).state


def crashing_app(tmp_path):
    app, fake = fake_app(tmp_path, CRASHING)
    fake.print("boom.1", "Traceback: it broke")
    fake.exit("boom.1", 1)
    return app


@pytest.mark.parametrize("width", [80, 60, 44])
async def test_a_narrow_header_keeps_the_name_and_state_last(tmp_path, width):
    app = crashing_app(tmp_path)
    async with app.run_test(size=(width, 24)) as pilot:
        await wait_until(pilot, lambda: state(app, "boom.1") is State.EXITED)
        await settle(pilot)
        boom, web = app.pane("boom.1"), app.pane("web.1")
        assert "boom.1" in boom.header_text() and "crashed: exit 1" in boom.header_text()
        assert "web.1" in web.header_text() and "running" in web.header_text()
        if width < 50:
            assert boom.narrow  # the buttons went first
        header = boom.query_one(".pane-header")
        assert header.outer_size.width == boom.size.width  # nothing spills over


async def test_a_wide_pane_shows_every_detail_and_the_buttons(tmp_path):
    app = crashing_app(tmp_path)
    async with app.run_test(size=(200, 40)) as pilot:
        await wait_until(pilot, lambda: state(app, "boom.1") is State.EXITED)
        web = app.pane("web.1")
        pid = app.client.get("web.1").pid
        assert not web.narrow
        header = web.header_text()
        for part in ("1 web.1", "running", f"pid {pid}", ":5000", "up <1m", "Restart"):
            assert part in header


def layout_of(app) -> list[tuple[str, tuple[int, int, int, int], bool]]:
    return [(p.process.name, tuple(p.region), p.narrow) for p in app.panes if p.display]


@pytest.mark.parametrize(("before", "after"), [((200, 50), (80, 24)), ((80, 24), (200, 50))])
async def test_after_a_resize_the_layout_is_what_a_fresh_start_at_that_size_gives(
    tmp_path, before, after
):
    procfile = "web: sleep 600\nworker: sleep 600\nmail: sleep 600\n"
    (tmp_path / "fresh").mkdir()
    fresh, _ = fake_app(tmp_path / "fresh", procfile)
    async with fresh.run_test(size=after) as pilot:
        await settle(pilot)
        expected = layout_of(fresh)
        expected_headers = [p.header_text().split("  ")[0] for p in fresh.panes]
    (tmp_path / "resized").mkdir()
    app, _ = fake_app(tmp_path / "resized", procfile)
    async with app.run_test(size=before) as pilot:
        await settle(pilot)
        await pilot.resize_terminal(*after)
        await wait_until(pilot, lambda: layout_of(app) == expected, message="the new layout")
        await settle(pilot)
        assert layout_of(app) == expected
        assert [p.header_text().split("  ")[0] for p in app.panes] == expected_headers


async def test_the_last_line_of_a_crash_is_in_view_without_pressing_end(tmp_path):
    app, fake = fake_app(tmp_path, "web: python crash.py\nother: sleep 600\n")
    async with app.run_test(size=(100, 24)) as pilot:
        fake.print("web.1", *(f"line {i}" for i in range(200)))
        fake.print("web.1", "Traceback (most recent call last):", "KeyError: 'SECRET_KEY'")
        fake.exit("web.1", 1)  # a hint appears, and the view gets shorter
        await wait_until(pilot, lambda: state(app, "web.1") is State.EXITED)
        pane = app.pane("web.1")
        await wait_until(pilot, lambda: pane.hint_bar.has_class("-visible"))
        await settle(pilot)
        assert "KeyError: 'SECRET_KEY'" in screen_text(pane.view)
        assert pane.view.follow


async def test_a_line_wider_than_the_pane_keeps_the_last_line_in_view_above_the_scrollbar(
    tmp_path,
):
    # A traceback's frames are often wider than a pane: the horizontal scrollbar then takes
    # the view's last row, which hid the last line (the exception) on the terminal.
    app, fake = fake_app(tmp_path, "web: python crash.py\nother: sleep 600\n")
    async with app.run_test(size=(100, 24)) as pilot:
        view = app.pane("web.1").view
        fake.print("web.1", *(f"line {i}" for i in range(50)))
        await wait_until(pilot, lambda: "line 49" in screen_text(view))
        fake.print("web.1", '  File "' + "/site-packages/x" * 10 + '", line 1', "the last line")
        await wait_until(pilot, lambda: view.show_horizontal_scrollbar, message="the scrollbar")
        await settle(pilot)
        assert view.follow and view.scroll_y == view.max_scroll_y
        assert "the last line" in app.export_screenshot().replace("&#160;", " ")


async def test_input_mode_offers_only_its_way_out_and_ends_when_the_process_does(tmp_path):
    app, fake = fake_app(tmp_path, "once: python once.py\nweb: sleep 600\n")
    fake.write("once.1", b"> ")
    async with app.run_test(size=(120, 30)) as pilot:
        proc = app.client.get("once.1")
        await pilot.press("i")
        assert app.input_target == "once.1"
        shown = {
            binding.action
            for _, binding, enabled, _ in app.screen.active_bindings.values()
            if enabled and binding.show
        }
        assert shown == {"leave_input_mode"}, shown  # not "q Quit": q goes to the process
        await pilot.press(*"ok", "enter")
        typed = [("write", {"name": "once.1", "data": data}) for data in (b"o", b"k", b"\r")]
        await wait_until(pilot, lambda: fake.ops() == typed, message="the keys to the process")
        fake.print("once.1", "got ok")
        fake.exit("once.1", 0)
        await wait_until(pilot, lambda: proc.state is State.EXITED)
        await wait_until(pilot, lambda: app.input_target is None)
        assert not app.pane("once.1").input_mode
        await pilot.press("i")  # a process that is not running: no input mode, a notice
        assert app.input_target is None


async def test_the_chosen_theme_is_remembered(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "one").mkdir()
    app, _ = fake_app(tmp_path / "one", "web: sleep 600\n")
    app.preferences = Preferences.load()  # as the app does by default (fake_app's is apart)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.theme != "textual-light"
        app.theme = "textual-light"
        await wait_until(pilot, lambda: Preferences.load().theme == "textual-light")
    assert Preferences.load().theme == "textual-light"
    (tmp_path / "two").mkdir()
    again, _ = fake_app(tmp_path / "two", "web: sleep 600\n")
    again.preferences = Preferences.load()
    async with again.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert again.theme == "textual-light"


def test_a_source_keeps_its_line_number_when_shortened():
    assert shorten_source("example/.env:13", 20) == "example/.env:13"
    assert shorten_source("example/.env:13", 14) == "…ample/.env:13"
    assert shorten_source("config/environments/development.env:137", 16).endswith(":137")
    assert shorten_source("config/environments/development.env:137", 16).startswith("…")
    assert len(shorten_source("config/environments/development.env:137", 16)) == 16
    assert shorten_source("tuirunner", 20) == "tuirunner"
