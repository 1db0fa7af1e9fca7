"""Settings for the tuirunner demo project.

Twelve-factor style: every deployment-specific value comes from the
environment. Nothing here reads a ``.env`` file; the process runner
(tuirunner, honcho, foreman, ...) loads ``example/.env`` and exports it.
``example/.env.example`` lists every variable this file reads.
"""

import os
from importlib.util import find_spec
from pathlib import Path

import dj_database_url
import django

# example/ -- the directory that holds manage.py.
BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    value = os.environ.get(name) or default
    return [item.strip() for item in value.split(",") if item.strip()]


# Required, deliberately without a default: a missing SECRET_KEY must fail
# loudly (KeyError: 'SECRET_KEY') instead of silently running with a
# well-known key.
SECRET_KEY = os.environ["SECRET_KEY"]

DEBUG = env_bool("DEBUG", default=False)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# Django >= 6.0 ships the Tasks framework as ``django.tasks``; on Django 5.2
# the ``django-tasks`` backport provides it as the ``django_tasks`` app.
HAS_BUILTIN_TASKS = find_spec("django.tasks") is not None

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    *([] if HAS_BUILTIN_TASKS else ["django_tasks"]),
    "django_tasks_db",
    "greetings",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demo_site.urls"
WSGI_APPLICATION = "demo_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# DATABASE_URL, e.g. postgres://user:password@localhost:5432/demo.
# Default: SQLite at example/db.sqlite3 -- an absolute path built from
# BASE_DIR, so it does not depend on the current working directory.
DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (release, web, worker) share one SQLite
    # file: wait for locks instead of failing at once, take the write lock
    # at the start of a transaction, and let readers run alongside a writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background tasks: Django's Tasks framework with the database backend from
# django-tasks-db. Process them with `python example/manage.py db_worker`.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# Outgoing mail: plain SMTP, by default to the local mail catcher started by
# the `mail` process of Procfile.example (aiosmtpd on 127.0.0.1:1025).
# (Lower-case names: these locals are not settings themselves.)
email_host = os.environ.get("EMAIL_HOST") or "127.0.0.1"
email_port = int(os.environ.get("EMAIL_PORT") or 1025)
email_user = os.environ.get("EMAIL_HOST_USER", "")
email_password = os.environ.get("EMAIL_HOST_PASSWORD", "")
email_use_tls = env_bool("EMAIL_USE_TLS", default=False)
# Seconds; without it a mail server that accepts but never answers would hang
# the task (and the worker) forever.
email_timeout = float(os.environ.get("EMAIL_TIMEOUT") or 5)

if django.VERSION >= (6, 1):
    # Django 6.1 replaced the EMAIL_* settings with MAILERS.
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": email_host,
                "port": email_port,
                "username": email_user,
                "password": email_password,
                "use_tls": email_use_tls,
                "timeout": email_timeout,
            },
        }
    }
else:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = email_host
    EMAIL_PORT = email_port
    EMAIL_HOST_USER = email_user
    EMAIL_HOST_PASSWORD = email_password
    EMAIL_USE_TLS = email_use_tls
    EMAIL_TIMEOUT = email_timeout

DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL") or "demo@example.com"
# Only used in the greet task's log lines.
GREETINGS_MAIL_SERVER = f"{email_host}:{email_port}"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"

# Console logging, so the worker's lines show up in the runner's output.
# Django's own default logging (runserver's request lines etc.) is kept.
_console_logger = {"handlers": ["console"], "level": "INFO", "propagate": False}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "{levelname} [{name}] {message}", "style": "{"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "loggers": {
        "greetings": _console_logger,  # this demo's own messages
        "django.tasks": _console_logger,  # Tasks framework (Django >= 6.0)
        "django_tasks": _console_logger,  # Tasks framework (backport)
        "django_tasks_db": _console_logger,  # the db_worker command
    },
}
