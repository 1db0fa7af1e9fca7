"""QuietDriver (tui/driver.py) in a real terminal (a pty): a suspend, which stops application
mode and closes the driver, then a resume, which starts a new keyboard thread."""

import os
import pty
import select
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.slow

APP = textwrap.dedent(
    """
    import sys
    from textual.app import App

    def log(text):
        with open(sys.argv[1], "a") as f:
            print(text, file=f)
    from tuirunner.tui.driver import QuietDriver
    from tuirunner.tui.firstframe import FirstFrame

    class Probe(App):
        first_frame = None
        if sys.argv[2:] == ["first-frame"]:  # as if drawn (the screen switched already)
            first_frame = FirstFrame(None, (80, 24))
            first_frame.shown = True

        def get_driver_class(self):
            return QuietDriver

        def on_mount(self):
            self.set_timer(0.3, self.suspend_and_resume)

        def suspend_and_resume(self):
            with self.suspend():
                pass
            log("RESUMED")

        def on_key(self, event):
            if event.character == "x":
                self.exit("got x after the resume")

    log(Probe().run())
    """
)


ALT_SCREEN = b"\x1b[?1049h"


@pytest.mark.parametrize("first_frame", [False, True])
def test_keys_reach_the_app_after_a_suspend_and_resume(tmp_path, first_frame):
    """And where the first frame switched to the alternate screen, the driver does not at its
    start (some terminals clear it then), but does at the resume (the suspend left it)."""
    (tmp_path / "probe.py").write_text(APP)
    err = tmp_path / "log.txt"
    err.write_text("")
    pid, fd = pty.fork()
    if pid == 0:  # the child: the app, in the pty
        extra = ["first-frame"] if first_frame else []
        os.execv(sys.executable, [sys.executable, str(tmp_path / "probe.py"), str(err), *extra])
    written = b""
    try:
        deadline = time.monotonic() + 30
        sent = False
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    written += os.read(fd, 65536)
                except OSError:
                    break  # the app has exited
            if not sent and "RESUMED" in err.read_text():
                time.sleep(0.5)
                os.write(fd, b"x")
                sent = True
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                pid = 0
                break
        assert "got x after the resume" in err.read_text(), err.read_text()
        assert written.count(ALT_SCREEN) == (1 if first_frame else 2)
    finally:
        if pid:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
