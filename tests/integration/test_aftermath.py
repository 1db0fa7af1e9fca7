"""A foreground front end whose run ended by itself (the keeper's guard died, the keeper got a
signal) looks for what is left only once the keeper, which said goodbye after stopping the
processes, is gone: a keeper still on its way out is no process left behind (real processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from tuirunner import aftermath
from tuirunner.environment import RUN_ID_VARIABLE

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")

LEAVING = "import time; time.sleep(0.5)"  # a keeper that said goodbye, closing its sessions


def test_a_run_that_ended_says_so_once_its_keeper_has_left_by_itself():
    run_id = f"test-{uuid.uuid4().hex}"
    env = dict(os.environ, **{RUN_ID_VARIABLE: run_id})  # found as a process of the run
    keeper = subprocess.Popen([sys.executable, "-c", LEAVING], env=env)
    try:
        said = aftermath.ended("the keeper's guard (pid 1) died", run_id, 5.0, keeper=keeper.pid)
    finally:
        keeper.kill()
    # Not "tuirunner stopped the 1 process(es) left behind": the keeper was not sent a SIGTERM
    # (a second one, for a keeper, means "kill everything now").
    assert said == "the keeper's guard (pid 1) died; its processes were stopped"
    with pytest.raises(ChildProcessError):
        os.waitpid(keeper.pid, os.WNOHANG)  # gone, and reaped


def test_waiting_for_a_process_to_be_gone_gives_up_at_the_timeout():
    proc = subprocess.Popen(["sleep", "30"])
    try:
        assert aftermath.wait_gone(proc.pid, 0.2) is False
        proc.terminate()
        assert aftermath.wait_gone(proc.pid, 10) is True
    finally:
        proc.kill()
