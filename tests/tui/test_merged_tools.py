"""The merged view reads like a pane: filters (f, g, F) with the hidden-line count, wrap (w,
remembered), traceback jumps ([, ]); and a remembered wrap is applied when the app starts
(pilot tests over a scripted keeper)."""

from __future__ import annotations

from tests.tui.test_reading import PROCFILE, T0, TRACEBACK, feed_three, open_merged, rows
from tests.tui_helpers import fake_app, screen_text, settle, wait_until

LONG = "".join(f"{n:03d}-word " for n in range(40))[:290] + "NEEDLE-END"  # 300 characters


async def type_text(pilot, text: str) -> None:
    for char in text:
        await pilot.press(char if char != " " else "space")


async def test_filters_in_the_merged_view_hide_count_and_clear(tmp_path):
    app, fake = fake_app(tmp_path, PROCFILE)
    async with app.run_test(size=(120, 40)) as pilot:
        feed_three(fake)
        await wait_until(pilot, lambda: app.client.get("worker.1").buffer.total == 3)
        screen = await open_merged(pilot, app)
        await pilot.press("f")
        assert screen.filtering and screen.focused is screen.filter_input
        await type_text(pilot, "two")
        await pilot.press("enter")
        await settle(pilot)
        assert not screen.filtering and screen.focused is screen.view
        shown = [r for r in rows(screen.view) if "|" in r]
        assert not any("two" in r for r in shown) and any("worker three" in r for r in shown)
        assert screen.view.hidden_lines == 2
        assert "2 lines hidden" in str(screen.filter_status.render())
        # Show only (a regex) on top of it: the prefix is part of the line as shown.
        await pilot.press("g")
        await type_text(pilot, "/^worker/")
        await pilot.press("enter")
        await settle(pilot)
        assert [r for r in rows(screen.view) if "|" in r] == [
            "worker.1 | worker one",
            "worker.1 | worker three",
        ]
        # Hiding a process merges the rows again: the filters still hold, the count follows.
        await pilot.press("1")  # hide web.1
        await settle(pilot)
        assert [r for r in rows(screen.view) if "|" in r] == [
            "worker.1 | worker one",
            "worker.1 | worker three",
        ]
        await pilot.press("a")
        await settle(pilot)
        # F clears both; the panes' filters were never touched.
        await pilot.press("F")
        await settle(pilot)
        assert not screen.view.line_filter
        assert any("worker two" in r for r in rows(screen.view))
        assert not screen.filter_status.has_class("-visible")
        assert not app.pane("worker.1").view.line_filter
        # Esc with no bar open goes back to the panes.
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.merged_screen is None, message="back to the panes")


async def test_wrap_in_the_merged_view_is_remembered_for_it(tmp_path):
    app, fake = fake_app(tmp_path, PROCFILE)
    async with app.run_test(size=(60, 20)) as pilot:
        fake.print("web.1", "first", LONG, "last", at=T0 + 1)
        await wait_until(pilot, lambda: app.client.get("web.1").buffer.total == 3)
        screen = await open_merged(pilot, app)
        view = screen.view
        assert not view.wrap and view.virtual_size.width > view.size.width
        await pilot.press("w")
        await settle(pilot)
        width = view.scrollable_content_region.width
        assert view.wrap and view.virtual_size.width == width  # no horizontal scrolling
        assert "NEEDLE-END" in screen_text(view)
        assert app.preferences.wrap == {"merged view": True}  # not a process type's choice
        assert not app.pane("web.1").view.wrap
        # Closed and opened again: still wrapped.
        await pilot.press("m")
        await wait_until(pilot, lambda: app.merged_screen is None, message="the panes")
        screen = await open_merged(pilot, app)
        assert screen.view.wrap and "NEEDLE-END" in screen_text(screen.view)


async def test_a_remembered_wrap_is_applied_when_the_app_starts(tmp_path):
    app, fake = fake_app(tmp_path, "web: runserver\nworker: celery\n")
    app.preferences.wrap = {"web": True}
    fake.print("web.1", LONG)
    fake.print("worker.1", LONG)
    async with app.run_test(size=(60, 30)) as pilot:
        web, worker = app.pane("web.1").view, app.pane("worker.1").view
        await wait_until(pilot, lambda: "NEEDLE-END" in screen_text(web), message="wrapped")
        assert web.wrap and web.virtual_size.width == web.scrollable_content_region.width
        assert not worker.wrap and "NEEDLE-END" not in screen_text(worker)


async def test_traceback_keys_jump_in_the_merged_view(tmp_path):
    app, fake = fake_app(tmp_path, PROCFILE)
    async with app.run_test(size=(120, 16)) as pilot:
        fake.print("web.1", *TRACEBACK, at=T0 + 1)
        fake.print("worker.1", *(f"worker {n}" for n in range(40)), at=T0 + 2)
        await wait_until(pilot, lambda: app.client.get("worker.1").buffer.total == 40)
        screen = await open_merged(pilot, app)
        assert "ValueError" not in screen_text(screen.view)  # scrolled off the top
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert "web.1    | ValueError: boom" in screen_text(screen.view)
        assert not screen.view.follow


async def test_e_on_a_clicked_file_line_opens_it_from_the_merged_view_and_with_times(tmp_path):
    """A `File "…", line N` line outside a recognised traceback (a logger's stack excerpt) is
    opened where it was clicked: in the merged view (behind its `name |` prefix) and in a pane
    showing times."""
    from tests.tui.test_output_reading import stub_editor

    (tmp_path / "tuirunner.toml").write_text(
        'editor = "' + stub_editor(tmp_path)[0] + ' --goto {file}:{line}"\n'
    )
    record = tmp_path / "editor-args.txt"
    app, fake = fake_app(tmp_path, PROCFILE)
    async with app.run_test(size=(120, 20)) as pilot:
        fake.print("web.1", "slow query, called from:", '  File "app/db.py", line 7, in get')
        await wait_until(pilot, lambda: app.client.get("web.1").buffer.total == 2)
        screen = await open_merged(pilot, app)
        row = next(i for i, r in enumerate(screen_text(screen.view).splitlines()) if "db.py" in r)
        await pilot.click(screen.view, offset=(14, row))
        await pilot.press("E")
        await wait_until(
            pilot,
            lambda: record.exists() and record.read_text().endswith("\n"),
            message="the editor",
        )
        assert record.read_text().splitlines() == ["--goto", f"{tmp_path}/app/db.py:7"]
        record.unlink()
        await pilot.press("m", "t")  # the panes, with times
        await wait_until(pilot, lambda: app.merged_screen is None and app.show_time)
        view = app.pane("web.1").view
        await settle(pilot)
        row = next(i for i, r in enumerate(screen_text(view).splitlines()) if "db.py" in r)
        await pilot.click(view, offset=(16, row))
        await pilot.press("E")
        await wait_until(
            pilot,
            lambda: record.exists() and record.read_text().endswith("\n"),
            message="the editor again",
        )
        assert record.read_text().splitlines() == ["--goto", f"{tmp_path}/app/db.py:7"]
