"""groups.Snapshot of the trees under some processes (a restart's looks) against a scan of the
whole process table: the same answers about those trees, with real process trees."""

import os
import subprocess
import sys

import pytest

from tests.helpers import wait_for
from tuirunner import groups

pytestmark = pytest.mark.skipif(
    not groups.children_files(), reason="the kernel does not list a task's children"
)

# A group leader with a member and a child that left the group (setsid).
LEADER = "setsid sleep 600 & sleep 600 & wait"
# A process with two threads whose second thread starts the child: the kernel lists it among
# that thread's children, not the main thread's (while that thread lives).
THREADED = (
    "import subprocess, threading, time\n"
    "def start():\n"
    "    subprocess.Popen(['sleep', '600']); print('started', flush=True); time.sleep(600)\n"
    "threading.Thread(target=start, daemon=True).start(); time.sleep(600)\n"
)


@pytest.fixture
def trees():
    leader = subprocess.Popen(["sh", "-c", LEADER], start_new_session=True)
    threaded = subprocess.Popen([sys.executable, "-c", THREADED], stdout=subprocess.PIPE, text=True)
    try:
        assert threaded.stdout is not None and threaded.stdout.readline() == "started\n"
        wait_for(lambda: len(groups.Snapshot().descendants(leader.pid)) == 2, 30)
        yield leader.pid, threaded.pid
    finally:
        for p in (leader, threaded):
            groups.kill(groups.Snapshot().descendants(p.pid))
            p.kill()
            p.wait()


def pids(processes) -> list[int]:
    return sorted(p.pid for p in processes)


def test_the_trees_under_roots_answer_as_the_whole_table(trees):
    leader, threaded = trees
    table, tree = groups.Snapshot(), groups.Snapshot([leader, threaded])
    read = {leader, threaded, *pids(table.descendants(leader)), *pids(table.descendants(threaded))}
    assert set(tree.pgrp) == read  # the trees, and nothing else of the table
    strays = pids(table.strays(leader))
    assert len(strays) == 1 and os.getpgid(strays[0]) == strays[0]  # setsid sleep
    assert pids(tree.strays(leader)) == strays
    members = pids(table.members(leader))
    assert len(members) == 2 and leader in members  # the shell and its plain sleep
    assert pids(tree.members(leader)) == members
    started = pids(table.descendants(threaded))
    assert len(started) == 1  # the second thread's child
    assert pids(tree.descendants(threaded)) == started


def test_skipped_subtrees_are_not_read(trees):
    leader, threaded = trees
    everything = pids(groups.Snapshot([os.getpid()]).descendants(os.getpid()))
    assert pids(groups.Snapshot().descendants(os.getpid())) == everything
    assert leader in everything and threaded in everything
    skipped = pids(groups.Snapshot([os.getpid()], skip={leader}).descendants(os.getpid()))
    assert leader not in skipped and threaded in skipped
    assert len(everything) - len(skipped) == 3  # the leader and its two children
