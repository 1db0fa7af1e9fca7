"""detect-secrets in a process of its own, for a process that runs for hours (the keeper).

Importing detect-secrets brings requests, urllib3, charset_normalizer, idna and
multiprocessing along (its plugins can verify a secret online, which tuirunner never asks for):
~8.5 MB that a process keeps for good once it has scanned a single value, and ~0.17 s of its
time. A value needs detect-secrets as soon as it passes the cheap prefilter of
:mod:`tuirunner.tokenformats` — a working directory named ``project-2024-v3`` does — so a keeper
would nearly always carry them. Instead the keeper (:func:`tuirunner.tokenformats.scan_elsewhere`)
starts ``python -m tuirunner.secretscan`` as soon as it knows its environment: the child
imports detect-secrets at once, in parallel with the keeper's own start, then reads the values
(a JSON list) on stdin and writes detect-secrets' verdict on each (a JSON list of reasons or
nulls) on stdout. The verdicts are the ones the keeper would have found itself; if the child
fails, the keeper scans in-process as before.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import types
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

TIMEOUT = 60.0  # seconds for the child's whole answer (it takes ~0.4 s)
# The child finds this very tuirunner whatever the parent's working directory (-m puts its own
# working directory first on sys.path).
_ROOT = str(Path(__file__).resolve().parent.parent)


class Scan:
    """detect-secrets' verdicts on *values*, from a child process started at once and sent
    the values at once (a thread waits for its answer: the child never lingers, and a
    process that asks later waits for what is left of the scan, if anything). *on_done* is
    called from that thread with the scan and :meth:`reasons` once the answer is in."""

    def __init__(
        self,
        values: list[str],
        on_done: Callable[[Scan, list[str | None] | None], object] | None = None,
    ) -> None:
        self.values = values
        self._on_done = on_done
        self._reasons: list[str | None] | None = None
        try:
            self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-m", "tuirunner.secretscan"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=_ROOT,
            )
        except OSError as exc:
            log.warning("could not start the secret scan: %s", exc)
            self._process = None
        self._thread = threading.Thread(target=self._run, name="secret scan", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self._reasons = self._collect()
        if self._on_done is not None:
            self._on_done(self, self._reasons)

    def reasons(self) -> list[str | None] | None:
        """The reason for each value (None: no token format), or None if the child failed."""
        self._thread.join(TIMEOUT + 5)
        return self._reasons

    def _collect(self) -> list[str | None] | None:
        process = self._process
        if process is None:
            return None
        try:
            out, err = process.communicate(json.dumps(self.values).encode(), timeout=TIMEOUT)
        except (OSError, subprocess.SubprocessError) as exc:
            process.kill()
            process.communicate()
            log.warning("the secret scan failed: %s", exc)
            return None
        try:
            reasons = json.loads(out)
        except ValueError:
            reasons = None
        if (
            not isinstance(reasons, list)
            or len(reasons) != len(self.values)
            or not all(r is None or isinstance(r, str) for r in reasons)
        ):
            tail = err.decode(errors="replace").strip().splitlines()[-1:]
            log.warning("the secret scan failed: %s", tail[0] if tail else "no answer")
            return None
        return reasons


def _stand_in_for_requests() -> None:
    """detect-secrets imports requests only for its plugins' ``verify`` (asking the provider
    whether a secret is live), which this scan never asks for: a stand-in saves the child
    ~0.14 s of CPU (60 % of its start), while the keeper and the window start too."""
    if "requests" in sys.modules:
        return

    class Unused(Exception):
        """What any name of the stand-in is (annotations, ``except`` clauses)."""

    stand_in = types.ModuleType("requests", "not imported: detect-secrets verifies nothing here")
    stand_in.__getattr__ = lambda name: Unused  # type: ignore[method-assign]
    sys.modules["requests"] = stand_in


def main() -> int:
    from tuirunner import tokenformats

    _stand_in_for_requests()
    tokenformats.load_detect_secrets()  # first: the parent sends the values when it needs them
    values = json.load(sys.stdin)
    json.dump([tokenformats.detect_secrets_reason_here(v) for v in values], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
