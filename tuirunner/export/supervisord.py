"""supervisord: ``APP.conf`` with a ``[program:APP-TYPE-N]`` per instance and a ``[group:APP]``,
for ``[include]`` in supervisord.conf (``files = /etc/supervisor/conf.d/*.conf``).

supervisord has no readiness, no health checks, no stop commands and no dependencies:
``depends_on`` becomes the start order (``priority``); ``ready``, ``health`` and
``stop_command`` are not exported (a comment says so).
"""

from __future__ import annotations

import os

from tuirunner.errors import UserError
from tuirunner.procfile import Instance
from tuirunner.settings import AutoRestart

from .model import Export, OutputFile, Process, Variable, names_of, seconds
from .quoting import Unrepresentable, ini_plain, supervisord_command, supervisord_env_value

#: Passes the variables that supervisord's environment= cannot hold on the command line instead.
ENV_COMMAND = "/usr/bin/env"

_AUTORESTART = {
    AutoRestart.NO: "false",
    AutoRestart.ON_FAILURE: "unexpected",  # an exit status not in exitcodes, or a signal
    AutoRestart.ALWAYS: "true",
}


def program_name(export: Export, process_name: str, number: int) -> str:
    return f"{export.app}-{process_name}-{number}"


def render(export: Export) -> list[OutputFile]:
    sections: list[str] = []
    secrets: set[str] = set()
    priorities = {p.name: 100 + 10 * i for i, p in enumerate(export.start_order())}
    programs = []
    for process in export.processes:
        for inst in process.instances:
            name = program_name(export, process.name, inst.number)
            programs.append(name)
            env = export.environment(process, inst)
            secrets.update(names_of(env, secret=True))
            sections.append(_program(export, process, inst, env, priorities[process.name]))
    group = [f"[group:{export.app}]"]
    for name, members in export.groups.items():
        # A program is in one group only: the settings' groups are said, not made.
        shown = " ".join(
            f"{export.app}:{program_name(export, m, i.number)}"
            for m in members
            for i in export.process(m).instances
        )
        group.insert(0, f"; group {name}: supervisorctl start {shown}")
    group.append(f"programs={','.join(programs)}")
    sections.append("\n".join(group) + "\n")
    header = "".join(f"; {line}\n" for line in export.header(sorted(secrets)))
    content = header + "\n" + "\n".join(sections)
    return [OutputFile(f"{export.app}.conf", content, secret=bool(secrets))]


def _program(
    export: Export, process: Process, inst: Instance, env: dict[str, Variable], priority: int
) -> str:
    in_environment: list[str] = []
    on_command_line: list[Variable] = []
    for var in env.values():
        try:
            in_environment.append(f"{var.name}={supervisord_env_value(var.value)}")
        except Unrepresentable:
            on_command_line.append(var)
    words = [export.shell, "-c", process.command]
    if on_command_line:
        words = [ENV_COMMAND, *(f"{v.name}={v.value}" for v in on_command_line), *words]
    try:
        command = supervisord_command(words)
    except Unrepresentable as exc:
        bad = next(
            (v.name for v in on_command_line if "\r" in v.value or "\0" in v.value), process.name
        )
        raise UserError(
            f"supervisord: {bad}: the value {exc}, which supervisord cannot hold"
        ) from None
    lines = [f"[program:{program_name(export, process.name, inst.number)}]"]
    for var in on_command_line:
        lines.append(
            f"; {var.name} ({var.origin}) is passed by {ENV_COMMAND} in command=: environment= "
            "cannot hold its value exactly"
        )
    ps = process.settings
    log_file = os.path.join(export.log_dir, f"{process.name}-{inst.number}.log")
    if process.on_demand:
        lines.append("; autostart = false: on demand (supervisorctl start)")
    if ps.ready is not None:
        lines.append(f"; ready ({ps.ready.kind.value}) has no equivalent in supervisord")
    if ps.health is not None:
        lines.append(f"; health ({ps.health.probe.kind.value}) has no equivalent in supervisord")
    if ps.stop_command is not None:
        lines.append(
            "; stop_command has no equivalent in supervisord: run it before (or after) "
            f"supervisorctl stop: {_comment(ps.stop_command)}"
        )
        export.warn(
            f"{process.name}: stop_command has no equivalent in supervisord: it is a comment"
        )
    if process.dependencies:
        deps = ", ".join(f"{d.name} ({d.condition.value})" for d in process.dependencies)
        lines.append(f"; depends on {deps}: supervisord starts it after them but does not wait")
    lines += [
        f"command={command}",
        f"directory={_plain(str(export.app_root), 'the app root')}",
        f"user={_plain(export.host_user, 'the user (-u)')}",
        "environment=" + ",".join(f"\n    {item}" for item in in_environment),
        f"autostart={'false' if process.on_demand else 'true'}",
        f"autorestart={_AUTORESTART[process.autorestart]}",
        f"startsecs={0 if process.oneshot else 1}",
        "exitcodes=0",
        f"priority={priority}",
        f"stopsignal={process.stop_signal.removeprefix('SIG')}",
        f"stopwaitsecs={seconds(process.timeout)}",
        "stopasgroup=true",
        "killasgroup=true",
        "redirect_stderr=true",
        f"stdout_logfile={_plain(log_file, 'the log directory (-l)')}",
        f"stdout_logfile_maxbytes={ps.log_max_bytes}",
        f"stdout_logfile_backups={ps.log_backups}",
    ]
    return "\n".join(lines) + "\n"


def _comment(text: str) -> str:
    """*text* on one comment line."""
    return " ".join(text.split())


def _plain(text: str, what: str) -> str:
    try:
        return ini_plain(text)
    except Unrepresentable as exc:
        raise UserError(f"supervisord: {what} {text!r} {exc}") from None
