"""The re-planning package command types through the API (spec §5, §7): out of stock (basic and
advanced), repack, refuse and manual planning. Orders are placed through intake, so packages,
reservations and quota are the ones planning made. After every success the quota invariant
holds; every refusal changes nothing."""

from types import SimpleNamespace

import pytest
from django.contrib.contenttypes.models import ContentType

from commands.models import StateTransitionLog
from locations.models import Reservation, StockLocation
from packages.models import Package, PackageItem
from planning.models import Scenario
from tests.factories import (
    ChannelFactory,
    DenialReasonFactory,
    StockFactory,
    StockLocationFactory,
)
from tests.planning.helpers import (
    ORDERS_URL,
    UPSERT_URL,
    assert_invariants,
    command,
    items_of,
    order_body,
    quota_of,
    reservations_of,
    scenario_with_rules,
    seed_shape,
    stock_of,
    wide_snapshot,
)


@pytest.fixture
def shop(seeded):
    """Store A (priority 10), store B (priority 5), store C (priority 1) and the scenario's default
    location DEF (priority 0, no stock); one scenario planning by priority."""
    ChannelFactory(code="web")
    a = StockLocationFactory(erp_code="A", name="Store A", priority=10)
    b = StockLocationFactory(erp_code="B", name="Store B", priority=5)
    c = StockLocationFactory(erp_code="C", name="Store C", priority=1)
    default = StockLocationFactory(erp_code="DEF", name="Default", priority=0)
    scenario_with_rules(default, {"name": "By priority"})
    t = seeded.transition
    return SimpleNamespace(
        seeded=seeded, a=a, b=b, c=c, default=default,
        out_of_stock=t("DETECTED_OUT_OF_STOCK_ITEM", 100, 920),
        out_of_stock_advanced=t("DETECTED_OUT_OF_STOCK_ITEM_ADVANCED", 100, 920),
        repack_920=t("REPACK", 920, 100), repack_900=t("REPACK", 900, 100),
        refuse=t("PACKAGE_REFUSE", 100, 900), assign=t("ASSIGN_PACKAGE_ITEMS_MANUALLY", 100, 950))


def stock(location, **skus):
    for sku, quantity in skus.items():
        StockFactory(stock_location=location, sku=sku, quantity=quantity)


def place(api, number, **skus) -> Package:
    """Place an order through intake; returns its first package."""
    response = api.post(ORDERS_URL, order_body(number, list(skus.items())), format="json")
    assert response.status_code == 201, response.json()
    return Package.objects.filter(order__number=number).order_by("id").first()


def reload(package) -> Package:
    return Package.objects.select_related("stock_location", "state").get(pk=package.pk)


def item(package, sku) -> PackageItem:
    return PackageItem.objects.get(package__order=package.order, sku=sku)


def packages_of(number):
    return list(Package.objects.filter(order__number=number).order_by("id").values_list(
        "number", "stock_location__erp_code", "status", "state__slug"))


def last_log(package):
    row = StateTransitionLog.objects.filter(content_type=ContentType.objects.get_for_model(Package),
                                            object_id=package.pk).latest("id")
    return row.old_state.slug, row.new_state.slug, row.attributes["input_parameters"]


def assert_refused(response, status, error):
    assert response.status_code == status
    assert response.json() == {"error": error, "status_code": status}


# -- DETECTED_OUT_OF_STOCK_ITEM ------------------------------------------------------------------
def test_out_of_stock_moves_every_item_to_another_location_with_stock(shop, api):
    stock(shop.a, X=3, Y=5)
    stock(shop.b, X=3, Y=5)
    other = place(api, "1000", X=1)                       # another order keeps 1 X reserved at A
    package = place(api, "1001", X=1, Y=2)
    assert (other.stock_location, package.stock_location) == (shop.a, shop.a)

    response = command(api, package, shop.out_of_stock, {"package_items": [item(package, "X").pk]})

    assert response.status_code == 200, response.json()
    new = Package.objects.get(number="1001P2")
    assert response.json() == seed_shape(new, same=False)
    assert packages_of("1001") == [("1001P1", "A", 920, "out-of-stock"), ("1001P2", "B", 100, "waiting")]
    assert items_of(package) == []
    assert items_of(new) == [("X", 1, "waiting"), ("Y", 2, "waiting")]
    assert reservations_of(new) == [("B", "X", 1), ("B", "Y", 2)]
    # A had no X after all: on hand becomes what other packages still reserve there
    assert stock_of(shop.a, "X") == (1, 1)
    assert stock_of(shop.a, "Y") == (5, 0)
    assert [stock_of(shop.b, "X"), stock_of(shop.b, "Y")] == [(3, 1), (5, 2)]
    assert [quota_of(shop.a), quota_of(shop.b), quota_of(shop.default)] == [1, 1, 0]
    assert last_log(package) == ("waiting", "out-of-stock", {"package_items": [item(package, "X").pk]})
    assert_invariants()


def test_out_of_stock_keeps_unlisted_items_at_the_location_and_moves_only_the_listed_ones(shop, api):
    stock(shop.a, X=1, Y=5)
    stock(shop.b, X=3)
    package = place(api, "1001", X=1, Y=2)

    response = command(api, package, shop.out_of_stock, {"package_items": [item(package, "X").pk]})

    assert response.status_code == 200, response.json()
    back_at_a, at_b = Package.objects.get(number="1001P2"), Package.objects.get(number="1001P3")
    assert response.json() == seed_shape(back_at_a, same=True)
    assert packages_of("1001") == [("1001P1", "A", 920, "out-of-stock"), ("1001P2", "A", 100, "waiting"),
                                   ("1001P3", "B", 100, "waiting")]
    assert reservations_of(back_at_a) == [("A", "Y", 2)]
    assert reservations_of(at_b) == [("B", "X", 1)]
    assert [stock_of(shop.a, "X"), stock_of(shop.a, "Y"), stock_of(shop.b, "X")] == [(0, 0), (5, 2), (3, 1)]
    assert [quota_of(shop.a), quota_of(shop.b)] == [1, 1]
    assert_invariants()


def test_out_of_stock_with_no_stock_elsewhere_leaves_the_items_in_920_at_the_default_location(shop, api):
    stock(shop.a, X=2, Y=5)
    package = place(api, "1001", X=1, Y=2)
    listed = [item(package, "X").pk, item(package, "Y").pk]

    response = command(api, package, shop.out_of_stock, {"package_items": listed})

    assert response.status_code == 200
    assert packages_of("1001") == [("1001P1", "DEF", 920, "out-of-stock")]
    assert items_of(package) == [("X", 1, "out_of_stock"), ("Y", 2, "out_of_stock")]
    assert reservations_of(package) == []
    assert [stock_of(shop.a, "X"), stock_of(shop.a, "Y")] == [(0, 0), (0, 0)]
    assert [quota_of(shop.a), quota_of(shop.default)] == [0, 0]
    assert_invariants()


def test_out_of_stock_re_places_unlisted_items_and_leaves_only_the_listed_ones_at_the_default(shop, api):
    stock(shop.a, X=2, Y=5)
    package = place(api, "1001", X=1, Y=2)

    response = command(api, package, shop.out_of_stock, {"package_items": [item(package, "X").pk]})

    assert response.status_code == 200
    new = Package.objects.get(number="1001P2")
    assert response.json() == seed_shape(new, same=True)
    assert packages_of("1001") == [("1001P1", "DEF", 920, "out-of-stock"), ("1001P2", "A", 100, "waiting")]
    assert items_of(package) == [("X", 1, "out_of_stock")]
    assert reservations_of(new) == [("A", "Y", 2)]
    assert [stock_of(shop.a, "X"), stock_of(shop.a, "Y")] == [(0, 0), (5, 2)]
    assert [quota_of(shop.a), quota_of(shop.default)] == [1, 0]
    assert_invariants()


@pytest.mark.parametrize(("parameters", "status", "error"), [
    pytest.param({}, 400, {"package_items": ["This field is required."], "error_code": "commands_100_4"},
                 id="missing"),
    pytest.param({"package_items": []}, 400,
                 {"package_items": ["This list may not be empty."], "error_code": "commands_100_4"},
                 id="empty"),
    pytest.param({"package_items": ["x"]}, 400,
                 {"package_items": {"0": ["A valid integer is required."]}, "error_code": "commands_100_4"},
                 id="not-an-id"),
])
def test_out_of_stock_with_invalid_input_is_refused_and_changes_nothing(shop, api, parameters, status, error):
    stock(shop.a, X=2)
    stock(shop.b, X=2)
    package = place(api, "1001", X=1)
    before = wide_snapshot()

    response = command(api, package, shop.out_of_stock, parameters)

    assert_refused(response, status, error)
    assert wide_snapshot() == before


def test_out_of_stock_listing_an_item_of_another_package_is_refused_and_changes_nothing(shop, api):
    stock(shop.a, X=2, Y=2)
    stock(shop.b, X=2, Y=2)
    package = place(api, "1001", X=1)
    foreign = item(place(api, "1002", Y=1), "Y")
    before = wide_snapshot()
    listed = [item(package, "X").pk, foreign.pk]

    response = command(api, package, shop.out_of_stock, {"package_items": listed})

    assert_refused(response, 406, {
        "non_field_errors": f"Package item(s) {foreign.pk} do not belong to package 1001P1.",
        "error_code": "packages_200_1"})
    assert wide_snapshot() == before


def test_out_of_stock_under_select_by_quota_counts_the_packages_own_quota_unit_as_free(shop, api):
    Scenario.objects.all().delete()
    scenario_with_rules(shop.default, {"select_by_quota": True})
    StockLocation.objects.filter(pk=shop.a.pk).update(max_quota=1)
    stock(shop.a, X=1, Y=1)
    stock(shop.b, X=1)
    package = place(api, "1001", X=1, Y=1)
    assert (package.stock_location_id, quota_of(shop.a)) == (shop.a.pk, 1)

    response = command(api, package, shop.out_of_stock, {"package_items": [item(package, "X").pk]})

    assert response.status_code == 200
    assert packages_of("1001") == [("1001P1", "A", 920, "out-of-stock"), ("1001P2", "A", 100, "waiting"),
                                   ("1001P3", "B", 100, "waiting")]
    assert [quota_of(shop.a), quota_of(shop.b)] == [1, 1]
    assert_invariants()


# -- REPACK ----------------------------------------------------------------------------------------------
def test_repack_answers_406_until_stock_arrives_then_brings_the_package_back_to_waiting(shop, api):
    stock(shop.a, X=1, Y=1)
    package = place(api, "1001", X=1, Y=1)
    listed = [item(package, "X").pk, item(package, "Y").pk]
    command(api, package, shop.out_of_stock, {"package_items": listed})
    assert packages_of("1001") == [("1001P1", "DEF", 920, "out-of-stock")]
    before = wide_snapshot()

    refused = command(api, package, shop.repack_920)

    assert_refused(refused, 406, {"non_field_errors": "No stock available to re-plan",
                                  "error_code": "packages_200_2"})
    assert wide_snapshot() == before

    # when: stock arrives at B through the integration endpoint
    upsert = api.post(UPSERT_URL, [{"stock_location": "B", "sku": "X", "quantity": 2},
                                   {"stock_location": "B", "sku": "Y", "quantity": 1}], format="json")
    assert upsert.json() == {"created": 2, "updated": 0}

    response = command(api, package, shop.repack_920)

    assert response.status_code == 200, response.json()
    package = reload(package)
    assert response.json() == seed_shape(package, same=False)
    assert packages_of("1001") == [("1001P1", "B", 100, "waiting")]
    assert items_of(package) == [("X", 1, "waiting"), ("Y", 1, "waiting")]
    assert reservations_of(package) == [("B", "X", 1), ("B", "Y", 1)]
    assert [stock_of(shop.b, "X"), stock_of(shop.b, "Y")] == [(2, 1), (1, 1)]
    assert [quota_of(shop.a), quota_of(shop.b), quota_of(shop.default)] == [0, 1, 0]
    assert last_log(package) == ("out-of-stock", "waiting", {})
    assert_invariants()


def test_repack_splits_items_that_no_single_location_can_take(shop, api):
    package = place(api, "1001", X=1, Y=1)                 # nothing in stock: 920 at DEF
    assert packages_of("1001") == [("1001P1", "DEF", 920, "out-of-stock")]
    stock(shop.b, X=1)
    stock(shop.c, Y=1)

    response = command(api, package, shop.repack_920)

    assert response.status_code == 200, response.json()
    package = reload(package)
    assert response.json() == seed_shape(package, same=False)
    assert packages_of("1001") == [("1001P1", "B", 100, "waiting"), ("1001P2", "C", 100, "waiting")]
    assert reservations_of(package) == [("B", "X", 1)]
    assert reservations_of(Package.objects.get(number="1001P2")) == [("C", "Y", 1)]
    assert [quota_of(shop.b), quota_of(shop.c)] == [1, 1]
    assert_invariants()


def test_repack_with_only_part_of_the_items_placeable_is_refused_and_changes_nothing(shop, api):
    package = place(api, "1001", X=1, Y=1)
    stock(shop.b, X=1)
    before = wide_snapshot()

    response = command(api, package, shop.repack_920)

    assert_refused(response, 406, {"non_field_errors": "No stock available to re-plan",
                                   "error_code": "packages_200_2"})
    assert wide_snapshot() == before


# -- DETECTED_OUT_OF_STOCK_ITEM_ADVANCED -------------------------------------------------------------------
def test_advanced_out_of_stock_splits_off_only_the_listed_items(shop, api):
    stock(shop.a, X=2, Y=5, Z=5)
    stock(shop.b, X=3)
    package = place(api, "1001", X=1, Y=2, Z=1)

    response = command(api, package, shop.out_of_stock_advanced, {"package_items": [item(package, "X").pk]})

    assert response.status_code == 200, response.json()
    split = Package.objects.get(number="1001P2")
    assert response.json() == seed_shape(split, same=False)
    assert packages_of("1001") == [("1001P1", "A", 100, "waiting"), ("1001P2", "B", 100, "waiting")]
    assert items_of(package) == [("Y", 2, "waiting"), ("Z", 1, "waiting")]
    assert reservations_of(package) == [("A", "Y", 2), ("A", "Z", 1)]
    assert items_of(split) == [("X", 1, "waiting")]
    assert reservations_of(split) == [("B", "X", 1)]
    assert [stock_of(shop.a, "X"), stock_of(shop.a, "Y"), stock_of(shop.b, "X")] == [(0, 0), (5, 2), (3, 1)]
    assert [quota_of(shop.a), quota_of(shop.b)] == [1, 1]
    assert last_log(package) == ("waiting", "waiting", {"package_items": [item(package, "X").pk]})
    assert_invariants()


def test_advanced_out_of_stock_without_stock_elsewhere_puts_the_listed_items_in_a_920_package(shop, api):
    stock(shop.a, X=2, Y=5)
    package = place(api, "1001", X=1, Y=2)

    response = command(api, package, shop.out_of_stock_advanced, {"package_items": [item(package, "X").pk]})

    assert response.status_code == 200, response.json()
    split = Package.objects.get(number="1001P2")
    assert response.json() == seed_shape(split, same=False)
    assert packages_of("1001") == [("1001P1", "A", 100, "waiting"), ("1001P2", "DEF", 920, "out-of-stock")]
    assert items_of(package) == [("Y", 2, "waiting")]
    assert reservations_of(package) == [("A", "Y", 2)]
    assert items_of(split) == [("X", 1, "out_of_stock")]
    assert reservations_of(split) == []
    assert [quota_of(shop.a), quota_of(shop.default)] == [1, 0]
    assert_invariants()


# -- PACKAGE_REFUSE then REPACK ----------------------------------------------------------------------------
@pytest.mark.parametrize("reason", ["missing", "inactive", "unknown"])
def test_refuse_needs_an_active_denial_reason(shop, api, reason):
    stock(shop.a, X=1)
    package = place(api, "1001", X=1)
    inactive = DenialReasonFactory(is_active=False)
    parameters, error = {
        "missing": ({}, ["This field is required."]),
        "inactive": ({"denial_reason": inactive.pk},
                     [f"Unknown or inactive denial reason {inactive.pk}."]),
        "unknown": ({"denial_reason": 987654}, ["Unknown or inactive denial reason 987654."]),
    }[reason]
    before = wide_snapshot()

    response = command(api, package, shop.refuse, parameters)

    assert_refused(response, 400, {"denial_reason": error, "error_code": "commands_100_4"})
    assert wide_snapshot() == before


def test_refuse_releases_the_package_and_repack_never_returns_it_to_the_refusing_location(shop, api):
    stock(shop.a, X=5)
    stock(shop.b, X=5)
    package = place(api, "1001", X=2)
    reason = DenialReasonFactory(title="Customer unreachable")

    refused = command(api, package, shop.refuse, {"denial_reason": reason.pk})

    assert refused.status_code == 200, refused.json()
    assert refused.json() == seed_shape(reload(package), same=True)
    assert packages_of("1001") == [("1001P1", "A", 900, "needs-rescheduling")]
    assert reload(package).denial_reason == reason
    assert reservations_of(package) == []
    assert stock_of(shop.a, "X") == (5, 0)
    assert quota_of(shop.a) == 0
    assert_invariants()

    # A has the higher priority and the stock, but refused the package
    response = command(api, package, shop.repack_900)

    assert response.status_code == 200, response.json()
    package = reload(package)
    assert response.json() == seed_shape(package, same=False)
    assert packages_of("1001") == [("1001P1", "B", 100, "waiting")]
    assert reservations_of(package) == [("B", "X", 2)]
    assert [stock_of(shop.a, "X"), stock_of(shop.b, "X")] == [(5, 0), (5, 2)]
    assert [quota_of(shop.a), quota_of(shop.b)] == [0, 1]
    assert_invariants()


def test_repack_after_refusal_with_stock_only_at_the_refusing_location_is_refused(shop, api):
    stock(shop.a, X=5)
    package = place(api, "1001", X=1)
    command(api, package, shop.refuse, {"denial_reason": DenialReasonFactory().pk})
    before = wide_snapshot()

    response = command(api, package, shop.repack_900)

    assert_refused(response, 406, {"non_field_errors": "No stock available to re-plan",
                                   "error_code": "packages_200_2"})
    assert wide_snapshot() == before


def test_out_of_stock_after_a_refusal_never_sends_the_items_back_to_the_refusing_location(shop, api):
    stock(shop.a, X=5)
    stock(shop.b, X=5)
    stock(shop.c, X=5)
    package = place(api, "1001", X=1)
    command(api, package, shop.refuse, {"denial_reason": DenialReasonFactory().pk})
    command(api, package, shop.repack_900)
    assert packages_of("1001") == [("1001P1", "B", 100, "waiting")]

    response = command(api, package, shop.out_of_stock, {"package_items": [item(package, "X").pk]})

    assert response.status_code == 200
    assert packages_of("1001") == [("1001P1", "B", 920, "out-of-stock"), ("1001P2", "C", 100, "waiting")]
    assert_invariants()


# -- ASSIGN_PACKAGE_ITEMS_MANUALLY --------------------------------------------------------------------------
@pytest.fixture
def assignable(shop, api):
    stock(shop.a, X=5, Y=5, Z=5)
    stock(shop.b, X=5, Y=5)
    stock(shop.c, Z=5)
    package = place(api, "1001", X=1, Y=2, Z=3)
    return SimpleNamespace(package=package, x=item(package, "X"), y=item(package, "Y"), z=item(package, "Z"))


def test_manual_planning_creates_one_waiting_package_per_group_and_cancels_the_original(
        shop, api, assignable):
    package, x, y, z = assignable.package, assignable.x, assignable.y, assignable.z
    groups = [{"package_items": [x.pk, y.pk], "stock_location": "B"},
              {"package_items": [z.pk], "stock_location": "C"}]

    response = command(api, package, shop.assign, {"assignment_groups": groups})

    assert response.status_code == 200, response.json()
    at_b, at_c = Package.objects.get(number="1001P2"), Package.objects.get(number="1001P3")
    assert response.json() == seed_shape(at_b, same=False)
    assert packages_of("1001") == [("1001P1", "A", 950, "cancelled"), ("1001P2", "B", 100, "waiting"),
                                   ("1001P3", "C", 100, "waiting")]
    assert items_of(package) == []
    assert items_of(at_b) == [("X", 1, "waiting"), ("Y", 2, "waiting")]
    assert items_of(at_c) == [("Z", 3, "waiting")]
    assert reservations_of(at_b) == [("B", "X", 1), ("B", "Y", 2)]
    assert reservations_of(at_c) == [("C", "Z", 3)]
    assert [stock_of(shop.a, s) for s in "XYZ"] == [(5, 0), (5, 0), (5, 0)]
    assert [stock_of(shop.b, "X"), stock_of(shop.b, "Y"), stock_of(shop.c, "Z")] == [(5, 1), (5, 2), (5, 3)]
    assert [quota_of(shop.a), quota_of(shop.b), quota_of(shop.c)] == [0, 1, 1]
    assert_invariants()


def _groups(case, ns, foreign_pk):
    x, y, z = ns.x.pk, ns.y.pk, ns.z.pk
    return {
        "missing-item": [{"package_items": [x, y], "stock_location": "B"}],
        "item-twice": [{"package_items": [x, y], "stock_location": "B"},
                       {"package_items": [y, z], "stock_location": "C"}],
        "empty-items": [{"package_items": [x, y, z], "stock_location": "A"},
                        {"package_items": [], "stock_location": "B"}],
        "unknown-erp-code": [{"package_items": [x, y, z], "stock_location": "NOPE"}],
        "no-groups": [],
        "foreign-item": [{"package_items": [x, y, z, foreign_pk], "stock_location": "A"}],
    }[case]


@pytest.mark.parametrize(("case", "status", "error"), [
    ("missing-item", 400, lambda ns, f: {"assignment_groups": [
        f"Every package item must be assigned; missing {ns.z.pk}."]}),
    ("item-twice", 400, lambda ns, f: {"assignment_groups": [
        "Each package item may appear in one group only."]}),
    ("empty-items", 400, lambda ns, f: {"assignment_groups": {"1": {"package_items": [
        "This list may not be empty."]}}}),
    ("unknown-erp-code", 400, lambda ns, f: {"assignment_groups": {"0": {"stock_location": [
        "Unknown or inactive stock location 'NOPE'."]}}}),
    ("no-groups", 400, lambda ns, f: {"assignment_groups": {"non_field_errors": [
        "This list may not be empty."]}}),
    ("foreign-item", 406, lambda ns, f: {"non_field_errors": f"Package item(s) {f} do not belong to "
                                                             f"package 1001P1."}),
])
def test_manual_planning_refusals_change_nothing(shop, api, assignable, case, status, error):
    stock(shop.c, W=1)
    foreign = item(place(api, "1002", W=1), "W")
    before = wide_snapshot()

    response = command(api, assignable.package, shop.assign,
                       {"assignment_groups": _groups(case, assignable, foreign.pk)})

    code = "commands_100_4" if status == 400 else "packages_200_1"
    assert_refused(response, status, {**error(assignable, foreign.pk), "error_code": code})
    assert wide_snapshot() == before


def test_manual_planning_to_a_location_without_the_stock_is_refused_and_changes_nothing(
        shop, api, assignable):
    before = wide_snapshot()
    everything = [assignable.x.pk, assignable.y.pk, assignable.z.pk]
    groups = [{"package_items": everything, "stock_location": "C"}]

    response = command(api, assignable.package, shop.assign, {"assignment_groups": groups})

    assert_refused(response, 406, {"non_field_errors": "Not enough stock of X at C.",
                                   "error_code": "packages_200_3"})
    assert wide_snapshot() == before
    assert Reservation.objects.filter(package_item__package=assignable.package).count() == 3
