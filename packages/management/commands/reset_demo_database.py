"""Drop and recreate the database the settings point at (``make reset-demo`` then migrates and seeds
it again). For the local demo only: it refuses without DEBUG=true, so a production environment
(DEBUG=false) can never lose its data this way."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections


class Command(BaseCommand):
    help = "Drop and recreate the demo database (SQLite file or PostgreSQL database). Needs DEBUG=true."

    def add_arguments(self, parser):
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args, yes: bool, **options):
        if not settings.DEBUG:
            raise CommandError("reset_demo_database drops the whole database: it only runs with DEBUG=true.")
        db = settings.DATABASES["default"]
        vendor = connections["default"].vendor
        if vendor == "sqlite":
            target = str(db["NAME"])
        elif vendor == "postgresql":
            target = f"PostgreSQL database {db['NAME']!r} on {db.get('HOST') or 'localhost'}"
        else:
            raise CommandError(f"Don't know how to recreate a {vendor} database.")
        if not yes and input(f"Drop {target} and everything in it? [y/N] ").strip().lower() != "y":
            raise CommandError("Nothing dropped.")
        connections.close_all()
        if vendor == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{db['NAME']}{suffix}").unlink(missing_ok=True)
        else:
            _recreate_postgres(db)
        self.stdout.write(self.style.SUCCESS(f"Recreated {target} (empty: migrate and seed next)."))


def _recreate_postgres(db: dict) -> None:
    import psycopg  # noqa: PLC0415 - only for PostgreSQL
    from psycopg import sql  # noqa: PLC0415

    params = {"dbname": "postgres", "user": db.get("USER") or None, "password": db.get("PASSWORD") or None,
              "host": db.get("HOST") or None, "port": db.get("PORT") or None}
    name = sql.Identifier(db["NAME"])
    with psycopg.connect(**{k: v for k, v in params.items() if v is not None}, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
