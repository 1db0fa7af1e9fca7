"""The shape of a settings file, as msgspec structs: the types, ranges and keys that
``msgspec.convert(table, type=SettingsTable, strict=True)`` checks.

These structs mirror the TOML (``depends_on`` as an array or a table, ``stop_signal`` as a name,
``ready`` as a table of one check); :mod:`.load` turns them into the model of :mod:`.model`
after the checks a schema cannot express. The field order is the order of "valid keys: …" in
messages. ``Meta(extra=…)`` words what a type alone does not: ``{"expected": …}`` what a key
expects, ``{"or": […]}`` what a union accepts besides its enum's values, ``{"quote": True}`` a
string for which a number gets the hint to quote it.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

from tuirunner.limits import (
    MAX_BACKOFF,
    MAX_HEALTH_FAILURES,
    MAX_LOG_BACKUPS,
    MAX_LOG_MAX_BYTES,
    MAX_READY_INTERVAL,
    MAX_READY_TIMEOUT,
    MAX_SCROLLBACK,
    MAX_TIMEOUT,
    MIN_BACKOFF,
    MIN_HEALTH_INTERVAL,
    MIN_LOG_MAX_BYTES,
    MIN_READY_INTERVAL,
)
from tuirunner.settings.model import (
    MAX_CONCURRENCY,
    AutoRestart,
    Condition,
    CrashNotice,
    ReadyKind,
)

NonEmpty = Annotated[str, Meta(pattern=r"\A(?=[\s\S]*\S)[^\x00]*\Z")]  # not blank, no NUL
# Every number has a range (nan fails any bound, inf the upper one): README, "Settings".
Seconds = Annotated[float, Meta(ge=0, le=MAX_TIMEOUT)]
ReadyTimeout = Annotated[float, Meta(gt=0, le=MAX_READY_TIMEOUT)]
ReadyInterval = Annotated[float, Meta(ge=MIN_READY_INTERVAL, le=MAX_READY_INTERVAL)]
BackoffSeconds = Annotated[float, Meta(ge=MIN_BACKOFF, le=MAX_BACKOFF)]
ResetAfter = Annotated[float, Meta(ge=0, le=MAX_BACKOFF)]
Port = Annotated[int, Meta(ge=1, le=65535)]
HealthInterval = Annotated[float, Meta(ge=MIN_HEALTH_INTERVAL, le=MAX_READY_INTERVAL)]
HealthTimeout = Annotated[float, Meta(gt=0, le=MAX_READY_INTERVAL)]
Strings = list[NonEmpty]

#: What the messages say a key expects, where a type alone does not say it.
CONDITION_OR_TABLE = "a table { condition, restart }"
PORT_OR_VARIABLE = 'a port number or a variable such as "$PORT"'
SIGNAL_NAME = 'a signal name such as "SIGINT"'
NAMES = "an array of process names"


class DependencyTable(Struct, forbid_unknown_fields=True):
    condition: Condition = Condition.STARTED
    restart: bool = False


DependsOn = Annotated[
    Strings
    | dict[
        str,
        Annotated[
            Condition | DependencyTable,
            Meta(extra={"or": [CONDITION_OR_TABLE]}),
        ],
    ],
    Meta(extra={"expected": "a table (or an array of process names)"}),
]


class ReadyTable(Struct, forbid_unknown_fields=True):
    http: NonEmpty | None = None
    # 1 to 65535, checked by load.py (after "$PORT" is told apart)
    port: Annotated[int | str, Meta(extra={"expected": PORT_OR_VARIABLE})] | None = None
    log: NonEmpty | None = None
    command: NonEmpty | None = None
    url: NonEmpty | None = None  # a service URL, or the variable holding one ("$DATABASE_URL")
    host: NonEmpty | None = None
    timeout: ReadyTimeout | None = None
    interval: ReadyInterval | None = None
    headers: dict[str, NonEmpty] | None = None  # http only (checked by load.py)


class HealthTable(Struct, forbid_unknown_fields=True):
    http: NonEmpty | None = None
    port: Annotated[int | str, Meta(extra={"expected": PORT_OR_VARIABLE})] | None = None
    command: NonEmpty | None = None
    host: NonEmpty | None = None
    headers: dict[str, NonEmpty] | None = None
    interval: HealthInterval | None = None
    timeout: HealthTimeout | None = None
    failures: Annotated[int, Meta(ge=1, le=MAX_HEALTH_FAILURES)] | None = None


class BackoffTable(Struct, forbid_unknown_fields=True):
    initial: BackoffSeconds | None = None
    max: BackoffSeconds | None = None
    reset_after: ResetAfter | None = None


class ProcessTable(Struct, forbid_unknown_fields=True):
    oneshot: bool = False
    depends_on: DependsOn | None = None
    ready: ReadyTable | None = None
    autorestart: AutoRestart | None = None
    backoff: BackoffTable | None = None
    watch: Strings | None = None
    ignore: Strings | None = None
    stop_signal: Annotated[str, Meta(extra={"expected": SIGNAL_NAME})] | None = None
    timeout: Seconds | None = None
    env: dict[str, Annotated[str, Meta(extra={"quote": True})]] | None = None
    log_file: NonEmpty | None = None
    log_max_bytes: Annotated[int, Meta(ge=MIN_LOG_MAX_BYTES, le=MAX_LOG_MAX_BYTES)] | None = None
    log_backups: Annotated[int, Meta(ge=0, le=MAX_LOG_BACKUPS)] | None = None
    port: Port | None = None
    stop_command: NonEmpty | None = None
    health: HealthTable | None = None
    autostart: bool | None = None


class SettingsTable(Struct, forbid_unknown_fields=True):
    procfile: NonEmpty | None = None
    env: Strings | None = None
    port: Port | None = None
    timeout: Seconds | None = None
    scrollback: Annotated[int, Meta(ge=1, le=MAX_SCROLLBACK)] | None = None
    formation: dict[str, Annotated[int, Meta(ge=0, le=MAX_CONCURRENCY)]] = {}
    makemigrations_check: bool = False
    processes: dict[str, ProcessTable] = {}
    groups: dict[
        str, Annotated[Strings, Meta(extra={"expected": "an array of process names"})]
    ] = {}
    # The terminal UI's (README, "Reading the output"): opening a traceback's file, crashes.
    editor: NonEmpty | None = None
    notify_on_crash: CrashNotice = CrashNotice.OFF


def keys(table: type[Struct]) -> tuple[str, ...]:
    """The keys a table may have, in order."""
    return table.__struct_fields__


GLOBAL_KEYS = keys(SettingsTable)
PROCESS_KEYS = keys(ProcessTable)
READY_KINDS = tuple(k.value for k in ReadyKind)  # the first fields of ReadyTable
READY_KEYS = keys(ReadyTable)
HEALTH_KEYS = keys(HealthTable)
HEALTH_KINDS = ("http", "port", "command")  # the first fields of HealthTable
BACKOFF_KEYS = keys(BackoffTable)
DEPENDENCY_KEYS = keys(DependencyTable)
