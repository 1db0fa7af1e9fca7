"""tuirunner: run the processes of a Procfile, each in its own pane."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tuirunner")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"
