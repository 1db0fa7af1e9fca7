"""A following view that spans the terminal is scrolled by the terminal itself, and only its new
rows are written; a pane beside others has the rows that changed written where they are
(tui/widgets/direct_rows.py). In a real terminal (tmux), the screen must then show exactly the
output's last lines, in order, with none doubled or missing: after lines came one or a few at a
time, and after a notification was drawn over the rows and went."""

import re
import shlex
import time

import pytest

from tests.helpers import PYTHON, assert_no_leftovers, wait_for
from tests.tmux import Tmux, needs_tmux, tuirunner_command

pytestmark = [pytest.mark.slow, needs_tmux]
PY = shlex.quote(PYTHON)
COUNT = 250


def _counter(name: str, count: int, pause: float, mark: str) -> str:
    script = (
        f"import time; [(print('{name} row %03d' % i, flush=True), time.sleep({pause})) "
        f"for i in range(1, {count + 1})]; time.sleep(600)"
    )
    return f"{name}: exec {PY} -c {shlex.quote(script)} {mark}\n"


def _rows_of(screen: str, name: str) -> list[int]:
    return [int(n) for n in re.findall(rf"{name} row (\d+)", screen)]


def _assert_tail(rows: list[int], last: int, screen: str) -> None:
    assert rows, screen
    assert rows[-1] == last, screen
    assert rows == list(range(rows[0], last + 1)), screen  # consecutive: none doubled or missing


def _settled(term: Tmux) -> str:
    """The screen with its colours, once it stopped changing."""
    seen = [term.screen(colours=True)]

    def same() -> bool:
        time.sleep(0.3)
        seen.append(term.screen(colours=True))
        return seen[-1] == seen[-2]

    wait_for(same, 30, message="the screen to settle")
    return seen[-1]


def _assert_full(screen: str) -> None:
    """The view's rows are all lines: one block of at least 20 rows, no blank row inside."""
    at = [y for y, line in enumerate(screen.splitlines()) if " row " in line]
    assert len(at) >= 20, screen
    assert at == list(range(at[0], at[-1] + 1)), screen


@pytest.mark.parametrize(
    "layout", ["merged", "pane", "panes side by side", "merged, TUIRUNNER_TERMINAL_SCROLL=0"]
)
def test_the_screen_shows_the_last_lines_in_order(tmp_path, mark, layout):
    env = {"TUIRUNNER_TERMINAL_SCROLL": "0"} if "=0" in layout else None  # every row repainted
    layout = layout.split(",")[0]
    # Two processes for the merged view (interleaved rows, each with its prefix) and for the
    # panes side by side; one for a pane zoomed.
    procfile = _counter("fast", COUNT, 0.02, mark)
    two = layout != "pane"
    if two:
        procfile += _counter("slow", COUNT // 2, 0.04, mark)  # as long
    (tmp_path / "Procfile").write_text(procfile)
    with Tmux(tuirunner_command(), tmp_path, width=100, height=30, env=env) as term:
        term.wait_for("fast row 0")
        if layout == "merged":
            term.send("m")
        elif layout == "pane":
            term.send("z")  # the pane, zoomed: as wide as the terminal
        term.wait_for("fast row 080")
        term.send("c")  # a notification over the rows while they come, gone 3 s later
        term.wait_for("Copied the")
        screen = term.wait_for(f"fast row {COUNT}")
        if two:
            screen = term.wait_for(f"slow row {COUNT // 2}")
        wait_for(lambda: "Copied the" not in term.screen(), 30, message="the notification gone")
        screen = term.screen()
        _assert_full(screen)
        _assert_tail(_rows_of(screen, "fast"), COUNT, screen)
        if two:
            _assert_tail(_rows_of(screen, "slow"), COUNT // 2, screen)
        term.send("q")
        assert term.exit_status() == 0
        # Quitting stops the processes: their "stopped" lines come while the app shuts down,
        # and must not be written to the shell's screen once the app has left its own.
        assert " row " not in term.screen(), term.screen()
    assert_no_leftovers(mark)


@pytest.mark.parametrize("layout", ["merged", "panes side by side"])
def test_rows_written_by_tuirunner_look_as_textual_paints_them(tmp_path, mark, layout):
    """The same output (one process in the merged view: the same order; two in panes side by
    side), followed with and without painting by tuirunner: the rows on the two screens are the
    same, colours and all."""
    script = (
        "import time; [(print('\\x1b[32m%s\\x1b[0m row %03d http://127.0.0.1:8000/' % (NAME, i), "
        "flush=True), time.sleep(0.05)) for i in range(1, 61)]; time.sleep(600)"
    )
    names = ["web"] if layout == "merged" else ["web", "api"]
    screens = []
    for scroll in ("1", "0"):
        work = tmp_path / f"scroll-{scroll}"
        work.mkdir()
        (work / "Procfile").write_text(
            "".join(
                f"{name}: exec {PY} -c {shlex.quote(script.replace('NAME', repr(name)))} {mark}\n"
                for name in names
            )
        )
        env = {"TUIRUNNER_TERMINAL_SCROLL": scroll}
        with Tmux(tuirunner_command(), work, width=120, height=30, env=env) as term:
            term.wait_for("row 0")
            if layout == "merged":
                term.send("m")
            for name in names:
                term.wait_for(f"{name} row 060")
            # The rows of output (the panes' headers show pids and times, which differ).
            screens.append([line for line in _settled(term).splitlines() if " row " in line])
            term.send("q")
            status = term.exit_status()
            assert status == 0, term.screen()
            assert " row " not in term.screen()  # nothing written after the app left the screen
    painted, composed = screens
    assert "\x1b[" in "".join(painted) and len(painted) >= 20, painted
    if layout != "merged":
        assert all("web" in line and "api" in line for line in painted), painted  # side by side
    assert painted == composed
    assert_no_leftovers(mark)
