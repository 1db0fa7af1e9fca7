"""Ready checks: one attempt of an ``http``, ``port`` or ``command`` check, on the event loop.

Each attempt returns None when the check passed, or why it did not, in a few words
(``connection refused at 127.0.0.1:8000``, ``HTTP 502 from http://127.0.0.1:8000/``, ``exited
with code 1``; a Django ``400`` whose body says ``DisallowedHost`` gets a hint naming
``ALLOWED_HOSTS``). :class:`Checks` repeats attempts, backing off from 0.25 s up to the
check's ``interval``, until ``timeout``, and reports every failure as it happens (the process
shows it while it is still starting); a ``log`` check needs no attempts: the supervisor hands
the output to :meth:`Checks.match` as it reads it. The same attempts serve health checks
(:mod:`tuirunner.health`).

Nothing here blocks the loop: connections are asyncio streams (name resolution runs in the
loop's executor), except over TLS, which runs in a thread of its own (the run's processes have
asyncio without ``ssl``: :mod:`tuirunner.lean_imports`); a ``command`` runs as a child of its
own, whose exit status comes from the keeper's :class:`~tuirunner.spawn.Reaper` (never
asyncio's child watchers, which would race the keeper's own SIGCHLD handler).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from tuirunner.output import strip_ansi
from tuirunner.settings import ReadyCheck, ReadyKind
from tuirunner.spawn import Reaper, spawn_plain

if TYPE_CHECKING:
    from tuirunner.supervisor import ManagedProcess

ATTEMPT_TIMEOUT = 10.0  # at most this long for one http or port attempt of a ready check
MAX_BODY = 64 * 1024  # of a 400 answer, read to find Django's DisallowedHost
MAX_LINE = 64 * 1024  # of an answer's status line (asyncio's streams stop at 64 KiB too)

T = TypeVar("T")


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
        elif check.kind is ReadyKind.URL:
            check.service(env)
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
    where = ""
    try:
        if check.kind is ReadyKind.HTTP:
            url = check.url(env)
            where = f"from {url}"
            return await asyncio.wait_for(_http(check, url, timeout), timeout)
        if check.kind is ReadyKind.PORT:
            host, port = check.address(env)
            where = f"at {host}:{port}"
            return await asyncio.wait_for(_port(host, port), timeout)
        if check.kind is ReadyKind.COMMAND:
            return await _command(check.target, env, timeout, cwd, reaper, shell)
        if check.kind is ReadyKind.URL:
            service = check.service(env)
            try:
                return await asyncio.wait_for(_port(service.host, service.port), timeout)
            except (OSError, TimeoutError) as exc:
                return f"{service.describe()}: {_error(exc)}"
    except ValueError as exc:  # a $VARIABLE that is not set, a port that is not a number
        return str(exc)
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:  # ssl.SSLError too
        return f"{_error(exc)} {where}" if where else _error(exc)
    raise ValueError(f"not a polled check: {check.kind}")


async def _port(host: str, port: int) -> str | None:
    _, writer = await asyncio.open_connection(host, port)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return None


def host_header(check: ReadyCheck, url: str) -> str:
    """See :meth:`ReadyCheck.host_header_for`."""
    return check.host_header_for(url)


def request(check: ReadyCheck, url: str) -> bytes:
    """The GET request an ``http`` check sends to *url*."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    headers = {"Host": host_header(check, url), "User-Agent": "tuirunner", "Accept": "*/*"}
    for name, value in check.headers:  # the check's own, replacing the defaults of that name
        for known in [k for k in headers if k.lower() == name.lower()]:
            del headers[known]
        headers[name] = value
    headers["Connection"] = "close"
    lines = [f"GET {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")


async def _http(check: ReadyCheck, url: str, timeout: float) -> str | None:
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    if parts.scheme == "https":
        # In a thread, with the ssl module loaded now: a run's processes have asyncio without
        # TLS (lean_imports.py), and most runs never need OpenSSL's ~4.5 MB.
        answer = await _in_thread(_exchange_tls, check, url, host, parts.port or 443, timeout)
    else:
        answer = await _exchange(check, url, host, parts.port or 80)
    return _verdict(check, url, *answer)


def _status(status_line: bytes) -> int | None:
    fields = status_line.split(None, 2)
    if len(fields) < 2 or not fields[0].startswith(b"HTTP/") or not fields[1].isdigit():
        return None
    return int(fields[1])


async def _exchange(check: ReadyCheck, url: str, host: str, port: int) -> tuple[bytes, bytes]:
    """The answer's status line, and for a 400 some of the rest (Django says why there)."""
    reader, writer = await asyncio.open_connection(host, port)
    body = b""
    try:
        writer.write(request(check, url))
        await writer.drain()
        status_line = await reader.readline()
        if _status(status_line) == 400:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while len(body) < MAX_BODY and (chunk := await reader.read(MAX_BODY)):
                    body += chunk
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return status_line, body


def _exchange_tls(
    check: ReadyCheck, url: str, host: str, port: int, timeout: float
) -> tuple[bytes, bytes]:
    """:func:`_exchange` over TLS, blocking (at most *timeout* per step)."""
    import ssl

    # A development server's certificate is usually self-signed: readiness is not security.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as connection,
        connection.makefile("rb") as answer,
    ):
        connection.sendall(request(check, url))
        status_line = answer.readline(MAX_LINE)
        body = b""
        if _status(status_line) == 400:
            with contextlib.suppress(OSError):
                body = answer.read(MAX_BODY)
    return status_line, body


async def _in_thread(function: Callable[..., T], *args: object) -> T:
    """*function*'s result, computed in a thread of its own: one that hangs (a server that
    accepts and never answers) holds no worker of the loop's executor, which resolves names."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: object, error: BaseException | None) -> None:
        if future.done():  # the attempt was cancelled, or timed out
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def work() -> None:
        try:
            result, error = function(*args), None
        except Exception as exc:
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=work, name="tuirunner-tls-check", daemon=True).start()
    return await future


def _verdict(check: ReadyCheck, url: str, status_line: bytes, body: bytes) -> str | None:
    status = _status(status_line)
    if status is None:
        return "no HTTP answer" if not status_line else "not an HTTP answer"
    if 200 <= status < 400:
        return None
    failure = f"HTTP {status} from {url}"
    if status == 400 and b"DisallowedHost" in body:
        header = host_header(check, url)
        # ALLOWED_HOSTS names hosts without their port (localhost, not localhost:8000).
        host = header.rsplit(":", 1)[0] if re.fullmatch(r".+:\d+", header) else header
        failure += (
            f" — Django's DisallowedHost: the Host header {header!r} is not in ALLOWED_HOSTS; "
            f"add {host!r} to ALLOWED_HOSTS, or give the check a host it allows (host = ...)"
        )
    return failure


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


def _current_task() -> asyncio.Task | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no loop running (kill_all_now at the very end)
        return None


class Checks:
    """The ready checks of a run's processes, on the loop. The verdict goes to *passed(proc)*
    or *failed(proc, why)*; *settle(proc)* brings a process's buffer up to what was read."""

    def __init__(
        self,
        cwd: Path | str,
        shell: str,
        reaper: Callable[[], Reaper],
        settle: Callable[[ManagedProcess], None],
        passed: Callable[[ManagedProcess], None],
        failed: Callable[[ManagedProcess, str], None],
        trying: Callable[[ManagedProcess, str, int, float], None] = lambda *_: None,
    ):
        self.cwd = cwd
        self.shell = shell
        self.reaper = reaper
        self.settle = settle
        self.passed = passed
        self.failed = failed
        self.trying = trying  # (proc, last failure, tries so far, seconds since the start)
        #: Tells a process's pane what a check waits for (``waiting for postgres at …``).
        self.say: Callable[[ManagedProcess, str], None] | None = None

    def start(self, proc: ManagedProcess, env: Mapping[str, str]) -> None:
        """*proc* was just started with *env*: check it until it passes or its timeout."""
        check = proc.settings.ready
        assert check is not None
        if check.kind is ReadyKind.LOG:
            proc._log_check = check.pattern
        elif check.kind is ReadyKind.URL and self.say is not None and invalid(check, env) is None:
            self.say(proc, f"tuirunner: waiting for {check.service(env).describe()}")
        proc._ready_task = asyncio.get_running_loop().create_task(
            self._poll(proc, dict(env)), name=f"ready {proc.name}"
        )

    def cancel(self, proc: ManagedProcess) -> None:
        proc._log_check = None
        task, proc._ready_task = proc._ready_task, None
        if task is not None and task is not _current_task():
            task.cancel()

    def match(self, proc: ManagedProcess, lines: list[str]) -> None:
        """Output of *proc* (*lines*, and its partial line) for a ``log`` check not passed yet."""
        pattern = proc._log_check
        assert pattern is not None
        candidates = [*lines, proc.buffer.partial] if proc.buffer.partial else lines
        if any(pattern.search(strip_ansi(line)) for line in candidates):
            self.cancel(proc)
            self.passed(proc)

    async def _poll(self, proc: ManagedProcess, env: dict[str, str]) -> None:
        check = proc.settings.ready
        assert check is not None
        deadline = time.monotonic() + check.timeout
        last = f"no line matched {check.target!r}"
        if check.kind is ReadyKind.LOG:
            await asyncio.sleep(check.timeout)  # cancelled when a line matches
            self.settle(proc)  # a line read in time but not yet matched (batched)
            if proc._log_check is None:
                return
        elif (wrong := invalid(check, env)) is not None:
            proc._ready_task = None  # a $VARIABLE that is not set will not be set later
            self.failed(proc, wrong)
            return
        else:
            began = time.monotonic()
            delays = check.delays()  # backing off: 0.25 s, 0.5 s, 1 s … up to ``interval``
            tries = 0
            while (left := deadline - time.monotonic()) > 0:
                delay = next(delays)
                await asyncio.sleep(min(delay, left))
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                # An attempt has the time left (a command all of it; a connection at most
                # ATTEMPT_TIMEOUT), and at least one delay, even at the very end.
                limit = max(left, delay)
                if check.kind is not ReadyKind.COMMAND:
                    limit = min(limit, ATTEMPT_TIMEOUT)
                result = await attempt(
                    check, env, limit, cwd=self.cwd, reaper=self.reaper(), shell=self.shell
                )
                tries += 1
                if result is None:
                    proc._ready_task = None
                    self.passed(proc)
                    return
                last = result
                self.trying(proc, last, tries, time.monotonic() - began)
        proc._ready_task = None
        self.failed(proc, f"{last} (gave up after {check.timeout:g} s)")
