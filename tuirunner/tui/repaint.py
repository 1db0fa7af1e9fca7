"""When the app repaints: output marks its pane dirty, and one flush repaints the dirty panes
(at most FLUSH_INTERVAL apart); uptimes are repainted when their minute changes. Nothing runs on a
timer while nothing changes.

Output waits FLUSH_INTERVAL for more (five processes that print on the same second cost one
frame, not five), except while the user acts: for EAGER_FOR after the start, a key or a click,
output after a quiet spell is painted as soon as it is read (a typed key's echo, a restarted
server's first line)."""

from __future__ import annotations

import asyncio
import math
import time
from typing import TYPE_CHECKING

from textual.app import App

from tuirunner.tui.widgets.direct_rows import painted_together

if TYPE_CHECKING:
    from tuirunner.client import Client, ProcessView
    from tuirunner.tui.widgets.process_pane import ProcessPane

FLUSH_INTERVAL = 1 / 30  # repaint output at most this often, however fast children print
EAGER_FOR = 2.0  # seconds after the start, a key or a click (see above)


class Repainting(App[int]):
    """The repaint timers of :class:`~tuirunner.tui.app.TuirunnerApp`."""

    client: Client
    _panes: dict[str, ProcessPane]
    _dirty: set[str]
    _flush_timer: asyncio.Handle | None = None
    _flushed_at = -math.inf  # (monotonic)
    _eager_until = 0.0  # (monotonic)
    _uptime_timer: asyncio.TimerHandle | None = None
    _uptime_pending = False  # a _reschedule_uptime is on its way
    _loop: asyncio.AbstractEventLoop | None = None

    if TYPE_CHECKING:  # the other parts of the app

        def clock(self) -> float: ...
        def _shown(self, pane: ProcessPane) -> bool: ...
        def _show(self, proc: ProcessView) -> None: ...

    def _be_eager(self) -> None:
        """The user acts: for a while, output is painted as soon as it is read."""
        self._eager_until = time.monotonic() + EAGER_FOR

    def _mark_dirty(self, name: str) -> None:
        self._dirty.add(name)
        if self._flush_timer is None and self._loop is not None:
            now = time.monotonic()
            wait = FLUSH_INTERVAL
            if now < self._eager_until:
                wait = self._flushed_at + FLUSH_INTERVAL - now
            if wait > 0:
                self._flush_timer = self._loop.call_later(wait, self._paint_dirty)
            else:  # in this turn of the loop, once what came with this output is read
                self._flush_timer = self._loop.call_soon(self._paint_dirty)

    def _paint_dirty(self) -> None:
        """Repaint the dirty panes, all in one frame (a flooded one at most every
        FLOOD_INTERVAL): five processes that print on the same tick cost one frame."""
        self._flush_timer = None
        now = self._flushed_at = time.monotonic()
        dirty, self._dirty = self._dirty, set()
        panes = []
        for name in dirty:
            pane = self._panes.get(name)
            if pane is not None and self._shown(pane):  # a hidden one catches up when shown
                panes.append(pane)
        with self.batch_update(), painted_together(self):
            for pane in panes:
                if not pane.view.due(now):
                    self._dirty.add(pane.process.name)  # next frame (or, flooding, later)
                else:
                    pane.view.sync(now)
        if self._dirty and self._loop is not None:
            self._flush_timer = self._loop.call_later(FLUSH_INTERVAL, self._paint_dirty)

    @property
    def repainted(self) -> bool:
        """Whether every output that arrived is painted (no flush pending)."""
        return not self._dirty and self._flush_timer is None

    def _schedule_uptime(self) -> None:
        """Repaint uptimes when the first of them changes (they are in minutes), not before.
        Worked out once per turn of the loop: 1,000 processes changing state at once ask
        1,000 times, and each look is over every process."""
        if self._uptime_pending or self._loop is None:
            return
        self._uptime_pending = True
        self._loop.call_soon(self._reschedule_uptime)

    def _reschedule_uptime(self) -> None:
        self._uptime_pending = False
        if self._uptime_timer is not None:
            self._uptime_timer.cancel()
            self._uptime_timer = None
        if self._loop is None:
            return
        now = self.clock()
        waits = [
            60 - math.fmod(now - p.started_at, 60)
            for p in self.client
            if p.state.alive and p.started_at is not None and p.name in self._panes
        ]
        for p in self.client:  # "next try in 8 s" changes every second
            if p.next_start_at is not None and p.next_start_at > now:
                left = p.next_start_at - now
                waits.append(left - math.floor(left) if left > 1 else left)
        if waits:
            self._uptime_timer = self._loop.call_later(min(waits) + 0.05, self._uptime_tick)

    def _uptime_tick(self) -> None:
        self._uptime_timer = None
        for proc in self.client:
            if proc.state.alive or proc.next_start_at is not None:
                self._show(proc)
        self._schedule_uptime()

    def _stop_timers(self) -> None:
        for timer in (self._flush_timer, self._uptime_timer):
            if timer is not None:
                timer.cancel()
