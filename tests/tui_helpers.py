"""Building the Textual app over real (small) processes, for pilot and snapshot tests."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.helpers import clean_env
from tuirunner.environment import EnvFileSpec, load_environment
from tuirunner.procfile import formation, parse_concurrency, parse_procfile_text
from tuirunner.supervisor import Supervisor
from tuirunner.tui.app import TuirunnerApp


class FrozenClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class SnapshotApp(TuirunnerApp):
    """Hides what changes from run to run (pids) so screenshots are comparable."""

    def format_pid(self, pid: int) -> str:
        return "pid 4242"


def make_app(
    tmp_path: Path,
    procfile: str,
    *,
    concurrency: str = "",
    env_files=(),
    timeout: float = 2.0,
    scrollback: int = 10_000,
    app_class=TuirunnerApp,
    clock=None,
    shell_env: dict | None = None,
    **app_kwargs,
) -> TuirunnerApp:
    pf = parse_procfile_text(procfile, tmp_path / "Procfile")
    specs = [EnvFileSpec(tmp_path / name, name, True) for name in env_files]
    environment = load_environment(
        specs, shell_env if shell_env is not None else clean_env(), tmp_path
    )
    instances = formation(pf, concurrency=parse_concurrency([concurrency] if concurrency else []))
    kwargs = {"clock": clock} if clock is not None else {}
    supervisor = Supervisor(
        instances, environment, tmp_path, timeout=timeout, scrollback=scrollback, **kwargs
    )
    return app_class(supervisor, handle_signals=False, **app_kwargs)


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


async def stop_everything(app) -> None:
    sup = app.supervisor
    sup.kill_all_now()
    await asyncio.sleep(0)
