"""The first frame's thread (tui/firstframe.py): what it hands over, and what it never does
(draw after it was abandoned, hold ^C up while the keeper is slow to start). The frame itself,
against the app's: tests/tui/test_firstframe.py; in a real terminal: tests/e2e/."""

import os
import socket
import threading

import pytest

from tuirunner.errors import UserError
from tuirunner.tui.firstframe import FirstFrame


class Connection:
    """What the frame reads: a client with no process, whose keeper never sends anything."""

    def __init__(self) -> None:
        self.sock, self.keeper = socket.socketpair()
        self.processes: list = []

    def read_some(self) -> bool:
        return bool(self.sock.recv(4096))


@pytest.fixture
def screen():
    """The frame's terminal: a pipe, read without waiting."""
    read, write = os.pipe()
    os.set_blocking(read, False)
    yield read, write
    os.close(read)
    os.close(write)


def written(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return b""


def test_abandoned_while_connecting_it_returns_at_once_and_never_draws(screen):
    release = threading.Event()
    connection = Connection()

    def connect():
        release.wait(30)  # a keeper slow to start
        return connection

    frame = FirstFrame(connect, (80, 24), fd=screen[1]).start()
    frame.abandon()  # (^C): does not wait for the connection
    assert not release.is_set() and frame._thread.is_alive()
    release.set()
    frame._thread.join(30)
    assert not frame._thread.is_alive()
    assert written(screen[0]) == b""
    assert not frame.shown


def test_the_connection_is_handed_over_and_its_error_raised_in_the_caller(screen):
    connection = Connection()
    frame = FirstFrame(lambda: connection, (80, 24), fd=screen[1]).start()
    assert frame.finish() is connection
    assert written(screen[0]).startswith(b"\x1b[?2026h\x1b[?1049h")  # the alternate screen
    assert frame.hand_over()  # the driver does not switch screens again...
    assert not frame.hand_over()  # ...but does after a suspend
    frame.abandon()  # after the app: nothing to leave (the app's driver left)
    assert written(screen[0]) == b""

    def refused():
        raise UserError("the keeper did not start")

    failing = FirstFrame(refused, (80, 24), fd=screen[1]).start()
    with pytest.raises(UserError, match="did not start"):
        failing.finish()
    assert written(screen[0]) == b"" and not failing.hand_over()


def test_abandoned_after_drawing_it_leaves_the_alternate_screen(screen):
    connection = Connection()
    frame = FirstFrame(lambda: connection, (80, 24), fd=screen[1]).start()
    frame.finish()
    assert written(screen[0])
    frame.abandon()  # the app failed before its driver took the screen
    assert written(screen[0]) == b"\x1b[?1049l\x1b[?25h"
    assert not frame.hand_over()
