"""The unapplied-migrations detector, on real runserver output (tests/unit/data, captured from
Django 5.2's runserver on a terminal: colours, \\r\\n and all)."""

from pathlib import Path

from tuirunner.migrations import (
    MigrationDetector,
    Pending,
    makemigrations_apps,
    manage_py,
    migrate_command,
    parse_unapplied,
    runs_migrate,
)

DATA = Path(__file__).with_name("data")


def lines_of(name: str) -> list[str]:
    return (DATA / name).read_bytes().decode().replace("\r\n", "\n").split("\n")


def test_runserver_reports_unapplied_migrations():
    detector = MigrationDetector()
    assert detector.feed(lines_of("runserver_unapplied.txt"))
    assert detector.pending == Pending(19, ("admin", "auth", "contenttypes", "polls", "sessions"))
    assert detector.pending.describe() == (
        "19 unapplied migrations (admin, auth, contenttypes, polls, sessions)"
    )
    assert not detector.take_models_changed()


def test_a_new_system_check_without_the_message_clears_it():
    detector = MigrationDetector()
    detector.feed(lines_of("runserver_unapplied.txt"))
    changed = detector.feed(
        [
            "/app/polls/views.py changed, reloading.",
            "Watching for file changes with StatReloader",
            "Performing system checks...",
            "",
            "System check identified no issues (0 silenced).",
            "Starting development server at http://127.0.0.1:8000/",
        ]
    )
    assert changed and detector.pending is None
    assert not detector.take_models_changed()  # views.py is not a model


def test_a_reload_for_models_py_is_seen():
    detector = MigrationDetector()
    detector.feed(lines_of("runserver_reload.txt"))
    assert detector.take_models_changed()
    assert not detector.take_models_changed()  # once
    assert detector.pending is not None  # the reloaded server said it again


def test_one_migration_and_reset():
    line = (
        "\x1b[31mYou have 1 unapplied migration(s). Your project may not work properly until "
        "you apply the migrations for app(s): polls.\x1b[0m"
    )
    assert parse_unapplied(line) == Pending(1, ("polls",))
    assert Pending(1, ("polls",)).describe() == "1 unapplied migration (polls)"
    detector = MigrationDetector()
    detector.feed([line])
    assert detector.reset() and detector.pending is None and not detector.reset()
    assert parse_unapplied("Run 'python manage.py migrate' to apply them.") is None


def test_makemigrations_check_output():
    out = (
        "Migrations for 'polls':\n  polls/migrations/0002_r.py\n    + Create model R\n"
        "Migrations for 'shop':\n  shop/migrations/0003_x.py\n"
    )
    assert makemigrations_apps(out) == ["polls", "shop"]
    assert makemigrations_apps("No changes detected\n") == []


def test_commands():
    assert runs_migrate("python manage.py migrate --noinput")
    assert runs_migrate("python example/manage.py migrate")
    assert not runs_migrate("python manage.py runserver $PORT")
    assert not runs_migrate("python manage.py makemigrations")
    assert manage_py("python example/manage.py runserver 127.0.0.1:$PORT") == (
        "python example/manage.py"
    )
    assert migrate_command("exec python manage.py runserver") == (
        "python manage.py migrate --noinput"
    )
    assert migrate_command("gunicorn app.wsgi") == "python manage.py migrate --noinput"
