"""Building the Textual app for pilot and snapshot tests: over a scripted keeper
(:func:`fake_app`, tests/fake_keeper.py) where no real process is needed, or over a real keeper
and real (small) processes (:func:`make_app`)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from textual.geometry import Region
from textual.strip import Strip

from tests.fake_keeper import FakeKeeper
from tests.helpers import clean_env
from tuirunner.client import Client
from tuirunner.launch import KeeperProcess, start_keeper
from tuirunner.options import RunOptions
from tuirunner.tui.app import TuirunnerApp
from tuirunner.tui.preferences import Preferences

KEEPERS: list[KeeperProcess] = []  # stopped after each test (see conftest.py)


class SnapshotApp(TuirunnerApp):
    """Hides what changes from run to run (pids, uptimes) so screenshots are comparable."""

    def format_pid(self, pid: int) -> str:
        return "pid 4242"

    def format_uptime(self, seconds: float) -> str:
        return "up 5m"

    def format_clock(self, when: float) -> str:
        return "10:00:00"


def make_app(
    tmp_path: Path,
    procfile: str,
    *,
    concurrency: str = "",
    env_files=(),
    timeout: float = 2.0,
    scrollback: int = 10_000,
    app_class=TuirunnerApp,
    shell_env: dict | None = None,
    resources: bool = False,
    **app_kwargs,
) -> TuirunnerApp:
    """The app as ``tuirunner`` runs it in the foreground: a keeper (with its guard) of
    *procfile* in *tmp_path*, the app its owner. *resources*: CPU, memory and ports are
    sampled and shown (off by default: they change from run to run)."""
    (tmp_path / "Procfile").write_text(procfile)
    options = RunOptions(
        app_root=str(tmp_path),
        env=list(env_files),
        concurrency=[concurrency] if concurrency else [],
        timeout=timeout,
        scrollback=scrollback,
    )
    environ = shell_env if shell_env is not None else clean_env()
    keeper = start_keeper(options, foreground=True, window=(80, 20), environ=environ)
    KEEPERS.append(keeper)
    client = Client.connect(tmp_path, env=True, resources=resources, skim=True, launched=keeper)
    return app_class(client, handle_signals=False, **app_kwargs)


def fake_app(
    tmp_path: Path,
    procfile: str,
    *,
    app_class=TuirunnerApp,
    running: bool = True,
    resources: bool = False,
    theme: str | None = None,
    **fake_kwargs,
) -> tuple[TuirunnerApp, FakeKeeper]:
    """The app over a scripted keeper of *procfile* (nothing runs: the test says what
    happens); *running*: every process has started."""
    fake = FakeKeeper(tmp_path, procfile, **fake_kwargs)
    if running:
        fake.run_all()
    client = fake.connect(resources=resources)
    preferences = Preferences(tmp_path / "tui.json", theme)
    return app_class(client, handle_signals=False, preferences=preferences), fake


def stop_keepers() -> None:
    """Whatever a test left running goes: each keeper loses its owner and stops everything."""
    while KEEPERS:
        keeper = KEEPERS.pop()
        keeper.release()
        if keeper.wait(20) is None:
            keeper.guard.kill()
            keeper.wait(5)


async def wait_until(pilot, condition, timeout: float = 30.0, message: str = "condition"):
    """Let the app run until *condition()* is true (checked every 20 ms), then let its
    messages settle. Generous: the machine may be loaded."""
    deadline = time.monotonic() + timeout
    await pilot.pause()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        await asyncio.sleep(0.02)
        await pilot.pause()
    await pilot.pause()


async def settle(pilot) -> None:
    """Let the app catch up: messages handled, output repainted, the screen refreshed."""
    app = pilot.app
    await wait_until(pilot, lambda: app.repainted, message="the repaint")
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def notifications(app) -> list[str]:
    return [n.message for n in app._notifications]


def screen_text(view) -> str:
    """What an output view shows right now."""
    return "\n".join(view.render_line(y).text for y in range(view.size.height))


def drawn_lines(widget) -> list[Strip]:
    """The lines *widget* last gave the screen: Textual keeps them until a refresh marks them
    dirty (a line not repainted when it should be shows its old look here)."""
    return widget.render_lines(Region(0, 0, *widget.outer_size))


def buffer_text(proc) -> str:
    return "\n".join(proc.buffer.snapshot())


def drawn(bar) -> list[str]:
    """The descriptions of the keys a KeyBar painted last (what the terminal shows of it)."""
    return [key[2] for key in bar._drawn]
