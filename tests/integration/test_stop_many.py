"""Stopping scales: ``down`` of a few hundred silent processes completes and leaves nothing
(issue 24, breakage 9). How long it takes is measured by bench/stop_many.py, not asserted."""

import json

import pytest

from tests.helpers import assert_no_leftovers, processes_with, run_cli, wait_for, write_files

TYPES, PER_TYPE = 6, 50  # 300 processes, each with a shell between the keeper and its sleep


@pytest.mark.slow
def test_down_of_hundreds_of_processes_leaves_nothing(tmp_path, mark):
    (tmp_path / mark).symlink_to("/bin/sleep")  # the marker in every command line
    names = [f"p{i}" for i in range(TYPES)]
    write_files(
        tmp_path,
        {"Procfile": "".join(f"{n}: ./{mark} 600; echo never\n" for n in names)},
    )
    concurrency = ",".join(f"{n}={PER_TYPE}" for n in names)
    run_cli(["start", "-D", "-c", concurrency], tmp_path, timeout=120)
    try:

        def running() -> int:
            result = run_cli(["ps", "--json"], tmp_path)
            if result.returncode != 0:
                return 0
            return sum(p["state"] == "running" for p in json.loads(result.stdout))

        wait_for(lambda: running() == TYPES * PER_TYPE, 180, interval=0.5)
        assert len(processes_with(mark)) >= TYPES * PER_TYPE  # a shell and its sleep each
        result = run_cli(["down"], tmp_path, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "stopped" in result.stderr
    finally:
        run_cli(["down"], tmp_path, timeout=120)
    assert_no_leftovers(mark)
