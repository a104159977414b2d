"""Spec §3.3 under real concurrency: threads with their own PostgreSQL connections."""

import random
import threading
from collections import Counter

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from commands.models import StateTransitionLog
from locations.models import Reservation, Stock, StockLocation
from packages.models import Package
from tests.factories import OrderFactory, StockLocationFactory, make_package

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 16


def run_in_threads(calls):
    """Start every call at the same moment, each in its own thread and database connection."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as error:  # noqa: BLE001 - reported to the test as the result
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a command hung (deadlock or lock leak)"
    return results


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def command(user, package_id, transition_id):
    def call():
        response = client_for(user).post(f"/api/v1/oms/packages/{package_id}/command/",
                                          {"transition": transition_id}, format="json")
        return response.status_code, response.json() if response.content else None
    return call


def test_sixteen_identical_pack_commands_pack_once(seeded, staff_user):
    package = make_package(skus={"A": 2})
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    location = package.stock_location

    results = run_in_threads([command(staff_user, package.pk, pack.pk) for _ in range(THREADS)])

    statuses = Counter(r[0] for r in results)
    assert statuses == {200: 1, 406: THREADS - 1}, results
    refusals = [r[1]["error"]["error_code"] for r in results if r[0] == 406]
    assert refusals == ["commands_100_1"] * (THREADS - 1)
    package.refresh_from_db()
    location.refresh_from_db()
    assert package.status == 500
    assert StateTransitionLog.objects.filter(object_id=package.pk).count() == 1
    assert location.quota == 0
    assert Stock.objects.values_list("quantity", "reserved").get(stock_location=location, sku="A") == (8, 0)


def test_sixteen_packages_of_one_location_packed_at_once(seeded, staff_user):
    location = StockLocationFactory(max_quota=50)
    packages = [make_package(location=location, skus={"SHARED": 1, f"OWN-{i}": 1}, stock=100)
                for i in range(THREADS)]
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    location.refresh_from_db()
    assert location.quota == THREADS

    results = run_in_threads([command(staff_user, p.pk, pack.pk) for p in packages])

    assert [r[0] for r in results] == [200] * THREADS, results
    location.refresh_from_db()
    assert location.quota == 0
    assert Stock.objects.values_list("quantity", "reserved").get(stock_location=location, sku="SHARED") == (
        100 - THREADS, 0)
    assert Reservation.objects.count() == 0
    assert StateTransitionLog.objects.count() == THREADS


def test_interleaved_commands_on_two_locations_do_not_deadlock(seeded, staff_user):
    first, second = StockLocationFactory(), StockLocationFactory()
    orders = [OrderFactory() for _ in range(4)]
    packages = []
    for order in orders:  # every order has a package at both locations sharing SKUs
        packages.append(make_package(location=first, order=order, skus={"X": 1, "Y": 1}, stock=100))
        packages.append(make_package(location=second, order=order, skus={"Y": 1, "X": 1}, stock=100))
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    block = seeded.transition("BLOCK_THE_PACKAGE", 100, 350)
    rng = random.Random(7)
    calls = []
    for p in packages:
        calls.append(command(staff_user, p.pk, rng.choice([pack.pk, block.pk])))
        calls.append(command(staff_user, p.pk, pack.pk))
    rng.shuffle(calls)

    results = run_in_threads(calls)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert {r[0] for r in results} <= {200, 406}
    # every package ran exactly one of its two commands successfully
    assert Counter(r[0] for r in results)[200] == len(packages)
    assert StateTransitionLog.objects.count() == len(packages)
    for location in (first, second):
        location.refresh_from_db()
        assert location.quota == Package.objects.filter(stock_location=location, status__lt=400).count()
    assert StockLocation.objects.filter(quota__lt=0).count() == 0


def test_concurrent_retries_with_one_idempotency_key_run_the_command_once(seeded, staff_user):
    package = make_package(skus={"A": 1})
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)

    def call():
        response = client_for(staff_user).post(
            f"/api/v1/oms/packages/{package.pk}/command/", {"transition": pack.pk}, format="json",
            HTTP_IDEMPOTENCY_KEY="retry-storm")
        return response.status_code, response.json(), response.headers.get("Idempotent-Replayed")

    results = run_in_threads([call for _ in range(8)])

    assert {r[0] for r in results} == {200}, results
    assert all(r[1] == results[0][1] for r in results)
    assert sorted(r[2] or "" for r in results) == [""] + ["true"] * 7
    assert StateTransitionLog.objects.filter(object_id=package.pk).count() == 1
