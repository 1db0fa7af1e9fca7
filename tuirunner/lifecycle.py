"""One process's life in the keeper, from its spawn to its end: what carrying out the policy's
:class:`~tuirunner.policy.Spawn` means (the PTY, the reader, the ready check, the log file),
what its output goes to, and what happens when it ends or is stopped (its group and strays go,
its last output is read, the policy hears of the end).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import subprocess
import time
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING

from tuirunner import groups, portholders
from tuirunner.environment import Environment
from tuirunner.events import (
    ExitStatus,
    InfoChanged,
    Notice,
    NoticeKind,
    OutputEnded,
    ProcessOutput,
    RunnerLine,
    State,
    StateChanged,
)
from tuirunner.lifecycle_logs import LogFiles
from tuirunner.logfile import LogFile, LogWriter, started_line
from tuirunner.openfiles import explain as explain_open_files
from tuirunner.output import DEFAULT_SCROLLBACK, OutputBuffer, strip_ansi
from tuirunner.policy import (
    Action,
    ArmRestart,
    CancelRestart,
    Changed,
    Member,
    Reconsider,
    Restart,
    RunStopCommand,
    SetState,
    Spawn,
    stop_steps,
    unhealthy,
)
from tuirunner.procfile import Instance
from tuirunner.ptys import Terminal
from tuirunner.settings import ProcessSettings
from tuirunner.shellexec import exec_form
from tuirunner.spawn import DEFAULT_WINDOW, spawn_on_pty
from tuirunner.stopcommand import run_stop_command

if TYPE_CHECKING:
    from tuirunner.supervisor import Supervisor

EOF_TIMEOUT = 2.0  # after the process group is gone, wait this long for its last output


log = logging.getLogger(__name__)


class ManagedProcess(Member):
    """One instance of a Procfile type, across its restarts: its snapshot and policy data
    (:class:`~tuirunner.policy.Member`) plus what the keeper holds of it."""

    def __init__(
        self,
        instance: Instance,
        scrollback: int = DEFAULT_SCROLLBACK,
        window: tuple[int, int] = DEFAULT_WINDOW,
        settings: ProcessSettings | None = None,
    ):
        settings = settings or ProcessSettings()
        super().__init__(
            name=instance.name,
            type=instance.type.name,
            number=instance.number,
            command=instance.command,
            port=instance.port,
            port_from=instance.port_from,
            oneshot=settings.oneshot,
            settings=settings,
        )
        self.instance = instance
        # A reload's new (instance, settings), while it runs: taken at its next start.
        self.pending: tuple[Instance, ProcessSettings] | None = None
        self._retry: asyncio.TimerHandle | None = None  # the automatic restart to come
        self._ready_task: asyncio.Task | None = None
        self._log_check: re.Pattern[str] | None = None  # a ``log`` ready check not passed yet
        self._ready_said: str | None = None  # the ready failure last told in its output
        self._health_task: asyncio.Task | None = None
        self.log: LogFile | None = None
        self.buffer = OutputBuffer(scrollback)
        self.environment: Environment | None = None  # what the running process got
        self.window = window
        self.terminal: Terminal | None = None  # output, input and window size
        self._exit: asyncio.Future[int] | None = None
        self._watch_task: asyncio.Task | None = None
        self._stop_requested = False
        self._signalled: int | None = None  # the group a stop of all signalled ahead of its turn
        self._terminated = asyncio.Event()  # set once a requested stop has killed the group
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"<ManagedProcess {self.name} {self.state.value} pid={self.pid}>"

    def take(self, instance: Instance, settings: ProcessSettings) -> None:
        """A new command, port and policy (a reload's), when it is not running."""
        self.instance = instance
        self.command = instance.command
        self.port = instance.port
        self.settings = settings
        self.oneshot = settings.oneshot
        self.stale_settings = None
        self.pending = None

    @property
    def running(self) -> bool:
        """Its leader has been spawned and not reaped yet."""
        return self._exit is not None and not self._exit.done()


@contextlib.asynccontextmanager
async def held(proc: ManagedProcess) -> AsyncIterator[None]:
    """One start, stop or restart of *proc* at a time (``busy`` while it lasts)."""
    async with proc._lock:
        proc.busy = True
        try:
            yield
        finally:
            proc.busy = False


class Lifecycle(LogFiles):
    """Carries the policy's actions out for the processes of *sup* (:meth:`run`): state
    changes and their events, restart timers, spawns; and sees each spawned process to its
    end."""

    def __init__(self, sup: Supervisor):
        self.sup = sup
        self.logs: LogWriter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task] = set()  # restarts of its own (watch, dependencies)

    # --- carrying the policy's actions out -----------------------------------------------------

    def set_state(self, proc: ManagedProcess, state: State) -> None:
        """Enter *state* (or, if it is the current one, tell that the rest changed), and let the
        processes that depend on *proc* reconsider."""
        old = proc.state
        if old is state:
            self.info_changed(proc)
            return
        proc.state = state
        self.sup._emit(StateChanged(proc, old, state))
        self.run(self.sup.policy.dependents_changed(proc))

    def info_changed(self, proc: ManagedProcess) -> None:
        self.sup._emit(InfoChanged(proc))
        self.run(self.sup.policy.dependents_changed(proc))

    def runner_line(self, proc: ManagedProcess, text: str) -> None:
        self.sup.settle(proc)  # after the output read before it
        proc.buffer.append_line(text)
        self.sup._emit(RunnerLine(proc, text))
        if proc.log is not None:
            proc.log.write(strip_ansi(text) + "\n")

    def run(self, actions: Iterable[Action]) -> None:
        for action in actions:
            proc = action.member
            assert isinstance(proc, ManagedProcess)
            if isinstance(action, Spawn):
                self.spawn(proc)
            elif isinstance(action, SetState):
                self.set_state(proc, action.state)
            elif isinstance(action, Changed):
                self.info_changed(proc)
            elif isinstance(action, Reconsider):
                self.run(self.sup.policy.reconsider(proc))
            elif isinstance(action, ArmRestart):
                loop = asyncio.get_running_loop()
                proc._retry = loop.call_later(action.delay, self.restart_due, proc)
            elif isinstance(action, CancelRestart):
                if proc._retry is not None:
                    proc._retry.cancel()
                    proc._retry = None
            elif isinstance(action, Restart):
                self.task(self.sup.restart(proc.name, reason=action.reason))

    def restart_due(self, proc: ManagedProcess) -> None:
        proc._retry = None
        before = (proc.state, proc.start_count)
        self.run(self.sup.policy.restart_due(proc))
        if (proc.state, proc.start_count) == before:
            self.info_changed(proc)  # next_start_at is gone, at least

    def task(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- spawning and ending ---------------------------------------------------------------

    def became_ready(self, proc: ManagedProcess) -> None:
        proc._log_check = None
        proc.ready = True
        proc.ready_error = None
        proc.ready_failure = None
        if proc._ready_said is not None:
            self.runner_line(proc, f"tuirunner: {proc.name} is ready")
        self.sup.health.start(proc)
        self.set_state(proc, State.RUNNING)  # from STARTING; else: InfoChanged

    def ready_trying(self, proc: ManagedProcess, failure: str, tries: int, spent: float) -> None:
        """An attempt of its ready check failed, and it goes on trying: show why at once (a
        line in its output when the reason is new, and in its snapshot with the count)."""
        proc.ready_tries = tries
        spent_text = f"{spent:.1f} s" if spent < 1 else f"{int(spent)} s"
        proc.ready_failure = f"{failure} ({tries} {'try' if tries == 1 else 'tries'}, {spent_text})"
        if failure != proc._ready_said:
            proc._ready_said = failure
            self.runner_line(proc, f"tuirunner: {proc.name} is not ready yet: {failure}")
        self.info_changed(proc)

    def not_ready(self, proc: ManagedProcess, why: str) -> None:
        proc._log_check = None
        proc.ready_error = why
        proc.ready_failure = None
        self.runner_line(proc, f"tuirunner: {proc.name} is not ready: {why}")
        self.set_state(proc, State.RUNNING)  # it runs, not ready: its dependents are blocked

    def health_changed(self, proc: ManagedProcess, failure: str | None) -> None:
        """A health probe of *proc* failed (*failure*), or passed again (None) after failures:
        count, tell, and once unhealthy let the policy decide (``autorestart``)."""
        check = proc.settings.health
        assert check is not None
        if failure is None:
            was = proc.unhealthy
            proc.health_failure, proc.health_failures, proc.unhealthy = None, 0, False
            if was:
                self.runner_line(proc, f"tuirunner: {proc.name} is healthy again")
            self.info_changed(proc)
            return
        proc.health_failures += 1
        proc.health_failure = failure
        n, allowed = proc.health_failures, check.failures
        if n < allowed:
            self.runner_line(
                proc, f"tuirunner: {proc.name} health check failed ({n} of {allowed}): {failure}"
            )
        elif not proc.unhealthy:
            proc.unhealthy = True
            in_a_row = f"{n} failure{'s' if n > 1 else ''} in a row"
            self.runner_line(proc, f"tuirunner: {proc.name} is unhealthy ({in_a_row}): {failure}")
            self.sup._emit(Notice(proc, f"{proc.name} is unhealthy: {failure}", NoticeKind.ERROR))
            self.run(unhealthy(proc, self.sup.policy.shutting_down))
        self.info_changed(proc)

    def spawn(self, proc: ManagedProcess) -> None:
        if proc.pending is not None:  # the settings or Procfile changed while it ran
            proc.take(*proc.pending)
        environment = self.sup.environment_for(proc)
        reason, proc.start_reason = proc.start_reason, None
        self.open_log(proc)
        reaper = self.sup.reaper  # its SIGCHLD handler must be there before the child can exit
        self.check_port(proc)
        try:
            spawned = spawn_on_pty(
                [self.sup.shell, "-c", exec_form(proc.command)],  # the pid is the program's
                environment.as_dict(),
                self.sup.app_root,
                proc.window,
            )
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            why = explain_open_files(exc, len(self.sup.processes))
            proc.error = f"cannot start: {why or getattr(exc, 'strerror', None) or exc}"
            proc.exit = ExitStatus(returncode=127)
            proc.ended_at = time.time()
            self.runner_line(proc, f"tuirunner: {proc.name}: {proc.error}")
            self.sup._emit(Notice(proc, f"{proc.name} {proc.error}", NoticeKind.ERROR))
            self.run(self.sup.policy.spawn_failed(proc, proc.ended_at))
            return
        proc._exit = reaper.wait(spawned.pid)
        if proc.start_count:
            why = f": {reason}" if reason else ""
            self.runner_line(
                proc, f"\x1b[2m── {proc.name} restarted (pid {spawned.pid}){why} ──\x1b[0m"
            )
        if proc.log is not None:
            proc.log.write(started_line(proc.name, spawned.pid))
        proc._stop_requested = False
        proc._signalled = None
        proc._terminated = asyncio.Event()
        proc.pid = proc.last_pid = spawned.pid
        proc.started_at = time.time()
        proc.ended_at = None
        proc.exit = None
        proc.error = None
        proc.forced, proc.forced_after = False, None
        proc.start_count += 1
        proc.started_because = reason
        proc.environment = environment
        proc.env_version = self.sup.env_version
        checked = proc.settings.ready is not None
        proc.ready = False if checked else None
        proc.ready_error = proc.ready_failure = proc._ready_said = None
        proc.ready_tries = 0
        proc.health_failure = None
        proc.health_failures = 0
        proc.unhealthy = False
        proc.cpu = proc.memory = proc.ports = None
        proc.terminal = self.sup.ptys.open(spawned.master, lambda data: self.feed(proc, data))
        if checked:
            self.sup.checks.start(proc, environment.as_dict())
        else:
            self.sup.health.start(proc)
        proc.live = True
        proc._watch_task = asyncio.create_task(self.watch(proc), name=f"watch {proc.name}")
        self.set_state(proc, State.STARTING if checked else State.RUNNING)
        self.run(self.sup.policy.started(proc))

    async def stop_command(self, proc: ManagedProcess, step: RunStopCommand) -> None:
        """Run *proc*'s stop command (:mod:`tuirunner.stopcommand`), its output in the pane."""
        self.runner_line(
            proc, f"\x1b[2m── {proc.name}: running its stop command: {step.command}\x1b[0m"
        )
        env = proc.environment or self.sup.environment_for(proc)
        outcome = await run_stop_command(
            step.command,
            env.as_dict(),
            self.sup.app_root,
            shell=self.sup.shell,
            reaper=self.sup.reaper,
            timeout=step.timeout,
            line=lambda text: self.runner_line(proc, text),
        )
        if outcome != "exited with code 0":
            self.sup._emit(
                Notice(proc, f"{proc.name}: its stop command {outcome}", NoticeKind.ERROR)
            )
        self.runner_line(proc, f"\x1b[2m── {proc.name}: stop command {outcome}\x1b[0m")

    def check_port(self, proc: ManagedProcess) -> None:
        """Before *proc* starts: if its ``PORT`` is taken already, say by whom (its pane, its
        header, ``ps``), and whether it is a stray of this app root's earlier run (``K``)."""
        found = portholders.holders(proc.port) if portholders.uses_port(proc.command) else []
        if not found:
            proc.port_holder = proc.stray_pid = None
            return
        holder = found[0]
        stray = holder.is_stray_of(self.sup.app_root, self.sup.run_id)
        proc.port_holder = holder.describe(proc.port, self.sup.app_root)
        proc.stray_pid = holder.pid if stray else None
        hint = "; press K to stop it (or: tuirunner start --kill-stray)" if stray else ""
        self.runner_line(proc, f"\x1b[33mtuirunner: {proc.port_holder}{hint}\x1b[0m")

    def feed(self, proc: ManagedProcess, data: bytes) -> None:
        """What its terminal gave (a batch): into the buffer, the log file, the events."""
        lines = proc.buffer.feed(data)
        # The output goes out before what it causes (a log line's ready check passing): a
        # client's copy of the buffer then never gets it twice.
        self.sup._emit(ProcessOutput(proc, lines, data))
        if proc.log is not None:
            proc.log.write(data)
        if proc._log_check is not None:
            self.sup.checks.match(proc, lines)

    async def finish_output(self, proc: ManagedProcess) -> None:
        """After the process group is gone: read the rest of its output, then close up."""
        if proc.terminal is not None:
            await proc.terminal.finish(EOF_TIMEOUT)
        proc.terminal = None
        last = proc.buffer.finish()
        if proc.log is not None:
            proc.log.finish()
        self.sup._emit(OutputEnded(proc, last))

    async def watch(self, proc: ManagedProcess) -> None:
        assert proc._exit is not None and proc.pid is not None
        try:
            returncode = await proc._exit
            self.sup.checks.cancel(proc)  # whatever its leftovers do, it is not becoming ready now
            self.sup.health.cancel(proc)
            pgid = proc.pid
            if proc._stop_requested:
                # The stop in progress owns the group: wait until it is gone (or killed), so
                # that the output of a lingering grandchild is still read and the state stays
                # "stopping".
                await proc._terminated.wait()
            elif groups.group_alive(pgid) and groups.GroupWatch(pgid).alive(leader_done=True):
                # The shell ended but left children behind (``cmd &``): they go too.
                await self.sup.terminator.terminate_group(proc, pgid, leftovers=True)
            elif not self.sup.shutting_down:
                await self.sup.terminator.stop_strays_of(proc)  # children it detached (setsid)
            await self.finish_output(proc)
            proc.exit = ExitStatus.from_returncode(returncode)
            proc.ended_at = time.time()
            proc.pid = None
            proc.ready = None if proc.settings.ready is None else False
            proc.ready_error = proc.ready_failure = None
            proc.cpu = proc.memory = proc.ports = None
            ran = proc.ended_at - (proc.started_at or proc.ended_at)
            self.run(self.sup.policy.ended(proc, ran, proc.ended_at, proc._stop_requested))
        finally:
            proc.live = False

    async def stop(self, proc: ManagedProcess, state: State) -> None:
        task = proc._watch_task
        if proc.pid is None or task is None or task.done():
            return
        proc._stop_requested = True
        self.sup.checks.cancel(proc)
        self.sup.health.cancel(proc)
        self.set_state(proc, state)
        try:
            for step in stop_steps(proc, self.sup.policy.stop_timeout(proc)):
                await self.stop_command(proc, step)
            await self.sup.terminator.terminate_group(proc, proc.pid)
        finally:
            proc._terminated.set()
        # A restart stays "restarting" (not "stopped") until the new process runs.
        await task
