"""tuirunner: run the processes of a Procfile, each in its own pane."""

# The one place of the version (pyproject.toml reads it from here): a constant, because the
# keeper sends it to every client, and importlib.metadata would cost it ~2 MB (email, zipfile…).
__version__ = "0.1.0"
