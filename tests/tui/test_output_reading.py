"""Reading the output (issue 18, part B): filters, wrap, traceback blocks and the editor, links,
attention marks. Pilot tests over the scripted keeper, and snapshots of what they show."""

from __future__ import annotations

import os
import stat
import webbrowser

import pytest
from textual.geometry import Offset
from textual.selection import Selection

from tests.tui.test_snapshots import WEB_LINES, app_for, settled
from tests.tui_helpers import (
    SnapshotApp,
    drawn_lines,
    fake_app,
    notifications,
    screen_text,
    settle,
    wait_until,
)
from tuirunner.events import State

STATIC = [f'[05/Dec/2026 10:00:0{n}] "GET /static/app{n}.css HTTP/1.1" 200 10' for n in range(3)]
REQUESTS = [
    '[05/Dec/2026 10:00:05] "GET / HTTP/1.1" 200 1234',
    *STATIC,
    '[05/Dec/2026 10:00:06] "GET /about/ HTTP/1.1" 404 12',
    '[05/Dec/2026 10:00:07] "POST /login/ HTTP/1.1" 302 0',
]


def traceback_lines(root) -> list[str]:
    return [
        "Internal Server Error: /boom/",
        "Traceback (most recent call last):",
        '  File "/venv/lib/python3.12/site-packages/django/core/handlers/exception.py", '
        "line 55, in inner",
        "    response = get_response(request)",
        f'  File "{root}/greetings/views.py", line 12, in boom',
        '    raise ValueError("boom")',
        '  File "/venv/lib/python3.12/site-packages/django/utils/x.py", line 3, in f',
        "    pass",
        "ValueError: boom",
        '[05/Dec/2026 10:00:09] "GET /boom/ HTTP/1.1" 500 145',
    ]


def output_of(view) -> str:
    return view.visible_text()


async def type_text(pilot, text: str) -> None:
    for char in text:
        await pilot.press(char if char != " " else "space")


# --- filters ---------------------------------------------------------------------------------


async def test_a_hide_filter_hides_and_counts_and_x_shows_everything_again(tmp_path):
    app, fake = fake_app(tmp_path, "web: runserver\n")
    fake.print("web.1", *REQUESTS)
    async with app.run_test(size=(100, 24)) as pilot:
        pane = app.pane("web.1")
        await wait_until(pilot, lambda: "POST" in output_of(pane.view))
        await pilot.press("f")
        assert pane.filtering
        await type_text(pilot, '"GET /static/')
        await pilot.press("enter")
        await settle(pilot)
        assert not pane.filtering
        shown = output_of(pane.view)
        assert "static" not in shown and "GET / HTTP" in shown and "POST" in shown
        assert pane.view.hidden_lines == 3
        assert "3 lines hidden" in str(pane.filter_status.render())
        # A line that arrives and matches is hidden too, and counted.
        fake.print("web.1", STATIC[0], "after")
        await wait_until(pilot, lambda: pane.view.hidden_lines == 4)
        assert "after" in output_of(pane.view)
        # Show only (a regex), on top of the hide filter.
        await pilot.press("g")
        await type_text(pilot, "/ (404|302) /")
        await pilot.press("enter")
        await settle(pilot)
        assert output_of(pane.view).splitlines() == [REQUESTS[4], REQUESTS[5]]
        # Search does not find what is hidden.
        pane.view.set_search("GET /")
        assert pane.view.search is not None and len(pane.view.search.matches) == 1
        pane.view.set_search(None)
        await pilot.press("F")
        await settle(pilot)
        assert not pane.view.line_filter and "static" in output_of(pane.view)
        assert not pane.filter_status.has_class("-visible")


async def test_esc_in_the_filter_bar_puts_the_last_filter_back_and_a_bad_regex_is_said(tmp_path):
    app, fake = fake_app(tmp_path, "web: runserver\n")
    fake.print("web.1", *REQUESTS)
    async with app.run_test(size=(100, 24)) as pilot:
        pane = app.pane("web.1")
        await wait_until(pilot, lambda: "POST" in output_of(pane.view))
        await pilot.press("f")
        await type_text(pilot, "/(/")
        assert "invalid regular expression" in str(pane.filter_label.render())
        await pilot.press("escape")
        assert not pane.view.line_filter and not pane.filtering
        assert app.focused is pane.view


def test_snapshot_filtered_pane(tmp_path, snap_compare):
    app, fake = app_for(tmp_path, "web: runserver\n")
    fake.print("web.1", *REQUESTS)

    async def run_before(pilot):
        await settled(lambda app: "POST" in app.client.get("web.1").buffer.snapshot()[-1])(pilot)
        await pilot.press("f")
        await type_text(pilot, "static")
        await pilot.press("enter")
        await settled()(pilot)

    assert snap_compare(app, terminal_size=(90, 16), run_before=run_before)


# --- wrap ------------------------------------------------------------------------------------

LONG = "".join(f"{n:03d}-word " for n in range(40))[:290] + "NEEDLE-END"  # 300 characters


async def test_wrap_a_300_character_line_in_a_40_column_pane_search_and_copy(tmp_path):
    app, fake = fake_app(tmp_path, "web: runserver\n")
    fake.print("web.1", "first", LONG, "last")
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    async with app.run_test(size=(40, 20)) as pilot:
        view = app.pane("web.1").view
        await wait_until(pilot, lambda: "last" in output_of(view))
        assert len(LONG) == 300
        assert not view.wrap  # no traceback here: only `w` wraps
        await pilot.press("w")
        await settle(pilot)
        width = view.scrollable_content_region.width
        rows = -(-300 // width)
        assert view.wrap and view.virtual_size.height == rows + 2
        assert view.virtual_size.width == width  # no horizontal scrolling
        shown = screen_text(view).splitlines()
        assert shown[1] == LONG[:width] and shown[rows] == LONG[(rows - 1) * width :].ljust(width)
        # Search finds the end of the long line and shows its row.
        view.set_search("NEEDLE")
        await settle(pilot)
        assert "NEEDLE" in screen_text(view)
        view.set_search(None)
        # Copy without a selection: the original lines, not the rows.
        await pilot.press("c")
        assert copied[-1].splitlines() == ["first", LONG, "last"]
        # A selection across rows of the wrapped line copies it as one line.
        app.screen.selections = {view: Selection(Offset(0, 1), Offset(300, 1))}
        assert app.screen.get_selected_text() == LONG
        # The choice is remembered per process type, with the theme.
        assert app.preferences.wrap == {"web": True}
        assert '"wrap": {"web": true}' in (tmp_path / "tui.json").read_text()
        await pilot.press("w")
        await settle(pilot)
        assert not view.wrap and view.virtual_size.height == 3


def test_snapshot_wrapped_line_in_40_columns(tmp_path, snap_compare):
    app, fake = app_for(tmp_path, "web: runserver\n")
    fake.print("web.1", "first", LONG, "last")

    async def run_before(pilot):
        await settled(lambda app: "last" in app.client.get("web.1").buffer.snapshot())(pilot)
        await pilot.press("w")
        await settled()(pilot)

    assert snap_compare(app, terminal_size=(40, 16), run_before=run_before)


# --- tracebacks ------------------------------------------------------------------------------


def stub_editor(tmp_path) -> tuple[str, os.PathLike]:
    record = tmp_path / "editor-args.txt"
    script = tmp_path / "stub-editor"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script), record


async def test_a_traceback_is_found_jumped_to_and_opened_in_the_editor(tmp_path, monkeypatch):
    editor, record = stub_editor(tmp_path)
    monkeypatch.setenv("EDITOR", editor)
    monkeypatch.delenv("VISUAL", raising=False)
    app, fake = fake_app(tmp_path, "web: runserver\n", app_class=SnapshotApp)
    fake.print("web.1", *WEB_LINES, *traceback_lines(tmp_path), *(f"line {n}" for n in range(60)))
    async with app.run_test(size=(100, 20)) as pilot:
        pane = app.pane("web.1")
        view = pane.view
        await wait_until(pilot, lambda: "line 59" in output_of(view))
        assert "✖ error 10:00:00" in pane.header_text()  # it logged an error
        assert view.follow
        await pilot.press("left_square_bracket")
        await settle(pilot)
        block = view.current_block
        assert block is not None and block.exception == "ValueError: boom"
        assert block.start == len(WEB_LINES)  # from "Internal Server Error"
        assert "Internal Server Error: /boom/" in output_of(view) and not view.follow
        await pilot.press("E")
        await wait_until(pilot, lambda: record.exists() and record.read_text().endswith("\n"))
        # The block's last frame in the project's code, not Django's.
        assert record.read_text().splitlines() == ["+12", f"{tmp_path}/greetings/views.py"]
        # No other block either way.
        await pilot.press("right_square_bracket")
        assert "No traceback after this one" in notifications(app)
        # An autoreload ends the error.
        fake.print("web.1", "Watching for file changes with StatReloader")
        await wait_until(pilot, lambda: "error" not in pane.header_text())
        # So does a new start, straight to running (no ready check: no "starting" between).
        fake.print("web.1", *traceback_lines(tmp_path))
        await wait_until(pilot, lambda: "✖ error" in pane.header_text())
        fake.exit("web.1", 1)
        fake.run("web.1")
        await wait_until(pilot, lambda: "✖ error" not in pane.header_text())


async def test_after_end_the_newest_traceback_is_the_one_jumped_to(tmp_path):
    app, fake = fake_app(tmp_path, "web: runserver\n")
    first = [
        line.replace("ValueError: boom", "ValueError: first") for line in traceback_lines(tmp_path)
    ]
    fake.print("web.1", *first, *(f"line {n}" for n in range(40)))
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.pane("web.1").view
        await wait_until(pilot, lambda: "line 39" in output_of(view))
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert (
            view.current_block is not None and view.current_block.exception == "ValueError: first"
        )
        await pilot.press("end")  # back to the end: what was looked at is forgotten
        fake.print("web.1", *traceback_lines(tmp_path), "after")
        await wait_until(pilot, lambda: "after" in output_of(view))
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert view.current_block is not None and view.current_block.exception == "ValueError: boom"


async def test_a_clicked_file_line_is_the_one_opened_with_the_editor_setting(tmp_path):
    (tmp_path / "tuirunner.toml").write_text(
        'editor = "' + stub_editor(tmp_path)[0] + ' --goto {file}:{line}"\n'
    )
    record = tmp_path / "editor-args.txt"
    app, fake = fake_app(tmp_path, "web: runserver\n")
    lines = traceback_lines(tmp_path)
    fake.print("web.1", *lines)
    async with app.run_test(size=(120, 20)) as pilot:
        view = app.pane("web.1").view
        await wait_until(pilot, lambda: "500" in output_of(view))
        django_frame = lines.index(next(x for x in lines if "exception.py" in x))
        await pilot.click(view, offset=(4, django_frame))
        await pilot.press("E")
        await wait_until(pilot, lambda: record.exists() and record.read_text().endswith("\n"))
        path = "/venv/lib/python3.12/site-packages/django/core/handlers/exception.py"
        assert record.read_text().splitlines() == ["--goto", f"{path}:55"]


def test_snapshot_traceback_block_jumped_to_in_a_narrow_pane(tmp_path, snap_compare):
    procfile = "web: runserver\nworker: work\n"
    app, fake = app_for(tmp_path, procfile)
    fake.print("web.1", *traceback_lines("/app"), "after")
    fake.print("worker.1", "working")

    async def run_before(pilot):
        await settled(lambda app: "after" in app.client.get("web.1").buffer.snapshot())(pilot)
        await pilot.press("left_square_bracket")
        await settled()(pilot)

    # 60-column panes: the traceback's lines wrap (the others do not).
    assert snap_compare(app, terminal_size=(120, 24), run_before=run_before)


# --- links -----------------------------------------------------------------------------------


async def test_a_click_on_a_url_and_o_reach_the_browser(tmp_path, monkeypatch):
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url) or True)
    monkeypatch.setenv("DISPLAY", ":0")
    app, fake = fake_app(tmp_path, "web: runserver\n")
    fake.print("web.1", *WEB_LINES)
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.pane("web.1").view
        await wait_until(pilot, lambda: "GET /" in output_of(view))
        row = output_of(view).splitlines().index(WEB_LINES[4])
        column = WEB_LINES[4].index("http") + 5
        await pilot.hover(view, offset=(column, row))
        assert view._hover_link is not None  # underlined under the mouse
        await pilot.click(view, offset=(column, row))
        await wait_until(pilot, lambda: opened == ["http://127.0.0.1:5000/"])
        await pilot.click(view, offset=(2, row))  # not on the URL
        await pilot.press("o")
        port = app.client.get("web.1").port
        await wait_until(pilot, lambda: len(opened) == 2)
        assert opened[1] == f"http://127.0.0.1:{port}/"


async def test_no_browser_says_so_and_copies_the_url(tmp_path, monkeypatch):
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: False)
    monkeypatch.setenv("DISPLAY", ":0")
    app, _fake = fake_app(tmp_path, "web: runserver\n")
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    async with app.run_test(size=(100, 20)) as pilot:
        await pilot.press("o")
        await wait_until(pilot, lambda: copied)
        assert any("No browser found" in n for n in notifications(app))


# --- attention -------------------------------------------------------------------------------


async def test_attention_marks_are_set_when_not_looked_at_and_cleared_when_looked_at(tmp_path):
    app, fake = fake_app(tmp_path, "web: runserver\nworker: work\nshell: python\n")
    async with app.run_test(size=(150, 30)) as pilot:
        await settle(pilot)
        web, worker = app.pane("web.1"), app.pane("worker.1")
        # Tiled and shown: new lines are seen, no mark.
        fake.print("worker.1", "hello")
        await wait_until(pilot, lambda: "hello" in worker.view.visible_text())
        assert app.attention("worker.1") == ""
        # A traceback in an unfocused pane is marked, though.
        fake.print("worker.1", *traceback_lines(tmp_path)[1:-1])
        await wait_until(pilot, lambda: app.attention("worker.1") == "alert")
        assert worker.header_text().startswith("▲")
        # Zoomed on web: the others are hidden; output, a prompt, a crash mark them.
        await pilot.press("z")
        fake.print("web.1", "seen")  # web is looked at: no mark
        fake.write("shell.1", b">>> ")
        await wait_until(pilot, lambda: app.attention("shell.1") == "alert")
        assert app.attention("web.1") == ""
        await pilot.press("z")
        await pilot.press("2")  # look at worker
        await wait_until(pilot, lambda: app.attention("worker.1") == "")
        assert not worker.header_text().startswith("▲")
        await pilot.press("1")
        await pilot.press("z")
        fake.print("worker.1", "more")
        await wait_until(pilot, lambda: app.attention("worker.1") == "output")
        assert worker.header_text().startswith("●")
        fake.exit("worker.1", 3)
        await wait_until(pilot, lambda: app.attention("worker.1") == "alert")
        assert web.header.attention == ""


async def test_list_mode_marks_hidden_processes_and_a_crash_can_ring(tmp_path):
    (tmp_path / "tuirunner.toml").write_text('notify_on_crash = "bell"\n')
    app, fake = fake_app(tmp_path, "web: a\nworker: b\n", concurrency="worker=11")
    rings: list[int] = []
    app.bell = lambda: rings.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert app.list_mode
        fake.print("worker.3", "new")
        await wait_until(pilot, lambda: app.process_list.attention.get("worker.3") == "output")
        # The list makes a line again when it next paints it (cheap with 1,000 processes).
        option = app.process_list.get_option
        await wait_until(pilot, lambda: str(option("process-3").prompt).startswith("• "))
        # Its line alone is painted again, and the screen shows the mark.
        await wait_until(pilot, lambda: drawn_lines(app.process_list)[3].text.startswith("• "))
        assert "worker.4" in drawn_lines(app.process_list)[4].text
        fake.exit("worker.5", 1)
        await wait_until(pilot, lambda: app.attention("worker.5") == "alert")
        assert rings == [1]
        await pilot.press("4")  # worker.3
        await wait_until(pilot, lambda: app.attention("worker.3") == "")
        await wait_until(pilot, lambda: "•" not in drawn_lines(app.process_list)[3].text)
        assert app.client.get("worker.5").state is State.EXITED


# --- the row map -----------------------------------------------------------------------------


def test_the_row_map_filters_wraps_and_follows_the_buffer():
    from tuirunner.output import OutputBuffer
    from tuirunner.tui.widgets.output_layout import LineFilter, Matcher, RowMap

    buffer = OutputBuffer(maxlen=4)
    buffer.feed(
        b"keep 1\r\nGET /static/a\r\n" + b"x" * 25 + b"\r\nwide \xe4\xb8\xad\xe4\xb8\xad\r\n"
    )
    rowmap = RowMap(LineFilter(hide=Matcher.parse("/static/")), wrap=10)
    assert rowmap.update(buffer) == 0
    assert rowmap.lines == [0, 2, 3] and rowmap.hidden == 1
    # 25 cells: three rows; "wide 中中" is 9 cells: one.
    assert [(rowmap.index[r], rowmap.start[r]) for r in range(rowmap.count)] == [
        (0, 0),
        (2, 0),
        (2, 10),
        (2, 20),
        (3, 0),
    ]
    assert rowmap.row_of(3) == 4 and rowmap.row(2, buffer.total) == (2, 10, 1)
    buffer.feed(b"more\r\nprompt> ")  # line 0 falls off; the partial line is shown
    assert rowmap.update(buffer) == 1  # one row dropped at the top
    assert rowmap.lines == [2, 3, 4] and rowmap.count == 6
    assert rowmap.row(5, buffer.total) == (5, 0, 3)  # the partial line, last
    only = RowMap(LineFilter(only=Matcher.parse("MORE")), wrap=None)
    only.update(buffer)
    assert only.lines == [4] and only.start == [-1] and only.hidden == 4
    with pytest.raises(ValueError, match="invalid regular expression"):
        Matcher.parse("/[/")


async def test_a_selection_is_painted_on_the_lines_it_covers_and_goes_when_cleared(tmp_path):
    app, fake = fake_app(tmp_path, "web: runserver\n")
    fake.print("web.1", *REQUESTS)
    async with app.run_test(size=(100, 24)) as pilot:
        view = app.pane("web.1").view
        await wait_until(pilot, lambda: "POST" in output_of(view))
        selected = app.screen.get_component_rich_style("screen--selection")

        def painted(y: int) -> bool:
            return any(
                seg.style is not None and seg.style.bgcolor == selected.bgcolor
                for seg in view.render_line(y)
            )

        assert not any(painted(y) for y in range(len(REQUESTS)))
        app.screen.selections = {view: Selection(Offset(0, 1), Offset(10, 2))}
        await settle(pilot)
        assert [painted(y) for y in range(4)] == [False, True, True, False]
        await pilot.press("w")  # wrapped: the rows go through the row map
        await settle(pilot)
        assert [painted(y) for y in range(4)] == [False, True, True, False]
        app.screen.selections = {}
        await settle(pilot)
        assert not any(painted(y) for y in range(len(REQUESTS)))


async def test_following_a_flood_keeps_no_rendered_row_of_the_lines_gone_by(tmp_path):
    """Following a flood, every frame shows new lines: the rows rendered for the lines that
    scrolled away are not kept (kept, they filled the caches, and the window's memory grew by
    ~15 MB over the first few million lines of a long flood)."""
    app, fake = fake_app(tmp_path, "web: runserver\n")
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.pane("web.1").view
        for batch in range(8):
            fake.print("web.1", *(f"flood {batch} {n}" for n in range(200)))
            await wait_until(
                pilot, lambda b=batch: f"flood {b} 199" in screen_text(view), message="the flood"
            )
        assert view._flooding and view.follow
        kept = {*view._rows, *view._cut_lines, *view._cache.keys()}
        first_shown = view.buffer.total - view.size.height
        assert kept and min(kept) >= first_shown - 1, (min(kept), first_shown)


async def test_rows_carry_the_selection_offsets_except_while_following_a_flood(tmp_path):
    """A flood's rows (following) go without the offsets a mouse selection needs; once the
    flood ends, or scrolled up, the rows have them again, so a selection can start."""
    from textual.geometry import Region

    def offsets_of(view) -> set:
        strips = view.render_lines(Region(0, 0, view.size.width, view.size.height))
        return {
            (seg.style.meta or {}).get("offset") is not None
            for strip in strips
            for seg in strip
            if seg.text.strip() and seg.style is not None
        }

    app, fake = fake_app(tmp_path, "web: runserver\n")
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.pane("web.1").view
        fake.print("web.1", *(f"flood {n}" for n in range(500)))
        await wait_until(pilot, lambda: "flood 499" in screen_text(view), message="the flood")
        assert view._flooding and view.follow
        assert offsets_of(view) == {False}
        fake.print("web.1", "calm")
        await wait_until(pilot, lambda: "calm" in screen_text(view) and not view._flooding)
        assert offsets_of(view) == {True}


async def test_a_traceback_row_stays_tinted_across_the_view_through_a_zoom(tmp_path):
    """A traceback's rows are as wide as the view: rendered again at a new width (a zoom),
    while the other lines a resize keeps (output_arranged.py)."""
    app, fake = fake_app(tmp_path, "web: runserver\nworker: celery\n")
    fake.print("web.1", *traceback_lines(tmp_path))
    async with app.run_test(size=(120, 30)) as pilot:
        view = app.pane("web.1").view
        await wait_until(pilot, lambda: view.tracebacks is not None and view.tracebacks.blocks)
        row = 1  # "Traceback (most recent call last):"

        def tinted() -> int:
            strip = view.render_line(row)
            background = view.background_colors[1].rich_color
            return sum(len(s.text) for s in strip if s.style and s.style.bgcolor != background)

        await settle(pilot)
        narrow = view.scrollable_content_region.width
        assert tinted() == narrow < 120
        await pilot.press("z")
        await settle(pilot)
        wide = view.scrollable_content_region.width
        assert wide > narrow and tinted() == wide
        await pilot.press("z")
        await settle(pilot)
        assert tinted() == narrow
