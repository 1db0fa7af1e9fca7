"""The masked copies of the run's environments that the keeper sends its clients besides a
welcome's or a resync's (:meth:`tuirunner.sessions.Session.envs`): when an env file changed
(:func:`send_env_changed`), and once the token-format check of their values has answered, to
a client that took them before (:class:`EnvChecks`; ``Hello.early_env``)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from tuirunner.protocol import Change, EnvChanged, EnvChecked, encode
from tuirunner.tokenformats import when_checked

if TYPE_CHECKING:
    from tuirunner.keeper import Keeper
    from tuirunner.sessions import Session


def send_env_changed(keeper: Keeper, change: Change) -> None:
    """An env file changed (the supervisor has the new environment): tell every client, with
    the new environment for those that take environments."""
    sup = keeper.supervisor
    assert sup is not None
    plain = encode(EnvChanged(version=sup.env_version, change=change))
    full: dict[bool, bytes] = {}  # by early_env (Session.masked)
    for session in list(keeper.sessions):
        if not session.hello:
            continue
        if session.wants_env:
            if session.early_env not in full:
                env = session.masked(sup.environment)
                frame = encode(EnvChanged(version=sup.env_version, change=change, env=env))
                full[session.early_env] = frame
            session.send_info(full[session.early_env])
            session.check_later()
        else:
            session.send_info(plain)


class EnvChecks:
    """The clients whose copies of the environments hold values masked because they were still
    being checked for token formats (``early_env``): each gets :class:`EnvChecked`, with every
    environment in use, once no value is being checked."""

    def __init__(self, keeper: Keeper) -> None:
        self.keeper = keeper
        self.waiting: set[Session] = set()
        self.asked = False  # when_checked has our callback

    def add(self, session: Session) -> None:
        self.waiting.add(session)
        if self.asked:
            return
        loop = asyncio.get_running_loop()

        def answered() -> None:  # on the scan's thread
            with contextlib.suppress(RuntimeError):  # the loop is closed: the run ended
                loop.call_soon_threadsafe(self.send)

        self.asked = when_checked(answered)
        if not self.asked:  # answered meanwhile
            loop.call_soon(self.send)

    def send(self) -> None:
        self.asked = False
        sessions, self.waiting = self.waiting, set()
        for session in sessions:
            if session in self.keeper.sessions:
                envs = session.envs()  # (a check started meanwhile: masked, and sent again)
                if envs is not None:
                    session.send_info(encode(EnvChecked(envs=envs)))
