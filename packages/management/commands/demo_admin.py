"""Create the demo superuser ``admin`` (once) and print how to log in and call the API.

For local demos only. The password is set when the user is created — from ``--password`` or
``OMS_DEMO_PASSWORD`` (default ``admin-demo-1234``) — and printed; later runs (every ``make run``)
leave it alone, so a password you changed stays changed. To set it again: ``--reset-password`` (or
``OMS_DEMO_RESET_PASSWORD=1``, e.g. ``make demo-admin OMS_DEMO_RESET_PASSWORD=1``), or
``manage.py changepassword admin``. The user's DRF token is kept across runs, so curl examples keep
working after a restart. The values are written to ``.oms-demo-credentials`` (git ignored, shell
syntax) for scripts: ``. ./.oms-demo-credentials``."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from rest_framework.authtoken.models import Token

DEFAULT_PASSWORD = "admin-demo-1234"
CREDENTIALS_FILE = ".oms-demo-credentials"
TRUE = {"1", "true", "yes", "on"}


class Command(BaseCommand):
    help = ("Create the demo superuser 'admin' (password from --password, OMS_DEMO_PASSWORD or the "
            "default, set only when the user is new or with --reset-password), ensure its API token "
            "and print the login.")

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default=None,
                            help=f"Default: $OMS_DEMO_PASSWORD, else '{DEFAULT_PASSWORD}'.")
        parser.add_argument("--reset-password", action="store_true",
                            default=os.environ.get("OMS_DEMO_RESET_PASSWORD", "").lower() in TRUE,
                            help="Set the password of an existing user too (default: "
                                 "$OMS_DEMO_RESET_PASSWORD).")
        parser.add_argument("--base-url", default=os.environ.get("OMS_BASE_URL", "http://localhost:8000"),
                            help="Where the server answers, for the printed URLs "
                                 "(default: $OMS_BASE_URL or http://localhost:8000).")
        parser.add_argument("--no-credentials-file", action="store_true",
                            help=f"Do not write {CREDENTIALS_FILE}.")

    def handle(self, *args, username, password, reset_password, base_url, no_credentials_file, **options):
        password = password or os.environ.get("OMS_DEMO_PASSWORD") or DEFAULT_PASSWORD
        base_url = base_url.rstrip("/")
        user_model = get_user_model()
        with transaction.atomic():
            user, created = user_model.objects.select_for_update().get_or_create(
                username=username, defaults={"email": f"{username}@example.com"})
            if created or reset_password:
                user.is_staff = user.is_superuser = user.is_active = True
                user.set_password(password)
                user.save()
            token, _ = Token.objects.get_or_create(user=user)
        password_set = created or reset_password

        if not no_credentials_file:
            self._write_credentials(username=username, password=password if password_set else None,
                                    token=token.key, base_url=base_url)

        rule = "=" * 72
        self.stdout.write(rule)
        if created:
            self.stdout.write(self.style.SUCCESS(f"Demo superuser '{username}' created."))
        elif reset_password:
            self.stdout.write(self.style.SUCCESS(f"Demo superuser '{username}': password reset."))
        else:
            self.stdout.write(self.style.SUCCESS(f"Demo superuser '{username}' exists; password unchanged."))
        self.stdout.write(f"  Admin:     {base_url}/admin/")
        self.stdout.write(f"  Login:     {username}")
        if password_set:
            self.stdout.write(f"  Password:  {password}")
        else:
            self.stdout.write("  Password:  (unchanged; to reset it: manage.py changepassword "
                              f"{username}, or make demo-admin OMS_DEMO_RESET_PASSWORD=1)")
        self.stdout.write(f"  API token: {token.key}")
        self.stdout.write(f"  API:       {base_url}/api/v1/oms/   (docs: {base_url}/api/v1/oms/docs/)")
        self.stdout.write(f'  Try:       curl -H "Authorization: Token {token.key}" '
                          f"{base_url}/api/v1/oms/packages/")
        self.stdout.write(rule)

    def _write_credentials(self, *, username: str, password: str | None, token: str, base_url: str) -> None:
        path = Path(settings.BASE_DIR) / CREDENTIALS_FILE
        values = {"OMS_BASE_URL": base_url, "OMS_ADMIN_USER": username}
        if password is None:  # unchanged: keep what an earlier run wrote, if it was for this user
            previous = _read(path)
            if previous.get("OMS_ADMIN_USER") == username and "OMS_ADMIN_PASSWORD" in previous:
                values["OMS_ADMIN_PASSWORD"] = previous["OMS_ADMIN_PASSWORD"]
        else:
            values["OMS_ADMIN_PASSWORD"] = password
        values["OMS_API_TOKEN"] = token
        text = "".join(f"{key}={shlex.quote(value)}\n" for key, value in values.items())
        # Created private before the secret is written into it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)


def _read(path: Path) -> dict[str, str]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    values = {}
    for line in lines:
        key, sep, raw = line.partition("=")
        if sep:
            parts = shlex.split(raw)
            values[key] = parts[0] if parts else ""
    return values
