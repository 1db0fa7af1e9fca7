"""``log_file`` never destroys what tuirunner did not create, and its errors are said and
retried (issue 24, breakages 2 and 3). The writer thread writes real files here."""

import os
import time

import pytest

from tuirunner import logowner
from tuirunner.logfile import LogWriter


def wait_for(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


class Events:
    def __init__(self):
        self.errors: list[str | None] = []
        self.notes: list[str] = []


def open_log(writer, path, max_bytes=100, backups=1):
    events = Events()
    log = writer.open(
        path, max_bytes, backups, on_error=events.errors.append, on_note=events.notes.append
    )
    return log, events


def write_lines(writer, log, count, width=30):
    for i in range(count):
        log.write(f"line {i:04d} {'x' * width}\n".encode())
    writer.close()


def test_an_existing_file_is_appended_to_never_renamed(tmp_path):
    path = tmp_path / "web.log"
    path.write_text("precious\n" * 50)  # 450 bytes, past max_bytes
    writer = LogWriter()
    log, events = open_log(writer, path)
    write_lines(writer, log, 20)
    assert not (tmp_path / "web.log.1").exists()
    text = path.read_text()
    assert text.startswith("precious\n" * 50) and "line 0019" in text
    assert events.notes and "not created by tuirunner" in events.notes[0]


def test_an_existing_file_is_never_truncated_with_no_backups(tmp_path):
    path = tmp_path / "web.log"
    path.write_text("precious\n" * 50)
    writer = LogWriter()
    log, _ = open_log(writer, path, backups=0)
    write_lines(writer, log, 20)
    assert path.read_text().startswith("precious\n" * 50)


def test_a_symbolic_link_is_not_followed(tmp_path):
    target = tmp_path / "target"
    target.write_text("precious\n")
    path = tmp_path / "web.log"
    path.symlink_to(target)
    writer = LogWriter()
    log, events = open_log(writer, path)
    write_lines(writer, log, 5)
    assert target.read_text() == "precious\n"
    assert path.is_symlink()
    assert events.errors and "symbolic link" in events.errors[0]


def test_its_own_file_is_rotated_across_runs(tmp_path):
    path = tmp_path / "web.log"
    writer = LogWriter()
    log, events = open_log(writer, path, max_bytes=200, backups=2)
    write_lines(writer, log, 3)
    assert logowner.describe(path).startswith("appended to (created by tuirunner")
    writer = LogWriter()  # the next run: the record says the file is ours
    log, events = open_log(writer, path, max_bytes=200, backups=2)
    write_lines(writer, log, 12)
    assert (tmp_path / "web.log.1").exists() and (tmp_path / "web.log.2").exists()
    assert not events.notes and not events.errors


def test_a_backup_name_holding_a_foreign_file_stops_the_rotation(tmp_path):
    path = tmp_path / "web.log"
    writer = LogWriter()
    log, events = open_log(writer, path, max_bytes=200, backups=1)
    write_lines(writer, log, 1)
    (tmp_path / "web.log.1").write_text("precious\n")
    writer = LogWriter()
    log, events = open_log(writer, path, max_bytes=200, backups=1)
    write_lines(writer, log, 20)
    assert (tmp_path / "web.log.1").read_text() == "precious\n"
    assert "line 0019" in path.read_text() and "line 0000" in path.read_text()
    assert events.notes and "web.log.1 was not created by tuirunner" in events.notes[0]


def test_no_backups_starts_its_own_file_afresh(tmp_path):
    path = tmp_path / "web.log"
    writer = LogWriter()
    log, _ = open_log(writer, path, max_bytes=200, backups=0)
    write_lines(writer, log, 20)
    assert path.stat().st_size <= 200 and "line 0019" in path.read_text()


@pytest.mark.parametrize("blocker", ["file", "directory"])
def test_an_error_is_said_retried_and_cleared(tmp_path, blocker):
    if blocker == "file":  # its directory cannot be made: a file is in the way
        (tmp_path / "log").write_text("")
        path, obstacle = tmp_path / "log" / "web.log", tmp_path / "log"
    else:  # the log file is a directory
        (tmp_path / "web.log").mkdir()
        path, obstacle = tmp_path / "web.log", tmp_path / "web.log"
    writer = LogWriter()
    log, events = open_log(writer, path, max_bytes=1 << 20)
    log.write(b"before\n")
    wait_for(lambda: events.errors)
    assert events.errors[0].startswith(f"cannot write {path}: ")
    obstacle.unlink() if blocker == "file" else obstacle.rmdir()
    log.write(b"after\n")  # no new output is needed for the retry, but it may come
    wait_for(lambda: events.errors[-1] is None)
    writer.close()
    assert path.read_text() == "before\nafter\n"


def test_a_full_device_is_an_error(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    path = tmp_path / "web.log"
    path.symlink_to("/dev/full")  # a link: refused before anything else
    writer = LogWriter()
    log, events = open_log(writer, path)
    log.write(b"x\n")
    wait_for(lambda: events.errors)
    writer.close()
    writer = LogWriter()
    log, events = open_log(writer, "/dev/full")
    log.write(b"x\n")
    wait_for(lambda: events.errors)
    writer.close()
    assert "No space left on device" in events.errors[0]


def test_check_describes_each_kind_of_path(tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "mine").write_text("")
    (tmp_path / "link").symlink_to(tmp_path / "mine")
    assert logowner.describe(tmp_path / "new") == "created when the process first prints"
    assert "a directory" in logowner.describe(tmp_path / "dir")
    assert "symbolic link" in logowner.describe(tmp_path / "link")
    assert "not created by tuirunner" in logowner.describe(tmp_path / "mine")


def test_the_error_is_in_the_detail_front_ends_show():
    from tuirunner.events import ProcessInfo, State

    proc = ProcessInfo("web.1", "web", 1, "true", 5000, state=State.RUNNING)
    proc.log_error = "cannot write /x/web.log: Permission denied"
    assert proc.detail() == "log file: cannot write /x/web.log: Permission denied"
    proc.state = State.STOPPED
    assert proc.detail() == "log file: cannot write /x/web.log: Permission denied"
