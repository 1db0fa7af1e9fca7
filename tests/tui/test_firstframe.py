"""The first frame (tui/firstframe.py), drawn before Textual is imported, puts every character
where the app's first frame puts it: the same panes, headers, lines and list (pilot tests over a
scripted keeper; the frame in a real terminal over a real keeper: tests/e2e/test_firstframe.py)."""

import re
import select
import time

import pytest

from tests.fake_keeper import FakeKeeper
from tests.tui_helpers import settle
from tuirunner.tiling import pane_boxes
from tuirunner.tui.app import TuirunnerApp
from tuirunner.tui.firstframe import render
from tuirunner.tui.preferences import Preferences

MOVE = re.compile(r"\x1b\[(\d+);(\d+)H")
SGR = re.compile(r"\x1b\[[0-9;]*m")


def drawn(frame: str, width: int, height: int) -> list[list[str | None]]:
    """The cells *frame* (cursor moves, text and colours only) writes: None where it wrote
    nothing (each character here is one cell wide)."""
    cells: list[list[str | None]] = [[None] * width for _ in range(height)]
    parts = MOVE.split(SGR.sub("", frame))
    for i in range(1, len(parts), 3):
        y, x, text = int(parts[i]) - 1, int(parts[i + 1]) - 1, parts[i + 2]
        for n, char in enumerate(text):
            cells[y][x + n] = char
    return cells


def taken_before_the_app(client, condition) -> None:
    """Read what the keeper sent until *condition()*."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "the output did not come"
        if select.select([client.sock], [], [], 0.1)[0]:
            assert client.read_some()


def app_screen(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


@pytest.mark.parametrize(
    ("procfile", "size"),
    [
        ("web: a\n", (80, 24)),
        ("web: a\nworker: b\n", (120, 20)),
        ("web: a\nworker: b\nbeat: c\n", (121, 30)),
        ("web: a\nworker: b\nbeat: c\nmail: d\nsearch: e\n", (200, 50)),
        ("".join(f"p{n}: x\n" for n in range(12)), (100, 20)),  # list mode
    ],
)
async def test_every_cell_the_first_frame_draws_is_what_the_app_shows_there(
    tmp_path, procfile, size
):
    fake = FakeKeeper(tmp_path, procfile)
    fake.run_all()
    client = fake.connect()
    first, last = client.processes[0].name, client.processes[-1].name
    fake.print(first, "hello\tthere: the first line")
    fake.print(first, "a line much longer than any pane is wide " * 6)
    fake.print(last, "ready")
    # Read before the app exists, as the first frame's thread does.
    taken_before_the_app(client, lambda: client.get(last).buffer.tail(1) == ["ready"])
    app = TuirunnerApp(client, handle_signals=False, preferences=Preferences(tmp_path / "p.json"))
    width, height = size
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        frame = render(app.client.processes, width, height)
        screen = app_screen(app)
    cells = drawn(frame, width, height)
    list_width, boxes = pane_boxes(len(app.client.processes), width, height - 1)
    for box in boxes:  # the panes' cells, all of them (not the footer, nor the gutters)
        for y in range(box.y, box.y + box.height):
            assert None not in cells[y][box.x : box.x + box.width]
    assert any("hello   there: the first line" in line for line in screen)
    assert any("ready" in line for line in screen) or list_width > 0
    for y, row in enumerate(cells):
        for x, char in enumerate(row):
            if char not in (None, " "):
                assert screen[y][x] == char, f"row {y}, column {x}:\n{screen[y]}"
