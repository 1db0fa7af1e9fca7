"""Drive a real terminal: tuirunner inside tmux, read back with ``capture-pane``."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.helpers import clean_env, wait_for

EXIT_MARK = "tuirunner-test-exit-status:"
needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    def __init__(
        self,
        command: str,
        cwd: Path,
        width: int = 200,
        height: int = 50,
        env: dict[str, str] | None = None,
    ) -> None:
        self.socket = f"tuirunner-test-{uuid.uuid4().hex[:8]}"
        self.session = "t"
        environment = {**clean_env(), **(env or {}), "TERM": "xterm-256color"}
        # tmux 3.3 sometimes marks a pane dead before it has reaped the process, leaving no exit
        # status; so a shell prints it. Its INT trap is a handler, not an ignore, so the command
        # still gets the default disposition.
        wrapped = (
            f'trap true INT; {command}; status=$?; echo; echo "{EXIT_MARK} $status"; sleep 3600'
        )
        # The command runs with the environment of the tmux server, which we start here.
        self._run(
            "new-session",
            "-d",
            "-s",
            self.session,
            "-x",
            str(width),
            "-y",
            str(height),
            "-c",
            str(cwd),
            "/bin/sh",
            "-c",
            wrapped,
            env=environment,
        )

    def _run(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            env=env or os.environ.copy(),
            timeout=30,
        )
        if result.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed: {result.stderr}")
        return result.stdout

    def screen(self, colours: bool = False) -> str:
        """What the terminal shows; *colours*: with its escape sequences (``capture-pane -e``)."""
        return self._run("capture-pane", "-p", *(["-e"] if colours else []), "-t", self.session)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        try:
            wait_for(lambda: text in self.screen(), timeout, message=repr(text))
        except AssertionError:
            raise AssertionError(f"{text!r} not on screen:\n{self.screen()}") from None
        return self.screen()

    def send(self, *keys: str) -> None:
        self._run("send-keys", "-t", self.session, *keys)

    def pane_pid(self) -> int:
        return int(self._run("display-message", "-p", "-t", self.session, "#{pane_pid}"))

    def exited(self) -> bool:
        return EXIT_MARK in self.screen()

    def exit_status(self, timeout: float = 30.0) -> int:
        """Wait for the command to end; its exit status."""
        self.wait_for(EXIT_MARK, timeout)
        match = re.search(rf"{EXIT_MARK} (\d+)", self.screen())
        assert match is not None
        return int(match.group(1))

    def kill_session(self) -> None:
        self._run("kill-session", "-t", self.session)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)

    def __enter__(self) -> Tmux:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def tuirunner_command(*args: str) -> str:
    from tests.helpers import TUIRUNNER

    return shlex.join([TUIRUNNER, "--tui", *args])
