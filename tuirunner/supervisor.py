"""The supervisor: owns the processes, spawns, stops and restarts them, and emits events.

UI-agnostic and asyncio-based: the plain printer, the Textual app (and later a control socket)
drive it the same way and learn what happens through :meth:`Supervisor.subscribe`.

Each process instance runs ``/bin/sh -c COMMAND`` in its own session and process group, with a
pseudo-terminal as stdin, stdout and stderr (so Python children are line-buffered and Django
colours its output). Stopping sends SIGTERM to the whole **process group**, waits ``timeout``
seconds, then SIGKILLs the group: grandchildren such as runserver's autoreloader child go with it,
and a child that ignores SIGTERM cannot hang the runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import pty
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import psutil

from tuirunner.diagnose import crash_hint
from tuirunner.environment import Environment
from tuirunner.output import DEFAULT_SCROLLBACK, OutputBuffer
from tuirunner.procfile import Instance

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0
READ_SIZE = 262144
RELAY_SCRIPT = Path(__file__).with_name("relay.py")
RELAY_PIPE_SIZE = 1 << 20  # bytes a child may write ahead of the runner (Linux; ignored elsewhere)
RELAY_EOF_TIMEOUT = 2.0  # after the process group is gone, wait this long for its last output
# After a read that emptied the pipe, wait this long before reading again: the relay's pipe
# absorbs the output meanwhile, and one large read costs far less than many small ones.
READ_PAUSE = 0.004
DEFAULT_WINDOW = (80, 24)  # columns, rows
RUN_ID_VARIABLE = "TUIRUNNER_RUN_ID"


class State(StrEnum):
    PENDING = "pending"  # not started yet
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    RESTARTING = "restarting"  # stopping in order to start again
    STOPPED = "stopped"  # stopped on request
    EXITED = "exited"  # ended on its own; see ManagedProcess.exit
    FAILED = "failed"  # could not be spawned at all

    @property
    def alive(self) -> bool:
        return self in (State.STARTING, State.RUNNING, State.STOPPING, State.RESTARTING)


@dataclass(frozen=True)
class ExitStatus:
    returncode: int | None = None  # exit code, when it exited
    signal: int | None = None  # signal number, when a signal killed it

    @classmethod
    def from_returncode(cls, returncode: int) -> ExitStatus:
        if returncode < 0:
            return cls(signal=-returncode)
        return cls(returncode=returncode)

    @property
    def code(self) -> int:
        """A shell-style status: the exit code, or 128 + the signal number."""
        if self.signal is not None:
            return 128 + self.signal
        return self.returncode or 0

    @property
    def success(self) -> bool:
        return self.signal is None and self.returncode == 0

    @property
    def signal_name(self) -> str:
        if self.signal is None:
            return ""
        try:
            return signal.Signals(self.signal).name
        except ValueError:
            return f"signal {self.signal}"

    def describe(self) -> str:
        if self.signal is not None:
            return f"killed by {self.signal_name}"
        return f"exited with code {self.returncode}"


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessOutput:
    """New output: *lines* are the lines completed by it (the partial line may have changed too)."""

    process: ManagedProcess
    lines: list[str]


@dataclass(frozen=True)
class StateChanged:
    process: ManagedProcess
    old: State
    new: State


@dataclass(frozen=True)
class Notice:
    """Something the runner did that a user may want to see (``sending SIGKILL to web.1``)."""

    process: ManagedProcess | None
    message: str


Event = ProcessOutput | StateChanged | Notice
Listener = Callable[[Event], None]


# --- processes ----------------------------------------------------------------------------------


class ManagedProcess:
    """One instance of a Procfile type, across its restarts."""

    def __init__(self, instance: Instance, scrollback: int = DEFAULT_SCROLLBACK):
        self.instance = instance
        self.state = State.PENDING
        self.pid: int | None = None
        self.started_at: float | None = None  # monotonic
        self.ended_at: float | None = None
        self.start_count = 0
        self.exit: ExitStatus | None = None
        self.error: str | None = None  # why spawning failed
        self.buffer = OutputBuffer(scrollback)
        self.environment: Environment | None = None  # what the running process got
        self.window = DEFAULT_WINDOW
        self._fd: int | None = None  # the PTY master: input and window size
        self._out: int | None = None  # the relay pipe's read end: output
        self._relay: subprocess.Popen | None = None  # the relay that drains this PTY
        self._eof = asyncio.Event()
        self._input: list[bytes] = []
        self._input_task: asyncio.Task | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._watch_task: asyncio.Task | None = None
        self._stop_requested = False
        self._terminated = asyncio.Event()  # set once a requested stop has killed the group
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"<ManagedProcess {self.name} {self.state.value} pid={self.pid}>"

    @property
    def name(self) -> str:
        return self.instance.name

    @property
    def command(self) -> str:
        return self.instance.command

    @property
    def port(self) -> int:
        return self.instance.port

    @property
    def restart_count(self) -> int:
        return max(0, self.start_count - 1)

    @property
    def crashed(self) -> bool:
        return self.state is State.FAILED or (
            self.state is State.EXITED and self.exit is not None and not self.exit.success
        )

    def uptime(self, now: float) -> float | None:
        if self.started_at is None:
            return None
        end = self.ended_at if self.ended_at is not None and not self.state.alive else now
        return max(0.0, end - self.started_at)


def _become_terminal_owner() -> None:  # runs in the child between fork and exec
    # start_new_session made the child a session leader; adopt the PTY on fd 0 as its
    # controlling terminal so that ^C typed in input mode becomes SIGINT, job control works,
    # and the whole session gets SIGHUP if the terminal goes away.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def runner_variables(instance: Instance, run_id: str | None = None) -> dict[str, str]:
    """What the runner sets for a process: ``PORT``, ``PS`` and, in a run, ``TUIRUNNER_RUN_ID``
    (which, with ``PS``, finds the children that leave the process group)."""
    variables = {"PORT": str(instance.port), "PS": instance.name}
    if run_id is not None:
        variables[RUN_ID_VARIABLE] = run_id
    return variables


def _write_all(fd: int, data: bytes, patience: float = 30.0) -> None:
    """Write all of *data* to *fd* (non-blocking: the relay made the master so), waiting up to
    *patience* seconds for a child that reads slowly; then close *fd*, a duplicate the caller
    gave us."""
    deadline = time.monotonic() + patience
    try:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return
                select.select([], [fd], [], 0.5)
    finally:
        os.close(fd)


def _set_winsize(fd: int, columns: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def _group_alive(pgid: int) -> bool:
    """Cheap: does any process (zombies included) still have this process group?"""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _group_members(pgid: int) -> list[psutil.Process]:
    """The live (non-zombie) processes of a group. Zombies matter: a grandchild orphaned by its
    parent's death stays a zombie until init reaps it, which can take a second or more."""
    members = []
    for p in psutil.process_iter(["status"]):
        try:
            if p.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(p.pid) == pgid:
                members.append(p)
        except (OSError, psutil.Error):
            continue
    return members


class _GroupWatch:
    """Tells when a process group has no live member left, cheaply while polling: it checks the
    members it knows, and only rescans all processes when they are all gone but the group is
    not (new members, or zombies waiting to be reaped)."""

    def __init__(self, pgid: int):
        self.pgid = pgid
        self.members = _group_members(pgid) if _group_alive(pgid) else []

    def alive(self) -> bool:
        if not _group_alive(self.pgid):
            return False
        for p in self.members:
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    return True
            except psutil.Error:
                continue
        self.members = _group_members(self.pgid)
        return bool(self.members)


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


class Supervisor:
    """Runs the instances of a formation."""

    def __init__(
        self,
        instances: Iterable[Instance],
        environment: Environment,
        app_root: Path | str = ".",
        timeout: float = DEFAULT_TIMEOUT,
        scrollback: int = DEFAULT_SCROLLBACK,
        shell: str = "/bin/sh",
        clock: Callable[[], float] = time.monotonic,
    ):
        self.processes = [ManagedProcess(i, scrollback) for i in instances]
        self._by_name = {p.name: p for p in self.processes}
        self.environment = environment
        self.app_root = Path(app_root)
        self.timeout = timeout
        self.shell = shell
        self.clock = clock
        self.shutting_down = False
        self.run_id = uuid.uuid4().hex[:16]
        self._listeners: list[Listener] = []
        self._relay: subprocess.Popen | None = None
        self._control: socket.socket | None = None

    # --- observation ---------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken front end must not break supervision
                log.exception("listener failed on %r", event)

    def _set_state(self, proc: ManagedProcess, state: State) -> None:
        old = proc.state
        if old is state:
            return
        proc.state = state
        self._emit(StateChanged(proc, old, state))

    def get(self, name: str) -> ManagedProcess:
        return self._by_name[name]

    def __iter__(self):
        return iter(self.processes)

    @property
    def any_alive(self) -> bool:
        return any(p.state.alive for p in self.processes)

    def environment_for(self, proc: ManagedProcess) -> Environment:
        """What *proc* gets when started now: the environment plus :func:`runner_variables`."""
        return self.environment.with_runner_vars(runner_variables(proc.instance, self.run_id))

    def crash_hint(self, proc: ManagedProcess, how: str) -> str | None:
        """If *proc*'s last output blames a variable it lacked: ``SECRET_KEY is not set — how``."""
        environment = proc.environment or self.environment_for(proc)
        return crash_hint(proc.buffer.tail(60), environment.as_dict(), how)

    def stale_processes(self) -> list[ManagedProcess]:
        """Running processes whose environment differs from what a restart would give them."""
        stale = []
        for proc in self.processes:
            alive = proc.state.alive and proc.environment is not None
            if alive and proc.environment.diff(self.environment_for(proc)):
                stale.append(proc)
        return stale

    # --- control -------------------------------------------------------------------------------

    async def start(self, name: str) -> None:
        proc = self.get(name)
        async with proc._lock:
            if not proc.state.alive and not self.shutting_down:
                await self._spawn(proc)

    async def stop(self, name: str) -> None:
        proc = self.get(name)
        async with proc._lock:
            await self._stop(proc, State.STOPPING)

    async def restart(self, name: str) -> None:
        proc = self.get(name)
        async with proc._lock:
            if self.shutting_down:
                return
            await self._stop(proc, State.RESTARTING)
            if self.shutting_down:  # a quit came during the restart: stay stopped
                self._set_state(proc, State.STOPPED)
            else:
                await self._spawn(proc)

    async def start_all(self) -> None:
        for proc in self.processes:
            await self.start(proc.name)

    async def restart_all(self) -> None:
        await asyncio.gather(*(self.restart(p.name) for p in self.processes))

    async def stop_all(self, final: bool = True) -> None:
        """Stop everything (in parallel, so the whole stop takes at most one timeout).

        *final*: the run is ending, nothing may start again (else processes can be started again
        afterwards, as the UI's "Stop all" does)."""
        if not final:
            await asyncio.gather(*(self.stop(p.name) for p in self.processes))
            return
        self.shutting_down = True
        await asyncio.gather(*(self.stop(p.name) for p in self.processes))
        await self._stop_strays(None)  # one scan for all of them (the stops above skip theirs)
        self._close_relay(wait=1.0)

    def kill_all_now(self) -> None:
        """SIGKILL every process group at once, and every process that left its group: the
        forced quit, and the last-resort cleanup."""
        self.shutting_down = True
        for proc in self.processes:
            if proc.pid is not None and proc.state.alive:
                proc._stop_requested = True
                strays = _descendants_outside_group(proc.pid)
                if _signal_group(proc.pid, signal.SIGKILL):
                    self._emit(Notice(proc, f"sending SIGKILL to {proc.name} (pid {proc.pid})"))
                _kill(strays)
                proc._terminated.set()
        _kill(self._marked_processes())
        self._close_relay()

    def write(self, name: str, data: bytes) -> bool:
        """Type *data* into the process's terminal. False if it is not running.

        The write happens in a thread: a child that does not read its input must not freeze the
        runner.
        """
        proc = self.get(name)
        if proc._fd is None or not proc.state.alive:
            return False
        proc._input.append(data)
        if proc._input_task is None or proc._input_task.done():
            proc._input_task = asyncio.get_running_loop().create_task(self._pump_input(proc))
        return True

    async def _pump_input(self, proc: ManagedProcess) -> None:
        loop = asyncio.get_running_loop()
        while proc._input and proc._fd is not None:
            data = b"".join(proc._input)
            proc._input.clear()
            try:
                # The thread writes through its own duplicate: the supervisor may close the
                # master meanwhile, and its number may be reused for another file.
                await loop.run_in_executor(None, _write_all, os.dup(proc._fd), data)
            except OSError:
                proc._input.clear()
                return

    def set_window_size(self, name: str, columns: int, rows: int) -> None:
        proc = self.get(name)
        size = (max(columns, 1), max(rows, 1))
        if proc.window == size:
            return
        proc.window = size
        if proc._fd is not None:
            with contextlib.suppress(OSError):
                _set_winsize(proc._fd, *size)

    # --- internals -----------------------------------------------------------------------------

    async def _spawn(self, proc: ManagedProcess) -> None:
        self._set_state(proc, State.STARTING)
        environment = self.environment_for(proc)
        master = slave = -1
        try:
            master, slave = pty.openpty()
            _set_winsize(master, *proc.window)
            process = await asyncio.create_subprocess_exec(
                self.shell,
                "-c",
                proc.command,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                cwd=self.app_root,
                env=environment.as_dict(),
                start_new_session=True,
                preexec_fn=_become_terminal_owner,
            )
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            if master >= 0:
                os.close(master)
            proc.error = f"cannot start: {getattr(exc, 'strerror', None) or exc}"
            proc.exit = ExitStatus(returncode=127)
            proc.buffer.append_line(f"tuirunner: {proc.name}: {proc.error}")
            self._emit(Notice(proc, f"{proc.name} {proc.error}"))
            self._set_state(proc, State.FAILED)
            return
        finally:
            if slave >= 0:
                os.close(slave)
        try:
            out = self._relay_stream(master)
            proc._relay = self._relay
        except OSError as exc:  # the relay could not start: do not leave the process unread
            _signal_group(process.pid, signal.SIGKILL)
            await process.wait()
            os.close(master)
            proc.error = f"cannot relay its output: {exc.strerror or exc}"
            proc.exit = ExitStatus(returncode=127)
            self._emit(Notice(proc, f"{proc.name} {proc.error}"))
            self._set_state(proc, State.FAILED)
            return
        if proc.start_count:
            proc.buffer.append_line(
                f"\x1b[2m── {proc.name} restarted (pid {process.pid}) ──\x1b[0m"
            )
        proc._fd = master
        proc._out = out
        proc._eof = asyncio.Event()
        proc._process = process
        proc._stop_requested = False
        proc._terminated = asyncio.Event()
        proc.pid = process.pid
        proc.started_at = self.clock()
        proc.ended_at = None
        proc.exit = None
        proc.error = None
        proc.start_count += 1
        proc.environment = environment
        asyncio.get_running_loop().add_reader(out, self._on_readable, proc)
        self._set_state(proc, State.RUNNING)
        proc._watch_task = asyncio.create_task(
            self._watch(proc, process), name=f"watch {proc.name}"
        )

    def _relay_stream(self, master: int) -> int:
        """Have the relay drain the PTY *master* into a new pipe; returns the pipe's read end.

        See :mod:`tuirunner.relay`: a separate process, so that a child printing fast is not
        held up while the runner paints, one for all processes.
        """
        read_end, write_end = os.pipe()
        try:
            if hasattr(fcntl, "F_SETPIPE_SZ"):
                with contextlib.suppress(OSError):
                    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, RELAY_PIPE_SIZE)
            for attempt in (1, 2):
                if self._relay is None or self._relay.poll() is not None:
                    self._start_relay()
                assert self._control is not None
                try:
                    socket.send_fds(self._control, [b"s"], [master, write_end])
                    break
                except OSError:  # it died just now: once more, with a new one
                    if attempt == 2:
                        raise
                    self._close_relay()
                    self._relay = None
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        os.set_blocking(read_end, False)
        return read_end

    def _start_relay(self) -> None:
        self._close_relay()
        ours, theirs = socket.socketpair()
        try:
            # Plain Popen, not asyncio's: the relay outlives single processes, and asyncio's
            # child watcher must not race anyone for it. Its own session: ^C is not for it.
            self._relay = subprocess.Popen(
                [sys.executable, "-S", "-E", str(RELAY_SCRIPT), str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._control = ours

    def _close_relay(self, wait: float = 0.0) -> None:
        """Tell the relay no more streams come: it exits once its streams have ended."""
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._relay is not None and wait:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._relay.wait(wait)

    def _on_readable(self, proc: ManagedProcess) -> None:
        fd = proc._out
        if fd is None:
            return
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the stream ended: the terminal closed, or the relay died
            if self._reattach(proc, fd):
                return
            self._close_output(proc)
            return
        if len(data) < READ_SIZE and not proc._eof.is_set():
            loop = asyncio.get_running_loop()
            loop.remove_reader(fd)
            loop.call_later(READ_PAUSE, self._resume_reading, proc, fd)
        self._emit(ProcessOutput(proc, proc.buffer.feed(data)))

    def _reattach(self, proc: ManagedProcess, fd: int) -> bool:
        """If the relay died under a live process, start a new one and hand it the PTY again."""
        relay = proc._relay  # the relay this stream was given to
        if relay is None or relay.poll() is None or proc._fd is None or self.shutting_down:
            return False
        process = proc._process
        if process is None or process.returncode is not None:
            return False
        loop = asyncio.get_running_loop()
        loop.remove_reader(fd)
        os.close(fd)
        try:
            proc._out = self._relay_stream(proc._fd)
            proc._relay = self._relay
        except OSError:
            proc._out = None
            proc._eof.set()
            return True
        loop.add_reader(proc._out, self._on_readable, proc)
        self._emit(Notice(proc, f"the output relay stopped; {proc.name} reattached"))
        return True

    def _resume_reading(self, proc: ManagedProcess, fd: int) -> None:
        if proc._out == fd:  # not closed meanwhile
            asyncio.get_running_loop().add_reader(fd, self._on_readable, proc)

    def _close_output(self, proc: ManagedProcess) -> None:
        fd = proc._out
        if fd is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(fd)
            proc._out = None
            with contextlib.suppress(OSError):
                os.close(fd)
        proc._eof.set()

    async def _finish_output(self, proc: ManagedProcess) -> None:
        """After the process group is gone: read the rest of its output, then close up."""
        # If something outside the group still holds the terminal, stop waiting for it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc._eof.wait(), RELAY_EOF_TIMEOUT)
        self._close_output(proc)
        master, proc._fd = proc._fd, None
        if master is not None:
            with contextlib.suppress(OSError):
                os.close(master)

    async def _watch(self, proc: ManagedProcess, process: asyncio.subprocess.Process) -> None:
        returncode = await process.wait()
        pgid = process.pid
        if proc._stop_requested:
            # The stop in progress owns the group: wait until it is gone (or killed), so that
            # the output of a lingering grandchild is still read and the state stays "stopping".
            await proc._terminated.wait()
        elif _group_alive(pgid) and _group_members(pgid):
            # The shell ended but left children behind (``cmd &``): they go too.
            await self._terminate_group(proc, pgid, leftovers=True)
        else:
            await self._stop_strays(proc)  # children it detached from its group (setsid)
        await self._finish_output(proc)
        last = proc.buffer.finish()
        if last is not None:
            self._emit(ProcessOutput(proc, [last]))
        proc.exit = ExitStatus.from_returncode(returncode)
        proc.ended_at = self.clock()
        proc._process = None
        proc.pid = None
        if proc._stop_requested:
            self._set_state(proc, State.STOPPED if proc.state is State.STOPPING else proc.state)
        else:
            self._set_state(proc, State.EXITED)

    async def _stop(self, proc: ManagedProcess, state: State) -> None:
        process, task = proc._process, proc._watch_task
        if process is None or task is None or task.done():
            return
        proc._stop_requested = True
        self._set_state(proc, state)
        try:
            await self._terminate_group(proc, process.pid)
        finally:
            proc._terminated.set()
        # A restart stays "restarting" (not "stopped") until the new process runs.
        await task

    async def _terminate_group(self, proc: ManagedProcess, pgid: int, leftovers: bool = False):
        """SIGTERM the group, wait up to the timeout, then SIGKILL it."""
        strays = _descendants_outside_group(pgid)
        group = _GroupWatch(pgid)
        what = f"the leftover processes of {proc.name}" if leftovers else proc.name
        if _signal_group(pgid, signal.SIGTERM):
            self._emit(Notice(proc, f"sending SIGTERM to {what} (pid {pgid})"))
        if not await self._wait_gone(proc, group, self.timeout):
            if _signal_group(pgid, signal.SIGKILL):
                self._emit(Notice(proc, f"sending SIGKILL to {what} (pid {pgid})"))
            await self._wait_gone(proc, group, 5.0)
        _kill(strays)  # children that left the group (setsid), found when the stop began
        if not self.shutting_down:  # stop_all looks for the marked ones once, for all
            await self._stop_strays(proc)

    def _marked_processes(self, name: str | None = None) -> list[psutil.Process]:
        """Live processes started by this run (of process *name*), found by their marker."""
        found = []
        me = os.getpid()
        for p in psutil.process_iter(["status"]):
            try:
                if p.pid == me or p.info["status"] == psutil.STATUS_ZOMBIE:
                    continue
                environ = p.environ()
            except (psutil.Error, OSError):
                continue
            if environ.get(RUN_ID_VARIABLE) == self.run_id and (
                name is None or environ.get("PS") == name
            ):
                found.append(p)
        return found

    async def _stop_strays(self, proc: ManagedProcess | None) -> None:
        """SIGTERM, then SIGKILL after the timeout, the processes that left *proc*'s group (or
        any process's, for None), found by the marker in their environment."""
        loop = asyncio.get_running_loop()
        name = None if proc is None else proc.name
        strays = await loop.run_in_executor(None, self._marked_processes, name)
        if not strays:
            return
        whose = "the processes" if proc is None else proc.name
        self._emit(Notice(proc, f"stopping {len(strays)} process(es) {whose} left behind"))
        for p in strays:
            with contextlib.suppress(psutil.Error):
                p.terminate()
        _, alive = await loop.run_in_executor(None, psutil.wait_procs, strays, self.timeout)
        _kill(alive)

    async def _wait_gone(self, proc: ManagedProcess, group: _GroupWatch, timeout: float) -> bool:
        """Wait until the leader has exited and no live member of its group is left."""
        deadline = time.monotonic() + timeout
        delay = 0.005
        process = proc._process
        while True:
            leader_done = process is None or process.returncode is not None
            if leader_done and not group.alive():
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)


def _descendants_outside_group(pgid: int) -> list[psutil.Process]:
    """Descendants of the group leader that moved to another process group (setsid)."""
    try:
        children = psutil.Process(pgid).children(recursive=True)
    except psutil.Error:
        return []
    strays = []
    for child in children:
        try:
            if os.getpgid(child.pid) != pgid:
                strays.append(child)
        except OSError:
            continue
    return strays


def _kill(processes: Iterable[psutil.Process]) -> None:
    for p in processes:
        with contextlib.suppress(psutil.Error):
            p.kill()
