"""Names and groups, the on-demand policy, and the override file's merge, on plain data."""

from __future__ import annotations

import pytest

from tests.helpers import write_files
from tuirunner.events import State
from tuirunner.names import UnknownName, resolve
from tuirunner.policy import Changed, Member, Policy, Spawn
from tuirunner.settings import ProcessSettings, Settings, SettingsError, load_settings

RUN = ["web.1", "web.2", "vite.1", "tailwind.1"]


def test_a_group_means_its_members_instances_in_run_order():
    groups = {"frontend": ("tailwind", "vite"), "ghosts": ("beat",)}
    assert resolve(["frontend"], RUN, groups) == ["vite.1", "tailwind.1"]
    assert resolve(["frontend", "web.2"], RUN, groups) == ["web.2", "vite.1", "tailwind.1"]
    with pytest.raises(UnknownName):
        resolve(["ghosts"], RUN, groups)  # no member in the run
    with pytest.raises(UnknownName):
        resolve(["frontend"], RUN)  # without the groups, it is no name


def member(name: str, **settings) -> Member:
    return Member(
        name=f"{name}.1",
        type=name,
        number=1,
        command="x",
        port=1,
        settings=ProcessSettings(**settings),
    )


def test_an_on_demand_process_is_not_started_by_start_all_but_by_a_start():
    web, flower = member("web"), member("flower", autostart=False)
    policy = Policy(Settings(), [web, flower], 5.0)
    assert policy.start_all(web) == [Spawn(web)]
    assert policy.start_all(flower) == [Changed(flower)]
    assert flower.on_demand and flower.label() == ("not started", "stopped")
    assert policy.start_all(flower) == []  # said once
    assert policy.start(flower) == [Spawn(flower)]
    assert not flower.on_demand


def test_starting_a_process_starts_the_on_demand_ones_it_depends_on():
    from tuirunner.settings import Dependency

    db = member("db", autostart=False)
    web = member("web", autostart=False, depends_on=(Dependency("db"),))
    policy = Policy(Settings(), [db, web], 5.0)
    for m in (db, web):
        policy.start_all(m)
    actions = policy.start(web)
    assert Spawn(db) in actions and db.wanted
    assert web.state is State.PENDING  # it waits for db to have started


def test_the_override_file_merges_key_by_key_and_names_itself(tmp_path):
    write_files(
        tmp_path,
        {
            "tuirunner.toml": (
                "port = 8000\nformation = { worker = 2 }\n"
                '[processes.web]\nenv = { A = "1", B = "2" }\ntimeout = 3\n'
            ),
            "tuirunner.local.toml": '[processes.web]\nenv = { B = "mine" }\n',
        },
    )
    s = load_settings(tmp_path)
    assert s.process("web").env == {"A": "1", "B": "mine"} and s.process("web").timeout == 3
    assert (s.port, s.formation, s.overrides) == (8000, {"worker": 2}, ("processes.web.env.B",))
    assert s.origin("processes", "web", "env") == "tuirunner.local.toml [processes.web.env]"
    assert s.origin("port") == "tuirunner.toml [port]"
    (tmp_path / "tuirunner.local.toml").write_text("[processes.web]\nautostart = 'no'\n")
    with pytest.raises(SettingsError) as error:
        load_settings(tmp_path)
    assert str(error.value).startswith(f"{tmp_path / 'tuirunner.local.toml'}: processes.web")


def test_the_override_file_alone_is_the_settings(tmp_path):
    (tmp_path / "tuirunner.local.toml").write_text("port = 7000\n")
    s = load_settings(tmp_path)
    assert s.port == 7000 and s.path == tmp_path / "tuirunner.local.toml"
