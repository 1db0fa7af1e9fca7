"""Plain mode's keeper holds the run until its printer has connected (KeeperConfig.hold_start):
the printer's first snapshot comes before any start, so it hears of every start and exit, even
of a process that crashes at once (a printer that connected after such a crash printed only the
next instance's start)."""

from __future__ import annotations

import asyncio
import time

from tests.helpers import clean_env, run_cli, wait_for
from tuirunner.client import Client
from tuirunner.events import State
from tuirunner.launch import start_keeper
from tuirunner.options import RunOptions
from tuirunner.runtime import run_paths


async def test_a_held_run_starts_when_its_owner_connects_and_the_owner_sees_it_all(tmp_path):
    (tmp_path / "Procfile").write_text("quick: touch started; exit 3\nother: sleep 600\n")
    options = RunOptions(app_root=str(tmp_path), timeout=2.0)
    launched = start_keeper(options, foreground=True, environ=clean_env(), hold_start=True)
    client = None
    try:
        wait_for(lambda: run_paths(tmp_path).socket.exists(), message="the keeper listening")
        await asyncio.sleep(1.0)
        assert not (tmp_path / "started").exists(), "a process ran before the owner connected"
        client = Client.connect(tmp_path, launched=launched)
        quick = client.get("quick.1")
        # Started before the owner's snapshot: it is in it, and nothing of it came earlier.
        assert quick.start_count == 1 and client.get("other.1").start_count == 1
        await client.start()
        deadline = time.monotonic() + 30
        while quick.state is not State.EXITED and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert quick.state is State.EXITED and quick.exit.returncode == 3
        assert (tmp_path / "started").exists()
    finally:
        if client is not None:
            client.close()
        run_cli(["down"], tmp_path)
        launched.wait(20)


def test_plain_mode_prints_the_crash_of_a_process_that_crashes_at_once(tmp_path):
    (tmp_path / "Procfile").write_text("quick: echo boom; exit 3\n")
    result = run_cli(["--no-tui"], tmp_path)
    assert result.returncode == 3, result.stdout
    lines = result.stdout.splitlines()
    started = [n for n, line in enumerate(lines) if "quick.1 started (pid=" in line]
    stopped = [n for n, line in enumerate(lines) if "quick.1 stopped (rc=3)" in line]
    boom = [n for n, line in enumerate(lines) if line.endswith("| boom")]
    assert len(started) == len(stopped) == len(boom) == 1, result.stdout
    assert started[0] < boom[0] < stopped[0], result.stdout
