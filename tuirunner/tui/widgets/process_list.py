"""The list of processes shown beside the selected pane when there are too many to tile."""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Region
from textual.reactive import reactive
from textual.strip import Strip
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tuirunner.client import ProcessView
from tuirunner.tui.widgets.process_header import KINDS


class ProcessList(OptionList):
    """``● web.1 running``, one per process, the dot in the colour of its state."""

    COMPONENT_CLASSES = OptionList.COMPONENT_CLASSES | {f"process-list--{k}" for k in KINDS}
    # A new highlight repaints the two lines it moves between (watch_highlighted), not every
    # line of the list: selecting a process by its key re-rendered the whole column (~50 rows,
    # a fifth of the key's time in list mode).
    highlighted: reactive[int | None] = reactive(None, repaint=False)

    def __init__(self, processes: list[ProcessView], **kwargs) -> None:
        super().__init__(*(Option(p.name, id=self._option_id(p)) for p in processes), **kwargs)
        self.processes = processes
        self.attention: dict[str, str] = {}  # by name: "output" or "alert" (output_actions.py)
        self._shown: dict[int, tuple] = {}  # option index -> what its line says
        self._stale: dict[int, ProcessView] = {}  # lines to make again when next on screen
        self._refresh_due = False  # their repaint is asked for

    @staticmethod
    def _option_id(proc: ProcessView) -> str:
        return f"process-{proc.index}"

    def reset(self, processes: list[ProcessView]) -> None:
        """The run's processes changed (one added or removed): list them again."""
        highlighted = self.highlighted
        self.processes = processes
        self.clear_options()
        self._shown.clear()
        self._stale.clear()
        self.add_options([Option(p.name, id=self._option_id(p)) for p in processes])
        if processes and highlighted is not None:
            self.highlighted = min(highlighted, len(processes) - 1)
        self.on_mount()

    def on_mount(self) -> None:
        for proc in self.processes:  # styles exist now: colour the dots
            self.refresh_process(proc)

    def _prompt(self, proc: ProcessView) -> Text:
        label, kind = proc.label()
        text = Text(no_wrap=True, overflow="ellipsis")
        mark = self.attention.get(proc.name)
        if mark:
            text.append("▲ " if mark == "alert" else "• ", style="bold")
        text.append(
            "● ", style=self.get_component_rich_style(f"process-list--{kind}", partial=True)
        )
        text.append(proc.name, style="bold")
        text.append(f" {label}", style="dim")
        detail = proc.detail()
        if detail:
            text.append(f" · {detail}", style="dim italic")
        return text

    def watch_highlighted(self, old: int | None, new: int | None) -> None:
        super().watch_highlighted(new)
        self._refresh_options([index for index in (old, new) if index is not None])

    def refresh_process(self, proc: ProcessView) -> None:
        """Show *proc*'s state: its line is made again when it is next on screen. Cheap with
        1,000 processes changing state at once: nothing is measured or laid out
        (``replace_option_prompt`` would lay out all 1,000 lines again, once per change), and
        lines out of view wait until they are scrolled to."""
        index = proc.index
        if 0 <= index < self.option_count:
            self._stale[index] = proc
            if not self._refresh_due and self.is_mounted and self.display:
                self._refresh_due = True  # once for all that changed together (a quit: all)
                self.call_later(self._refresh_stale)

    def _refresh_stale(self) -> None:
        self._refresh_due = False
        self._refresh_options(list(self._stale))

    def _refresh_options(self, indexes: list[int]) -> None:
        """Repaint the lines of options *indexes* that are on screen (an option scrolled to is
        painted then): the other lines are what they were. A new line of output of a hidden
        process (its attention mark) repainted every line of the list."""
        lines = self._index_to_line  # Textual's private line map (hence textual<9)
        heights = self._heights
        top, height = round(self.scroll_offset.y), self.size.height
        for index in indexes:
            line = lines.get(index)
            if line is None:  # not laid out yet: all of it
                self.refresh()
                return
            if top <= line < top + height:
                self.refresh_lines(line, heights.get(index, 1))

    def render_lines(self, crop: Region) -> list[Strip]:
        if self._stale:
            top = round(self.scroll_offset.y)
            changed = set()
            for index in range(max(0, top), top + self.size.height):  # one line per process
                proc = self._stale.pop(index, None)
                if proc is not None and self._set_line(index, proc):
                    changed.add(self.get_option_at_index(index))
            if changed:  # only their lines are rendered again (the cache is Textual's)
                cache = self._option_render_cache  # (Textual's LRUCache: keys(), no __iter__)
                for key in [key for key in cache.keys() if key[0] in changed]:  # noqa: SIM118
                    cache.discard(key)
        return super().render_lines(crop)

    def _set_line(self, index: int, proc: ProcessView) -> bool:
        """Put *proc*'s line at *index*; whether it changed."""
        key = (proc.label(), proc.detail(), self.attention.get(proc.name))
        if self._shown.get(index) == key:
            return False
        self._shown[index] = key
        self.get_option_at_index(index)._set_prompt(self._prompt(proc))
        return True

    def prompt_of(self, proc: ProcessView) -> str:
        """The text of *proc*'s line, up to date (tests)."""
        stale = self._stale.pop(proc.index, None)
        if stale is not None:
            self._set_line(proc.index, stale)
        return str(self.get_option_at_index(proc.index).prompt)
