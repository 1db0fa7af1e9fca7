"""tuirunner: run the processes of a Procfile, each in its own pane."""


def __getattr__(name: str) -> str:
    # Looked up on first use: reading the installed metadata costs start-up time.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("tuirunner")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            value = "0.0.0"
        globals()["__version__"] = value
        return value
    raise AttributeError(name)
