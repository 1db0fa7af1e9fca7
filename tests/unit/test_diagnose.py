from tuirunner.diagnose import crash_hint, missing_variable

TRACEBACK = [
    "Traceback (most recent call last):",
    '  File "/app/settings.py", line 5, in <module>',
    "    SECRET_KEY = os.environ['SECRET_KEY']",
    "\x1b[31mKeyError: 'SECRET_KEY'\x1b[0m",
]


def test_key_error_names_an_unset_variable():
    assert missing_variable(TRACEBACK, {}) == ("SECRET_KEY", "is not set")
    assert crash_hint(TRACEBACK, {}, "press e") == "SECRET_KEY is not set — press e"


def test_a_key_error_for_a_variable_that_is_set_is_not_blamed_on_the_environment():
    assert crash_hint(TRACEBACK, {"SECRET_KEY": "x"}, "press e") is None


def test_improperly_configured_naming_an_empty_or_missing_variable():
    lines = [
        "django.core.exceptions.ImproperlyConfigured: The SECRET_KEY setting must not be empty."
    ]
    assert missing_variable(lines, {"SECRET_KEY": ""}) == ("SECRET_KEY", "is empty")
    environ = [
        "django.core.exceptions.ImproperlyConfigured: Set the DATABASE_URL environment variable"
    ]
    assert missing_variable(environ, {}) == ("DATABASE_URL", "is not set")


def test_unrelated_crash_gives_no_hint():
    assert crash_hint(["ZeroDivisionError: division by zero"], {}, "x") is None
    assert crash_hint(["KeyError: 'user_id'"], {}, "x") is None  # an app bug, not the env
