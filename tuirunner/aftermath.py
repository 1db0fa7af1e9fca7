"""What a foreground front end does when its run's keeper died: finish the job, and say what
happened — never more than what happened.

Normally the keeper's guard stops what the keeper left (tuirunner/guard.py). If the guard died
too (``kill -9`` of both), the processes that left their process group (``setsid``, a double
fork, ``env -i``) would live on under init. The foreground front end is a child subreaper
(Linux) for as long as it runs (:func:`adopt_orphans`), so they re-parent to it: it stops its
descendants, and every process still carrying the run's id (``TUIRUNNER_RUN_ID``), SIGTERM
first, SIGKILL after the run's stop timeout, and then looks again to tell what is left.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import TYPE_CHECKING

from tuirunner.guard import PR_SET_CHILD_SUBREAPER, longest_stop, prctl

if TYPE_CHECKING:
    import psutil

_adopting = False
KEEPER_LEAVES = 5.0  # seconds a keeper that said goodbye has to be gone (it closes its sessions)


def adopt_orphans() -> bool:
    """Become a child subreaper (Linux): the run's orphans come to us if its keeper and its
    guard both die. Only for the front end that owns a run, in the foreground. Cheap: psutil
    is imported only if there is something to stop."""
    global _adopting
    _adopting = _adopting or prctl(PR_SET_CHILD_SUBREAPER, 1)
    return _adopting


def stop_timeout(timeout: float, noted: str) -> float:
    """The run's longest stop: *timeout*, or what the keeper noted in *noted* if longer."""
    return longest_stop(timeout, noted)


def leftovers(run_id: str) -> list[psutil.Process]:
    """The live processes of the run: our descendants (orphans of a dead keeper re-parent to
    us), and every process carrying the run's id."""
    from tuirunner import groups
    from tuirunner.environment import RUN_ID_VARIABLE

    found: dict[int, psutil.Process] = {}
    if _adopting:
        for p in groups.Snapshot().descendants(os.getpid()):
            found[p.pid] = p
    if run_id:
        for p in groups.marked(run_id, RUN_ID_VARIABLE):
            found.setdefault(p.pid, p)
    return list(found.values())


def sweep(run_id: str, timeout: float) -> tuple[int, list[int]]:
    """Stop what is left of the run (SIGTERM, SIGKILL after *timeout* seconds): how many
    processes were found, and the pids of those still alive after all."""
    import psutil

    from tuirunner import groups
    from tuirunner.portholders import running

    first = leftovers(run_id)
    if not first:
        return 0, []
    stopped = {p.pid for p in first}
    groups.kill(first, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap()
        alive = [p for p in leftovers(run_id) if running(p)]
        if not alive:
            return len(stopped), []
        fresh = [p for p in alive if p.pid not in stopped]  # forked meanwhile
        stopped.update(p.pid for p in fresh)
        groups.kill(fresh, signal.SIGTERM)
        time.sleep(0.05)
    for _ in range(20):  # SIGKILLed processes cannot fork: a few rounds empty it
        alive = [p for p in leftovers(run_id) if running(p)]
        if not alive:
            break
        stopped.update(p.pid for p in alive)
        groups.kill(alive)
        psutil.wait_procs(alive, timeout=0.5)
        _reap()
    return len(stopped), sorted(p.pid for p in leftovers(run_id) if running(p))


def _reap() -> None:
    """Collect the exit status of orphans that re-parented to us (they are our children)."""
    if not _adopting:
        return
    import psutil

    for p in psutil.Process().children():
        with contextlib.suppress(ChildProcessError, OSError):
            if p.status() == psutil.STATUS_ZOMBIE:
                os.waitpid(p.pid, os.WNOHANG)


def describe_death(code: int | None, keeper_pid: int | None, guard_pid: int | None) -> str:
    """*code*: the guard's exit status as :class:`subprocess.Popen` gives it (negative: the
    guard itself was killed by a signal; 128 + N: the keeper was), None if unknown."""
    keeper = "the keeper" if keeper_pid is None else f"the keeper (pid {keeper_pid})"
    if code is not None and code < 0:  # the guard was killed: nobody stopped anything
        return (
            f"{keeper} and its guard (pid {guard_pid}) died "
            f"(the guard killed by {_signal_name(-code)})"
        )
    how = ""
    if code is not None and code > 128:
        how = f" (killed by {_signal_name(code - 128)})"
    elif code:
        how = f" (exit status {code})"
    return f"{keeper} died{how}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def finish(
    run_id: str, code: int | None, keeper_pid: int | None, guard_pid: int | None, timeout: float
):
    """Stop what the dead keeper left, and say what happened, truthfully."""
    what = describe_death(code, keeper_pid, guard_pid)
    found, alive = sweep(run_id, timeout)
    if not found and code is not None and code < 0:
        return f"{what}; no process of the run was left"
    return what + outcome(found, alive)


def outcome(found: int, alive: list[int]) -> str:
    """``; its processes were stopped`` (by the guard: nothing was left to us), or what we
    stopped, or what could not be stopped."""
    if alive:
        pids = ", ".join(map(str, alive[:10])) + (" …" if len(alive) > 10 else "")
        return f"; {len(alive)} of its processes could not be stopped (pid {pids})"
    if found:
        return f"; tuirunner stopped the {found} process(es) it left behind"
    return "; its processes were stopped"


def wait_gone(pid: int, timeout: float) -> bool:
    """Until process *pid* is gone (reaped, if it re-parented to us), at most *timeout*
    seconds: whether it is."""
    deadline = time.monotonic() + timeout
    while not _gone(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def _gone(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError, OSError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True  # ours (an orphan that re-parented to us), and now reaped
    import psutil

    from tuirunner.portholders import running

    try:
        return not running(psutil.Process(pid))  # (a zombie is someone else's to reap)
    except psutil.Error:
        return True


def ended(reason: str, run_id: str, timeout: float, keeper: int | None = None) -> str:
    """The run ended by itself, not by a command (*reason*, the keeper's: its guard died, it
    got a signal): what to say, once anything left is stopped too. The *keeper* (its pid) said
    so once it had stopped the processes, and is leaving: it is given KEEPER_LEAVES seconds to
    be gone before anything is looked for (without a guard it re-parents to us, and would be
    taken for a process left behind, and sent a second SIGTERM: "stop now")."""
    if keeper:
        wait_gone(keeper, KEEPER_LEAVES)
    found, alive = sweep(run_id, timeout)
    if alive:
        return f"{reason}; {len(alive)} of its processes could not be stopped"
    if found:
        return f"{reason}; tuirunner stopped the {found} process(es) left behind"
    return f"{reason}; its processes were stopped"
