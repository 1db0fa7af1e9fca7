"""``tuirunner down`` from another terminal: a plain front end says who stopped the run
(issue 22); the terminal UI: tests/e2e/test_down_from_elsewhere.py."""

from tests.e2e.test_down_from_elsewhere import down, procfile
from tests.helpers import Runner, assert_no_leftovers


def test_a_plain_front_end_says_who_stopped_it(tmp_path, mark):
    procfile(tmp_path, mark)
    runner = Runner(["start"], tmp_path)
    runner.wait_for_output("web up")
    pid = down(tmp_path)
    assert runner.wait() == 0
    assert f"system | stopped by tuirunner down (from pid {pid})" in runner.output
    assert_no_leftovers(mark)
