"""A ``log_file`` that cannot be written is part of the process's state — ``ps``, ``ps --json``,
the keeper's log — and writing resumes once it can (issue 24, breakage 3); ``check`` says where
each log file goes and never touches a file tuirunner did not create (breakage 2)."""

import json

from tests.helpers import run_cli, wait_for, write_files
from tuirunner.runtime import run_paths


def ps(root) -> dict[str, dict]:
    result = run_cli(["ps", "--json"], root)
    assert result.returncode == 0, result.stderr
    return {p["name"]: p for p in json.loads(result.stdout)}


def test_a_log_file_error_is_in_ps_and_the_keepers_log_and_clears(tmp_path):
    write_files(
        tmp_path,
        {
            "Procfile": "web: while true; do echo tick; sleep 0.2; done\n",
            "tuirunner.toml": '[processes.web]\nlog_file = "log/web.log"\n',
            "log": "a file where the log directory should be\n",
        },
    )
    assert run_cli(["start", "-D"], tmp_path).returncode == 0
    try:
        web = wait_for(lambda: ps(tmp_path)["web.1"]["log_error"], 20)
        assert web.startswith(f"cannot write {tmp_path / 'log' / 'web.log'}: ")
        assert ps(tmp_path)["web.1"]["detail"].startswith("log file: cannot write ")
        table = run_cli(["ps"], tmp_path).stdout
        assert "log file: cannot write" in table
        keeper_log = run_paths(tmp_path).log
        wait_for(lambda: "log file: cannot write" in keeper_log.read_text(), 10)
        (tmp_path / "log").unlink()  # the way is clear: writing resumes by itself
        wait_for(lambda: ps(tmp_path)["web.1"]["log_error"] is None, 20)
        assert "tick" in (tmp_path / "log" / "web.log").read_text()
        assert ps(tmp_path)["web.1"]["detail"] is None
    finally:
        run_cli(["down"], tmp_path)


def test_an_existing_file_outside_the_app_root_is_appended_to_and_never_rotated(tmp_path):
    root = tmp_path / "app"
    victim = tmp_path / "notes.txt"
    victim.write_text("precious\n" * 10000)  # 90 KB: past the 64 KiB log_max_bytes
    write_files(
        root,
        {
            "Procfile": "web: echo hello; sleep 600\n",
            "tuirunner.toml": (
                '[processes.web]\nlog_file = "../notes.txt"\nlog_max_bytes = 65536\n'
                "log_backups = 0\n"
            ),
        },
    )
    check = run_cli(["check"], root)
    assert check.returncode == 0, check.stderr
    assert f"Log file of web: {victim} — appended to; not created by tuirunner" in check.stderr
    assert run_cli(["start", "-D"], root).returncode == 0
    try:
        wait_for(lambda: "hello" in victim.read_text(), 20)
        assert victim.read_text().startswith("precious\n" * 10000)
        assert not (tmp_path / "notes.txt.1").exists()
    finally:
        run_cli(["down"], root)
