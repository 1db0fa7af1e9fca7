"""The list of processes shown beside the selected pane when there are too many to tile."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tuirunner.tui.widgets.process_pane import STATE_COLOURS, ProcessPane, state_label


class ProcessList(OptionList):
    def __init__(self, panes: list[ProcessPane], **kwargs) -> None:
        super().__init__(*(Option(self._prompt(p), id=p.id) for p in panes), **kwargs)
        self.panes = panes

    @staticmethod
    def _prompt(pane: ProcessPane) -> Text:
        label, cls = state_label(pane.process)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("● ", style=STATE_COLOURS[cls])
        text.append(pane.process.name, style="bold")
        text.append(f" {label}", style="dim")
        detail = pane.process.detail()
        if detail:
            text.append(f" · {detail}", style="dim italic")
        return text

    def refresh_pane(self, pane: ProcessPane) -> None:
        self.replace_option_prompt(pane.id or "", self._prompt(pane))
