"""A run leaves nothing in the runtime directory (issue 22: 99 files after an afternoon): its
socket, lock and log go when it ends; those of a keeper that was killed go with its stale
socket, at the next command that finds them."""

import os
import signal

import psutil

from tests.helpers import run_cli, wait_for, write_files
from tuirunner.runtime import run_paths


def files_of(paths) -> list[str]:
    prefix = paths.lock.stem
    return sorted(p.name for p in paths.lock.parent.iterdir() if p.name.startswith(prefix))


def test_a_run_that_ends_removes_its_files(tmp_path, mark):
    write_files(tmp_path, {"Procfile": f"web: exec sleep 600 # {mark}\n"})
    paths = run_paths(tmp_path)
    assert run_cli(["start", "-D"], tmp_path).returncode == 0
    assert paths.lock.exists() and paths.socket.exists() and paths.log.exists()
    assert run_cli(["down"], tmp_path).returncode == 0
    wait_for(lambda: files_of(paths) == [], 20, message=f"no files left: {files_of(paths)}")
    # A plain foreground run too.
    write_files(tmp_path, {"Procfile": "once: echo done\n"})
    result = run_cli(["start"], tmp_path)
    assert result.returncode == 0, result.stderr
    wait_for(lambda: files_of(paths) == [], 20, message=f"no files left: {files_of(paths)}")


def test_the_files_of_a_killed_keeper_go_with_its_stale_socket(tmp_path, mark):
    write_files(tmp_path, {"Procfile": f"web: exec sleep 600 # {mark}\n"})
    paths = run_paths(tmp_path)
    assert run_cli(["start", "-D"], tmp_path).returncode == 0
    keeper = int(paths.lock.read_text())
    guard = psutil.Process(keeper).parent()
    guard.suspend()  # the guard would clean up after the keeper: not this time
    try:
        os.kill(keeper, signal.SIGKILL)
        wait_for(
            lambda: (
                not psutil.pid_exists(keeper)
                or psutil.Process(keeper).status() == psutil.STATUS_ZOMBIE
            ),
            20,
            message="the keeper gone",
        )
        assert paths.socket.exists() and paths.lock.exists()  # stale
        result = run_cli(["ps"], tmp_path)
        assert result.returncode == 1 and "no tuirunner is running" in result.stderr
        assert files_of(paths) == []
    finally:
        guard.resume()
