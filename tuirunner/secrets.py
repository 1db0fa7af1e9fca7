"""Which values are secret, why, and how they are masked.

By name: a name is secret when one of its words (split on ``_``, ``-``, ``.`` and camelCase) is,
or ends with, one of the keywords below, or is a keyword plus a plural ``S``: ``API_KEY``,
``APIKEY``, ``DJANGO_SECRET_KEY``, ``GITHUB_TOKENS`` and ``SENTRY_DSN`` are secret;
``KEYBOARD_LAYOUT``, ``AUTHOR_NAME``, ``PASSENGER_COUNT`` and ``TOKENIZER`` are not. A few words
(``COOKIE``, ``SIGNING``) make a name secret only as its last word: ``SESSION_COOKIE`` and
``SIGNING`` are secret, ``SESSION_COOKIE_SECURE`` and ``SIGNING_ALGORITHM`` are settings.

By value, whatever the name:

- well-known token formats (JWT, GitHub, GitLab, Slack, AWS, Stripe, OpenAI, SendGrid, Twilio,
  private keys, …), found by detect-secrets' format plugins (not its entropy plugins, which
  flag ``hello world``) plus a few formats it lacks. The whole value is masked.
- the password of a URL (``postgres://app:••••@db/app``), a token used as a URL's user name
  (``https://••••@github.com``, Sentry DSNs), credential query parameters
  (``?token=••••``), and passwords in connection strings (``Server=db;Uid=sa;Pwd=••••``). Only
  the secret part is masked.

detect-secrets is imported (~80 ms) only when a cheap prefilter says a value could hold a token:
a run of 20 or more token characters with letters and digits (hex ids and UUIDs set aside), a
known prefix (``eyJ``, ``ghp_``, ``xoxb-``, ``AKIA``, …) or a marker such as ``PRIVATE KEY``.
Ordinary values (paths, host names, numbers, module paths, words) never get that far. Results
are cached: the same environment is classified for every process.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tuirunner.secretscan import Scan

MASK = "••••"

KEYWORDS = frozenset(
    {
        "SECRET",
        "TOKEN",
        "PASSWORD",
        "PASSWD",
        "PASS",
        "KEY",
        "PRIVATE",
        "CREDENTIAL",
        "AUTH",
        "SIGNATURE",
        "SALT",
        "DSN",
        "PASSPHRASE",
        "AUTHORIZATION",
    }
)
# Secret only as the last word of a name: SESSION_COOKIE holds a cookie, SESSION_COOKIE_SECURE
# and SESSION_COOKIE_AGE are Django settings about it.
TAIL_KEYWORDS = frozenset({"COOKIE", "COOKIES", "SIGNING"})
# Words that end with a keyword and are secret (APIKEY, ACCESSTOKEN, DBPASSWORD) are caught by the
# suffix rule; these end with one by accident and are not secrets.
_NOT_SECRET_WORDS = frozenset(
    {"MONKEY", "TURKEY", "HOCKEY", "JOCKEY", "DONKEY", "BYPASS", "COMPASS"}
)
# Whole names that contain a keyword but hold no secret.
_NOT_SECRET_NAMES = frozenset({"SSH_AUTH_SOCK", "XAUTHORITY", "GPG_AGENT_INFO"})

_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
# scheme://user:password@host — the password is group 2, up to the last @ of the authority (a
# password may contain @). The user part may be empty (redis://:password@host).
# The password may hold '/', '?', '#', '@' or a space (unencoded, as people write them): it runs
# to the last '@' followed by a host and the host's end (p@ss/word@db: all of p@ss/word), but not
# into another URL of the value. The host may be an IPv6 address in brackets ([::1]:5432). A port
# (host:8080/path) is not a password.
_URL_PASSWORD = re.compile(
    r"([A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@\s]*:)(?!\d+(?:[/?#\s]|$))((?:(?!://)[^\n])+)"
    r"(@)(?=(?:\[[0-9A-Za-z:.%]*\]|[A-Za-z0-9.\-_~%]*)(?::\d+)?(?:[/?#,;\s]|$))"
)
# scheme://TOKEN@host: a long user name with digits is a token (https://ghp_…@github.com), not a
# name like postgres://app@db.
_URL_TOKEN_USER = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://)([^:/?#@\s]{16,})(@)")
# A Sentry DSN, https://KEY@o0.ingest.sentry.io/0: the user part is the key, whatever it looks like.
_SENTRY_DSN = re.compile(
    r"([A-Za-z][A-Za-z0-9+.\-]*://)([^:/?#@\s]+)(@[^/?#@\s]*sentry[^/?#@\s]*)", re.IGNORECASE
)
# ?name=value, &name=value, #name=value (OAuth puts access_token in the fragment).
_QUERY_PARAMETER = re.compile(r"([?&#])([^=&#?\s]+)(=)([^&#\s]+)")
# Key=value pairs of an ODBC/ADO/JDBC connection string, separated by ';'. An ODBC value may be
# braced, with '}}' for a literal '}': Pwd={a;b}}c}.
_CONNECTION_PAIR = re.compile(r"(^|;)(\s*)([^=;{}]+?)(\s*=\s*)(\{(?:[^}]|\}\})*\}|[^;]*)")
# libpq's keyword/value form: host=db user=app password=secret (values may be single-quoted).
_LIBPQ_PAIR = re.compile(r"(^|\s)([A-Za-z_]+)(\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']+)")
_LIBPQ_PAIR_TEXT = r"[A-Za-z_]+\s*=\s*(?:'(?:[^'\\]|\\.)*'|[^\s']+)"
_LIBPQ = re.compile(rf"\s*{_LIBPQ_PAIR_TEXT}(?:\s+{_LIBPQ_PAIR_TEXT})+\s*")
# Parameter names that say "secret" but are too short for the name rules.
_SECRET_PARAMETERS = frozenset({"pwd", "pw", "sig", "sas"})
_PASSWORD_PARAMETERS = frozenset({"password", "pwd", "pw", "passwd", "pass"})
# A parameter whose last word is one of these describes a secret without holding it
# (token_type=bearer, key_id=12, auth_mode=basic, SharedAccessKeyName=RootManage…).
_META_WORDS = frozenset({"TYPE", "ID", "NAME", "MODE", "FILE", "PATH", "METHOD", "LENGTH", "URL"})

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
NAME_REASON = "name"

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


def _word_is_secret(word: str) -> bool:
    if word in KEYWORDS:
        return True
    if word.endswith("S") and word[:-1] in KEYWORDS:
        return True
    if word in _NOT_SECRET_WORDS:
        return False
    return any(
        word.endswith(k) and len(word) > len(k)
        for k in ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD")
    )


def _words(name: str) -> list[str]:
    return [w.upper() for w in _WORD_SPLIT.split(name) if w]


@lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """True when the variable's name says it holds a secret."""
    if name.upper() in _NOT_SECRET_NAMES:
        return False
    words = _words(name)
    return any(_word_is_secret(w) for w in words) or bool(words and words[-1] in TAIL_KEYWORDS)


def _is_secret_parameter(name: str) -> bool:
    """A query parameter or connection-string key that holds a secret (token, api_key, Pwd)."""
    key = name.strip()
    if key.lower() in _SECRET_PARAMETERS:
        return True
    words = _words(key)
    if not words or words[-1] in _META_WORDS:
        return False
    return is_secret_name(key)


def mask_url_passwords(value: str) -> str:
    """Replace the password of every ``scheme://user:password@host`` in *value*."""
    if "://" not in value:
        return value
    value = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), value)
    return _URL_TOKEN_USER.sub(_mask_token_user, value)


def _mask_token_user(m: re.Match[str]) -> str:
    user = m.group(2)
    return m.group(1) + (MASK if any(c.isdigit() for c in user) else user) + m.group(3)


def has_url_password(value: str) -> bool:
    return "://" in value and mask_url_passwords(value) != value


# --- token formats ------------------------------------------------------------------------------


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
            scan = Scan(todo)
            for v in todo:
                _pending[v] = scan


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


# --- secret parts of structured values ---------------------------------------------------------


def _mask_parts(value: str) -> tuple[str | None, str]:
    """(the first reason, *value* with its secret parts masked)."""
    reasons: list[str] = []

    def masked(m: re.Match[str], secret_group: int, reason: str) -> str:
        reasons.append(reason)
        start, end = m.span(secret_group)
        return m.group()[: start - m.start()] + MASK + m.group()[end - m.start() :]

    def token_user(m: re.Match[str]) -> str:
        if any(c.isdigit() for c in m.group(2)):
            return masked(m, 2, "URL user (token)")
        return m.group()

    def parameter(m: re.Match[str]) -> str:
        if m.group(4) == MASK or not _is_secret_parameter(m.group(2)):
            return m.group()
        return masked(m, 4, f"query parameter {m.group(2)!r}")

    def connection_pair(m: re.Match[str], key: str, secret_group: int) -> str:
        if not m.group(secret_group) or not _is_secret_parameter(key):
            return m.group()
        key = key.strip()
        if key.lower() in _PASSWORD_PARAMETERS:
            return masked(m, secret_group, "connection string password")
        return masked(m, secret_group, f"connection string {key!r}")

    if "://" in value:
        value = _URL_PASSWORD.sub(lambda m: masked(m, 2, "URL password"), value)
        value = _SENTRY_DSN.sub(lambda m: masked(m, 2, "Sentry DSN"), value)
        value = _URL_TOKEN_USER.sub(token_user, value)
    if "=" in value and ("?" in value or "&" in value or "#" in value):
        value = _QUERY_PARAMETER.sub(parameter, value)
    if "=" in value:
        if ";" in value and len(_CONNECTION_PAIR.findall(value)) >= 2:
            value = _CONNECTION_PAIR.sub(lambda m: connection_pair(m, m.group(3), 5), value)
        elif _LIBPQ.fullmatch(value):
            value = _LIBPQ_PAIR.sub(lambda m: connection_pair(m, m.group(2), 4), value)
    return (reasons[0] if reasons else None), value


@lru_cache(maxsize=4096)
def _analyse(value: str) -> tuple[str | None, str]:
    """(why *value* is secret whatever its name, or None; the value as shown by default)."""
    reason = token_format(value)
    if reason is not None:
        return reason, MASK
    return _mask_parts(value)


# --- the API ----------------------------------------------------------------------------------


def secret_reason(name: str, value: str) -> str | None:
    """Why the value of *name* is masked, or None when it is not: ``"name"``, a token format
    (``"GitHub token"``, ``"JWT"``, ``"private key"``, …), ``"URL password"``, ``"URL user
    (token)"``, ``"Sentry DSN"``, ``"query parameter 'token'"``, ``"connection string
    password"``. An empty value is never secret."""
    if not value:
        return None
    if is_secret_name(name):
        return NAME_REASON
    return _analyse(value)[0]


def mask_value(name: str, value: str) -> str:
    """The value as shown by default: fully masked for a secret name or a token format; only the
    secret part masked in URLs, query parameters and connection strings."""
    if not value:
        return ""
    if is_secret_name(name):
        return MASK
    return _analyse(value)[1]


def is_masked(name: str, value: str) -> bool:
    """True when :func:`mask_value` hides something of *value*."""
    return secret_reason(name, value) is not None


def is_wholly_masked(name: str, value: str) -> bool:
    """True when nothing of *value* is shown (a secret name or a token format)."""
    return bool(value) and mask_value(name, value) == MASK


def describe_reason(reason: str) -> str:
    """A reason as a phrase for people: ``"GitHub token format"``, ``"secret-looking name"``."""
    if reason == NAME_REASON:
        return "secret-looking name"
    if reason in FORMAT_REASONS:
        return f"{reason} format"
    return reason
