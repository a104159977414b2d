"""The database goes away under a running gunicorn (PostgreSQL restarts, fails over, a pooler drops
idle connections): we terminate the app's backends with pg_terminate_backend between requests (no
request may fail: reused connections are health-checked) and in the middle of a command (a JSON 503,
nothing half-written, and the retry with the same Idempotency-Key runs it once). And a deploy's
SIGTERM lets a command in flight finish."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from commands.models import IdempotencyRecord, StateTransitionLog
from locations.models import Stock, StockLocation
from packages.models import Package
from tests.factories import UserFactory, make_package
from tests.ops.servers import Gunicorn, process_env, run_database_url
from webhooks.models import WebhookEvent, WebhookSubscription

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WAIT = 20.0


@pytest.fixture
def token(db):
    user = UserFactory(is_staff=True, is_superuser=True)
    return Token.objects.create(user=user).key


def app_server(**env) -> Gunicorn:
    return Gunicorn(process_env(DEBUG="false", DATABASE_URL=run_database_url(), **env), workers=2,
                    threads=2, name="dbloss").start()


def other_connection() -> psycopg.Connection:
    """A connection of our own, outside Django's, to hold locks and kill backends with."""
    db = connection.settings_dict
    return psycopg.connect(dbname=db["NAME"], user=db["USER"], password=db.get("PASSWORD") or None,
                           host=db.get("HOST") or "127.0.0.1", port=db.get("PORT") or 5432, autocommit=True)


def terminate_app_backends(killer: psycopg.Connection, *, waiting_only: bool = False) -> list[str]:
    """Terminate the app's connections to the test database (not ours, not this test's); returns the
    queries they were running."""
    condition = "AND wait_event_type = 'Lock'" if waiting_only else ""
    rows = killer.execute(
        "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() "
        f"AND pid <> pg_backend_pid() AND pid <> %s {condition}", [django_backend_pid()]).fetchall()
    for pid, _ in rows:
        killer.execute("SELECT pg_terminate_backend(%s)", [pid])
    return [query for _, query in rows]


def django_backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def get_many(server: Gunicorn, token: str, count: int) -> list[int]:
    def one(_):
        with httpx.Client() as http:  # a new connection each: requests spread over workers and threads
            return http.get(f"{server.url}/api/v1/oms/packages/", headers={"Authorization": f"Token {token}"},
                            timeout=WAIT).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, range(count)))


# -- between requests -------------------------------------------------------------------------------
def test_no_request_fails_after_the_apps_connections_were_terminated(token):
    server = app_server()
    try:
        assert get_many(server, token, 20) == [200] * 20  # every worker thread holds a connection
        with other_connection() as killer:
            killed = terminate_app_backends(killer)

        statuses = get_many(server, token, 40)
    finally:
        server.stop()

    assert len(killed) >= 2
    assert statuses == [200] * 40


def test_without_connection_health_checks_the_same_drop_costs_requests(token):
    """The control: the test above fails without CONN_HEALTH_CHECKS (as reported in the issue)."""
    server = app_server(CONN_HEALTH_CHECKS="false")
    try:
        assert get_many(server, token, 20) == [200] * 20
        with other_connection() as killer:
            terminate_app_backends(killer)

        statuses = get_many(server, token, 40)
    finally:
        server.stop()

    assert statuses.count(503) >= 1 and set(statuses) == {200, 503}


# -- during a command -------------------------------------------------------------------------------
@pytest.fixture
def shop(seeded):
    package = make_package(items=2)
    WebhookSubscription.objects.create(event_type="*", target_url="https://hooks.example.com/oms")
    return package


def snapshot(package: Package) -> tuple:
    package = Package.objects.get(pk=package.pk)
    location = StockLocation.objects.get(pk=package.stock_location_id)
    stock = list(Stock.objects.filter(stock_location=location).order_by("sku").values_list(
        "sku", "quantity", "reserved"))
    return (package.status, package.state_id, location.quota, stock, StateTransitionLog.objects.count(),
            WebhookEvent.objects.count(), IdempotencyRecord.objects.count())


def post_pack(server: Gunicorn, token: str, package: Package, transition, key: str) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/oms/packages/{package.pk}/command/",
                      json={"slug": transition.slug},
                      headers={"Authorization": f"Token {token}", "Idempotency-Key": key}, timeout=WAIT)


def blocked_on_location(killer: psycopg.Connection) -> str | None:
    """The app's query waiting for our lock on the location row, once it waits."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        row = killer.execute("SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                             "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()").fetchone()
        if row:
            return row[0]
        time.sleep(0.05)
    return None


def test_a_command_whose_connection_dies_mid_transaction_answers_503_and_its_retry_runs_once(
        token, shop, seeded):
    package, pack = shop, seeded.transition("COMPLETE_PACKAGING", 100, 500)
    before = snapshot(package)
    server = app_server()
    try:
        with other_connection() as killer, other_connection() as holder:
            holder.autocommit = False
            holder.execute("SELECT 1 FROM locations_stocklocation WHERE id = %s FOR UPDATE",
                           [package.stock_location_id])
            with ThreadPoolExecutor(max_workers=1) as pool:
                pending = pool.submit(post_pack, server, token, package, pack, "pack-1")
                # the command waits in its last statement (the outbox's, with the quota joined)
                waiting = blocked_on_location(killer)
                killed = terminate_app_backends(killer, waiting_only=True)
                holder.rollback()
                failed = pending.result(timeout=WAIT)
        during = snapshot(package)

        retried = post_pack(server, token, package, pack, "pack-1")
        replayed = post_pack(server, token, package, pack, "pack-1")
    finally:
        server.stop()

    # waiting for the location's row: the outbox's statement, the last, which carries the quota
    assert waiting is not None and waiting.startswith(
        'WITH c0 AS (INSERT INTO "commands_statetransitionlog"'), waiting
    assert killed == [waiting]
    assert (failed.status_code, failed.headers["retry-after"], failed.json()) == (503, "1", {
        "error": {"detail": "The database is unavailable; retry the request.", "error_code": "oms_000_2"},
        "status_code": 503})
    assert during == before  # nothing half-written: no status, log row, event, stock or quota change
    assert (retried.status_code, retried.headers.get("idempotent-replayed")) == (200, None)
    assert (replayed.status_code, replayed.headers.get("idempotent-replayed")) == (200, "true")
    assert replayed.json() == retried.json()
    assert Package.objects.get(pk=package.pk).status == 500
    assert StateTransitionLog.objects.count() == before[4] + 1
    assert IdempotencyRecord.objects.count() == 1


# -- a deploy's SIGTERM -----------------------------------------------------------------------------
def test_sigterm_lets_a_command_in_flight_finish_and_commit(token, shop, seeded):
    package, pack = shop, seeded.transition("COMPLETE_PACKAGING", 100, 500)
    server = app_server(GUNICORN_GRACEFUL_TIMEOUT="20")
    try:
        with other_connection() as killer, other_connection() as holder:
            holder.autocommit = False
            holder.execute("SELECT 1 FROM locations_stocklocation WHERE id = %s FOR UPDATE",
                           [package.stock_location_id])
            with ThreadPoolExecutor(max_workers=1) as pool:
                pending = pool.submit(post_pack, server, token, package, pack, "deploy-1")
                assert blocked_on_location(killer) is not None
                server.signal(signal.SIGTERM)  # the deploy starts while the command waits
                time.sleep(1.0)
                refused = _connect_refused(server)
                holder.rollback()  # the command goes on
                response = pending.result(timeout=WAIT)
        exit_code = server.wait(timeout=WAIT)
    finally:
        server.stop()

    assert refused  # no new request is taken once the shutdown began
    assert response.status_code == 200
    assert exit_code == 0
    assert Package.objects.get(pk=package.pk).status == 500
    assert StateTransitionLog.objects.filter(object_id=package.pk).count() == 1


def _connect_refused(server: Gunicorn) -> bool:
    try:
        httpx.get(f"{server.url}/api/v1/oms/health/", timeout=2.0)
    except httpx.TransportError:
        return True
    return False

