"""Block until the database is fully migrated.

In Procfile.example only the ``web`` process runs ``migrate``; the worker
starts at the same moment and must not touch tables that do not exist yet,
and two ``migrate`` runs must never race on one SQLite file. So the worker
line is ``manage.py wait_for_migrations && manage.py db_worker``.

Exits 0 as soon as no migration is unapplied; exits 1 (CommandError) if that
has not happened within ``--timeout`` seconds.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor


class Command(BaseCommand):
    help = (
        "Wait until the database has no unapplied migrations "
        "(e.g. while another process runs `migrate`)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--timeout",
            type=float,
            default=120.0,
            help="Give up after this many seconds (default: %(default)s).",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=0.5,
            help="Seconds between checks (default: %(default)s).",
        )
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help="Database alias to check (default: %(default)r).",
        )

    def handle(self, *, timeout, interval, database, verbosity, **options):
        connection = connections[database]
        deadline = time.monotonic() + timeout
        started = time.monotonic()
        announced = False
        while True:
            try:
                executor = MigrationExecutor(connection)
                plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
                state = f"{len(plan)} unapplied migration(s)"
            except DatabaseError as exc:
                # Database not reachable yet, or locked by the running migrate.
                plan = None
                state = f"database not ready ({exc})"
            finally:
                connection.close()

            if plan == []:
                if verbosity:
                    waited = time.monotonic() - started
                    self.stdout.write(
                        f"wait_for_migrations: database is up to date (waited {waited:.1f}s)"
                    )
                    self.stdout.flush()
                return

            if time.monotonic() >= deadline:
                raise CommandError(
                    f"wait_for_migrations: gave up after {timeout:g}s: {state}. "
                    f"Is `manage.py migrate` running (the web process runs it)?"
                )
            if verbosity and not announced:
                self.stdout.write(f"wait_for_migrations: waiting for migrate to finish: {state}")
                self.stdout.flush()
                announced = True
            time.sleep(interval)
