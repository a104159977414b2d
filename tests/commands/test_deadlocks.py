"""Issue 9 item 4: no deadlock by construction, and a safety net.

Two re-plans in opposite directions (a package at A assigned to B while a package at B is
assigned to A) used to update the two location rows in opposite orders and deadlock; the loser
answered 500. Now every command writes its quota moves at its end, locking all the location rows
in one pk-ordered statement, and the dispatcher runs a command again when PostgreSQL rolled it back
for a deadlock or a serialization failure. The interleavings are forced with barriers."""

import contextlib
import logging
import threading

import pytest

import locations.services
from commands.registry import registry
from locations.models import StockLocation
from packages.models import Package
from tests.concurrency import post, run_in_threads
from tests.factories import StockLocationFactory, make_package
from tests.planning.helpers import assert_invariants

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ASSIGN = ("ASSIGN_PACKAGE_ITEMS_MANUALLY", 100, 950)


def assign(user, package, item_ids, erp_code, transition):
    return post(user, f"/api/v1/oms/packages/{package.pk}/command/", {
        "transition": transition.pk,
        "input_parameters": {"assignment_groups": [{"package_items": item_ids,
                                                     "stock_location": erp_code}]}})


def test_opposite_manual_assignments_both_succeed_when_forced_to_overlap(seeded, staff_user, monkeypatch):
    # given: a package at A whose SKU B also has, and a package at B whose SKU A also has
    a = StockLocationFactory(erp_code="ST-A")
    b = StockLocationFactory(erp_code="ST-B")
    at_a = make_package(location=a, skus={"X": 1})
    at_b = make_package(location=b, skus={"Y": 1})
    for location in (a, b):
        for sku in ("X", "Y"):
            locations.services.Stock.objects.get_or_create(stock_location=location, sku=sku,
                                                           defaults={"quantity": 5})
    transition = seeded.transition(*ASSIGN)
    # both commands hold their package, order and stock locks before either writes quota
    both_inside = threading.Barrier(2, timeout=20)
    write = locations.services._quota_write
    reached = []

    def write_after_both_arrive(deltas):
        if len(deltas) > 1:
            reached.append(sorted(deltas))
            with contextlib.suppress(threading.BrokenBarrierError):
                both_inside.wait()
        write(deltas)

    monkeypatch.setattr(locations.services, "_quota_write", write_after_both_arrive)

    # when: A's package goes to B and B's package goes to A, at the same moment
    results = run_in_threads([
        assign(staff_user, at_a, list(at_a.packageitem_set.values_list("pk", flat=True)), "ST-B",
               transition),
        assign(staff_user, at_b, list(at_b.packageitem_set.values_list("pk", flat=True)), "ST-A",
               transition)], timeout=60)

    # then: both ran (no 500, no deadlock), after both were inside their transactions at once
    assert [r[0] for r in results] == [200, 200], results
    assert reached == [sorted([a.pk, b.pk])] * 2
    assert sorted(Package.objects.filter(status=100).values_list("stock_location__erp_code", "number")) == [
        ("ST-A", f"{at_b.order.number}P2"), ("ST-B", f"{at_a.order.number}P2")]
    assert dict(StockLocation.objects.filter(pk__in=[a.pk, b.pk]).values_list("erp_code", "quota")) == {
        "ST-A": 1, "ST-B": 1}
    assert_invariants()


def test_a_command_rolled_back_by_a_deadlock_runs_again(seeded, staff_user, monkeypatch, caplog):
    # given: two packs that, on their first attempt only, lock two unrelated rows in opposite
    # orders with a barrier between: PostgreSQL must abort one of them (40P01)
    one, two = StockLocationFactory(), StockLocationFactory()
    first = make_package(skus={"A": 1})
    second = make_package(skus={"B": 1})
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    crossing = threading.Barrier(2, timeout=20)
    orders = [[one.pk, two.pk], [two.pk, one.pk]]
    attempts = []
    guard = threading.Lock()

    @contextlib.contextmanager
    def cross_locks():
        with guard:
            attempts.append(threading.get_ident())
            order = orders.pop(0) if orders else None
        if order is not None:
            StockLocation.objects.select_for_update().get(pk=order[0])
            with contextlib.suppress(threading.BrokenBarrierError):
                crossing.wait()
            StockLocation.objects.select_for_update().get(pk=order[1])
        yield

    monkeypatch.setattr(registry, "command_batches", [*registry.command_batches, cross_locks])
    caplog.set_level(logging.WARNING, logger="commands.dispatcher")

    # when
    results = run_in_threads([
        post(staff_user, f"/api/v1/oms/packages/{first.pk}/command/", {"transition": pack.pk}),
        post(staff_user, f"/api/v1/oms/packages/{second.pk}/command/", {"transition": pack.pk})],
        timeout=60)

    # then: both packed; the one PostgreSQL chose as the deadlock victim ran a second time
    assert [r[0] for r in results] == [200, 200], results
    assert len(attempts) == 3
    retries = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 1 and "(40P01), attempt 1 of 3" in retries[0], retries
    assert sorted(Package.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == [
        500, 500]
    assert_invariants()


def test_a_command_deadlocked_on_every_attempt_gives_up_after_three(seeded, staff_user, monkeypatch):
    from django.db import OperationalError

    from commands import dispatcher

    package = make_package(skus={"A": 1})
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    calls = []

    class Deadlock(Exception):
        sqlstate = "40P01"

    def always_deadlocked(**kwargs):
        calls.append(1)
        error = OperationalError("deadlock detected")
        error.__cause__ = Deadlock()
        raise error

    monkeypatch.setattr(dispatcher, "_attempt", always_deadlocked)
    monkeypatch.setattr(dispatcher.time, "sleep", lambda seconds: None)

    with pytest.raises(OperationalError):
        dispatcher.command_run(object_type="package", object_id=package.pk, transition_id=pack.pk,
                               actor=staff_user)
    assert len(calls) == dispatcher.RETRY_ATTEMPTS == 3
