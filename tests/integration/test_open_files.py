"""A low limit on open files (``ulimit -n 64``) is said in words, with the limit a run needs,
not as ``[Errno 24] Too many open files`` (issue 24, smaller ones); a soft limit below what the
run needs is lifted within the hard one."""

import json
import resource
import subprocess

from tests.helpers import TUIRUNNER, clean_env, run_cli, wait_for, write_files

COUNT = 60  # more terminals than 64 open files allow


def start_with_limit(root, soft: int, hard: int) -> None:
    def limit() -> None:  # in the child, before exec: the keeper inherits it
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    result = subprocess.run(
        [TUIRUNNER, "start", "-D", "-c", f"p={COUNT}"],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,
    )
    assert result.returncode == 0, result.stderr


def states(root) -> dict[str, dict]:
    result = run_cli(["ps", "--json"], root)
    assert result.returncode == 0, result.stderr
    return {p["name"]: p for p in json.loads(result.stdout)}


def settled(root) -> dict[str, dict]:
    procs = states(root)
    return procs if all(p["state"] in ("running", "failed") for p in procs.values()) else {}


def test_too_many_open_files_is_said_with_the_limit_needed(tmp_path):
    write_files(tmp_path, {"Procfile": "p: sleep 600\n"})
    start_with_limit(tmp_path, 64, 64)
    try:
        procs = wait_for(lambda: settled(tmp_path), 60)
        failed = [p for p in procs.values() if p["state"] == "failed"]
        assert failed, "all started: the limit was not reached"
        detail = failed[0]["error"]
        assert detail.startswith(
            "cannot start: too many open files: the keeper may have at most 64"
        )
        assert f"a run of {COUNT} process(es) needs about" in detail and "ulimit -n" in detail
        result = run_cli(["restart", failed[-1]["name"]], tmp_path)
        assert result.returncode == 1
        assert "too many open files" in run_cli(["ps"], tmp_path).stdout
        assert "too many open files" in result.stdout + result.stderr
        assert "Errno" not in result.stdout + result.stderr
    finally:
        run_cli(["down"], tmp_path)


def test_a_low_soft_limit_is_lifted_within_the_hard_one(tmp_path):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    write_files(tmp_path, {"Procfile": "p: sleep 600\n"})
    start_with_limit(tmp_path, 64, hard)
    try:
        procs = wait_for(lambda: settled(tmp_path), 60)
        assert all(p["state"] == "running" for p in procs.values())
    finally:
        run_cli(["down"], tmp_path)
