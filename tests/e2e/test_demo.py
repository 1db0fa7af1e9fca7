"""End to end with the real Django demo of Procfile.example: plain mode and the TUI in tmux."""

from __future__ import annotations

import contextlib
import html
import http.cookiejar
import os
import re
import signal
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.helpers import Runner, free_port_block, port_is_free, token, wait_for
from tests.tmux import Tmux, needs_tmux, tuirunner_command

pytest.importorskip("django", reason="the demo needs: pip install -e '.[demo]'")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
READY = "Quit the server with CONTROL-C."


def processes_with_env(marker: str) -> list[psutil.Process]:
    """Live processes whose environment holds *marker* (the demo's command lines are fixed)."""
    found = []
    for p in psutil.process_iter(["status"]):
        try:
            if p.info["status"] == psutil.STATUS_ZOMBIE or p.pid == os.getpid():
                continue
            if p.environ().get("TUIRUNNER_TEST_TOKEN") == marker:
                found.append(p)
        except psutil.Error:
            continue
    return found


class Demo:
    """Settings that isolate one run of the demo: its database, ports, and a token."""

    def __init__(self, tmp_path: Path) -> None:
        self.token = token()
        self.base = free_port_block()
        self.web = f"http://127.0.0.1:{self.base}/"
        self.mail_port = self.base + 250
        self.env_file = tmp_path / "test.env"
        self.env_file.write_text(
            f"DATABASE_URL=sqlite:///{tmp_path / 'db.sqlite3'}\n"
            f"EMAIL_PORT={self.mail_port}\n"
            f"TUIRUNNER_TEST_TOKEN={self.token}\n"
        )

    def args(self, with_demo_env: bool = True) -> list[str]:
        files = f"example/.env,{self.env_file}" if with_demo_env else str(self.env_file)
        return ["-f", "Procfile.example", "-e", files, "-p", str(self.base), "-t", "10"]

    @staticmethod
    def shell_env() -> dict[str, str]:
        # As in an activated virtualenv: `python` in the Procfile is this Python.
        from tests.helpers import clean_env

        env = clean_env()
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env.pop("SECRET_KEY", None)
        return env

    def get(self, opener=None) -> tuple[int, str]:
        opener = opener or urllib.request.build_opener()
        with opener.open(self.web, timeout=10) as response:
            return response.status, response.read().decode()

    def enqueue(self, name: str) -> None:
        """Submit the home page's form, as a browser would (CSRF cookie and token)."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        _, page = self.get(opener)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf, "name": name}).encode()
        request = urllib.request.Request(self.web, data=data, headers={"Referer": self.web})
        with opener.open(request, timeout=10) as response:
            assert response.status == 200  # redirected back to the page

    def answers(self) -> bool:
        try:
            return self.get()[0] == 200
        except OSError:
            return False

    def cleanup(self) -> None:
        for p in processes_with_env(self.token):
            with contextlib.suppress(psutil.Error):
                p.kill()


@pytest.fixture
def demo(tmp_path):
    d = Demo(tmp_path)
    yield d
    d.cleanup()


def no_leftovers(demo: Demo) -> None:
    wait_for(lambda: not processes_with_env(demo.token), 20, message="no process of the run left")
    wait_for(lambda: port_is_free(demo.base), 10, message="the web port free")


def test_demo_in_plain_mode(demo):
    with Runner(demo.args(), ROOT, env=demo.shell_env()) as runner:
        runner.wait_for_output(READY, timeout=60)
        assert demo.answers()
        runner.wait_for_output("Starting worker", timeout=60)
        # release migrates first (a oneshot: its exit 0 does not end the run); web and
        # worker start once it has completed, and web says when it answers HTTP.
        out = runner.output
        completed = out.index("release.1 stopped (rc=0); completed")
        assert out.index("Apply all migrations") < completed
        assert completed < out.index("worker.1 started") and completed < out.index("web.1 started")
        runner.wait_for_output("web.1 is ready", timeout=60)
        demo.enqueue("Ada")
        runner.wait_for_output("task greet(name='Ada') finished: 'Hello, Ada!'", timeout=60)
        runner.wait_for_output("Subject: Greeting for Ada", timeout=30)
        wait_for(
            lambda: "Hello, Ada!" in html.unescape(demo.get()[1]),
            30,
            message="the result on the page",
        )
        assert re.search(r"worker\.1 +\| .*task greet\(name='Ada'\) finished", runner.output)
        # web is two processes (runserver and its autoreloaded child: the shell exec'd it),
        # worker too, and mail one.
        assert len(processes_with_env(demo.token)) >= 4
        runner.signal(signal.SIGTERM)
        assert runner.wait(60) == 143
    no_leftovers(demo)


def web_pid(screen: str) -> int | None:
    """The pid web.1's header shows while it runs."""
    match = re.search(r"web\.1\s+running(?:(?!Restart).)*?pid (\d+)", screen)
    return int(match.group(1)) if match else None


@needs_tmux
def test_demo_in_the_terminal_ui(demo):
    env = demo.shell_env()
    with Tmux(tuirunner_command(*demo.args()), ROOT, width=240, height=60, env=env) as term:
        term.wait_for(READY, timeout=60)
        assert demo.answers()
        term.wait_for("Starting worker", timeout=60)
        demo.enqueue("Grace")
        term.wait_for("task greet(name='Grace') finished", timeout=60)
        term.wait_for("Subject: Greeting for Grace", timeout=30)
        first = web_pid(term.screen())
        term.send("1", "r")  # restart web from the UI
        wait_for(
            lambda: web_pid(term.screen()) not in (None, first),
            60,
            message="web.1 running with a new pid",
        )
        wait_for(demo.answers, 60, message="the port back after the restart")
        term.send("q")
        assert term.exit_status(timeout=60) == 0
    no_leftovers(demo)


@needs_tmux
def test_demo_without_secret_key_shows_why_release_crashed_and_the_others_wait(demo):
    env = demo.shell_env()
    args = demo.args(with_demo_env=False)  # no example/.env: SECRET_KEY is missing
    with Tmux(tuirunner_command(*args), ROOT, width=240, height=60, env=env) as term:
        term.wait_for("KeyError: 'SECRET_KEY'", timeout=60)  # migrate, in release's pane
        term.wait_for("SECRET_KEY is not set — press e", timeout=30)
        wait_for(
            lambda: re.search(r"release\.1\s+crashed: exit 1", term.screen()),
            30,
            message="release.1 crashed",
        )
        # web and worker never start, and say why.
        screen = term.wait_for("blocked: release.1 exited with code 1", timeout=30)
        assert re.search(r"web\.1\s+blocked", screen), screen
        assert re.search(r"worker\.1\s+blocked", screen), screen
        screen = term.wait_for("Server is listening", timeout=30)
        assert re.search(r"mail\.1\s+running", screen), screen
        term.send("q")
        assert term.exit_status(timeout=60) == 0
    no_leftovers(demo)
