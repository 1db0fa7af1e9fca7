"""Painting a following view's rows straight to the terminal (tui/widgets/direct_rows.py): what
is written for a view that moved up by the lines that came, and when everything is written."""

from __future__ import annotations

import re
from types import SimpleNamespace

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip

from tuirunner.tui.widgets.direct_rows import (
    RESTORE_CURSOR,
    SAVE_CURSOR,
    SYNC_END,
    SYNC_START,
    DirectRows,
    painted_together,
    scroll_sequence,
    shift_of,
)


class _Driver:
    def __init__(self) -> None:
        self.written: list[str] = []

    def write(self, data: str) -> None:
        self.written.append(data)

    def flush(self) -> None:
        pass


def _direct(sync: bool = False) -> tuple[DirectRows, _Driver]:
    driver = _Driver()
    app = SimpleNamespace(
        _driver=driver,
        _sync_available=sync,
        console=Console(color_system="truecolor", force_terminal=True, width=80),
    )
    return DirectRows(SimpleNamespace(app=app)), driver  # type: ignore[arg-type]


def _rows(lines: dict[int, str]):
    """A strip per row, as the view gives them (row y shows line lines[y])."""

    def strip(y: int) -> Strip:
        return Strip([Segment(lines[y].ljust(10), Style(bold=True))], 10)

    return strip


def test_shift_is_how_far_the_first_row_moved_up() -> None:
    assert shift_of([1, 2, 3, 4], [3, 4, 5, 6]) == 2
    assert shift_of([1, 2, 3, 4], [1, 2, 3, 4]) == 0  # not moved
    assert shift_of([1, 2, 3, 4], [9, 10, 11, 12]) == 0  # nothing of it left: paint all
    assert shift_of([1, 2, 3, 4], [None, 4, 5, 6]) == 0  # the first row unknown
    assert shift_of([1, 2], [2, 3, 4]) == 0  # another height


def test_scroll_sequence_scrolls_the_views_rows_only() -> None:
    # Rows 3..12 of the terminal (1-based 4..13), up by 2, then the whole screen again.
    assert scroll_sequence(Region(0, 3, 80, 10), 2) == "\x1b[4;13r\x1b[2S\x1b[r"


def test_first_paint_writes_every_row_then_only_the_new_ones() -> None:
    direct, driver = _direct()
    region = Region(0, 1, 80, 4)
    direct.paint(region, ("cut",), [10, 11, 12, 13], _rows({0: "a", 1: "b", 2: "c", 3: "d"}))
    (first,) = driver.written
    assert first.startswith(SAVE_CURSOR) and first.endswith(RESTORE_CURSOR)
    assert "\x1b[" + "2;1H" in first and "\x1b[5;1H" in first  # rows 1..4: every one written
    assert "S\x1b[r" not in first  # nothing scrolled
    driver.written.clear()

    # Two lines came: the terminal moves the rows up by 2, and only the two new rows are written.
    direct.paint(region, ("cut",), [12, 13, 14, 15], _rows({0: "c", 1: "d", 2: "e", 3: "f"}))
    (second,) = driver.written
    assert scroll_sequence(region, 2) in second
    assert "\x1b[4;1H" in second and "\x1b[5;1H" in second  # rows 3 and 4 of the view
    assert "\x1b[2;1H" not in second and "\x1b[3;1H" not in second
    assert "e" in second and "f" in second and "c " not in second


def test_a_partial_line_is_written_each_time_and_nothing_else_unchanged() -> None:
    direct, driver = _direct()
    region = Region(0, 0, 80, 3)
    direct.paint(region, (), [5, 6, None], _rows({0: "x", 1: "y", 2: "z"}))
    driver.written.clear()
    direct.paint(region, (), [5, 6, None], _rows({0: "x", 1: "y", 2: "zz"}))
    (sequence,) = driver.written
    assert "\x1b[3;1H" in sequence and "\x1b[1;1H" not in sequence and "\x1b[2;1H" not in sequence
    driver.written.clear()
    direct.paint(region, (), [5, 6, -1], _rows({0: "x", 1: "y", 2: ""}))
    driver.written.clear()
    direct.paint(region, (), [5, 6, -1], _rows({0: "x", 1: "y", 2: ""}))
    assert driver.written == []  # nothing changed: nothing written


def _rows_written(driver: _Driver) -> int:
    written = "".join(driver.written)
    driver.written.clear()
    return len(re.findall(r"\x1b\[\d+;\d+H", written))


def test_another_cut_place_or_a_forget_writes_every_row() -> None:
    direct, driver = _direct()
    rows = _rows({0: "a", 1: "b", 2: "c"})
    here, there = Region(0, 0, 80, 3), Region(0, 1, 80, 3)
    direct.paint(here, ("a",), [1, 2, 3], rows)
    assert _rows_written(driver) == 3
    direct.paint(here, ("a",), [1, 2, 3], rows)
    assert _rows_written(driver) == 0  # the same: nothing
    direct.paint(here, ("b",), [1, 2, 3], rows)  # new styles, another width, scrolled sideways
    assert _rows_written(driver) == 3
    direct.paint(there, ("b",), [1, 2, 3], rows)  # moved on the screen
    assert _rows_written(driver) == 3
    direct.forget()  # Textual painted the view
    direct.paint(there, ("b",), [1, 2, 3], rows)
    assert _rows_written(driver) == 3


def test_in_a_synchronised_update_where_the_terminal_has_them() -> None:
    direct, driver = _direct(sync=True)
    direct.paint(Region(0, 0, 80, 2), (), [1, 2], _rows({0: "a", 1: "b"}))
    (sequence,) = driver.written
    assert sequence.startswith(SYNC_START) and sequence.endswith(SYNC_END)


def test_nothing_is_written_once_the_app_shuts_down() -> None:
    """Quitting stops the processes, and their "stopped" lines come while the app shuts down:
    by then the terminal may show the shell's screen again, which must get none of them."""
    direct, _ = _direct()
    app = direct.view.app
    app.is_headless = False
    app._driver.is_inline = False
    for running, closing in ((False, False), (True, True)):
        app._running, app._closing, app._closed = running, closing, False
        assert direct.region_now() is None


def test_nothing_is_written_while_the_app_is_suspended() -> None:
    """An editor (E) or ctrl+z has the terminal: what comes meanwhile waits for Textual's
    repaint on resume."""
    direct, _ = _direct()
    direct.keys = [1, 2]
    direct._suspend(None)
    assert direct.suspended and direct.keys == []
    app = direct.view.app
    app.is_headless, app._running, app._closing, app._closed = False, True, False, False
    app._driver.is_inline = False
    direct._told = True
    assert direct.region_now() is None
    direct._resume(None)
    assert not direct.suspended


def test_a_view_beside_others_gets_the_rows_that_look_different_written_where_they_are() -> None:
    """A scrolling region moves whole terminal rows: a pane of the grid is not scrolled, each row
    that now shows something else is written, and one that looks the same is not."""
    direct, driver = _direct()
    region = Region(41, 1, 40, 4)  # the right-hand pane of two
    direct.paint(region, (), [1, 2, 3, -1], _rows({0: "a", 1: "b", 2: "c", 3: ""}), scroll=False)
    assert _rows_written(driver) == 4
    # A line came: every row shows the next line. The rows are written where they are (at
    # column 42), none is scrolled, and the blank row below the output stays as it is.
    direct.paint(region, (), [2, 3, 4, -1], _rows({0: "b", 1: "c", 2: "d", 3: ""}), scroll=False)
    (sequence,) = driver.written
    assert "S\x1b[r" not in sequence and "r\x1b[" not in sequence  # no scrolling region
    assert re.findall(r"\x1b\[(\d+);(\d+)H", sequence) == [("2", "42"), ("3", "42"), ("4", "42")]
    driver.written.clear()
    # The same line again (a process printing "tick" every second): the rows look the same.
    direct.paint(region, (), [3, 4, 5, -1], _rows({0: "c", 1: "d", 2: "d", 3: ""}), scroll=False)
    assert re.findall(r"\x1b\[(\d+);(\d+)H", "".join(driver.written)) == [("2", "42"), ("3", "42")]
    driver.written.clear()
    direct.paint(region, (), [4, 5, 6, -1], _rows({0: "d", 1: "d", 2: "d", 3: ""}), scroll=False)
    assert re.findall(r"\x1b\[(\d+);(\d+)H", "".join(driver.written)) == [("2", "42")]
    driver.written.clear()
    direct.forget()  # Textual painted the view: every row again
    direct.paint(region, (), [4, 5, 6, -1], _rows({0: "d", 1: "d", 2: "d", 3: ""}), scroll=False)
    assert _rows_written(driver) == 4


def test_a_line_that_moved_to_another_row_is_not_rendered_again() -> None:
    """A line came to a pane of the grid: every row shows the line the row below showed. The
    text written for those lines is reused, and only the new line (and the line still being
    written) is rendered: a tiled pane no longer renders all its rows for every line."""
    direct, driver = _direct()
    region = Region(41, 1, 40, 4)
    lines = {1: "a", 2: "b", 3: "c", 4: "d", 5: "e"}
    rendered: list[int] = []

    def rows(keys):
        def strip(y: int) -> Strip:
            key = keys[y]
            rendered.append(key)
            text = "..." if key is None else lines.get(key, "")
            return Strip([Segment(text.ljust(10), Style(bold=True))], 10)

        return strip

    keys = [1, 2, 3, -1]
    direct.paint(region, (), keys, rows(keys), scroll=False)
    assert rendered == [1, 2, 3, -1]
    rendered.clear()
    keys = [2, 3, 4, -1]
    direct.paint(region, (), keys, rows(keys), scroll=False)
    assert rendered == [4]
    assert re.findall(r"\x1b\[(\d+);(\d+)H", "".join(driver.written[1:])) == [
        ("2", "42"),
        ("3", "42"),
        ("4", "42"),
    ]
    rendered.clear()
    keys = [3, 4, 5, None]  # a line being written is rendered every time
    direct.paint(region, (), keys, rows(keys), scroll=False)
    assert rendered == [5, None]
    rendered.clear()
    direct.paint(Region(0, 1, 40, 4), (), keys, rows(keys), scroll=False)  # moved: all again
    assert rendered == [3, 4, 5, None]


class _View:
    """A view (hashable, as widgets are)."""


class _Visible(dict):
    """The compositor's map of visible widgets, counting the walks over it."""

    walks = 0

    def items(self):
        _Visible.walks += 1
        return super().items()


def test_where_the_rows_are_is_found_once_per_layout() -> None:
    """region_now walks the compositor's map of visible widgets (is anything drawn over the
    rows?) once per map: the compositor makes a new one when anything moves, a notification
    shown over the rows included."""
    rows = Region(0, 1, 40, 10)
    screen = SimpleNamespace(is_active=True)
    driver = SimpleNamespace(is_inline=False)
    app = SimpleNamespace(
        _driver=driver,
        is_headless=False,
        _running=True,
        _closing=False,
        _closed=False,
        screen=screen,
    )
    view = _View()
    view.app, view.screen, view.is_running, view.scrollable_content_region = (
        app,
        screen,
        False,
        rows,
    )
    view.ancestors_with_self = [view]
    other = object()
    screen._compositor = SimpleNamespace(
        visible_widgets=_Visible({view: (rows, rows), other: (Region(40, 0, 40, 11),) * 2})
    )
    direct = DirectRows(view)  # type: ignore[arg-type]
    _Visible.walks = 0
    assert direct.region_now() == rows
    assert direct.region_now() == rows
    assert _Visible.walks == 1
    toast = object()  # a notification over the view's rows: a new map
    screen._compositor.visible_widgets = _Visible(
        {view: (rows, rows), toast: (Region(30, 8, 20, 3),) * 2}
    )
    assert direct.region_now() is None
    assert direct.region_now() is None
    assert _Visible.walks == 2
    view.scrollable_content_region = Region(0, 1, 40, 9)  # (the rows' own size changed)
    screen._compositor.visible_widgets = _Visible({view: (rows, rows)})
    assert direct.region_now() == Region(0, 1, 40, 9)


def test_the_views_painted_together_go_in_one_write() -> None:
    """A flush that paints three panes: one write (one frame, one wake-up of Textual's writer
    thread), in one synchronised update, in the order painted."""
    first, driver = _direct(sync=True)
    app = first.view.app
    second = DirectRows(SimpleNamespace(app=app))  # type: ignore[arg-type]
    third = DirectRows(SimpleNamespace(app=app))  # type: ignore[arg-type]
    with painted_together(app):
        for n, direct in enumerate((first, second, third)):
            region = Region(40 * n, 0, 10, 2)
            direct.paint(region, (), [1, 2], _rows({0: f"{n}a", 1: f"{n}b"}), scroll=False)
        assert driver.written == []
    assert len(driver.written) == 1
    (written,) = driver.written
    assert written.startswith(SYNC_START) and written.endswith(SYNC_END)
    assert written.count(SYNC_START) == 1
    assert written.index("0a") < written.index("1a") < written.index("2b")
    first.paint(Region(0, 0, 10, 2), (), [1, 3], _rows({0: "0a", 1: "0c"}), scroll=False)
    assert len(driver.written) == 2  # outside a batch: at once
