"""A start racing another never says ``already running (pid -1)`` (issue 24, smaller ones):
the pid a keeper writes just after taking the lock is waited for."""

import fcntl
import os
import threading

from tuirunner.runtime import already_running, holder, run_paths


def take_lock(path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.ftruncate(fd, 0)  # what a keeper does before it writes its pid
    return fd


def test_a_pid_written_just_after_the_lock_is_waited_for(tmp_path):
    paths = run_paths(tmp_path)
    fd = take_lock(paths.lock)
    try:
        writer = threading.Timer(0.2, lambda: os.write(fd, f"{os.getpid()}\n".encode()))
        writer.start()
        assert holder(paths) == os.getpid()
        writer.join()
    finally:
        os.close(fd)


def test_a_pid_that_never_comes_is_not_said_as_minus_one(tmp_path):
    paths = run_paths(tmp_path)
    fd = take_lock(paths.lock)
    try:
        pid = holder(paths)  # gives up after a moment
        message = already_running(pid)
        assert "-1" not in message
        assert message == "already running (its keeper is just starting): tuirunner attach"
    finally:
        os.close(fd)
    assert already_running(42, " -d /x") == "already running (pid 42): tuirunner attach -d /x"
