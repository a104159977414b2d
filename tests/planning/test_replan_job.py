"""``manage.py replan_out_of_stock`` (spec §7): the cron job re-planning packages waiting in 920
at default locations with REPACK through the dispatcher."""

import io
import threading
from collections import Counter
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from commands.models import StateTransitionLog, Transition
from locations.models import Reservation, Stock
from packages.models import Package, PackageItem
from planning.models import Scenario
from tests.conftest import api_client_for
from tests.factories import ChannelFactory, StockFactory, StockLocationFactory, UserFactory
from tests.planning.helpers import (
    ORDERS_URL,
    assert_invariants,
    command,
    items_of,
    order_body,
    quota_of,
    reservations_of,
    scenario_with_rules,
    stock_of,
    wide_snapshot,
)


@pytest.fixture
def shop(seeded):
    ChannelFactory(code="web")
    a = StockLocationFactory(erp_code="A", name="Store A", priority=10)
    b = StockLocationFactory(erp_code="B", name="Store B", priority=5)
    default = StockLocationFactory(erp_code="DEF", name="Default", priority=0)
    scenario_with_rules(default, {"name": "By priority"})
    return SimpleNamespace(seeded=seeded, a=a, b=b, default=default)


def place(client, number, **skus):
    response = client.post(ORDERS_URL, order_body(number, list(skus.items())), format="json")
    assert response.status_code == 201, response.json()


def run_job() -> str:
    out = io.StringIO()
    call_command("replan_out_of_stock", stdout=out, stderr=out, no_color=True)
    return out.getvalue()


def header(count: int, elsewhere: int = 0) -> str:
    return (f"{count} package(s) in 'Contains out of stock products' at their scenario's default "
            f"location ({elsewhere} elsewhere, left alone).\n")


def packages_of(number):
    return list(Package.objects.filter(order__number=number).order_by("id").values_list(
        "number", "stock_location__erp_code", "status", "state__slug"))


def test_the_job_re_plans_920_packages_that_now_have_stock_and_reports_counts(shop, api):
    place(api, "1001", X=1, Y=2)          # no stock anywhere: 920 at DEF
    place(api, "1002", Z=1)
    assert packages_of("1001") == [("1001P1", "DEF", 920, "out-of-stock")]
    StockFactory(stock_location=shop.b, sku="X", quantity=3)
    StockFactory(stock_location=shop.b, sku="Y", quantity=2)

    output = run_job()

    assert output == (header(2) +
                      "  2/2 processed\n"
                      "Done: 1 re-planned, 1 still without stock.\n")
    package = Package.objects.get(number="1001P1")
    assert packages_of("1001") == [("1001P1", "B", 100, "waiting")]
    assert items_of(package) == [("X", 1, "waiting"), ("Y", 2, "waiting")]
    assert reservations_of(package) == [("B", "X", 1), ("B", "Y", 2)]
    assert [stock_of(shop.b, "X"), stock_of(shop.b, "Y")] == [(3, 1), (2, 2)]
    assert packages_of("1002") == [("1002P1", "DEF", 920, "out-of-stock")]
    assert items_of(Package.objects.get(number="1002P1")) == [("Z", 1, "out_of_stock")]
    assert [quota_of(shop.b), quota_of(shop.default)] == [1, 0]
    repack = StateTransitionLog.objects.get(object_id=package.pk)
    assert (repack.user, repack.old_state.slug, repack.new_state.slug) == (None, "out-of-stock", "waiting")
    assert repack.attributes["command"]["command"] == "REPACK"
    assert_invariants()


def test_running_the_job_again_creates_nothing_new(shop, api):
    place(api, "1001", X=1)
    place(api, "1002", Z=1)
    StockFactory(stock_location=shop.b, sku="X", quantity=3)
    run_job()
    before = wide_snapshot()

    output = run_job()

    assert output == (header(1) +
                      "  1/1 processed\n"
                      "Done: 1 still without stock.\n")
    assert wide_snapshot() == before


def test_the_job_with_nothing_in_920_does_nothing(shop, api):
    StockFactory(stock_location=shop.a, sku="X", quantity=3)
    place(api, "1001", X=1)
    before = wide_snapshot()

    assert run_job() == header(0) + "Done: nothing to do.\n"
    assert wide_snapshot() == before


def test_the_job_leaves_alone_a_920_package_not_at_its_scenarios_default_location(shop, api):
    place(api, "1001", X=1)                       # 920 at DEF
    place(api, "1002", Y=1)                       # 920 at DEF
    new_default = StockLocationFactory(erp_code="DEF2", priority=0)
    Scenario.objects.update(default_stock_location=new_default)
    StockFactory(stock_location=shop.b, sku="X", quantity=1)
    before = wide_snapshot()

    assert run_job() == header(0, elsewhere=2) + "Done: nothing to do.\n"
    assert wide_snapshot() == before


def test_the_job_ignores_the_emptied_package_an_out_of_stock_leaves_at_the_old_location(shop, api):
    StockFactory(stock_location=shop.a, sku="X", quantity=1)
    StockFactory(stock_location=shop.b, sku="X", quantity=1)
    place(api, "1001", X=1)
    package = Package.objects.get(number="1001P1")
    out_of_stock = shop.seeded.transition("DETECTED_OUT_OF_STOCK_ITEM", 100, 920)
    response = command(api, package, out_of_stock, {"package_items": [package.packageitem_set.get().pk]})
    assert response.status_code == 200
    assert packages_of("1001") == [("1001P1", "A", 920, "out-of-stock"), ("1001P2", "B", 100, "waiting")]
    assert PackageItem.objects.filter(package=package).count() == 0

    assert run_job() == header(0) + "Done: nothing to do.\n"


def test_the_job_refuses_to_run_without_an_active_repack_transition(shop, api):
    Transition.objects.filter(command="REPACK").update(is_active=False)
    place(api, "1001", X=1)
    before = wide_snapshot()

    with pytest.raises(CommandError, match="No active REPACK transition leaves an out-of-stock state"):
        run_job()
    assert wide_snapshot() == before


# -- two runs at the same time (PostgreSQL) ---------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_the_same_time_plan_each_package_once(seeded):
    ChannelFactory(code="web")
    store = StockLocationFactory(erp_code="B", priority=5)
    default = StockLocationFactory(erp_code="DEF", priority=0)
    scenario_with_rules(default, {})
    client = api_client_for(UserFactory(is_staff=True, is_superuser=True))
    count = 8
    for i in range(count):                 # every order shares X: the runs contend for its row
        place(client, f"20{i:02d}", X=1, **{f"OWN{i}": 1})
    assert Package.objects.filter(status=920).count() == count
    StockFactory(stock_location=store, sku="X", quantity=count)
    for i in range(count):
        StockFactory(stock_location=store, sku=f"OWN{i}", quantity=1)
    barrier = threading.Barrier(2)
    outputs: list = [None, None]

    def run(index):
        try:
            barrier.wait()
            outputs[index] = run_job()
        except Exception as error:  # noqa: BLE001 - reported to the test as the result
            outputs[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a run hung (deadlock or lock leak)"

    for output in outputs:
        if isinstance(output, Exception):
            raise output
    outcomes: Counter = Counter()
    for output in outputs:
        summary = output.strip().splitlines()[-1].removeprefix("Done: ").removesuffix(".")
        for part in summary.split(", "):
            n, what = part.split(" ", 1)
            outcomes[what] += int(n)
    # every package re-planned by exactly one run; the other run found it moved (commands_100_1)
    assert outcomes["re-planned"] == count, outputs
    assert set(outcomes) <= {"re-planned", "skipped (moved meanwhile)"}, outputs
    # each package re-planned exactly once: moved itself, one set of reservations, one log row
    assert Package.objects.count() == count
    assert set(Package.objects.values_list("status", "stock_location_id")) == {(100, store.pk)}
    assert Reservation.objects.count() == 2 * count
    assert Stock.objects.get(stock_location=store, sku="X").reserved == count
    assert StateTransitionLog.objects.count() == count
    assert quota_of(store) == count
    assert_invariants()
