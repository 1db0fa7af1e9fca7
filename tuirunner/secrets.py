"""Which variables are secret, and how their values are masked.

A name is secret when one of its words (split on ``_``, ``-``, ``.`` and camelCase) is, or ends
with, one of the keywords below, or is a keyword plus a plural ``S``: ``API_KEY``, ``APIKEY``,
``DJANGO_SECRET_KEY``, ``GITHUB_TOKENS`` and ``SENTRY_DSN`` are secret; ``KEYBOARD_LAYOUT``,
``AUTHOR_NAME``, ``PASSENGER_COUNT`` and ``TOKENIZER`` are not.

Independently of its name, the password part of any URL in a value is masked:
``postgres://app:hunter2@db/app`` → ``postgres://app:••••@db/app``.
"""

from __future__ import annotations

import re

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
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@\s]*:)([^/?#\s]+)(@)")
# scheme://TOKEN@host: a long user name with digits is a token (https://ghp_…@github.com), not a
# name like postgres://app@db.
_URL_TOKEN_USER = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://)([^:/?#@\s]{16,})(@)")


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


def is_secret_name(name: str) -> bool:
    """True when the variable's name says it holds a secret."""
    if name.upper() in _NOT_SECRET_NAMES:
        return False
    words = [w.upper() for w in _WORD_SPLIT.split(name) if w]
    return any(_word_is_secret(w) for w in words)


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


def mask_value(name: str, value: str) -> str:
    """The value as shown by default: secret names fully masked, URL passwords masked."""
    if is_secret_name(name):
        return MASK if value else ""
    return mask_url_passwords(value)


def is_masked(name: str, value: str) -> bool:
    """True when :func:`mask_value` hides something of *value*."""
    return bool(value) and (is_secret_name(name) or has_url_password(value))
