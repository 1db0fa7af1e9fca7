"""Ports a developer chooses: a type's ``port`` whatever its place in the Procfile, clashes
refused with both names, and the ``TUIRUNNER_PORT_<TYPE>`` variables with their provenance."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuirunner.environment import Environment, port_variable, port_variables
from tuirunner.errors import UserError
from tuirunner.procfile import formation, parse_procfile_text
from tuirunner.settings import settings_from_dict

PROCFILE = parse_procfile_text(
    "release: ./manage.py migrate\nweb: ./manage.py runserver $PORT\nvite-dev: npm run dev\n",
    Path("Procfile"),
)


def settings(**processes):
    return settings_from_dict({"processes": processes}, Path("/app/tuirunner.toml"))


def test_a_port_of_its_own_whatever_the_place_in_the_procfile():
    ports = settings(web={"port": 8000}).fixed_ports()
    instances = formation(PROCFILE, concurrency={"web": 2}, base_port=5000, ports=ports)
    assert [(i.name, i.port) for i in instances] == [
        ("release.1", 5000),
        ("web.1", 8000),
        ("web.2", 8001),
        ("vite-dev.1", 5200),
    ]
    by_name = {i.name: i.port_from for i in instances}
    assert by_name["web.1"] == "tuirunner.toml [processes.web.port]"
    assert by_name["web.2"] == "tuirunner.toml [processes.web.port] + 1"
    assert by_name["release.1"] == "Procfile line 1: base port 5000 + 100 × 0"


def test_two_processes_on_one_port_is_an_error_naming_both():
    ports = settings(web={"port": 5200}).fixed_ports()
    with pytest.raises(UserError) as err:
        formation(PROCFILE, base_port=5000, ports=ports)
    message = str(err.value)
    assert message.startswith("web.1 and vite-dev.1 would both get port 5200")
    assert "tuirunner.toml [processes.web.port]" in message
    assert "Procfile line 3: base port 5000 + 100 × 2" in message
    # Instances of one type next to another type's port: a clash too.
    ports = settings(release={"port": 5099}).fixed_ports()
    with pytest.raises(UserError, match=r"release\.2 and web\.1 would both get port 5100"):
        formation(PROCFILE, concurrency={"release": 2}, base_port=5000, ports=ports)


def test_a_fixed_port_past_65535_is_refused():
    ports = settings(web={"port": 65535}).fixed_ports()
    with pytest.raises(UserError, match=r"web\.2 would get port 65536"):
        formation(PROCFILE, concurrency={"web": 2}, ports=ports)


def test_port_variable_names():
    assert port_variable("web") == "TUIRUNNER_PORT_WEB"
    assert port_variable("vite-dev") == "TUIRUNNER_PORT_VITE_DEV"
    assert port_variable("Worker2") == "TUIRUNNER_PORT_WORKER2"


def test_every_process_gets_every_types_port_with_where_it_comes_from():
    ports = settings(web={"port": 8000}).fixed_ports()
    instances = formation(PROCFILE, concurrency={"web": 2}, base_port=5000, ports=ports)
    assert port_variables(instances) == {
        "TUIRUNNER_PORT_RELEASE": (
            "5000",
            "the port of release.1 (Procfile line 1: base port 5000 + 100 × 0)",
        ),
        "TUIRUNNER_PORT_WEB": ("8000", "the port of web.1 (tuirunner.toml [processes.web.port])"),
        "TUIRUNNER_PORT_VITE_DEV": (
            "5200",
            "the port of vite-dev.1 (Procfile line 3: base port 5000 + 100 × 2)",
        ),
    }
    vite = instances[-1]
    env = Environment({}).for_instance(vite, instances)
    assert env.get("TUIRUNNER_PORT_WEB") == "8000" and env.get("PORT") == "5200"
    web_port = env.variables["TUIRUNNER_PORT_WEB"]
    assert str(web_port.source) == "tuirunner"
    assert web_port.notes()[0] == "the port of web.1 (tuirunner.toml [processes.web.port])"
    web2 = Environment({}).for_instance(instances[2], instances)
    assert web2.get("PORT") == "8001"
    assert web2.variables["PORT"].notes() == ["tuirunner.toml [processes.web.port] + 1"]


def test_two_types_giving_one_variable_the_first_keeps_it():
    procfile = parse_procfile_text("a-b: x\na_b: y\n", Path("Procfile"))
    instances = formation(procfile, base_port=5000)
    assert port_variables(instances)["TUIRUNNER_PORT_A_B"][0] == "5000"
