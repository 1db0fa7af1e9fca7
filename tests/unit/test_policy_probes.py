"""The pure decisions about health checks and stop commands: what an unhealthy process gets
(its ``autorestart`` decides), what comes before a stop signal, and how long a stop may take."""

from __future__ import annotations

from pathlib import Path

from tuirunner.events import State
from tuirunner.policy import Member, Policy, Restart, RunStopCommand, stop_steps, unhealthy
from tuirunner.settings import settings_from_dict


def member(name: str, **settings) -> tuple[Member, Policy]:
    config = settings_from_dict({"processes": {name: settings}}, Path("tuirunner.toml"))
    m = Member(
        name=f"{name}.1",
        type=name,
        number=1,
        command="x",
        port=5000,
        settings=config.process(name),
        state=State.RUNNING,
        wanted=True,
        health_failure="HTTP 500 from http://127.0.0.1:5000/",
    )
    return m, Policy(config, [m], timeout=5.0)


HEALTH = {"http": "http://127.0.0.1:$PORT/"}


def test_an_unhealthy_process_is_restarted_when_its_autorestart_says_so():
    for policy in ("on-failure", "always"):
        m, _ = member("web", health=HEALTH, autorestart=policy)
        assert unhealthy(m, shutting_down=False) == [
            Restart(m, "unhealthy: HTTP 500 from http://127.0.0.1:5000/")
        ]


def test_an_unhealthy_process_is_left_running_otherwise():
    m, _ = member("web", health=HEALTH)  # autorestart "no"
    assert unhealthy(m, shutting_down=False) == []
    m, _ = member("web", health=HEALTH, autorestart="always")
    assert unhealthy(m, shutting_down=True) == []  # the run ends
    m.busy = True  # a start, stop or restart of it is under way
    assert unhealthy(m, shutting_down=False) == []
    m.busy, m.wanted = False, False  # stopped by hand meanwhile
    assert unhealthy(m, shutting_down=False) == []
    m.wanted, m.state = True, State.STOPPING
    assert unhealthy(m, shutting_down=False) == []


def test_a_stop_command_comes_before_the_signal_and_doubles_the_longest_stop():
    m, policy = member("db", stop_command="docker stop app-postgres", timeout=3)
    assert stop_steps(m, policy.stop_timeout(m)) == [
        RunStopCommand(m, "docker stop app-postgres", 3.0)
    ]
    assert policy.stop_duration(m) == 6.0 and policy.longest_stop == 6.0
    assert policy.stop_budget([m]) == 6.0
    plain, policy = member("web", timeout=3)
    assert stop_steps(plain, 3.0) == [] and policy.stop_duration(plain) == 3.0
