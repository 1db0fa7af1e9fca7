"""The list of processes shown beside the selected pane when there are too many to tile."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tuirunner.client import ProcessView
from tuirunner.tui.widgets.process_header import KINDS


class ProcessList(OptionList):
    """``● web.1 running``, one per process, the dot in the colour of its state."""

    COMPONENT_CLASSES = OptionList.COMPONENT_CLASSES | {f"process-list--{k}" for k in KINDS}

    def __init__(self, processes: list[ProcessView], **kwargs) -> None:
        super().__init__(*(Option(p.name, id=self._option_id(p)) for p in processes), **kwargs)
        self.processes = processes
        self._shown: dict[str | None, tuple] = {}  # option id -> what its line says

    @staticmethod
    def _option_id(proc: ProcessView) -> str:
        return f"process-{proc.index}"

    def reset(self, processes: list[ProcessView]) -> None:
        """The run's processes changed (one added or removed): list them again."""
        highlighted = self.highlighted
        self.processes = processes
        self.clear_options()
        self._shown.clear()
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
        text.append(
            "● ", style=self.get_component_rich_style(f"process-list--{kind}", partial=True)
        )
        text.append(proc.name, style="bold")
        text.append(f" {label}", style="dim")
        detail = proc.detail()
        if detail:
            text.append(f" · {detail}", style="dim italic")
        return text

    def refresh_process(self, proc: ProcessView) -> None:
        """Show *proc*'s state. Cheap with 1,000 processes: nothing happens unless what its
        line says changed, and the list is not laid out again (every line stays one line:
        ``replace_option_prompt`` would measure all the options again, once per change)."""
        if not self.is_mounted:
            return
        key = (proc.label(), proc.detail())
        option = self.get_option(self._option_id(proc))
        if self._shown.get(option.id) == key:
            return
        self._shown[option.id] = key
        option._set_prompt(self._prompt(proc))
        self._option_render_cache.clear()  # renders again only the lines on screen
        self.refresh()
