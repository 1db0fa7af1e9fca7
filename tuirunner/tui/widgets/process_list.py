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
        self.attention: dict[str, str] = {}  # by name: "output" or "alert" (output_actions.py)

    @staticmethod
    def _option_id(proc: ProcessView) -> str:
        return f"process-{proc.index}"

    def reset(self, processes: list[ProcessView]) -> None:
        """The run's processes changed (one added or removed): list them again."""
        highlighted = self.highlighted
        self.processes = processes
        self.clear_options()
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

    def refresh_process(self, proc: ProcessView) -> None:
        if self.is_mounted:
            self.replace_option_prompt(self._option_id(proc), self._prompt(proc))
