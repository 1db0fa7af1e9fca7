"""Widgets whose new size does not ask for a second layout of the screen.

When a layout gives a widget a new size, Textual also sets the widget's ``virtual_size``, a
reactive that asks for a layout: the whole screen is laid out and painted a second time, for
nothing, since the first layout already gave every widget its place. Every zoom, resize and pane
shown was drawn twice (~12-18 KB each on a 200×50 terminal). For a widget that does not scroll
its content (a pane, its header and bars), nothing depends on that virtual size: it is set the
way Textual sets it when a scroll reflows the screen (``layout=False``).

It overrides a private method of Textual 8 (hence the ``textual<9`` bound in pyproject.toml).
"""

from __future__ import annotations

from textual.geometry import Size
from textual.widget import Widget


class LaidOutOnce(Widget):
    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        return super()._size_updated(size, virtual_size, container_size, layout=False)
