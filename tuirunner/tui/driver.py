"""Textual's terminal driver, with an input thread that sleeps while no key is pressed.

Textual's ``LinuxDriver`` reads the keyboard in a thread that wakes ten times a second, pressed
or not, to look for an Escape key whose sequence never came (a lone ``Esc`` is known only by
what does not follow it, ``ESCAPE_DELAY``) and for the request to stop. Idle, those wake-ups are
a fifth of the app's CPU. Here the thread keeps that pace only for a second after the last input
(an Escape is settled long before); otherwise it waits for input, and stopping wakes it through
a pipe.

It replaces ``LinuxDriver.run_input_thread``, whose body it follows (Textual 8): the parser it
uses is Textual's private ``_xterm_parser``, hence the ``textual<9`` bound in pyproject.toml.

Where the run's first frame was drawn before Textual was imported (firstframe.py), the driver
does not switch to the alternate screen a second time: some terminals (VTE's) clear it then, and
the frame would blink out until the app's first one.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
import time
from codecs import getincrementaldecoder

from textual import constants
from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

WATCHFUL = 1.0  # seconds after an input during which the thread wakes up every TICK
ALT_SCREEN = "\x1b[?1049h"  # what LinuxDriver writes first when application mode starts
TICK = 0.1  # Textual's own pace (an Escape is told apart after ESCAPE_DELAY, 0.1 s by default)


class _WakingEvent(threading.Event):
    """The driver's ``exit_event``: setting it also wakes the input thread from its wait."""

    def __init__(self) -> None:
        super().__init__()
        self.wake_fd: int | None = None  # the write end of the running input thread's pipe

    def set(self) -> None:
        super().set()
        fd = self.wake_fd
        if fd is not None:
            with contextlib.suppress(OSError):  # full: the thread has a wake-up waiting already
                os.write(fd, b"x")


class QuietDriver(LinuxDriver):
    """``LinuxDriver`` whose input thread does not wake up while there is no input.

    Each input thread has its own wake pipe, made when application mode starts and closed once
    the thread has been joined (a suspend stops application mode and resumes it later)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.exit_event = _WakingEvent()
        self._wake: tuple[int, int] | None = None

    def start_application_mode(self) -> None:
        if self._wake is None:
            read, write = os.pipe()
            os.set_blocking(read, False)
            os.set_blocking(write, False)
            self._wake = (read, write)
            self.exit_event.wake_fd = write
        super().start_application_mode()

    def write(self, data: str) -> None:
        if data == ALT_SCREEN:
            frame = getattr(self._app, "first_frame", None)
            if frame is not None and frame.hand_over():
                return  # the first frame is there (firstframe.py); some terminals clear it on this
        super().write(data)

    def disable_input(self) -> None:
        super().disable_input()  # sets exit_event (which wakes the thread) and joins the thread
        if self._wake is not None and (self._key_thread is None or not self._key_thread.is_alive()):
            self.exit_event.wake_fd = None
            for fd in self._wake:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._wake = None

    def run_input_thread(self) -> None:
        assert self._wake is not None
        wake_read = self._wake[0]
        selector = selectors.SelectSelector()  # as Textual's: macOS's kqueue ignores terminals
        fileno = self.fileno
        selector.register(fileno, selectors.EVENT_READ)
        selector.register(wake_read, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        escape_delay = max(TICK, constants.ESCAPE_DELAY)
        last_input = time.monotonic()

        def handle(ready: list, final: bool = False) -> None:
            nonlocal last_input
            for key, _ in ready:
                if key.fd == wake_read:
                    with contextlib.suppress(BlockingIOError):
                        os.read(wake_read, 512)
                    continue
                last_input = time.monotonic()
                data = decode(os.read(fileno, 4096), final=final)
                if not data:  # stdin is a pipe that was closed
                    break
                for event in parser.feed(data):
                    self.process_message(event)
            for event in parser.tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                watchful = time.monotonic() - last_input < WATCHFUL + escape_delay
                handle(selector.select(TICK if watchful else None))
            selector.unregister(fileno)
            # What the parser still holds, at once: Textual waits a TICK here, which every
            # quit paid (0.1 s) for a wake-up byte that was read already.
            handle(selector.select(0), final=True)
        finally:
            selector.close()
            try:
                for _ in parser.feed(""):
                    pass
            except (EOFError, ParseError):
                pass
