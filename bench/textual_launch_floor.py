"""The floor of always_on.py's launch figure for a Textual front end: the plainest Textual app
that shows a line, started the way a runner is (a fresh Python in the pane).

    python bench/textual_launch_floor.py

Its time from the pane's start to ``LAUNCH42ED`` on screen is Python's start-up, importing
Textual and Textual's first frame: what no change inside tuirunner's window can go below. It
shows the line at once (no child to start, no keeper); Ctrl+Q quits.
"""

from textual.app import App, ComposeResult
from textual.widgets import Static

LINE = f"LAUNCH{6 * 7}ED"  # computed, as the runners' child does: the command text differs


class FloorApp(App):
    def compose(self) -> ComposeResult:
        yield Static(LINE)


if __name__ == "__main__":
    FloorApp().run()
