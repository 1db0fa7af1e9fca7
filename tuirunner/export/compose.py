"""Docker Compose: ``compose.yaml`` with one service per process type.

The env files are referenced with ``env_file`` (Compose reads them itself), so no value of theirs
is written into the file. ``environment`` holds ``PORT`` and each process's ``env`` from the
settings; a secret one is listed without a value, which Compose takes from the environment it
runs in. Every replica of a service listens on the same ``PORT`` (the type's first port): each
container has its own network, and the published host ports are a range, one per replica.

Compose interpolates ``$NAME`` and ``${NAME}`` anywhere in the file, so every ``$`` of ours is
written ``$$``: the container's shell gets ``$PORT`` as written in the Procfile.

``health`` becomes the service's ``healthcheck`` (Compose has one: the ``ready`` check gives it
its start period); ``stop_command`` has no equivalent (a container stops by its signal).
``TUIRUNNER_PORT_<TYPE>`` hold each type's port, as tuirunner sets them.
"""

from __future__ import annotations

import os
from typing import Any

from tuirunner.settings import Condition

from .model import (
    PROBE_TIMEOUT,
    Export,
    OutputFile,
    Process,
    duration,
    port_variables,
    ready_command,
    waits_for_ready,
)
from .quoting import Flow, to_yaml

FILE_NAME = "compose.yaml"
#: How often a healthcheck runs once the service is healthy (during ``start_period`` it runs
#: every ``ready.interval``, where Docker supports ``start_interval``).
HEALTHCHECK_INTERVAL = 10.0

_CONDITION = {
    Condition.STARTED: "service_started",
    Condition.READY: "service_healthy",
    Condition.COMPLETED: "service_completed_successfully",
}


def render(export: Export) -> list[OutputFile]:
    services = {p.name: _service(export, p) for p in export.processes}
    document = {"name": _project_name(export.app), "services": services}
    notes = [
        f"group {name}: docker compose up {' '.join(members)}"
        for name, members in export.groups.items()
    ]
    text = to_yaml(_escape_dollars(document), [*export.header(), *notes])
    return [OutputFile(FILE_NAME, text)]


def _project_name(app: str) -> str:
    return app.lower()  # Compose wants [a-z0-9][a-z0-9_-]*; the app name is [A-Za-z0-9][…_-]*


def _service(export: Export, process: Process) -> dict[str, Any]:
    ps = process.settings
    service: dict[str, Any] = {}
    if export.image:
        service["image"] = export.image
    else:
        service["build"] = _relative(export.app_root, export)
    service["command"] = Flow([export.shell, "-c", process.command])
    service["init"] = True  # forwards the stop signal and reaps zombies, as tuirunner does
    if export.env_files:
        service["env_file"] = [_relative(spec.path, export) for spec in export.env_files]
    environment: dict[str, str | None] = {"PORT": str(process.port)}
    for var in port_variables(export.processes).values():
        environment[var.name] = var.value
    for var in process.env:
        environment[var.name] = None if var.secret else var.value
        if var.secret:
            export.warn(
                f"{process.name}: {var.name} looks secret: compose.yaml passes it from the "
                "environment docker compose runs in, without its value"
            )
    service["environment"] = environment
    if process.listens:
        last = process.port + process.count - 1
        published = str(process.port) if last == process.port else f"{process.port}-{last}"
        service["ports"] = [f"{published}:{process.port}"]
    service["deploy"] = {"replicas": process.count}
    if process.on_demand:
        # autostart = false: only with its profile (--profile NAME), or named (up flower)
        service["profiles"] = Flow(list(process.groups) or [process.name])
    if process.dependencies:
        depends: dict[str, Any] = {}
        for dep in process.dependencies:
            condition = dep.condition
            if condition is Condition.READY and not waits_for_ready(
                export, process, dep, "compose"
            ):
                condition = Condition.STARTED
            entry: dict[str, Any] = {"condition": _CONDITION[condition]}
            if dep.restart:
                entry["restart"] = True
            depends[dep.name] = entry
        service["depends_on"] = depends
    healthcheck = _healthcheck(export, process)
    if healthcheck is not None:
        service["healthcheck"] = healthcheck
    if ps.stop_command is not None:
        export.warn(
            f"{process.name}: stop_command has no equivalent in compose (a container is "
            "stopped by its stop signal): it is not exported"
        )
    service["restart"] = process.autorestart.value
    service["stop_signal"] = process.stop_signal
    service["stop_grace_period"] = duration(process.timeout)
    if export.user:
        service["user"] = export.user
    return service


def _healthcheck(export: Export, process: Process) -> dict[str, Any] | None:
    """Compose has one healthcheck per service: ``health`` (repeated while it runs, its
    failures in a row as ``retries``), with the ``ready`` check's timeout as its start period;
    or, without ``health``, the ``ready`` check (what ``service_healthy`` waits for)."""
    ps = process.settings
    if process.oneshot:
        return None
    ready = ps.ready
    if ps.health is not None:
        test = ready_command(ps.health.probe)
        assert test is not None  # http, port or command
        probe = ps.health.probe
        if ready is not None and (ready.kind, ready.target) != (probe.kind, probe.target):
            export.warn(
                f"{process.name}: compose has one healthcheck: its health check, which the "
                "services that wait for it to be ready wait for too"
            )
        export.warn(
            f"{process.name}: docker compose marks an unhealthy container but does not "
            "restart it (autoheal or Swarm do)"
        )
        check: dict[str, Any] = {
            "test": Flow(["CMD-SHELL", test]),
            "interval": duration(ps.health.interval),
            "timeout": duration(ps.health.timeout),
            "retries": ps.health.failures,
        }
        if ready is not None:
            check["start_period"] = duration(ready.timeout)
            check["start_interval"] = duration(ready.interval)
        return check
    if ready is None:
        return None
    test = ready_command(ready)
    if test is None:
        export.warn(f"{process.name}: a log ready check has no equivalent in compose")
        return None
    return {
        "test": Flow(["CMD-SHELL", test]),
        "interval": duration(HEALTHCHECK_INTERVAL),
        "timeout": duration(PROBE_TIMEOUT),
        "retries": 3,
        "start_period": duration(ready.timeout),
        "start_interval": duration(ready.interval),
    }


def _relative(path, export: Export) -> str:
    rel = os.path.relpath(path, export.location)
    return rel if rel.startswith(".") else "./" + rel


def _escape_dollars(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, Flow):
        return Flow(_escape_dollars(v) for v in value)
    if isinstance(value, list):
        return [_escape_dollars(v) for v in value]
    if isinstance(value, dict):
        return {k: _escape_dollars(v) for k, v in value.items()}
    return value
