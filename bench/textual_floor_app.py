"""A reference for always_on.py's idle figure: the plainest Textual app that shows what tuirunner
shows there, five panes (a one-line header and a Textual ``Log``) that get a line a second.

    tmux -L floor new-session -d -x 200 -y 50 'exec .venv/bin/python bench/textual_floor_app.py'
    # after 10 s: its CPU over 60 s, as % of one core (CLK_TCK is 100)
    pid=$(tmux -L floor display-message -p '#{pane_pid}')
    a=$(awk '{print $14+$15}' /proc/$pid/stat); sleep 60; b=$(awk '{print $14+$15}' /proc/$pid/stat)
    echo "scale=3; ($b - $a) / 60" | bc; tmux -L floor kill-server

Each pane starts full (60 lines), so every tick scrolls all five, as in the idle run after its
first 20 seconds. ``--lines counter``: each line is ``tick N`` (always_on.py's "distinct"
idle figure), ``--lines silent``: no line at all. ``--merged``: what the merged view shows
instead (merged_view.py's idle floor): one full-screen ``Log`` under a one-line bar, five
``t0.1    | tick`` lines a second.

On the 2-core machine of bench/README.md the panes app took ~3 % of a core where
tuirunner's window took ~0.45 % (2026-11-25); always_on.py's idle run measures it beside
tuirunner (``floor textual``): 9.7 % and 10.6 % (``--lines counter``) on 2026-12-05, where
tuirunner, painting its panes itself, took 0.60 % for its three processes.
"""

from textual.app import App, ComposeResult
from textual.containers import Grid, Vertical
from textual.widgets import Log, Static


class FloorApp(App):
    LINES = "tick"  # or "counter", "silent" (--lines)
    CSS = """
    Grid { grid-size: 3 2; }
    Static { height: 1; }
    """

    def compose(self) -> ComposeResult:
        with Grid():
            for i in range(1, 6):
                with Vertical():
                    yield Static(f"{i} t.{i}  running  up 1m  pid {1000 + i}")
                    yield Log()

    def on_mount(self) -> None:
        self.count = 0
        for log in self.query(Log):
            log.write_lines(["tick"] * 60)
        if self.LINES != "silent":
            self.set_interval(1.0, self.tick)

    def tick(self) -> None:
        self.count += 1
        line = "tick" if self.LINES == "tick" else f"tick {self.count}"
        for log in self.query(Log):
            log.write_line(line)


class MergedFloorApp(App):
    CSS = "Static { height: 1; }"

    def compose(self) -> ComposeResult:
        yield Static("1 t0.1  2 t1.1  3 t2.1  4 t3.1  5 t4.1")
        yield Log()
        yield Static("following — lines of every process as they come")

    def on_mount(self) -> None:
        self.query_one(Log).write_lines([f"t{i % 5}.1    | tick" for i in range(60)])
        self.set_interval(1.0, self.tick)

    def tick(self) -> None:
        self.query_one(Log).write_lines([f"t{i}.1    | tick" for i in range(5)])


if __name__ == "__main__":
    import sys

    if "--lines" in sys.argv:
        FloorApp.LINES = sys.argv[sys.argv.index("--lines") + 1]
    (MergedFloorApp if "--merged" in sys.argv else FloorApp)().run()
