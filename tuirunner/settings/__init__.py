"""Settings: ``[tool.tuirunner]`` in pyproject.toml, or a ``tuirunner.toml``.

The Procfile stays the list of processes and their commands; the settings give defaults for the
command-line options and a policy per process type (dependencies, readiness, restarts, watching,
stopping, extra environment, a log file). This package only reads and validates them; the
runtime applies them.

- :mod:`.model`: what the runtime reads (frozen structs: :class:`Settings`,
  :class:`ProcessSettings`, …);
- :mod:`.schema`: the shape of the file, checked by msgspec; :mod:`.messages` words its errors;
- :mod:`.load`: discovery, TOML reading, the checks a schema cannot make;
- :mod:`.graph` (dependency order and cycles), :mod:`.expand` (``$VAR``), :mod:`.globs`
  (``watch`` and ``ignore`` patterns).

Discovery (:func:`load_settings`), one file only, never merged:

1. ``-f DIR/Procfile`` names a Procfile in another directory than the app root and
   ``DIR/tuirunner.toml`` exists: that file (settings made for that Procfile).
2. Otherwise, in the app root: the ``[tool.tuirunner]`` table of ``pyproject.toml``, or
   ``tuirunner.toml`` (same keys at the top level). Having both is an error. A pyproject.toml
   without the table is not an error.
3. Otherwise there are no settings, and everything behaves as without this package.

Every mistake is a :class:`SettingsError`, one line naming the file and the key path
(``pyproject.toml: tool.tuirunner.processes.web.ready.http: expected a string, got 5``); tomllib
gives no line numbers except for syntax errors, which name the line
(``pyproject.toml:12: invalid TOML: …``).
"""

from tuirunner.settings.expand import VARIABLE, expand_variables
from tuirunner.settings.globs import glob_matches
from tuirunner.settings.load import load_settings, settings_from_dict
from tuirunner.settings.model import (
    DEFAULT_BACKOFF_INITIAL,
    DEFAULT_BACKOFF_MAX,
    DEFAULT_BACKOFF_RESET_AFTER,
    DEFAULT_LOG_BACKUPS,
    DEFAULT_LOG_MAX_BYTES,
    DEFAULT_READY_HOST,
    DEFAULT_READY_INTERVAL,
    DEFAULT_READY_TIMEOUT,
    DEFAULT_WATCH_IGNORE,
    LOCAL_FILE,
    MAX_CONCURRENCY,
    MAX_SETTINGS_BYTES,
    PYPROJECT,
    PYPROJECT_PREFIX,
    RESERVED_VARIABLES,
    SETTINGS_FILE,
    AutoRestart,
    Backoff,
    Condition,
    Dependency,
    HealthCheck,
    ProcessSettings,
    ReadyCheck,
    ReadyKind,
    Settings,
    SettingsError,
)
from tuirunner.settings.schema import (
    BACKOFF_KEYS,
    DEPENDENCY_KEYS,
    GLOBAL_KEYS,
    HEALTH_KEYS,
    PROCESS_KEYS,
    READY_KEYS,
    READY_KINDS,
)

__all__ = [
    "BACKOFF_KEYS",
    "DEFAULT_BACKOFF_INITIAL",
    "DEFAULT_BACKOFF_MAX",
    "DEFAULT_BACKOFF_RESET_AFTER",
    "DEFAULT_LOG_BACKUPS",
    "DEFAULT_LOG_MAX_BYTES",
    "DEFAULT_READY_HOST",
    "DEFAULT_READY_INTERVAL",
    "DEFAULT_READY_TIMEOUT",
    "DEFAULT_WATCH_IGNORE",
    "DEPENDENCY_KEYS",
    "GLOBAL_KEYS",
    "HEALTH_KEYS",
    "LOCAL_FILE",
    "MAX_CONCURRENCY",
    "MAX_SETTINGS_BYTES",
    "PROCESS_KEYS",
    "PYPROJECT",
    "PYPROJECT_PREFIX",
    "READY_KEYS",
    "READY_KINDS",
    "RESERVED_VARIABLES",
    "SETTINGS_FILE",
    "VARIABLE",
    "AutoRestart",
    "Backoff",
    "Condition",
    "Dependency",
    "HealthCheck",
    "ProcessSettings",
    "ReadyCheck",
    "ReadyKind",
    "Settings",
    "SettingsError",
    "expand_variables",
    "glob_matches",
    "load_settings",
    "settings_from_dict",
]
