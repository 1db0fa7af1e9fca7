"""How panes tile a terminal: pure arithmetic, no Textual. The terminal UI lays its panes out
by it, and the keeper gives the processes their first window size by it before any UI exists."""

from __future__ import annotations

import math
from typing import NamedTuple

MAX_TILED = 9  # more processes than this: a list beside the selected pane
MIN_PANE_WIDTH = 40
MIN_PANE_HEIGHT = 6
LIST_WIDTH = 28  # the process list of list mode


class Box(NamedTuple):
    """A rectangle of the terminal, in cells."""

    x: int
    y: int
    width: int
    height: int


def choose_grid(count: int, width: int, height: int) -> tuple[int, int] | None:
    """(columns, rows) for tiling *count* panes in *width* × *height*, or None for list mode.

    Panes should be as large as possible, in both directions; a terminal cell is about twice as
    tall as it is wide, hence the 2.5 in the score.
    """
    if count <= 1:
        return (1, 1)
    if count > MAX_TILED:
        return None
    best: tuple[tuple[float, int], tuple[int, int]] | None = None
    for columns in range(1, count + 1):
        rows = math.ceil(count / columns)
        if (columns * rows - count) >= columns:
            continue  # a whole empty row
        pane_w, pane_h = width // columns, height // rows
        if pane_w < MIN_PANE_WIDTH or pane_h < MIN_PANE_HEIGHT:
            continue
        key = (min(pane_w / 2.5, pane_h), -(columns * rows - count))
        if best is None or key > best[0]:
            best = (key, (columns, rows))
    return None if best is None else best[1]


def pane_boxes(count: int, width: int, height: int) -> tuple[int, list[Box]]:
    """Where the terminal UI puts the panes of *count* processes in *width* × *height* (the
    footer's row not included): the width of the process list (0 when the panes tile), and a
    box for each tiled pane in order, or for the selected one beside the list."""
    grid = choose_grid(count, width, height)
    if grid is None:
        return LIST_WIDTH, [Box(LIST_WIDTH, 0, max(width - LIST_WIDTH, 1), height)]
    columns, rows = grid
    gutter = 1  # a column between panes (app.tcss: grid-gutter)
    free = width - gutter * (columns - 1)
    xs = [free * c // columns + gutter * c for c in range(columns)] + [width + gutter]
    ys = [height * r // rows for r in range(rows + 1)]
    return 0, [
        Box(xs[c], ys[r], xs[c + 1] - gutter - xs[c], ys[r + 1] - ys[r])
        for i in range(count)
        for r, c in [divmod(i, columns)]
    ]


def first_window(count: int, width: int, height: int) -> tuple[int, int]:
    """The size (columns, rows) of a process's output area in a terminal of *width* ×
    *height*, near enough for the processes' first moments (the app sets the real one)."""
    _, boxes = pane_boxes(count, width, height - 1)  # (the footer)
    return max(boxes[0].width, 10), max(boxes[0].height - 1, 2)
