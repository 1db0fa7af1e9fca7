"""Building the Textual app over a real keeper and real (small) processes, for pilot and
snapshot tests."""

from __future__ import annotations

import time
from pathlib import Path

from tests.helpers import clean_env
from tuirunner.client import Client
from tuirunner.launch import KeeperProcess, start_keeper
from tuirunner.options import RunOptions
from tuirunner.tui.app import TuirunnerApp

KEEPERS: list[KeeperProcess] = []  # stopped after each test (see conftest.py)


class SnapshotApp(TuirunnerApp):
    """Hides what changes from run to run (pids, uptimes) so screenshots are comparable."""

    def format_pid(self, pid: int) -> str:
        return "pid 4242"

    def format_uptime(self, seconds: float) -> str:
        return "up 5m"


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
    keeper.wait_ready()
    client = Client.connect(tmp_path, env=True, owner=keeper.owner, resources=resources, skim=True)
    return app_class(client, keeper, handle_signals=False, **app_kwargs)


def stop_keepers() -> None:
    """Whatever a test left running goes: each keeper loses its owner and stops everything."""
    while KEEPERS:
        keeper = KEEPERS.pop()
        keeper.release()
        if keeper.wait(20) is None:
            keeper.guard.kill()
            keeper.wait(5)


async def wait_until(pilot, condition, timeout: float = 20.0, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        await pilot.pause(0.02)
    await pilot.pause()


def screen_text(view) -> str:
    """What an output view shows right now."""
    return "\n".join(view.render_line(y).text for y in range(view.size.height))


def buffer_text(proc) -> str:
    return "\n".join(proc.buffer.snapshot())
