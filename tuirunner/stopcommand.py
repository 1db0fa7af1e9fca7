"""Stop commands: ``stop_command`` runs before a process's stop signal.

For a process whose real work lives elsewhere (Postgres or Redis started through Docker:
``docker run --rm --name app-postgres …``), stopping the ``docker`` client is not stopping the
container; ``stop_command = "docker stop app-postgres"`` is. The command runs with the process's
environment in the app root, without a terminal, in its own process group; each line of its
output goes to *line* (the process's pane) as it comes. It gets at most *timeout* seconds (the
process's stop timeout), then its group is killed. What follows (the stop signal, if the process
is still there) is the caller's (:meth:`tuirunner.lifecycle.Lifecycle.stop`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from tuirunner.spawn import Reaper, spawn_plain

MAX_LINE = 64 * 1024  # a longer line is cut (and the rest read as the next line)


async def run_stop_command(
    command: str,
    env: Mapping[str, str],
    cwd: Path | str,
    *,
    shell: str,
    reaper: Reaper,
    timeout: float,
    line: Callable[[str], None],
) -> str:
    """Run *command*; each output line to *line*. How it ended, in words (``exited with code
    0``, ``still running after 5 s: killed``, ``cannot start: …``)."""
    loop = asyncio.get_running_loop()
    read_end, write_end = os.pipe()
    try:
        pid = spawn_plain([shell, "-c", command], env, cwd, log=write_end)
    except (OSError, ValueError) as exc:
        os.close(read_end)
        return f"cannot start: {getattr(exc, 'strerror', None) or exc}"
    finally:
        os.close(write_end)
    exited = reaper.wait(pid)  # before the loop runs again: nothing else reaps it
    deadline = time.monotonic() + timeout
    reader = asyncio.StreamReader(limit=MAX_LINE)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_end, "rb", 0)
    )
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(loop.time() + max(0.0, deadline - time.monotonic())):
                while raw := await _readline(reader):
                    line(raw.decode("utf-8", "replace").rstrip("\r\n"))
                await asyncio.shield(exited)
    finally:
        transport.close()
    if not exited.done():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        return f"still running after {timeout:g} s: killed"
    code = exited.result()
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


async def _readline(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readline()
    except ValueError:  # a line longer than MAX_LINE: what there is of it
        return await reader.read(MAX_LINE)
