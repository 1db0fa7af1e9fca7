"""Ready checks: one attempt of an ``http``, ``port`` or ``command`` check, on the event loop.

Each attempt returns None when the check passed, or why it did not, in a few words
(``connection refused``, ``HTTP 502``, ``exited with code 1``). The supervisor repeats attempts
every ``interval`` until ``timeout`` (see :meth:`Supervisor._poll_ready`); a ``log`` check needs
no attempts: the supervisor matches the output as it reads it.

Nothing here blocks the loop: connections are asyncio streams (name resolution runs in the
loop's executor), and a ``command`` runs as a child of its own, whose exit status comes from the
keeper's :class:`~tuirunner.spawn.Reaper` (never asyncio's child watchers, which would race the
keeper's own SIGCHLD handler).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import ssl
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from tuirunner.settings import ReadyCheck, ReadyKind
from tuirunner.spawn import Reaper, spawn_plain


def _error(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer (timed out)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return str(exc) or type(exc).__name__


def invalid(check: ReadyCheck, env: Mapping[str, str]) -> str | None:
    """Why *check* can never pass with the environment *env* (``$PORT is not set``, a port
    that is not a number), or None."""
    try:
        if check.kind is ReadyKind.HTTP:
            check.url(env)
        elif check.kind is ReadyKind.PORT:
            check.address(env)
    except ValueError as exc:
        return str(exc)
    return None


async def attempt(
    check: ReadyCheck,
    env: Mapping[str, str],
    timeout: float,
    *,
    cwd: Path | str,
    reaper: Reaper,
    shell: str = "/bin/sh",
) -> str | None:
    """One attempt of *check* with the process's environment *env*, at most *timeout* seconds.
    None if it passed, else the reason."""
    try:
        if check.kind is ReadyKind.HTTP:
            return await asyncio.wait_for(_http(check.url(env)), timeout)
        if check.kind is ReadyKind.PORT:
            host, port = check.address(env)
            return await asyncio.wait_for(_port(host, port), timeout)
        if check.kind is ReadyKind.COMMAND:
            return await _command(check.target, env, timeout, cwd, reaper, shell)
    except ValueError as exc:  # a $VARIABLE that is not set, a port that is not a number
        return str(exc)
    except (OSError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError) as exc:
        return _error(exc)
    raise ValueError(f"not a polled check: {check.kind}")


async def _port(host: str, port: int) -> str | None:
    _, writer = await asyncio.open_connection(host, port)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return None


def _tls_context() -> ssl.SSLContext:
    # A development server's certificate is usually self-signed: readiness is not security.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def _http(url: str) -> str | None:
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    host = parts.hostname or "localhost"
    port = parts.port or (443 if secure else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    reader, writer = await asyncio.open_connection(
        host, port, ssl=_tls_context() if secure else None
    )
    try:
        netloc = parts.netloc.rpartition("@")[2]  # no credentials in the Host header
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {netloc}\r\nUser-Agent: tuirunner\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n".encode("latin-1", "replace")
        )
        await writer.drain()
        status_line = await reader.readline()
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    fields = status_line.split(None, 2)
    if len(fields) < 2 or not fields[0].startswith(b"HTTP/") or not fields[1].isdigit():
        return "no HTTP answer" if not status_line else "not an HTTP answer"
    status = int(fields[1])
    return None if 200 <= status < 400 else f"HTTP {status}"


async def _command(
    command: str,
    env: Mapping[str, str],
    timeout: float,
    cwd: Path | str,
    reaper: Reaper,
    shell: str,
) -> str | None:
    pid = spawn_plain([shell, "-c", command], env, cwd)
    exited = reaper.wait(pid)  # before the loop runs again: nothing else reaps it
    try:
        returncode = await asyncio.wait_for(asyncio.shield(exited), timeout)
    except TimeoutError:
        _kill_group(pid)
        return f"still running after {timeout:g} s"
    except asyncio.CancelledError:
        _kill_group(pid)
        raise
    if returncode == 0:
        return None
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with code {returncode}"


def _kill_group(pgid: int) -> None:
    """SIGKILL a command check and whatever it started (it leads its own group); the Reaper
    still collects its status."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
