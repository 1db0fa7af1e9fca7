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

import sys
from typing import Annotated

from msgspec import Meta, Struct

from tuirunner.settings.model import MAX_CONCURRENCY, AutoRestart, Condition, ReadyKind

_LARGEST = sys.float_info.max  # so that inf is refused (nan fails any bound)

NonEmpty = Annotated[str, Meta(pattern=r"\A(?=[\s\S]*\S)[^\x00]*\Z")]  # not blank, no NUL
Seconds = Annotated[float, Meta(ge=0, le=_LARGEST)]
PositiveSeconds = Annotated[float, Meta(gt=0, le=_LARGEST)]
Strings = list[NonEmpty]

#: What the messages say a key expects, where a type alone does not say it.
CONDITION_OR_TABLE = "a table { condition, restart }"
PORT_OR_VARIABLE = 'a port number or a variable such as "$PORT"'
SIGNAL_NAME = 'a signal name such as "SIGINT"'


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
    port: Annotated[int | str, Meta(extra={"expected": PORT_OR_VARIABLE})] | None = None
    log: NonEmpty | None = None
    command: NonEmpty | None = None
    host: NonEmpty | None = None
    timeout: PositiveSeconds | None = None
    interval: PositiveSeconds | None = None


class BackoffTable(Struct, forbid_unknown_fields=True):
    initial: PositiveSeconds | None = None
    max: PositiveSeconds | None = None
    reset_after: Seconds | None = None


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
    log_max_bytes: Annotated[int, Meta(ge=1)] | None = None
    log_backups: Annotated[int, Meta(ge=0, le=1000)] | None = None


class SettingsTable(Struct, forbid_unknown_fields=True):
    procfile: NonEmpty | None = None
    env: Strings | None = None
    port: Annotated[int, Meta(ge=1, le=65535)] | None = None
    timeout: Seconds | None = None
    scrollback: Annotated[int, Meta(ge=1)] | None = None
    formation: dict[str, Annotated[int, Meta(ge=0, le=MAX_CONCURRENCY)]] = {}
    processes: dict[str, ProcessTable] = {}


def keys(table: type[Struct]) -> tuple[str, ...]:
    """The keys a table may have, in order."""
    return table.__struct_fields__


GLOBAL_KEYS = keys(SettingsTable)
PROCESS_KEYS = keys(ProcessTable)
READY_KINDS = tuple(k.value for k in ReadyKind)  # the first fields of ReadyTable
READY_KEYS = keys(ReadyTable)
BACKOFF_KEYS = keys(BackoffTable)
DEPENDENCY_KEYS = keys(DependencyTable)
