"""Re-planning commands under real concurrency (spec §3.3, §5): threads with their own PostgreSQL
connections. Each test holds the threads at one chosen point (a barrier or a wait for a lock) so
that the interleaving under test happens on every run, not by chance."""

import contextlib
import threading
import time
from types import SimpleNamespace

import pytest
from django.db import connection

import planning.handlers
import planning.services
from commands.models import StateTransitionLog
from locations.models import Stock
from packages.models import Package, PackageItem
from tests.factories import ChannelFactory, StockFactory, StockLocationFactory, UserFactory
from tests.planning.helpers import (
    ORDERS_URL,
    assert_invariants,
    items_of,
    order_body,
    post,
    reservations_of,
    run_in_threads,
    scenario_with_rules,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(seeded):
    ChannelFactory(code="web")
    user = UserFactory(is_staff=True, is_superuser=True)
    a = StockLocationFactory(erp_code="A", name="Store A", priority=10)
    b = StockLocationFactory(erp_code="B", name="Store B", priority=5)
    c = StockLocationFactory(erp_code="C", name="Store C", priority=1)
    default = StockLocationFactory(erp_code="DEF", name="Default", priority=0)
    scenario_with_rules(default, {})
    t = seeded.transition
    return SimpleNamespace(
        seeded=seeded, user=user, a=a, b=b, c=c, default=default,
        out_of_stock=t("DETECTED_OUT_OF_STOCK_ITEM", 100, 920), repack=t("REPACK", 920, 100))


def place(user, number, **skus):
    status, body = post(user, ORDERS_URL, order_body(number, list(skus.items())))()
    assert status == 201, body
    return Package.objects.filter(order__number=number).order_by("id")


def run_command(user, package, transition, input_parameters=None):
    return post(user, f"/api/v1/oms/packages/{package.pk}/command/",
                {"transition": transition.pk, "input_parameters": input_parameters or {}})


def held_at(module, name, barrier: threading.Barrier):
    """Wrap ``module.name`` so that each caller waits at ``barrier`` first (2 s at most: an
    implementation that serializes earlier never brings both threads there)."""
    real = getattr(module, name)

    def wrapper(*args, **kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)
        return real(*args, **kwargs)
    return wrapper


def wait_until_someone_waits_for_my_locks(timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted "
                           "AND pg_backend_pid() = ANY(pg_blocking_pids(pid))")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)


def test_two_identical_repacks_one_moves_the_package_the_other_gets_commands_100_1(shop, monkeypatch):
    (package,) = place(shop.user, "1001", X=1)           # no stock: 920 at DEF
    StockFactory(stock_location=shop.b, sku="X", quantity=1)
    first_holds_the_lock = threading.Event()
    real_replan = planning.handlers.items_replan

    def replan_once_the_second_request_waits(**kwargs):
        first_holds_the_lock.set()
        wait_until_someone_waits_for_my_locks()
        return real_replan(**kwargs)

    monkeypatch.setattr(planning.handlers, "items_replan", replan_once_the_second_request_waits)
    first = run_command(shop.user, package, shop.repack)
    second = run_command(shop.user, package, shop.repack)

    def second_after_first_locked():
        first_holds_the_lock.wait(timeout=10)
        return second()

    results = run_in_threads([first, second_after_first_locked])

    assert results[0][0] == 200, results
    assert results[1] == (406, {"error": {
        "non_field_errors": "Command definition is not allowed! Check source & destination states of "
                            "command to be created", "error_code": "commands_100_1"}, "status_code": 406})
    assert list(Package.objects.values_list("number", "stock_location_id", "status")) == [
        ("1001P1", shop.b.pk, 100)]
    assert StateTransitionLog.objects.count() == 1


def test_out_of_stock_on_two_packages_of_one_order_at_once_both_re_plan(shop, monkeypatch):
    StockFactory(stock_location=shop.a, sku="X", quantity=1)
    StockFactory(stock_location=shop.b, sku="Y", quantity=1)
    first, second = place(shop.user, "1001", X=1, Y=1)
    assert [(first.number, first.stock_location_id), (second.number, second.stock_location_id)] == [
        ("1001P1", shop.a.pk), ("1001P2", shop.b.pk)]
    StockFactory(stock_location=shop.c, sku="X", quantity=1)
    StockFactory(stock_location=shop.c, sku="Y", quantity=1)
    monkeypatch.setattr(planning.services, "package_create",
                        held_at(planning.services, "package_create", threading.Barrier(2)))
    x, y = PackageItem.objects.get(sku="X"), PackageItem.objects.get(sku="Y")

    results = run_in_threads([run_command(shop.user, first, shop.out_of_stock, {"package_items": [x.pk]}),
                              run_command(shop.user, second, shop.out_of_stock, {"package_items": [y.pk]})])

    assert [r[0] for r in results] == [200, 200], results
    new = {p.number: (p.stock_location_id, p.status, items_of(p))
           for p in Package.objects.filter(number__in=["1001P3", "1001P4"])}
    assert sorted(new.values()) == [(shop.c.pk, 100, [("X", 1, "waiting")]),
                                    (shop.c.pk, 100, [("Y", 1, "waiting")])]
    assert_invariants()


def test_out_of_stock_at_two_locations_sharing_skus_at_once_does_not_deadlock(shop, monkeypatch):
    for location in (shop.a, shop.b):
        StockFactory(stock_location=location, sku="X", quantity=1)
        StockFactory(stock_location=location, sku="Y", quantity=1)
    StockFactory(stock_location=shop.c, sku="X", quantity=2)
    (at_a,) = place(shop.user, "1001", X=1, Y=1)
    (at_b,) = place(shop.user, "1002", X=1, Y=1)
    assert (at_a.stock_location_id, at_b.stock_location_id) == (shop.a.pk, shop.b.pk)
    # both commands have released their own package's stock before either plans
    monkeypatch.setattr(planning.handlers, "items_replan",
                        held_at(planning.handlers, "items_replan", threading.Barrier(2)))
    x_a = PackageItem.objects.get(package=at_a, sku="X")
    x_b = PackageItem.objects.get(package=at_b, sku="X")

    results = run_in_threads([run_command(shop.user, at_a, shop.out_of_stock, {"package_items": [x_a.pk]}),
                              run_command(shop.user, at_b, shop.out_of_stock, {"package_items": [x_b.pk]})])

    assert [r if isinstance(r, Exception) else r[0] for r in results] == [200, 200], results
    # X came from C for both; Y stayed where it was, in a new package
    assert reservations_of(Package.objects.get(number="1001P2")) == [("A", "Y", 1)]
    assert reservations_of(Package.objects.get(number="1001P3")) == [("C", "X", 1)]
    assert reservations_of(Package.objects.get(number="1002P2")) == [("B", "Y", 1)]
    assert reservations_of(Package.objects.get(number="1002P3")) == [("C", "X", 1)]
    assert Stock.objects.get(stock_location=shop.c, sku="X").reserved == 2
    assert_invariants()
