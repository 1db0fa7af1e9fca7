"""Small terminals (issue 22): the keys a user must find first never leave the key bar, state
words outlast resources and uptime in a header, a completed oneshot gives its space back, and
one Esc leaves the innermost mode. Pilot tests over a scripted keeper at 80×24 and 120×40."""

import pytest

from tests.tui_helpers import drawn_lines, fake_app, settle, wait_until
from tuirunner.events import State
from tuirunner.tui.widgets.key_bar import KeyBar

FIVE = (
    "release: python manage.py migrate\n"
    "web: python manage.py runserver $PORT\n"
    "worker: python manage.py worker\n"
    "mail: python -m aiosmtpd -n\n"
    "beat: python manage.py beat\n"
)
SIZES = [(80, 24), (120, 40)]


def key_bar_text(app) -> str:
    """What the key bar shows: its line cut at its width, as the terminal cuts it."""
    bar = app.screen.query_one(KeyBar)
    text = bar.render()
    text.truncate(bar.size.width, overflow="ellipsis")
    return text.plain


@pytest.mark.parametrize("size", [(60, 24), *SIZES])
async def test_the_key_bar_keeps_detach_and_quit(tmp_path, size):
    app, _ = fake_app(tmp_path, FIVE)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        text = key_bar_text(app)
        assert "d Detach" in text and "q Quit" in text, text
        assert "r Restart" in text  # the first keys stay while they fit
        await pilot.press("i")  # input mode: the way out is shown too
        await settle(pilot)
        text = key_bar_text(app)
        assert "Leave input mode" in text and "q Quit" not in text, text
        assert "Leave input mode" in drawn_bar(app)  # what the screen gets, not a fresh render


async def test_the_key_bar_is_drawn_again_only_when_its_keys_change(tmp_path):
    app, _ = fake_app(tmp_path, FIVE)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        bar = app.screen.query_one(KeyBar)
        first = drawn_bar(app)
        assert "q Quit" in first
        drawn = bar._kept
        await pilot.press("2")  # another pane: the same keys
        await settle(pilot)
        assert bar._kept is drawn and drawn_bar(app) == first
        await pilot.press("i")
        await settle(pilot)
        assert "Leave input mode" in drawn_bar(app)
        await pilot.press("escape")  # out of input mode: the keys come back
        await settle(pilot)
        assert drawn_bar(app) == first


def drawn_bar(app) -> str:
    """The key bar's line as it was last drawn (kept strips, or a new render if none)."""
    return drawn_lines(app.screen.query_one(KeyBar))[0].text


@pytest.mark.parametrize("size", SIZES)
async def test_a_header_gives_up_resources_and_uptime_before_ready(tmp_path, size):
    app, fake = fake_app(
        tmp_path, "web: runserver\nworker: w\nmail: m\nrelease: r\n", resources=True
    )
    fake.set(
        "web.1", ready=True, cpu=12, memory=123_456_789, ports=(5000, 5001, 5002), start_count=4
    )
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: app.client.get("web.1").ready)
        await settle(pilot)
        header = app.pane("web.1").header_text()
        assert "running" in header and "ready" in header, header
        assert header.index("ready") < header.index("↻ 3"), header


@pytest.mark.parametrize("size", SIZES)
async def test_one_esc_leaves_the_innermost_mode_input_then_search_then_zoom(tmp_path, size):
    app, _ = fake_app(tmp_path, "web: runserver\nworker: w\n")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        web = app.pane("web.1")
        await pilot.press("z")
        await pilot.press("i")
        await settle(pilot)
        assert app.zoomed_pane is web and "INPUT" in web.header_text()
        await pilot.press("escape")  # input mode goes; zoom stays
        await settle(pilot)
        assert app.input_target is None and "INPUT" not in web.header_text()
        assert app.zoomed_pane is web
        await pilot.press("slash")
        await settle(pilot)
        assert web.searching
        await pilot.press("escape")  # the search bar goes; zoom stays
        await settle(pilot)
        assert not web.searching and app.zoomed_pane is web
        await pilot.press("escape")  # then zoom
        await settle(pilot)
        assert app.zoomed_pane is None
        assert app.pane("worker.1").display


@pytest.mark.parametrize("size", SIZES)
async def test_a_completed_oneshot_collapses_to_a_line_and_comes_back(tmp_path, size):
    app, fake = fake_app(tmp_path, FIVE)
    fake.set("release.1", oneshot=True)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        web = app.pane("web.1")
        before = web.size
        assert app.pane("release.1").display
        fake.exit("release.1", 0)
        await wait_until(pilot, lambda: not app.pane("release.1").display, message="collapse")
        await settle(pilot)
        row = app.query_one("#collapsed")
        assert row.display and "1 release.1 completed" in row.plain()
        assert web.size.width * web.size.height > before.width * before.height  # space back
        assert "d Detach" in key_bar_text(app)
        # On focus (its number key) it comes back; when focus leaves, it collapses again.
        await pilot.press("1")
        await settle(pilot)
        assert app.pane("release.1").display and app.current == "release.1"
        await pilot.press("2")
        await settle(pilot)
        assert not app.pane("release.1").display
        # It runs again: its pane is back.
        fake.run("release.1")
        await wait_until(pilot, lambda: app.pane("release.1").display, message="its pane back")
        assert not row.display
        assert app.client.get("release.1").state is State.RUNNING
