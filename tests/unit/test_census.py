"""Looks at the process table shared by the stops that need one at the same time
(termination.Census): a lone stop (a restart) looks at once, on the loop; many stops share one
look, made in a thread."""

import asyncio
import threading
import time

from tuirunner.termination import INLINE, Census


class Scans:
    def __init__(self, seconds: float = 0.0):
        self.seconds = seconds
        self.threads: list[int] = []

    def __call__(self) -> int:
        self.threads.append(threading.get_ident())
        number = len(self.threads)
        if self.seconds:
            time.sleep(self.seconds)
        return number


async def test_a_lone_stop_looks_at_once_on_the_loop():
    scans = Scans()
    census = Census(scans)
    assert await census.get(alone=True) == 1
    assert await census.get(alone=True) == 2  # a new look each time: never an old one
    assert scans.threads == [threading.get_ident()] * 2


async def test_many_stops_at_once_share_a_look_made_in_a_thread():
    scans = Scans(0.01)
    census = Census(scans)
    results = await asyncio.gather(*(census.get(alone=False) for _ in range(50)))
    assert len(scans.threads) <= 2  # the first look, and one for all who asked during it
    assert threading.get_ident() not in scans.threads
    assert set(results) <= {1, 2}


async def test_a_slow_look_is_made_in_a_thread_even_for_a_lone_stop():
    scans = Scans(INLINE * 2)
    census = Census(scans)
    await census.get(alone=True)  # on the loop: it was not known to be slow
    await census.get(alone=True)
    assert scans.threads[0] == threading.get_ident()
    assert scans.threads[1] != threading.get_ident()


async def test_a_lone_stop_during_a_look_gets_a_new_look_in_a_thread_not_on_the_loop():
    release = threading.Event()
    threads: list[int] = []

    def scan() -> int:
        threads.append(threading.get_ident())
        number = len(threads)
        if number == 1:
            release.wait(30)  # the first look is under way until the test says
        return number

    census = Census(scan)
    first = asyncio.ensure_future(census.get(alone=False))
    try:
        while not threads:
            await asyncio.sleep(0.001)
        assert await census.get(alone=True) == 2  # a look begun after it asked
    finally:
        release.set()
    assert await first == 1
    assert threading.get_ident() not in threads
