"""Reading the output: the merged view, the time column, following again after a search or a
zoom, and saving a scrollback (pilot tests over a scripted keeper)."""

from __future__ import annotations

import re

from tests.tui_helpers import fake_app, notifications, screen_text, settle, wait_until
from tuirunner.merge import clock_time
from tuirunner.output import strip_ansi as plain
from tuirunner.tui.screens.merged import MergedScreen

SIZE = (120, 40)
PROCFILE = "web: x\nworker: y\nclock: z\n"
T0 = 1_780_000_000.0
TRACEBACK = (
    "Traceback (most recent call last):",
    '  File "app.py", line 3, in view',
    "    boom()",
    "ValueError: boom",
)


def feed_three(fake) -> None:
    """Three processes' lines, their arrival times interleaved."""
    fake.print("web.1", "web one", at=T0 + 1)
    fake.print("worker.1", "worker one", at=T0 + 2)
    fake.print("clock.1", "clock one", at=T0 + 3)
    fake.print("web.1", "web two", at=T0 + 4)
    fake.print("worker.1", "worker two", "worker three", at=T0 + 5)


def rows(view) -> list[str]:
    return [line.rstrip() for line in screen_text(view).splitlines() if line.strip()]


async def open_merged(pilot, app) -> MergedScreen:
    await pilot.press("m")
    await wait_until(pilot, lambda: isinstance(app.screen, MergedScreen), message="merged view")
    await settle(pilot)
    return app.screen


async def test_the_merged_view_interleaves_processes_in_arrival_order(tmp_path):
    app, fake = fake_app(tmp_path, PROCFILE)
    async with app.run_test(size=SIZE) as pilot:
        feed_three(fake)
        await wait_until(pilot, lambda: app.client.get("worker.1").buffer.total == 3)
        screen = await open_merged(pilot, app)
        shown = [r for r in rows(screen.view) if "system" not in r]
        assert shown == [
            "web.1    | web one",
            "worker.1 | worker one",
            "clock.1  | clock one",
            "web.1    | web two",
            "worker.1 | worker two",
            "worker.1 | worker three",
        ]
        # State changes are system lines, as plain mode prints them: the starts before the view
        # was opened too (with honcho's words, as the later ones).
        started = [r for r in rows(screen.view) if "system" in r and "started" in r]
        assert started and all(re.search(r"\.1 started \(pid=\d+\)$", r) for r in started)
        fake.exit("clock.1", 3)
        await wait_until(pilot, lambda: "clock.1 stopped (rc=3)" in screen_text(screen.view))
        # New output follows, in order.
        fake.print("clock.1", "late line")
        await wait_until(pilot, lambda: rows(screen.view)[-1] == "clock.1  | late line")
        assert screen.view.follow
        # The process keeps its colour (printer.COLOURS: web cyan, worker yellow).
        strip = screen.view.render_line(0)
        colours = {seg.style.color.number for seg in strip if seg.style and seg.style.color}
        assert 6 in colours  # cyan


async def test_processes_are_hidden_shown_and_shown_alone(tmp_path):
    app, fake = fake_app(tmp_path, PROCFILE)
    async with app.run_test(size=SIZE) as pilot:
        feed_three(fake)
        await wait_until(pilot, lambda: app.client.get("worker.1").buffer.total == 3)
        screen = await open_merged(pilot, app)
        await pilot.press("2")  # hide worker.1
        await settle(pilot)
        assert not any("worker.1 |" in r for r in rows(screen.view))
        assert "web.1    | web two" in rows(screen.view)
        await pilot.press("o", "3")  # only clock.1
        await settle(pilot)
        assert [r for r in rows(screen.view) if "system" not in r] == ["clock.1  | clock one"]
        await pilot.press("a")
        await settle(pilot)
        assert sum("| " in r and "system" not in r for r in rows(screen.view)) == 6
        # A click on a name toggles it too.
        await pilot.click("#merged-sources", offset=(3, 0))  # "1 web.1"
        await settle(pilot)
        assert not any(r.startswith("web.1") for r in rows(screen.view))


async def test_a_traceback_in_the_merged_view_is_one_block_with_its_frames(tmp_path):
    """The merged view finds tracebacks in the lines as printed (the ``name |`` prefix does not
    hide the frames), and finds them again when the merge is redone."""
    app, fake = fake_app(tmp_path, PROCFILE)
    async with app.run_test(size=SIZE) as pilot:
        feed_three(fake)
        fake.print("web.1", *TRACEBACK, at=T0 + 6)
        await wait_until(pilot, lambda: app.client.get("web.1").buffer.total == 6)
        screen = await open_merged(pilot, app)
        view = screen.view

        def the_block():
            view._scan_tracebacks()
            assert view.tracebacks is not None
            [block] = view.tracebacks.blocks
            assert [f.line for f in block.frames] == [3]
            assert block.exception == "ValueError: boom"
            return [plain(view.buffer.line(i)) for i in (block.start, block.end)]

        assert the_block() == [
            "web.1    | Traceback (most recent call last):",
            "web.1    | ValueError: boom",
        ]
        await pilot.press("2")  # hide worker.1: the rows are merged again
        await settle(pilot)
        assert the_block()[0] == "web.1    | Traceback (most recent call last):"


async def test_search_in_the_merged_view_says_which_process_matched(tmp_path):
    app, fake = fake_app(tmp_path, PROCFILE)
    async with app.run_test(size=SIZE) as pilot:
        feed_three(fake)
        fake.print("web.1", *(f"filler {i}" for i in range(100)))
        await wait_until(pilot, lambda: app.client.get("web.1").buffer.total == 102)
        screen = await open_merged(pilot, app)
        assert screen.view.follow
        await pilot.press("slash", *"clock one")
        await settle(pilot)
        assert "1/1 · clock.1" in str(screen.match_label.render())
        assert not screen.view.follow  # it scrolled to the match
        assert "clock.1  | clock one" in screen_text(screen.view)
        await pilot.press("escape")  # closing the search: following again
        await settle(pilot)
        assert screen.view.follow and "filler 99" in screen_text(screen.view)
        assert "following" in str(screen.position_bar.render())
        await pilot.press("escape")  # back to the panes
        await wait_until(pilot, lambda: not isinstance(app.screen, MergedScreen))


async def test_t_shows_when_each_line_came_in_panes_and_the_merged_view(tmp_path):
    app, fake = fake_app(tmp_path, PROCFILE)
    async with app.run_test(size=SIZE) as pilot:
        feed_three(fake)
        await wait_until(pilot, lambda: app.client.get("worker.1").buffer.total == 3)
        await settle(pilot)
        view = app.pane("web.1").view
        assert rows(view)[0] == "web one"
        await pilot.press("t")
        await settle(pilot)
        assert rows(view)[0] == f"{clock_time(T0 + 1)} web one"
        assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3} web one", rows(view)[0])
        screen = await open_merged(pilot, app)
        assert f"{clock_time(T0 + 2)} worker.1 | worker one" in rows(screen.view)
        await pilot.press("t")
        await settle(pilot)
        assert "worker.1 | worker one" in rows(screen.view)
        await pilot.press("m")
        await wait_until(pilot, lambda: not isinstance(app.screen, MergedScreen))
        await settle(pilot)
        assert rows(view)[0] == "web one"


async def test_closing_a_search_or_leaving_zoom_follows_again(tmp_path):
    app, fake = fake_app(tmp_path, "web: x\nworker: y\n")
    async with app.run_test(size=SIZE) as pilot:
        fake.print("web.1", *(f"line {i}" for i in range(200)))
        await wait_until(pilot, lambda: app.client.get("web.1").buffer.total == 200)
        await settle(pilot)
        pane = app.pane("web.1")
        await pilot.press("slash", *"line 3")
        await settle(pilot)
        assert not pane.view.follow
        await pilot.press("escape")
        await settle(pilot)
        assert pane.view.follow and "line 199" in screen_text(pane.view)
        assert "following" in str(pane.unseen_bar.render())
        fake.print("web.1", "after the search")
        await wait_until(pilot, lambda: "after the search" in screen_text(pane.view))
        # Zoom in and out: still following, new lines shown.
        await pilot.press("z")
        await settle(pilot)
        await pilot.press("z")
        await settle(pilot)
        fake.print("web.1", "after the zoom")
        await wait_until(pilot, lambda: "after the zoom" in screen_text(pane.view))
        assert pane.view.follow
        # Scrolled up by the user, a search closed leaves it where the user put it.
        pane.view.scroll_to(y=10, animate=False, immediate=True)
        await settle(pilot)
        assert not pane.view.follow
        assert "lines 11–" in str(pane.unseen_bar.render())
        await pilot.press("slash", *"line 5")
        await pilot.press("escape")
        await settle(pilot)
        assert not pane.view.follow


async def test_save_writes_the_whole_scrollback_as_plain_text(tmp_path):
    app, fake = fake_app(tmp_path, PROCFILE)
    async with app.run_test(size=SIZE) as pilot:
        fake.print("web.1", "\x1b[31mred\x1b[0m line", at=T0)
        fake.print("web.1", *(f"line {i}" for i in range(300)), at=T0 + 1)
        fake.print("worker.1", "worker says", at=T0 + 2)
        await wait_until(pilot, lambda: app.client.get("worker.1").buffer.total == 1)
        await settle(pilot)
        app.focus_process("web.1")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: any("Saved 301 lines" in n for n in notifications(app)))
        saved = sorted(tmp_path.glob("tuirunner-web.1-*.log"))
        assert len(saved) == 1 and str(saved[0]) in notifications(app)[-1]
        text = saved[0].read_text()
        assert text.splitlines()[0] == "red line" and "\x1b" not in text
        assert text.splitlines()[-1] == "line 299"
        assert saved[0].stat().st_mode & 0o777 == 0o600
        # The merged view, with times shown: as shown.
        await pilot.press("t")
        await open_merged(pilot, app)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: list(tmp_path.glob("tuirunner-merged-*.log")))
        merged = next(tmp_path.glob("tuirunner-merged-*.log")).read_text().splitlines()
        body = [line for line in merged if "system" not in line]
        assert body[0] == f"{clock_time(T0)} web.1    | red line"
        assert body[-1] == f"{clock_time(T0 + 2)} worker.1 | worker says"
        assert len(body) == 302
