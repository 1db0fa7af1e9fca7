"""Well-known credential formats in values (``"GitHub token"``, ``"JWT"``, ``"private key"``),
for :mod:`tuirunner.secrets`.

They are found by detect-secrets' format plugins (not its entropy plugins, which flag ``hello
world``) plus a few formats it lacks. detect-secrets is imported (~80 ms) only when a cheap
prefilter says a value could hold a token: a run of 20 or more token characters with letters
and digits (hex ids and UUIDs set aside), a known prefix (``eyJ``, ``ghp_``, ``xoxb-``,
``AKIA``, …) or a marker such as ``PRIVATE KEY``. Ordinary values (paths, host names, numbers,
module paths, words) never get that far.

A process that runs for hours (the keeper) calls :func:`scan_elsewhere`: detect-secrets then
runs in child processes (:mod:`tuirunner.secretscan`), started early by :func:`prescan`. A value
still being checked there is waited for, except within :func:`without_waiting`, where it counts
as secret (:data:`CHECKING`) until the answer is in (:func:`checking`, :func:`when_checked`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tuirunner.secretscan import Scan

# Token formats detect-secrets 1.5 lacks (checked before it, with no import).
_OWN_FORMATS = (
    # Fine-grained personal access tokens (detect-secrets knows only ghp_/gho_/ghu_/ghs_/ghr_).
    (re.compile(r"github_pat_[A-Za-z0-9_]{22,}"), "GitHub token"),
    # Project, service-account and admin keys: detect-secrets requires the 'T3BlbkFJ' marker
    # that these do not always carry.
    (re.compile(r"\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,}"), "OpenAI key"),
    (re.compile(r"\bsk-ant-[a-z]+\d*-[A-Za-z0-9_\-]{20,}"), "Anthropic key"),
    # Stripe test-mode secret and restricted keys (detect-secrets knows the live ones).
    (re.compile(r"\b[rs]k_test_[0-9A-Za-z]{24,}"), "Stripe key"),
    # npm's own format (detect-secrets 1.5 knows only the .npmrc `_authToken=` line).
    (re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), "npm token"),
    (re.compile(r"\bAIza[0-9A-Za-z_\-]{35}"), "Google API key"),
    (re.compile(r"\bGOCSPX-[0-9A-Za-z_\-]{28}"), "Google OAuth client secret"),
    (re.compile(r"\bhf_[A-Za-z0-9]{34,}"), "Hugging Face token"),
    (re.compile(r"\bdo[por]_v1_[a-f0-9]{64}\b"), "DigitalOcean token"),
    (re.compile(r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b"), "Shopify token"),
    (re.compile(r"\bkey-[0-9a-f]{32}\b"), "Mailgun key"),
    (
        re.compile(
            r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_\-]{20,}"
        ),
        "Discord webhook URL",
    ),
)
# An HTTP Authorization header's value, `Bearer TOKEN` or `Basic BASE64(user:password)`: after
# detect-secrets, so that a JWT behind `Bearer` is named as one.
_AUTHORIZATION = re.compile(r"(?i)\b(?:bearer|basic)\s+[A-Za-z0-9._~+/\-]{12,}=*")
AUTHORIZATION_HEADER = "Authorization header"
# Found by detect-secrets' Twilio plugin but an identifier, not a credential: an Account SID.
_TWILIO_ACCOUNT_SID = re.compile(r"AC[a-f0-9]{32}")

# The detect-secrets plugins used: formats only. Not the entropy plugins (they flag ordinary
# words and paths), the keyword plugin (names are our rules), basic auth (URLs are masked in
# part, above), public IPs (not secrets), Artifactory (its password pattern matches words
# like APDEFAULTNAME) and the IBM/SoftLayer/Cloudant ones (they need source-code context).
# Each plugin's secret type → our reason.
DETECT_SECRETS_PLUGINS = {
    "AWSKeyDetector": ("AWS Access Key", "AWS access key"),
    "AzureStorageKeyDetector": ("Azure Storage Account access key", "Azure storage key"),
    "DiscordBotTokenDetector": ("Discord Bot Token", "Discord bot token"),
    "GitHubTokenDetector": ("GitHub Token", "GitHub token"),
    "GitLabTokenDetector": ("GitLab Token", "GitLab token"),
    "JwtTokenDetector": ("JSON Web Token", "JWT"),
    "MailchimpDetector": ("Mailchimp Access Key", "Mailchimp key"),
    "NpmDetector": ("NPM tokens", "npm token"),
    "OpenAIDetector": ("OpenAI Token", "OpenAI key"),
    "PrivateKeyDetector": ("Private Key", "private key"),
    "PypiTokenDetector": ("PyPI Token", "PyPI token"),
    "SendGridDetector": ("SendGrid API Key", "SendGrid key"),
    "SlackDetector": ("Slack Token", "Slack token"),
    "SquareOAuthDetector": ("Square OAuth Secret", "Square OAuth secret"),
    "StripeDetector": ("Stripe Access Key", "Stripe key"),
    "TelegramBotTokenDetector": ("Telegram Bot Token", "Telegram bot token"),
    "TwilioKeyDetector": ("Twilio API Key", "Twilio key"),
}
_REASON_OF_TYPE = {secret_type: reason for secret_type, reason in DETECT_SECRETS_PLUGINS.values()}
SLACK_WEBHOOK = "Slack webhook URL"
FORMAT_REASONS = frozenset(
    {
        *_REASON_OF_TYPE.values(),
        *(reason for _, reason in _OWN_FORMATS),
        SLACK_WEBHOOK,
        AUTHORIZATION_HEADER,
    }
)
# A value that detect-secrets has not answered for yet (see without_waiting): masked meanwhile.
CHECKING = "being checked"

# The prefilter. Markers of formats that are not one long random run (private keys, Mailchimp's
# HEX-us6, npm's //host/:_authToken=) and prefixes of formats whose random part may lack a digit.
_TOKEN_HINT = re.compile(
    r"PRIVATE KEY|PuTTY-User-Key|_authToken|hooks\.slack\.com|AccountKey=|-us\d\d?\b"
    r"|\b(?:eyJ|gh[pousr]_|gl[a-z]+-|xox[a-z]-|[rs]k_live_|SG\.|A3T|AKIA|ASIA|ABIA|ACCA|sq0csp-"
    r"|pypi-)"
)
# Otherwise a token is a run of 20 or more such characters, with letters and digits once the
# parts that are only hex (hashes, UUIDs, ids) and the words around them are set aside.
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_+\-]{20,}")
_SEPARATOR = re.compile(r"[_\-]")
_HEX = re.compile(r"[0-9a-f]*|[0-9A-F]*")

_detect_secrets_lock = threading.Lock()


def could_hold_token(value: str) -> bool:
    """The prefilter: False when no token format can be in *value*, so detect-secrets is not
    needed (nor imported)."""
    if _TOKEN_HINT.search(value):
        return True
    for m in _TOKEN_RUN.finditer(value):
        rest = "".join(p for p in _SEPARATOR.split(m.group()) if not _HEX.fullmatch(p))
        if len(rest) >= 16 and any(c.isdigit() for c in rest) and any(c.isalpha() for c in rest):
            return True
    return False


def load_detect_secrets() -> None:
    """Import detect-secrets (~0.2 s): what the first scan would do."""
    import detect_secrets.core.scan
    import detect_secrets.settings  # noqa: F401


def detect_secrets_reason_here(value: str) -> str | None:
    """detect-secrets' verdict on *value*, in this process."""
    import logging

    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import transient_settings

    # detect-secrets routes the warnings module to logging when imported; keep ours as they were.
    logging.captureWarnings(False)
    config = {"plugins_used": [{"name": name} for name in DETECT_SECRETS_PLUGINS]}
    # Its settings are global: one scan at a time.
    with _detect_secrets_lock, transient_settings(config):
        for line in value.splitlines():
            for found in scan_line(line):
                if found.type == "Twilio API Key" and _TWILIO_ACCOUNT_SID.fullmatch(
                    found.secret_value or ""
                ):
                    continue
                if found.type == "Slack Token" and (found.secret_value or "").startswith("http"):
                    return SLACK_WEBHOOK
                return _REASON_OF_TYPE.get(found.type, found.type)
    return None


# detect-secrets in child processes (see tuirunner.secretscan), once scan_elsewhere() was called.
_elsewhere = False
_scan_lock = threading.Lock()
_scanned: dict[str, str | None] = {}  # value → detect-secrets' verdict
_pending: dict[str, Scan] = {}  # value → the scan under way that has it
_under_way: set[Scan] = set()  # the scans whose answer is not in
_when_checked: list[Callable[[], object]] = []  # see when_checked()
_waiting: ContextVar[bool] = ContextVar("waiting", default=True)  # see without_waiting()


def scan_elsewhere() -> None:
    """From now on, run detect-secrets in child processes (:mod:`tuirunner.secretscan`), so that
    this long-lived process never imports it (~8.5 MB). :func:`prescan` starts them early."""
    global _elsewhere
    _elsewhere = True


@lru_cache(maxsize=4096)
def _needs_detect_secrets(value: str) -> bool:
    """True when :func:`token_format` may ask detect-secrets about *value* (the prefilter; a
    value one of our own formats catches first is scanned for nothing, at no extra wait)."""
    return could_hold_token(value)


def prescan(values: Iterable[str]) -> None:
    """Start detect-secrets on those of *values* that need it and were not scanned, all in one
    child process, so that masking them later waits at most for what is left of it (nothing
    happens unless :func:`scan_elsewhere` was called)."""
    if not _elsewhere:
        return
    from tuirunner.secretscan import Scan

    with _scan_lock:
        todo = [
            v
            for v in dict.fromkeys(values)
            if v not in _scanned and v not in _pending and _needs_detect_secrets(v)
        ]
        if todo:
            scan = Scan(todo, on_done=_scan_done)
            _under_way.add(scan)
            for v in todo:
                _pending[v] = scan


def _scan_done(scan: Scan, reasons: list[str | None] | None) -> None:
    """A scan's answer is in (from its thread): keep the verdicts, and call
    :func:`when_checked`'s callbacks once no scan is left under way. If the child failed, its
    values stay pending: classifying them scans them here (:func:`_detect_secrets_reason`)."""
    with _scan_lock:
        if reasons is not None:
            for v, reason in zip(scan.values, reasons, strict=True):
                _scanned[v] = reason
                if _pending.get(v) is scan:
                    del _pending[v]
        _under_way.discard(scan)
        if _under_way:
            return
        callbacks = _when_checked[:]
        _when_checked.clear()
    for callback in callbacks:
        callback()


def checking() -> bool:
    """Whether detect-secrets is still checking some value in a child process (never waits)."""
    with _scan_lock:
        return bool(_under_way)


def when_checked(callback: Callable[[], object]) -> bool:
    """Call *callback* (from a scan's thread) once no value is left being checked; False, and
    no call, if none is being checked now."""
    with _scan_lock:
        if not _under_way:
            return False
        _when_checked.append(callback)
        return True


@contextmanager
def without_waiting() -> Iterator[None]:
    """Within it, a value that detect-secrets is still checking (in a child process) is not
    waited for: it counts as secret, wholly masked, for the reason :data:`CHECKING`. Nothing
    about it is cached, so it is classified for good once the answer is in (see
    :func:`checking` and :func:`when_checked`)."""
    token = _waiting.set(False)
    try:
        yield
    finally:
        _waiting.reset(token)


def pending(value: str) -> bool:
    """Within :func:`without_waiting`: whether *value* is still being checked (it starts the
    check of a value that needs one and has none under way). Outside it: False."""
    return not _waiting.get() and not _verdict_ready(value)


def _verdict_ready(value: str) -> bool:
    """Whether classifying *value* now would not wait for detect-secrets (it starts the scan
    of a value that needs one and has none under way)."""
    if not _elsewhere or not _needs_detect_secrets(value):
        return True
    with _scan_lock:
        if value in _scanned:
            return True
        scan = _pending.get(value)
        if scan is not None:
            return scan not in _under_way
    prescan([value])
    return False


def _detect_secrets_reason(value: str) -> str | None:
    if not _elsewhere:
        return detect_secrets_reason_here(value)
    with _scan_lock:
        if value in _scanned:
            return _scanned[value]
        scan = _pending.get(value)
    if scan is None:
        prescan([value])
        with _scan_lock:
            scan = _pending.get(value)
    reasons = scan.reasons() if scan is not None else None
    with _scan_lock:
        if reasons is not None and scan is not None:
            for v, reason in zip(scan.values, reasons, strict=True):
                _scanned[v] = reason
                _pending.pop(v, None)
        if value in _scanned:
            return _scanned[value]
    # The child failed: scan here (the memory is spent, but the mask is right).
    reason = detect_secrets_reason_here(value)
    with _scan_lock:
        _scanned[value] = reason
        _pending.pop(value, None)
    return reason


def token_format(value: str) -> str | None:
    """The well-known credential format found in *value* (``"GitHub token"``, ``"JWT"``,
    ``"private key"``, …), or None."""
    for pattern, reason in _OWN_FORMATS:
        if pattern.search(value):
            return reason
    if could_hold_token(value):
        reason = _detect_secrets_reason(value)
        if reason is not None:
            return reason
    return AUTHORIZATION_HEADER if _AUTHORIZATION.search(value) else None
