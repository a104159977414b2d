"""Order intake under real concurrency (spec §7): threads with their own PostgreSQL connections."""

import contextlib
import threading
from collections import Counter, defaultdict

import pytest
from django.db import transaction

import planning.services
from locations.models import Reservation, Stock
from orders.models import Order, OrderItem
from packages.models import Package, PackageItem
from tests.concurrency import OutboxHold
from tests.factories import ChannelFactory, StockFactory, StockLocationFactory, UserFactory
from tests.planning.helpers import (
    ORDERS_URL,
    assert_invariants,
    order_body,
    post,
    run_in_threads,
    scenario_with_rules,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ORDERS = 12


@pytest.fixture
def shop(seeded):
    ChannelFactory(code="web")
    store = StockLocationFactory(erp_code="ST1", priority=5)
    default = StockLocationFactory(erp_code="DEF", priority=0)
    StockFactory(stock_location=store, sku="A", quantity=5)
    StockFactory(stock_location=store, sku="B", quantity=100)
    scenario_with_rules(default, {})
    return store, default


@pytest.fixture
def user(db):
    return UserFactory(is_staff=True, is_superuser=True)


def test_two_identical_orders_racing_create_one_order(shop, user):
    body = order_body("1001", [("A", 2), ("B", 1)])

    results = run_in_threads([post(user, ORDERS_URL, body), post(user, ORDERS_URL, body)])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(status for status, _ in results) == [200, 201], results
    assert results[0][1] == results[1][1]
    order = Order.objects.get()
    assert results[0][1]["id"] == order.pk
    assert OrderItem.objects.count() == 2
    assert list(Package.objects.values_list("number", "status")) == [("1001P1", 100)]
    store, _ = shop
    assert Stock.objects.get(stock_location=store, sku="A").reserved == 2
    assert_invariants()


def test_two_identical_orders_both_past_the_known_number_check_still_create_one_order(
        shop, user, monkeypatch):
    # Both requests are held until each has found the number unknown, so both INSERT it: the
    # unique number decides and the loser answers with the winner's order.
    both_checked = threading.Barrier(2)
    real_atomic = transaction.atomic

    def atomic_after_both_checked(*args, **kwargs):
        # an implementation that serializes earlier never brings both here: go on after 2 s
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait(timeout=2)
        return real_atomic(*args, **kwargs)

    monkeypatch.setattr(planning.services, "transaction",
                        type("T", (), {"atomic": staticmethod(atomic_after_both_checked)}))
    body = order_body("1001", [("A", 2), ("B", 1)])

    results = run_in_threads([post(user, ORDERS_URL, body), post(user, ORDERS_URL, body)])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(status for status, _ in results) == [200, 201], results
    assert results[0][1] == results[1][1]
    assert Order.objects.count() == 1
    assert OrderItem.objects.count() == 2
    assert list(Package.objects.values_list("number", "status")) == [("1001P1", 100)]
    assert_invariants()


def test_concurrent_orders_never_reserve_more_than_the_stock(shop, user):
    store, default = shop
    bodies = [order_body(f"30{i:02d}", [("A", 1), ("B", 1)]) for i in range(ORDERS)]

    results = run_in_threads([post(user, ORDERS_URL, body) for body in bodies])

    assert [r if isinstance(r, Exception) else r[0] for r in results] == [201] * ORDERS, results
    a = Stock.objects.get(stock_location=store, sku="A")
    assert (a.quantity, a.reserved) == (5, 5)
    assert Stock.objects.get(stock_location=store, sku="B").reserved == ORDERS
    assert Reservation.objects.filter(sku="A").count() == 5
    # each order: fully planned, or its shortfall waits in a 920 package at the default location
    shapes = Counter()
    for order in Order.objects.all():
        shapes[tuple(sorted(
            (p.stock_location_id, p.status, tuple(sorted(p.packageitem_set.values_list("sku", "quantity"))))
            for p in Package.objects.filter(order=order)))] += 1
        placed, missing = defaultdict(int), defaultdict(int)
        for item in PackageItem.objects.filter(package__order=order).select_related("package"):
            (missing if item.package.status == 920 else placed)[item.sku] += item.quantity
        ordered = dict(OrderItem.objects.filter(order=order).values_list("sku", "quantity"))
        assert {sku: placed[sku] + missing[sku] for sku in ordered} == ordered
    assert shapes == {
        ((store.pk, 100, (("A", 1), ("B", 1))),): 5,
        ((store.pk, 100, (("B", 1),)), (default.pk, 920, (("A", 1),))): ORDERS - 5,
    }
    assert_invariants()


def test_a_subscription_deleted_while_an_intake_writes_its_delivery_does_not_refuse_the_order(
        shop, monkeypatch):
    """As for commands (tests/commands/test_concurrency.py): the delivery's foreign key fails at
    the intake's commit; the intake runs again and the order is created, with the deliveries of
    the subscription that is left."""
    from webhooks.models import WebhookDelivery, WebhookSubscription

    doomed = WebhookSubscription.objects.create(event_type="*", target_url="https://hooks.example.com/a")
    kept = WebhookSubscription.objects.create(event_type="package.created",
                                              target_url="https://hooks.example.com/b")
    hold = OutboxHold(monkeypatch)
    intake = post(UserFactory(is_superuser=True, is_staff=True), ORDERS_URL, order_body("7001"))

    (status, body), deleted = run_in_threads([intake, hold.meanwhile(
        lambda: WebhookSubscription.objects.filter(pk=doomed.pk).delete() and "deleted")])

    assert (status, deleted) == (201, "deleted"), body
    assert not WebhookSubscription.objects.filter(pk=doomed.pk).exists()
    assert hold.writes == 2
    assert Order.objects.filter(number="7001").count() == 1
    assert list(WebhookDelivery.objects.values_list("subscription_id", flat=True)) == [kept.pk]
