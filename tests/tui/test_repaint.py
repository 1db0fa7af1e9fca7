"""What the terminal shows is what a full repaint would show.

An output view repaints only the rows whose look changed (see OutputView._repaint_changed_rows),
and headers and the key bar hand over the same strips until refreshed (KeptLines).
These tests keep a copy of the terminal's screen, applying every update the app writes, and
compare it with a full render after each step: a row wrongly judged unchanged shows up as a
difference. A scripted keeper (tests/fake_keeper.py) sends the output of each step.
"""

from types import SimpleNamespace

import pytest
from textual._compositor import ChopsUpdate, LayoutUpdate
from textual.app import App

from tests.tui_helpers import fake_app, wait_until
from tests.tui_helpers import settle as caught_up

SIZE = (80, 24)


class Terminal:
    """The cells of a terminal that received the app's updates (text and style per cell)."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], tuple[str, str]] = {}
        self.painted_rows: list[int] = []  # rows written since this was last emptied

    @staticmethod
    def _look(style) -> str:
        return "" if style is None else str(style)  # colours and attributes (not the meta)

    def _put(self, x: int, y: int, strip) -> None:
        self.painted_rows.append(y)
        for segment in strip:
            if segment.control:
                continue
            look = self._look(segment.style)
            for char in segment.text:
                self.cells[x, y] = (char, look)
                x += 1

    def apply(self, update) -> None:
        """As Textual's render_segments writes an update."""
        if isinstance(update, LayoutUpdate):
            for y, line in enumerate(update.strips, update.region.y):
                x = update.region.x
                for strip in line:
                    self._put(x, y, strip)
                    x += strip.cell_length
        elif isinstance(update, ChopsUpdate):
            for y, x1, x2 in update.spans:
                chops = zip(update.chop_ends[y], update.chops[y].items(), strict=True)
                for end, (x, strip) in chops:
                    if strip is None or x > x2 or end <= x1:
                        continue
                    if not (x2 > x >= x1 and end <= x2):
                        strip = strip.crop(0, min(end, x2) - x)
                    self._put(x, y, strip)
        else:
            raise AssertionError(f"an update of a kind this test does not know: {update!r}")

    def rows(self, width: int, height: int) -> list[str]:
        return [
            "".join(self.cells.get((x, y), ("?", ""))[0] for x in range(width))
            for y in range(height)
        ]


@pytest.fixture
def terminal(monkeypatch):
    terminal = Terminal()
    display = App._display

    def recording_display(app, screen, renderable):
        if renderable is not None and not app._batch_count:
            terminal.apply(renderable)
        return display(app, screen, renderable)

    monkeypatch.setattr(App, "_display", recording_display)
    return terminal


def full_render(app) -> Terminal:
    """The screen rendered afresh (no widget's kept lines, see KeptLines)."""
    for widget in app.screen.walk_children(with_self=True):
        widget._kept = None
    reference = Terminal()
    reference.apply(app.screen._compositor.render_update(full=True))
    return reference


async def settle(pilot, app, terminal) -> None:
    """Wait until the screen has caught up with the output, then compare it with a full
    render: cell by cell, text and style."""
    await caught_up(pilot)
    width, height = app.size
    reference = full_render(app)
    shown, expected = terminal.rows(width, height), reference.rows(width, height)
    assert shown == expected, "the terminal differs from a full repaint"
    on_screen = {cell: look for cell, look in terminal.cells.items() if cell in reference.cells}
    assert on_screen == reference.cells, "a cell's style differs from a full repaint"


async def test_the_terminal_matches_a_full_repaint_as_output_scrolls(tmp_path, terminal):
    app, fake = fake_app(tmp_path, "web: python feed.py\nother: python feed.py\n")

    def feed(tmp_path, text: str, name: str = "web") -> None:
        if text:  # as a terminal gives it: \r\n line ends
            fake.write(f"{name}.1", text.replace("\n", "\r\n").encode())

    async with app.run_test(size=SIZE) as pilot:
        view = app.pane("web.1").view
        buffer = view.buffer
        other = app.pane("other.1").view.buffer

        async def step(text: str, other_text: str = "") -> None:
            total = buffer.total + text.count("\n")
            other_total = other.total + other_text.count("\n")
            feed(tmp_path, text)
            feed(tmp_path, other_text, "other")
            await wait_until(
                pilot,
                lambda: buffer.total >= total and other.total >= other_total,
                message="the output",
            )
            await settle(pilot, app, terminal)

        await step("".join(f"line {i}\n" for i in range(40)), "other\n" * 30)
        # A repeated line: every row moves, yet shows what it showed; nothing is repainted.
        await step("tick\n" * 30)  # a flood: repainted whole
        await step("tick\n")  # the first line after it too (what rows show was not kept)
        terminal.painted_rows.clear()
        await step("tick\n")
        view_rows = set(range(view.region.y, view.region.bottom))
        assert not view_rows & set(terminal.painted_rows), "rows that look the same repainted"
        # Distinct lines, a mix, a line that arrives in pieces, colours, a long line.
        await step("".join(f"distinct {i}\n" for i in range(5)))
        await step("tick\nodd one\ntick\ntick\n")
        await step("part")
        await step("ial\n")
        await step("\x1b[31mred\x1b[0m tick\n" + "x" * 200 + "\n")
        # Scrolled up, output arrives; back at the end it follows again.
        await pilot.press("up", "up", "up")
        await step("while scrolled up\n")
        await pilot.press("end")
        await settle(pilot, app, terminal)
        await step("tick\ntick\n")
        # Focus moves to the other pane and back (the headers' colours follow).
        await pilot.press("tab")
        await step("focus elsewhere\n", "focused\n")
        await pilot.press("shift+tab")
        await step("focus back\n")
        # Search highlights, then closes.
        await pilot.press("slash", *"tick")
        await settle(pilot, app, terminal)
        await pilot.press("escape", "end")
        await step("after search\n")
        # A new size; zoomed in, while the hidden pane's output scrolls; and back.
        await pilot.resize_terminal(70, 20)
        await step("resized\n", "other\n")
        await pilot.press("z")
        await step("zoomed\n", "other\nhidden 1\nhidden 2\n")
        await pilot.press("z")
        await step("tick\n", "other\n")


async def test_output_waits_for_more_unless_the_user_acts(tmp_path, monkeypatch):
    """Output waits FLUSH_INTERVAL for more (processes that print on the same second share a
    frame); after a key press, output after a quiet spell is painted in the wake-up that
    brought it, and output right after it waits its turn. The repaints' clock is the test's,
    and the interval an hour: nothing here depends on how fast the machine is."""
    from tuirunner.tui import repaint

    clock = [0.0]
    monkeypatch.setattr(repaint, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    app, fake = fake_app(tmp_path, "web: python feed.py\n")
    async with app.run_test(size=SIZE) as pilot:
        view = app.pane("web.1").view
        await caught_up(pilot)
        monkeypatch.setattr(repaint, "FLUSH_INTERVAL", 3600.0)

        async def printed(line: str, total: int) -> None:
            fake.print("web.1", line)
            await wait_until(pilot, lambda: view.buffer.total == total, message=line)
            for _ in range(5):
                await pilot.pause()

        clock[0] = 7200.0  # two hours of quiet, long after the start
        await printed("idle", 1)
        assert view._total == 0 and not app.repainted  # waits an hour for more
        app._flush_timer.cancel()  # (its hour is up)
        app._paint_dirty()
        assert view._total == 1
        clock[0] = 14400.0
        await pilot.press("down")  # the user acts
        await printed("first", 2)
        assert view._total == 2  # at once
        await printed("second", 3)
        assert view._total == 2 and not app.repainted  # its turn comes an hour later
