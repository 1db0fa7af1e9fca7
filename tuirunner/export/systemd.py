"""systemd: ``APP.target``, which wants one ``APP-TYPE-N.service`` per instance (each with its own
``PORT`` and ``PS``), and ``APP-TYPE.env`` (mode 0600) with the secret variables of a type.

Non-secret variables are ``Environment=`` lines in the unit; secret ones go to the
``EnvironmentFile=``, which, unlike ``Environment=``, ``systemctl show`` does not reveal to every
local user. The two never set the same name, so their precedence does not matter.

``ready`` becomes an ``ExecStartPost=`` loop: systemd considers the service started (and starts
the units ordered ``After=`` it) only once that loop has exited, within ``TimeoutStartSec=``.
``stop_command`` becomes ``ExecStop=`` (systemd runs it, then sends ``KillSignal=`` to what is
left, as tuirunner does); ``health`` has no equivalent (a comment and a warning say so).
"""

from __future__ import annotations

import re

from tuirunner.errors import UserError
from tuirunner.procfile import Instance
from tuirunner.settings import AutoRestart

from .model import (
    Export,
    OutputFile,
    Process,
    Variable,
    duration,
    names_of,
    number,
    ready_command,
    waits_for_ready,
)
from .quoting import (
    Unrepresentable,
    systemd_env_file_line,
    systemd_environment,
    systemd_exec,
    systemd_plain,
)


def unit_name(export: Export, process_name: str, number: int) -> str:
    return f"{export.app}-{process_name}-{number}.service"


def render(export: Export) -> list[OutputFile]:
    files: list[OutputFile] = []
    units: list[str] = []
    for process in export.processes:
        env_file = _env_file(export, process)
        if env_file is not None:
            files.append(env_file)
        for inst in process.instances:
            name = unit_name(export, process.name, inst.number)
            if not process.on_demand:  # on demand: not wanted by the target
                units.append(name)
            files.append(OutputFile(name, _service(export, process, inst, env_file)))
    for group, members in export.groups.items():
        files.append(_group_target(export, group, members))
    target = [
        *_comments(export),
        "[Unit]",
        f"Description={export.app}: the processes of {_plain(export.sources, 'a path')}",
        f"Wants={' '.join(units)}",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
    ]
    files.insert(0, OutputFile(f"{export.app}.target", "\n".join(target) + "\n"))
    return files


def _group_target(export: Export, group: str, members: tuple[str, ...]) -> OutputFile:
    """``APP-GROUP.target``: the settings' group, started by hand (``systemctl start``)."""
    units = [unit_name(export, m, i.number) for m in members for i in export.process(m).instances]
    lines = [
        *_comments(export),
        f"# group {group}: systemctl start {export.app}-{group}.target",
        "[Unit]",
        f"Description={export.app}: group {group} ({', '.join(members)})",
        f"Wants={' '.join(units)}",
    ]
    return OutputFile(f"{export.app}-{group}.target", "\n".join(lines) + "\n")


def _comments(export: Export, secrets: list[str] | None = None) -> list[str]:
    return [f"# {line}" for line in export.header(secrets or ())] + [""]


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _environment(
    export: Export, process: Process, inst: Instance | None = None
) -> dict[str, Variable]:
    """The variables systemd accepts: names must be shell identifiers (python-dotenv also
    reads ``my.var``); the others are left out with a warning."""
    env = export.environment(process, inst)
    for name in [n for n in env if not _NAME.fullmatch(n)]:
        export.warn(f"{name} is not a valid variable name for systemd: it is not exported")
        del env[name]
    return env


def _env_file(export: Export, process: Process) -> OutputFile | None:
    env = _environment(export, process)
    secrets = names_of(env, secret=True)
    if not secrets:
        return None
    lines = _comments(export, secrets)
    for name in secrets:
        try:
            lines.append(systemd_env_file_line(name, env[name].value))
        except Unrepresentable as exc:
            raise UserError(f"systemd: {name}: the value {exc}") from None
    return OutputFile(f"{export.app}-{process.name}.env", "\n".join(lines) + "\n", secret=True)


def _service(export: Export, process: Process, inst: Instance, env_file: OutputFile | None) -> str:
    ps = process.settings
    unit = [
        "[Unit]",
        f"Description={export.app} {inst.name}",
        f"PartOf={export.app}.target",
    ]
    for dep in process.dependencies:
        dep_units = " ".join(
            unit_name(export, dep.name, i.number) for i in export.process(dep.name).instances
        )
        waits_for_ready(export, process, dep, "systemd")  # the warning, if any
        unit += [f"After={dep_units}", f"Requires={dep_units}"]
    if process.autorestart is not AutoRestart.NO:
        unit.append("StartLimitIntervalSec=0")  # keep restarting, as tuirunner does

    service = ["[Service]"]
    if process.oneshot:
        service += ["Type=oneshot", "RemainAfterExit=yes"]
    else:
        service.append("Type=simple")
    service += [
        f"User={_plain(export.host_user, 'the user (-u)')}",
        f"WorkingDirectory={_plain(str(export.app_root), 'the app root')}",
    ]
    for name, var in _environment(export, process, inst).items():
        if not var.secret:
            service.append(f"Environment={systemd_environment(name, var.value)}")
    if env_file is not None:
        path = str(export.location / env_file.name)
        service.append(f"EnvironmentFile={_plain(path, 'the export location')}")
    service.append(f"ExecStart={_exec([export.shell, '-c', process.command])}")
    if process.oneshot:
        service.append("TimeoutStartSec=infinity")
    elif ps.ready is not None:
        check = ready_command(ps.ready)
        if check is None:
            export.warn(f"{process.name}: a log ready check has no equivalent in systemd")
        else:
            loop = f"until {check}; do sleep {number(ps.ready.interval)}; done"
            service += [
                f"ExecStartPost={_exec([export.shell, '-c', loop])}",
                f"TimeoutStartSec={duration(ps.ready.timeout)}",
            ]
    if ps.stop_command is not None:  # systemd runs it, then signals what is left
        service.append(f"ExecStop={_exec([export.shell, '-c', ps.stop_command])}")
    if ps.health is not None:
        service.insert(1, f"# health ({ps.health.probe.kind.value}) has no equivalent in systemd")
        export.warn(
            f"{process.name}: a health check has no equivalent in systemd (its watchdog needs "
            "the process to notify it): it is not exported"
        )
    service.append(f"Restart={process.autorestart.value}")
    if process.autorestart is not AutoRestart.NO:
        service.append(f"RestartSec={duration(ps.backoff.initial)}")
    service += [
        "KillMode=control-group",
        f"KillSignal={process.stop_signal}",
        # systemd reads 0 as "no timeout"; tuirunner's 0 is "SIGKILL at once"
        f"TimeoutStopSec={duration(process.timeout) if process.timeout > 0 else '1ms'}",
        f"SyslogIdentifier={export.app}-{inst.name}",
    ]
    install = ["[Install]", f"WantedBy={export.app}.target"]
    if process.on_demand:  # autostart = false: started by hand only
        install = [f"# on demand: systemctl start {unit_name(export, process.name, inst.number)}"]
    lines = _comments(export) + unit + [""] + service + [""] + install
    return "\n".join(lines) + "\n"


def _exec(words: list[str]) -> str:
    try:
        return systemd_exec(words)
    except Unrepresentable as exc:
        raise UserError(f"systemd: a command {exc}") from None


def _plain(text: str, what: str) -> str:
    try:
        return systemd_plain(text)
    except Unrepresentable as exc:
        raise UserError(f"systemd: {what} {text!r} {exc}") from None
