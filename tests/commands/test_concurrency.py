"""Spec §3.3 under real concurrency: threads with their own PostgreSQL connections."""

import random
from collections import Counter

import pytest

from commands.models import StateTransitionLog
from locations.models import Reservation, Stock
from packages.models import Package
from tests.concurrency import OutboxHold, run_in_threads, thread_client
from tests.factories import OrderFactory, StockLocationFactory, make_package

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 16


def command(user, package_id, transition_id):
    client = thread_client(user)

    def call():
        response = client.post(f"/api/v1/oms/packages/{package_id}/command/",
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


def test_concurrent_retries_with_one_idempotency_key_run_the_command_once(seeded, staff_user):
    package = make_package(skus={"A": 1})
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)

    def retry_from(client):
        def call():
            response = client.post(
                f"/api/v1/oms/packages/{package.pk}/command/", {"transition": pack.pk}, format="json",
                HTTP_IDEMPOTENCY_KEY="retry-storm")
            return response.status_code, response.json(), response.headers.get("Idempotent-Replayed")
        return call

    results = run_in_threads([retry_from(thread_client(staff_user)) for _ in range(8)])

    assert {r[0] for r in results} == {200}, results
    assert all(r[1] == results[0][1] for r in results)
    assert sorted(r[2] or "" for r in results) == [""] + ["true"] * 7
    assert StateTransitionLog.objects.filter(object_id=package.pk).count() == 1


def _backend_waiting_on_a_lock(pids: set[int]) -> bool:
    from django.db import connections
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s) "
                       "AND wait_event_type = 'Lock'", [list(pids)])
        return cursor.fetchone()[0] > 0


@pytest.mark.parametrize("scoped", [False, True], ids=["every-row", "scoped-queryset"])
def test_two_packages_of_one_order_shipped_at_once_derive_the_order_from_both(
        seeded, staff_user, monkeypatch, scoped):
    """The second command waits on the order row the first holds; once the first commits, the
    second must derive the order's status from the first's *new* status, not from what it read
    before waiting: both shipped, the order is shipped. Both of the dispatcher's ways to lock
    (every row in scope, compiled once; a narrowed queryset, as for a store user)."""
    import threading
    import time

    from django.db import connection as thread_connection

    from commands.dispatcher import command_run
    from orders.enums import OrderStatus
    from packages import handlers

    order = OrderFactory()
    first = make_package(order=order, skus={"A": 1}, status=500)
    second = make_package(order=order, skus={"B": 1}, status=500)
    ship = seeded.transition("SHIP_THE_PACKAGE", 500, 550)
    holding, go, pids = threading.Event(), threading.Event(), set()
    real_ship = handlers.package_ship

    def ship_and_hold(*, package, **kwargs):
        shipment = real_ship(package=package, **kwargs)
        if package.pk == first.pk:  # the first command holds its package and the order
            holding.set()
            assert go.wait(30)
        return shipment
    monkeypatch.setattr(handlers, "package_ship", ship_and_hold)

    def run(package):
        def call():
            with thread_connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pids.add(cursor.fetchone()[0])
            try:
                queryset = Package.objects.filter(order=order) if scoped else None
                outcome = command_run(object_type="package", object_id=package.pk,
                                      transition_id=ship.pk, actor=staff_user, queryset=queryset)
            finally:
                thread_connection.close()
            return outcome.result.status_code
        return call

    def second_call():
        assert holding.wait(30)
        result = []
        thread = threading.Thread(target=lambda: result.append(run(second)()))
        thread.start()
        deadline = time.monotonic() + 30
        while not _backend_waiting_on_a_lock(pids) and time.monotonic() < deadline:
            time.sleep(0.01)
        waited = _backend_waiting_on_a_lock(pids)
        go.set()
        thread.join(30)
        return (result[0] if result else None), waited

    results = run_in_threads([run(first), second_call])

    assert results == [200, (200, True)], results  # the second did wait on the first's lock
    assert list(Package.objects.filter(order=order).values_list("status", flat=True)) == [550, 550]
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED


def test_a_subscription_deleted_while_a_command_writes_its_delivery_does_not_fail_the_command(
        seeded, staff_user, monkeypatch):
    """An operator deletes a webhook subscription while a pack has written a delivery for it and
    not yet committed: the delivery's foreign key then fails at the pack's commit. The pack is run
    again (the subscription index reloads) and succeeds, without that subscription's delivery."""
    from webhooks.models import WebhookDelivery, WebhookSubscription

    doomed = WebhookSubscription.objects.create(event_type="*", target_url="https://hooks.example.com/a")
    kept = WebhookSubscription.objects.create(event_type="package.status.*",
                                              target_url="https://hooks.example.com/b")
    package = make_package(skus={"A": 1})
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    hold = OutboxHold(monkeypatch)
    client = thread_client(staff_user)

    def command_call():
        response = client.post(f"/api/v1/oms/packages/{package.pk}/command/", {"transition": pack.pk},
                               format="json")
        return response.status_code

    results = run_in_threads([command_call, hold.meanwhile(
        lambda: WebhookSubscription.objects.filter(pk=doomed.pk).delete() and "deleted")])

    assert results == [200, "deleted"], results
    assert not WebhookSubscription.objects.filter(pk=doomed.pk).exists()
    assert hold.writes == 2  # run again once
    package.refresh_from_db()
    assert package.status == 500
    assert StateTransitionLog.objects.filter(object_id=package.pk).count() == 1
    assert list(WebhookDelivery.objects.values_list("subscription_id", flat=True)) == [kept.pk, kept.pk]
