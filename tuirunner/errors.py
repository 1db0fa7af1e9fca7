"""Errors meant for the user: one line, no traceback, exit status 1."""


class UserError(Exception):
    """A problem with the user's input (Procfile, env file, command line).

    The CLI prints ``str(error)`` prefixed with ``tuirunner: error:`` and exits 1.
    """

    exit_code = 1


class NoKeeper(UserError):
    """Nothing runs for that app root."""


class KeeperError(UserError):
    """The keeper refused or failed a command."""
