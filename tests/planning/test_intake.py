"""Order intake through the API (spec §7): ``POST /api/v1/oms/orders/`` creates the order and
plans it into packages in one transaction."""

from types import SimpleNamespace

import pytest
from django.db import connection

from commands.models import State
from locations.models import Reservation, Stock, StockLocation
from orders.models import Order
from packages.models import Package
from tests.factories import CargoCompanyFactory, ChannelFactory, StockFactory, StockLocationFactory
from tests.planning.helpers import (
    ORDERS_URL,
    assert_invariants,
    items_of,
    order_body,
    quota_of,
    reservations_of,
    scenario_with_rules,
    stock_of,
    wide_snapshot,
)
from transfers.models import TransferItem, TransferOrder
from webhooks.models import WebhookEvent, WebhookSubscription


@pytest.fixture
def shop(seeded):
    """A web channel, a cargo company, a warehouse and a store with stock, a default location
    without stock, and one scenario planning by priority."""
    web = ChannelFactory(code="web", name="Web shop")
    yurtici = CargoCompanyFactory(code="yurtici", name="Yurtiçi")
    warehouse = StockLocationFactory(erp_code="WH1", name="Warehouse 1", priority=10,
                                     stock_location_type="warehouse")
    store = StockLocationFactory(erp_code="ST1", name="Store 1", priority=5)
    default = StockLocationFactory(erp_code="DEF", name="Default", priority=0)
    StockFactory(stock_location=warehouse, sku="A", quantity=5)
    StockFactory(stock_location=warehouse, sku="C", quantity=1)
    StockFactory(stock_location=store, sku="B", quantity=4)
    StockFactory(stock_location=store, sku="C", quantity=3)
    scenario = scenario_with_rules(default, {"name": "By priority"}, name="Default scenario")
    return SimpleNamespace(seeded=seeded, web=web, yurtici=yurtici, warehouse=warehouse, store=store,
                           default=default, scenario=scenario)


def package_rows(order_number: str):
    return list(Package.objects.filter(order__number=order_number).order_by("id").values_list(
        "number", "stock_location__erp_code", "status", "state__slug"))


# -- a new order -----------------------------------------------------------------------------------
def test_a_new_order_is_created_and_planned_into_packages_with_reservations_and_quota(shop, api):
    body = order_body("1001", [("A", 2), ("B", 1), ("C", 3)], cargo_company="yurtici",
                      tracking_number="TRK-1")

    response = api.post(ORDERS_URL, body, format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    order = Order.objects.get(number="1001")
    first, second = Package.objects.filter(order=order).order_by("id")
    waiting = shop.seeded.state(100)
    assert data["id"] == order.pk
    assert (data["number"], data["status"], data["channel"]["code"], data["cargo_company"],
            data["tracking_number"], data["payment_type"]) == (
        "1001", 400, "web", shop.yurtici.pk, "TRK-1", "credit_card")
    assert [(i["sku"], i["quantity"], i["price"], i["currency"]) for i in data["orderitem_set"]] == [
        ("A", 2, "10.00", "TRY"), ("B", 1, "10.00", "TRY"), ("C", 3, "10.00", "TRY")]
    assert [(p["id"], p["number"], p["order"], p["stock_location"], p["status"], p["state"])
            for p in data["packages"]] == [
        (first.pk, "1001P1", order.pk, shop.warehouse.pk, 100, waiting.pk),
        (second.pk, "1001P2", order.pk, shop.store.pk, 100, waiting.pk)]
    # the warehouse (priority 10) takes A; it has only 1 of the 3 C, so B and C go to the store
    assert items_of(first) == [("A", 2, "waiting")]
    assert items_of(second) == [("B", 1, "waiting"), ("C", 3, "waiting")]
    assert reservations_of(first) == [("WH1", "A", 2)]
    assert reservations_of(second) == [("ST1", "B", 1), ("ST1", "C", 3)]
    assert [stock_of(shop.warehouse, "A"), stock_of(shop.warehouse, "C"),
            stock_of(shop.store, "B"), stock_of(shop.store, "C")] == [(5, 2), (1, 0), (4, 1), (3, 3)]
    assert [quota_of(shop.warehouse), quota_of(shop.store), quota_of(shop.default)] == [1, 1, 0]
    assert Order.objects.get(pk=order.pk).customer == body["customer"]
    assert_invariants()


def test_quota_counts_one_unit_per_package_on_top_of_what_the_location_already_holds(shop, api):
    api.post(ORDERS_URL, order_body("1001", [("A", 1)]), format="json")
    api.post(ORDERS_URL, order_body("1002", [("A", 1), ("B", 1)]), format="json")

    assert package_rows("1001") == [("1001P1", "WH1", 100, "waiting")]
    assert package_rows("1002") == [("1002P1", "WH1", 100, "waiting"), ("1002P2", "ST1", 100, "waiting")]
    assert [quota_of(shop.warehouse), quota_of(shop.store)] == [2, 1]
    assert stock_of(shop.warehouse, "A") == (5, 2)
    assert_invariants()


@pytest.mark.parametrize("shipping_address", [
    pytest.param({"line": "Bağdat Cd. 1", "city": "İstanbul", "postcode": "34000", "country": "TR",
                  "longitude": -0.0, "latitude": 41.0}, id="keys-unsorted-negative-zero"),
    pytest.param({}, id="empty"),
])
def test_the_intake_response_is_what_reading_the_order_back_gives_byte_for_byte(
        shop, api, shipping_address):
    """The 201 body is built from what the intake wrote; it is exactly the order's read (GET)."""
    body = order_body("1001", [("A", 2), ("B", 1), ("C", 3), ("NONE", 1)], cargo_company="yurtici",
                      tracking_number="TRK-1", date_placed="2026-01-02T10:11:12.345678+03:00",
                      notes="Kapıda ödeme", shipping_address=shipping_address)
    body["items"][1]["price"] = "7.5"

    response = api.post(ORDERS_URL, body, format="json")

    assert response.status_code == 201, response.json()
    assert len(response.json()["packages"]) == 3  # warehouse, store, and 920 at the default location
    assert response.content == api.get(f"{ORDERS_URL}{response.json()['id']}/").content


# -- the same number again -------------------------------------------------------------------------
@pytest.mark.parametrize("second_body", [
    pytest.param(order_body("1001", [("A", 2), ("B", 1)]), id="identical"),
    pytest.param(order_body("1001", [("C", 1)], payment_type="pay_on_delivery"), id="different-body"),
])
def test_posting_a_known_number_answers_200_with_the_existing_order_and_writes_nothing(
        shop, api, second_body):
    first = api.post(ORDERS_URL, order_body("1001", [("A", 2), ("B", 1)]), format="json")
    before = wide_snapshot()

    again = api.post(ORDERS_URL, second_body, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert wide_snapshot() == before


# -- bad input -------------------------------------------------------------------------------------
def _without_number():
    body = order_body("1001")
    del body["number"]
    return body


@pytest.mark.parametrize(("body", "errors"), [
    pytest.param(order_body("1001", channel="nope"),
                 {"channel": ["Unknown channel 'nope'."]}, id="unknown-channel"),
    pytest.param(order_body("1001", cargo_company="nope"),
                 {"cargo_company": ["Unknown cargo company 'nope'."]}, id="unknown-cargo-company"),
    pytest.param(order_body("1001", items=[]),
                 {"items": {"non_field_errors": ["This list may not be empty."]}}, id="empty-items"),
    pytest.param(order_body("1001", items=[("A", 1), ("B", 0)]),
                 {"items": {"1": {"quantity": ["Ensure this value is greater than or equal to 1."]}}},
                 id="quantity-0"),
    pytest.param(_without_number(), {"number": ["This field is required."]}, id="missing-number"),
])
def test_bad_input_answers_400_with_field_errors_and_writes_nothing(shop, api, body, errors):
    before = wide_snapshot()

    response = api.post(ORDERS_URL, body, format="json")

    assert response.status_code == 400
    assert response.json() == {"error": errors, "status_code": 400}
    assert wide_snapshot() == before


def test_an_inactive_cargo_company_is_unknown_to_intake(shop, api):
    CargoCompanyFactory(code="retired", is_active=False)
    before = wide_snapshot()

    response = api.post(ORDERS_URL, order_body("1001", cargo_company="retired"), format="json")

    assert response.json() == {"error": {"cargo_company": ["Unknown cargo company 'retired'."]},
                               "status_code": 400}
    assert wide_snapshot() == before


# -- scenarios -------------------------------------------------------------------------------------
def test_no_matching_scenario_answers_406_orders_300_1_and_writes_nothing(shop, api):
    shop.scenario.channels.set([ChannelFactory(code="marketplace", name="Marketplace")])
    before = wide_snapshot()

    response = api.post(ORDERS_URL, order_body("1001", [("A", 1)]), format="json")

    assert response.status_code == 406
    assert response.json() == {
        "error": {"non_field_errors": "No active scenario matches order 1001 (channel, payment type, "
                                      "cargo company). Add or activate a scenario.",
                  "error_code": "orders_300_1"},
        "status_code": 406}
    assert wide_snapshot() == before
    assert not Order.objects.exists()


@pytest.fixture
def three_scenarios(shop):
    """Each scenario packs only at its own location (all three have stock of A), so the package's
    location shows which scenario planned the order."""
    for location in (shop.store, shop.default):
        StockFactory(stock_location=location, sku="A", quantity=5)
    shop.scenario.delete()
    marketplace = ChannelFactory(code="marketplace", name="Marketplace")
    mng = CargoCompanyFactory(code="mng", name="MNG")
    top = scenario_with_rules(shop.default, {"stock_locations": [shop.default]}, name="Top, inactive",
                              priority=99, is_active=False)
    high = scenario_with_rules(shop.default, {"stock_locations": [shop.warehouse]}, name="High",
                               priority=10, payment_types=["credit_card"])
    high.channels.set([shop.web])
    high.cargo_companies.set([shop.yurtici])
    low = scenario_with_rules(shop.default, {"stock_locations": [shop.store]}, name="Low", priority=1)
    return SimpleNamespace(top=top, high=high, low=low, marketplace=marketplace, mng=mng)


@pytest.mark.parametrize(("fields", "location"), [
    pytest.param({"cargo_company": "yurtici"}, "WH1", id="all-conditions-match-highest-wins"),
    pytest.param({"channel": "marketplace", "cargo_company": "yurtici"}, "ST1", id="channel-differs"),
    pytest.param({"payment_type": "pay_on_delivery", "cargo_company": "yurtici"}, "ST1",
                 id="payment-type-differs"),
    pytest.param({"cargo_company": "mng"}, "ST1", id="cargo-company-differs"),
    pytest.param({}, "ST1", id="no-cargo-company-while-one-is-required"),
])
def test_the_highest_priority_active_scenario_whose_conditions_match_is_used(
        three_scenarios, api, fields, location):
    response = api.post(ORDERS_URL, order_body("1001", [("A", 1)], **fields), format="json")

    assert response.status_code == 201
    assert package_rows("1001") == [("1001P1", location, 100, "waiting")]


def test_an_inactive_scenario_is_ignored_even_when_it_alone_matches(three_scenarios, api):
    three_scenarios.low.delete()
    three_scenarios.high.delete()
    before = wide_snapshot()

    response = api.post(ORDERS_URL, order_body("1001", [("A", 1)]), format="json")

    assert (response.status_code, response.json()["error"]["error_code"]) == (406, "orders_300_1")
    assert wide_snapshot() == before


def test_a_scenario_created_through_the_api_plans_by_quota(shop, api):
    shop.scenario.delete()
    StockFactory(stock_location=shop.store, sku="A", quantity=5)
    StockLocation.objects.filter(pk=shop.warehouse.pk).update(max_quota=1)
    created = api.post("/api/v1/oms/scenarios/", {
        "name": "By quota", "priority": 1, "default_stock_location": shop.default.pk,
        "rules": [{"name": "Free capacity first", "select_by_quota": True, "sort_keys": ["priority"]}],
    }, format="json")
    assert created.status_code == 201, created.json()

    api.post(ORDERS_URL, order_body("1001", [("A", 1)]), format="json")
    api.post(ORDERS_URL, order_body("1002", [("A", 1)]), format="json")   # WH1 is full now
    StockLocation.objects.filter(pk=shop.warehouse.pk).update(max_quota=None)   # unlimited
    api.post(ORDERS_URL, order_body("1003", [("A", 1)]), format="json")

    assert [package_rows(n) for n in ("1001", "1002", "1003")] == [
        [("1001P1", "WH1", 100, "waiting")], [("1002P1", "ST1", 100, "waiting")],
        [("1003P1", "WH1", 100, "waiting")]]
    assert [quota_of(shop.warehouse), quota_of(shop.store)] == [2, 1]
    assert_invariants()


@pytest.mark.parametrize(("address", "location"), [
    pytest.param({"city": "Ankara", "latitude": 39.93, "longitude": 32.86}, "ANK", id="near-ankara"),
    pytest.param({"city": "Izmir", "latitude": 38.42, "longitude": 27.14}, "IZM", id="near-izmir"),
    pytest.param({"city": "Izmir"}, "ANK", id="no-coordinates-id-order"),
])
def test_the_distance_sort_key_uses_the_orders_coordinates(shop, api, address, location):
    shop.scenario.delete()
    ankara = StockLocationFactory(erp_code="ANK", latitude="39.933400", longitude="32.859700")
    izmir = StockLocationFactory(erp_code="IZM", latitude="38.423700", longitude="27.142800")
    for site in (ankara, izmir):
        StockFactory(stock_location=site, sku="K", quantity=1)
    scenario_with_rules(shop.default, {"sort_keys": ["distance"]})

    api.post(ORDERS_URL, order_body("1001", [("K", 1)], shipping_address=address), format="json")

    assert package_rows("1001") == [("1001P1", location, 100, "waiting")]


def test_same_city_places_only_in_the_orders_city(shop, api):
    shop.scenario.delete()
    izmir = StockLocationFactory(erp_code="IZM", city="İzmir", priority=20)
    ankara = StockLocationFactory(erp_code="ANK", city="ankara", priority=1)
    for site in (izmir, ankara):
        StockFactory(stock_location=site, sku="K", quantity=1)
    scenario_with_rules(shop.default, {"same_city": True})

    api.post(ORDERS_URL, order_body("1001", [("K", 1)], shipping_address={"city": "Ankara"}), format="json")

    assert package_rows("1001") == [("1001P1", "ANK", 100, "waiting")]


def test_inactive_locations_and_inactive_rules_are_not_used(shop, api):
    shop.scenario.delete()
    closed = StockLocationFactory(erp_code="CLOSED", priority=99, is_active=False)
    StockFactory(stock_location=closed, sku="A", quantity=9)
    scenario = scenario_with_rules(shop.default, {"stock_locations": [shop.warehouse], "is_active": False},
                                   {"stock_locations": [shop.store, closed]})
    StockFactory(stock_location=shop.store, sku="A", quantity=1)
    assert scenario.rules.count() == 2

    api.post(ORDERS_URL, order_body("1001", [("A", 1)]), format="json")

    assert package_rows("1001") == [("1001P1", "ST1", 100, "waiting")]
    assert stock_of(closed, "A") == (9, 0)


def test_two_lines_of_one_sku_are_placed_and_reserved_together(shop, api):
    StockFactory(stock_location=shop.store, sku="A", quantity=6)      # WH1's 5 are too few for 6

    api.post(ORDERS_URL, order_body("1001", [("A", 3), ("A", 3)]), format="json")

    package = Package.objects.get(order__number="1001")
    assert package_rows("1001") == [("1001P1", "ST1", 100, "waiting")]
    assert reservations_of(package) == [("ST1", "A", 3), ("ST1", "A", 3)]
    assert [stock_of(shop.store, "A"), stock_of(shop.warehouse, "A")] == [(6, 6), (5, 0)]
    assert_invariants()


# -- what cannot be placed -------------------------------------------------------------------------
def test_items_no_rule_can_place_go_to_one_920_package_at_the_default_location_without_reservations(
        shop, api):
    response = api.post(ORDERS_URL, order_body("1001", [("A", 1), ("Z", 2), ("B", 9)]), format="json")

    assert response.status_code == 201
    assert [(p["number"], p["status"]) for p in response.json()["packages"]] == [
        ("1001P1", 100), ("1001P2", 920)]
    placed, missing = Package.objects.filter(order__number="1001").order_by("id")
    assert package_rows("1001") == [("1001P1", "WH1", 100, "waiting"),
                                    ("1001P2", "DEF", 920, "out-of-stock")]
    assert items_of(placed) == [("A", 1, "waiting")]
    assert items_of(missing) == [("B", 9, "out_of_stock"), ("Z", 2, "out_of_stock")]
    assert reservations_of(missing) == []
    assert stock_of(shop.store, "B") == (4, 0)
    assert not Stock.objects.filter(sku="Z").exists()
    assert [quota_of(shop.warehouse), quota_of(shop.store), quota_of(shop.default)] == [1, 0, 0]
    assert_invariants()


def test_an_order_nothing_of_which_can_be_placed_is_one_920_package_at_the_default_location(shop, api):
    response = api.post(ORDERS_URL, order_body("1001", [("Z", 1), ("Y", 1)]), format="json")

    assert response.status_code == 201
    assert package_rows("1001") == [("1001P1", "DEF", 920, "out-of-stock")]
    assert Reservation.objects.count() == 0
    assert quota_of(shop.default) == 0
    assert Order.objects.get(number="1001").status == 400
    assert_invariants()


# -- transfers -------------------------------------------------------------------------------------
def test_a_transferable_rule_packs_at_the_store_with_a_transfer_from_the_center(shop, api):
    center = StockLocationFactory(erp_code="TC1", name="Transfer center", priority=1,
                                  stock_location_type="warehouse", is_transfer_center=True)
    StockFactory(stock_location=center, sku="D", quantity=3)
    shop.scenario.delete()
    scenario_with_rules(shop.default, {"stock_location_type": "store", "transferable": True})

    response = api.post(ORDERS_URL, order_body("1001", [("B", 1), ("D", 2)]), format="json")

    assert response.status_code == 201
    package = Package.objects.get(order__number="1001")
    assert package_rows("1001") == [("1001P1", "ST1", 300, "waiting-for-transfer")]
    transfer = TransferOrder.objects.get()
    assert (transfer.number, transfer.package_id, transfer.order_id, transfer.source_id,
            transfer.destination_id, transfer.status, transfer.state.slug) == (
        "1001P1T1", package.pk, package.order_id, center.pk, shop.store.pk, "waiting", "waiting")
    d_item = package.packageitem_set.get(sku="D")
    assert list(TransferItem.objects.values_list("transfer_id", "package_item_id", "sku", "quantity",
                                                 "status")) == [
        (transfer.pk, d_item.pk, "D", 2, "waiting")]
    assert items_of(package) == [("B", 1, "waiting_for_transfer"), ("D", 2, "waiting_for_transfer")]
    assert reservations_of(package) == [("ST1", "B", 1), ("TC1", "D", 2)]
    assert [stock_of(shop.store, "B"), stock_of(center, "D")] == [(4, 1), (3, 2)]
    assert [quota_of(shop.store), quota_of(center)] == [1, 0]
    assert_invariants()


def test_without_transferable_the_item_missing_at_the_store_waits_in_920(shop, api):
    center = StockLocationFactory(erp_code="TC1", priority=1, stock_location_type="warehouse",
                                  is_transfer_center=True)
    StockFactory(stock_location=center, sku="D", quantity=3)
    shop.scenario.delete()
    scenario_with_rules(shop.default, {"stock_location_type": "store"})

    api.post(ORDERS_URL, order_body("1001", [("B", 1), ("D", 2)]), format="json")

    assert package_rows("1001") == [("1001P1", "ST1", 100, "waiting"), ("1001P2", "DEF", 920, "out-of-stock")]
    assert not TransferOrder.objects.exists()
    assert stock_of(center, "D") == (3, 0)


# -- initial state ---------------------------------------------------------------------------------
def test_the_scenarios_initial_state_is_used_when_an_order_yields_several_packages(shop, api):
    marketplace_waiting = State.objects.create(
        name="Waiting – Marketplace", slug="waiting-marketplace", enum_class="PackageStatus",
        enum_value="200", translations={})
    shop.scenario.initial_state = marketplace_waiting
    shop.scenario.save()

    api.post(ORDERS_URL, order_body("1001", [("A", 1), ("B", 1)]), format="json")
    api.post(ORDERS_URL, order_body("1002", [("A", 1)]), format="json")

    assert package_rows("1001") == [("1001P1", "WH1", 200, "waiting-marketplace"),
                                    ("1001P2", "ST1", 200, "waiting-marketplace")]
    assert items_of(Package.objects.get(number="1001P1")) == [("A", 1, "preparing")]
    assert package_rows("1002") == [("1002P1", "WH1", 100, "waiting")]
    assert [quota_of(shop.warehouse), quota_of(shop.store)] == [2, 1]
    assert_invariants()


# -- query count -----------------------------------------------------------------------------------
# Pinned, a one-package order (whatever its items and candidate locations): token+user+profile,
# channel, savepoint, order with its items (one statement on PostgreSQL, two on SQLite), stock of
# its SKUs (locked, with the configuration's version; scenario and rules from the per-process
# cache), locations' quotas, package, its items, stock reserved, reservations, quota, savepoint
# release (the response is built from what was written).
ONE_ITEM_QUERIES = 12 if connection.vendor == "postgresql" else 13
TEN_ITEM_QUERIES = ONE_ITEM_QUERIES
# A SELECT_BY_QUOTA rule adds the chosen location's lock (its quota checked again); a subscription
# that wants package.created adds the event with its delivery and the worker's task: three
# statements on SQLite, none on PostgreSQL (they are inserted by the quota's statement).
OUTBOX_INSERTS = 0 if connection.vendor == "postgresql" else 3
QUOTA_RULE_AND_SUBSCRIPTION_QUERIES = ONE_ITEM_QUERIES + 1 + OUTBOX_INSERTS


@pytest.fixture
def five_locations(shop):
    """Five candidate locations, each holding every SKU (one package per order)."""
    shop.scenario.delete()
    locations = [StockLocationFactory(erp_code=f"Q{i}", priority=i) for i in range(5)]
    for location in locations:
        Stock.objects.bulk_create([Stock(stock_location=location, sku=f"S{j}", quantity=100)
                                   for j in range(10)])
    scenario_with_rules(shop.default, {"stock_locations": locations})
    return locations


def test_planning_cost_does_not_grow_per_location_and_item(five_locations, api, django_assert_num_queries):
    api.post(ORDERS_URL, order_body("warm-up", [("S0", 1)]), format="json")  # per-process caches

    with django_assert_num_queries(ONE_ITEM_QUERIES) as one:
        first = api.post(ORDERS_URL, order_body("1001", [("S0", 1)]), format="json")
    with django_assert_num_queries(TEN_ITEM_QUERIES) as ten:
        second = api.post(ORDERS_URL, order_body("1002", [(f"S{j}", 1) for j in range(10)]), format="json")

    assert (first.status_code, second.status_code) == (201, 201)
    # every candidate location holds every SKU: one package at the highest priority location
    assert package_rows("1001") == [("1001P1", "Q4", 100, "waiting")]
    assert package_rows("1002") == [("1002P1", "Q4", 100, "waiting")]
    assert Reservation.objects.filter(package_item__package__number="1002P1").count() == 10
    assert len(ten.captured_queries) < len(one.captured_queries) + 10 * 5


def test_a_one_package_order_with_a_quota_rule_and_a_subscription_runs_at_most_20_queries(
        shop, api, django_assert_num_queries):
    shop.scenario.delete()
    locations = [StockLocationFactory(erp_code=f"Q{i}", priority=i, max_quota=100) for i in range(5)]
    for location in locations:
        Stock.objects.bulk_create([Stock(stock_location=location, sku=f"S{j}", quantity=100)
                                   for j in range(3)])
    scenario_with_rules(shop.default, {"stock_locations": locations, "select_by_quota": True})
    WebhookSubscription.objects.create(event_type="*", target_url="https://hooks.example.com/oms")
    api.post(ORDERS_URL, order_body("warm-up", [("S0", 1)]), format="json")  # per-process caches

    with django_assert_num_queries(QUOTA_RULE_AND_SUBSCRIPTION_QUERIES):
        response = api.post(ORDERS_URL, order_body("1001", [(f"S{j}", 1) for j in range(3)]), format="json")

    assert response.status_code == 201
    assert QUOTA_RULE_AND_SUBSCRIPTION_QUERIES <= 20
    assert package_rows("1001") == [("1001P1", "Q4", 100, "waiting")]
    assert [quota_of(location) for location in locations] == [0, 0, 0, 0, 2]
    assert list(WebhookEvent.objects.values_list("event_type", "payload__number")) == [
        ("package.created", "warm-upP1"), ("package.created", "1001P1")]
