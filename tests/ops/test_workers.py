"""Workers and readiness on the configured task backend: this module runs in the normal test run
(database backend) and again under `make test-rq` (django-tasks-rq on Redis).

The scale-out shape, for real: two gunicorn app servers and two `manage.py run_worker` processes on
one database (and one Redis), commands sent to both servers at once; every event reaches a local
receiver exactly once per subscription, in order for each package."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from django.db import OperationalError
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from oms.api import views as health_views
from packages.models import Package
from tests.factories import UserFactory, make_package
from tests.ops.servers import Gunicorn, free_port, process_env, run_database_url, tasks_env, worker_process
from tests.webhooks.conftest import Receiver
from tests.webhooks.workers import on_redis
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.tasks import deliver_pending

HEALTH = "/api/v1/oms/health/"


# -- readiness ---------------------------------------------------------------------------------------
def test_health_reports_the_database_the_worker_and_the_backlog(db):
    response = APIClient().get(HEALTH)

    assert response.status_code == 200
    if on_redis():  # no RQ worker registered in this test's Redis database
        worker = {"backend": "rq", "queued": 0, "oldest_queued_seconds": 0.0, "workers": 0,
                  "last_heartbeat_seconds": None, "stalled": True, "error": ""}
    else:
        worker = {"backend": "database", "queued": 0, "oldest_queued_seconds": 0.0, "workers": None,
                  "last_heartbeat_seconds": None, "stalled": False, "error": ""}
    assert response.json() == {"status": "degraded" if on_redis() else "ok", "database": "ok",
                               "worker": worker, "webhooks": {"pending": 0, "oldest_pending_seconds": 0.0}}


def test_health_calls_a_worker_that_left_a_task_waiting_too_long_stalled(db, settings):
    settings.WORKER_STALL_SECONDS = 300
    deliver_pending.enqueue()
    if not on_redis():
        from django_tasks_db.models import DBTaskResult  # noqa: PLC0415

        DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(seconds=301))

    body = APIClient().get(HEALTH).json()

    assert (body["status"], body["database"], body["worker"]["queued"], body["worker"]["stalled"]) == (
        "degraded", "ok", 1, True)
    if not on_redis():
        assert 301 <= body["worker"]["oldest_queued_seconds"] < 330


def test_health_answers_503_when_the_database_is_unreachable(db, monkeypatch):
    class Unreachable:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(health_views, "connection", Unreachable())

    response = APIClient().get(HEALTH)

    assert (response.status_code, response.json()) == (503, {"status": "unavailable",
                                                             "database": "unavailable"})


# -- two app servers, two workers ------------------------------------------------------------------
PACKAGES = 8
ALL_EVENTS = ["package.status.transitioned", "package.status.packed", "shipment.created",
              "package.status.transitioned", "package.status.shipped", "shipment.status.updated"]
STATUS_EVENTS = [event for event in ALL_EVENTS if event.startswith("package.status.")]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_app_servers_and_two_workers_deliver_every_event_once_and_in_order(seeded):
    user = UserFactory(is_staff=True, is_superuser=True)
    auth = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    packages = [make_package(items=1) for _ in range(PACKAGES)]
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    ship = seeded.transition("SHIP_THE_PACKAGE", 500, 550)
    receiver = Receiver()
    env = process_env(DEBUG="false", DATABASE_URL=run_database_url(), WEBHOOK_ALLOW_PRIVATE_TARGETS="true",
                      **tasks_env())
    servers = [Gunicorn(env, workers=2, threads=2, name=f"app{n}") for n in (1, 2)]
    metrics_ports = [free_port(), free_port()]
    workers = [worker_process({**env, "WORKER_METRICS_PORT": str(port)}, name=f"worker-{n}")
               for n, port in enumerate(metrics_ports, start=1)]
    try:
        for process in (*servers, *workers):
            process.start()
        for path, event_type in (("/all", "*"), ("/status", "package.status.*")):
            response = httpx.post(f"{servers[0].url}/api/v1/oms/webhooks/", headers=auth, json={
                "event_type": event_type, "target_url": receiver.url_for(path)})
            assert response.status_code == 201, response.text

        def run(index: int) -> list[int]:  # each package: pack then ship, on alternating servers
            package = packages[index]
            return [httpx.post(f"{servers[(index + step) % 2].url}/api/v1/oms/packages/{package.pk}/command/",
                               headers=auth, json={"transition": transition.pk}, timeout=30).status_code
                    for step, transition in enumerate((pack, ship))]

        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = [status for result in pool.map(run, range(PACKAGES)) for status in result]
        expected = PACKAGES * (len(ALL_EVENTS) + len(STATUS_EVENTS))
        receiver.wait_for(expected, timeout=90)
        time.sleep(1.0)  # anything sent twice would arrive now
        counted = [delivered_count(port) for port in metrics_ports]
    finally:
        for process in (*workers, *servers):
            process.stop()
        receiver.stop()

    assert statuses == [200] * (2 * PACKAGES)
    assert len(receiver.requests) == expected
    assert sum(counted) == expected  # each worker counts what it sent, on its own metrics port
    for path, events in (("/all", ALL_EVENTS), ("/status", STATUS_EVENTS)):
        received = receiver.on(path)
        # exactly once: every delivery of the subscription arrived, none twice
        delivery_ids = [r.headers["x-oms-delivery"] for r in received]
        rows = WebhookDelivery.objects.filter(subscription__target_url=receiver.url_for(path))
        assert sorted(delivery_ids) == sorted(str(uuid) for uuid in rows.values_list("uuid", flat=True))
        assert set(rows.values_list("status", "attempts")) == {("delivered", 1)}
        # in order: each package's events arrive in the order they happened (their outbox ids)
        numbers = dict(Package.objects.values_list("pk", "number"))
        event_ids = dict(WebhookEvent.objects.values_list("uuid", "id"))
        types, ids = defaultdict(list), defaultdict(list)
        for request in received:
            body = request.json()
            payload = body["payload"]
            number = payload["number"] if "number" in payload else numbers[payload["package"]]
            types[number].append(body["event"]["type"])
            ids[number].append(event_ids[body["event"]["uuid"]])
        assert types == {number: events for number in numbers.values()}, path
        assert all(sequence == sorted(sequence) for sequence in ids.values()), (path, dict(ids))


def delivered_count(port: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    found = re.search(r'^oms_webhook_deliveries_total\{outcome="delivered"\} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0
