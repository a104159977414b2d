"""The demo as a newcomer runs it: `make run` keeps the admin password once set (and says how to
reset it), `make reset-demo` recreates the database, the integration user may upsert stock."""

from __future__ import annotations

import io
import stat

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from locations.models import Stock
from planning.management.commands.seed_demo import INTEGRATION_USERNAME
from tests.conftest import api_client_for
from tests.ops.servers import manage, process_env


def demo_admin(*args: str) -> str:
    out = io.StringIO()
    call_command("demo_admin", *args, stdout=out)
    return out.getvalue()


# -- demo_admin ----------------------------------------------------------------------------------------
def test_the_admin_password_is_set_once_and_later_runs_leave_it_alone(db, client):
    first = demo_admin("--password", "first-pass-1", "--no-credentials-file")
    second = demo_admin("--password", "other-pass-2", "--no-credentials-file")

    assert "Demo superuser 'admin' created." in first and "Password:  first-pass-1" in first
    assert "Demo superuser 'admin' exists; password unchanged." in second
    assert "other-pass-2" not in second
    assert ("  Password:  (unchanged; to reset it: manage.py changepassword admin, or make demo-admin "
            "OMS_DEMO_RESET_PASSWORD=1)") in second
    assert client.login(username="admin", password="first-pass-1")
    assert not client.login(username="admin", password="other-pass-2")


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_the_admin_password_is_set_again_on_request(db, client, monkeypatch, how):
    demo_admin("--password", "first-pass-1", "--no-credentials-file")
    if how == "environment":
        monkeypatch.setenv("OMS_DEMO_RESET_PASSWORD", "1")
        out = demo_admin("--password", "other-pass-2", "--no-credentials-file")
    else:
        out = demo_admin("--password", "other-pass-2", "--no-credentials-file", "--reset-password")

    assert "Demo superuser 'admin': password reset." in out and "Password:  other-pass-2" in out
    assert client.login(username="admin", password="other-pass-2")
    assert not client.login(username="admin", password="first-pass-1")


def test_the_credentials_file_keeps_the_password_it_knows_and_is_private(db, settings, tmp_path):
    settings.BASE_DIR = tmp_path
    demo_admin("--password", "first-pass-1", "--base-url", "http://127.0.0.1:8000")
    second = demo_admin("--password", "ignored-pass", "--base-url", "http://127.0.0.1:8000")
    token = second.split("API token: ")[1].split()[0]

    path = tmp_path / ".oms-demo-credentials"
    assert path.read_text() == ("OMS_BASE_URL=http://127.0.0.1:8000\nOMS_ADMIN_USER=admin\n"
                                f"OMS_ADMIN_PASSWORD=first-pass-1\nOMS_API_TOKEN={token}\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# -- reset_demo_database ------------------------------------------------------------------------------
def test_resetting_the_demo_database_refuses_without_debug(db):
    with pytest.raises(CommandError, match="only runs with DEBUG=true"):
        call_command("reset_demo_database", "--yes")


def test_resetting_a_sqlite_demo_database_removes_its_files(tmp_path):
    database = tmp_path / "demo.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"demo.sqlite3{suffix}").write_bytes(b"old data")

    done = manage("reset_demo_database", "--yes",
                  env=process_env(DEBUG="true", DATABASE_URL=f"sqlite:///{database}"))

    assert (done.returncode, done.stdout) == (0, f"Recreated {database} (empty: migrate and seed next).\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.postgres
def test_resetting_a_postgresql_demo_database_recreates_it_empty(db):
    params = connection.settings_dict
    server = {"user": params["USER"], "host": params.get("HOST") or "127.0.0.1",
              "port": params.get("PORT") or 5432}
    name = "oms_ops_reset_demo"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    try:
        with psycopg.connect(dbname=name, autocommit=True, **server) as demo:
            demo.execute("CREATE TABLE leftover (id int)")
        url = f"postgres://{server['user']}@{server['host']}:{server['port']}/{name}"

        done = manage("reset_demo_database", "--yes", env=process_env(DEBUG="true", DATABASE_URL=url))

        with psycopg.connect(dbname=name, autocommit=True, **server) as demo:
            tables = demo.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    assert done.returncode == 0, done.stderr
    assert done.stdout == (f"Recreated PostgreSQL database '{name}' on {server['host']} "
                           "(empty: migrate and seed next).\n")
    assert tables == []


# -- the integration user ---------------------------------------------------------------------------
def test_the_demo_integration_user_may_upsert_stock(db):
    call_command("seed_transitions", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    from django.contrib.auth import get_user_model  # noqa: PLC0415

    integration = api_client_for(get_user_model().objects.get(username=INTEGRATION_USERNAME))
    stock = Stock.objects.select_related("stock_location").order_by("id").first()

    response = integration.post("/api/v1/oms/stocks/bulk_upsert/", [
        {"stock_location": stock.stock_location.erp_code, "sku": stock.sku, "quantity": stock.quantity + 5}],
        format="json")

    assert (response.status_code, response.json()) == (200, {"created": 0, "updated": 1})
    assert Stock.objects.get(pk=stock.pk).quantity == stock.quantity + 5
