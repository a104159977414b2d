"""The read API (spec §2, §3.1, §9, §10): shapes, the commands list, pinned query counts, filters,
pagination, instore restriction, and the other endpoints."""

from datetime import UTC, datetime
from unittest.mock import ANY

import pytest
from rest_framework.test import APIClient

from accounts.models import Profile
from commands import cache
from commands.models import State, StateTransitionLog, Transition
from commands.registry import registry
from locations.models import StockLocation
from packages.models import Package
from tests.conftest import api_client_for
from tests.factories import (
    CargoCompanyFactory,
    ChannelFactory,
    DenialReasonFactory,
    OrderFactory,
    StockLocationFactory,
    UserFactory,
    make_package,
)
from tests.packages.test_lifecycle_table import PACKAGE_TABLE, spec_pairs
from transfers.models import TransferItem, TransferOrder

API = "/api/v1/oms/"
STATE_KEYS = {"id", "name", "enum_class", "enum_value", "translations", "config", "created_date",
              "modified_date"}
COMMAND_KEYS = {"id", "label", "ui_visibility", "slug", "created_date", "modified_date",
                "translations", "command", "source_state", "destination_state", "input_schema"}
# Spec §2: every model's id/created_date/modified_date, and the Package's wire names.
PACKAGE_DETAIL_KEYS = {"id", "created_date", "modified_date", "number", "order", "stock_location",
                       "status", "state", "previous_state", "denial_reason", "invoice_number",
                       "invoice_date", "invoice_document_type", "invoice_document",
                       "packageitem_set", "shipment", "commands"}


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def result_ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


def command_entry(transition: Transition) -> dict:
    """A transition in the seed's command-list shape (its input_schema is asserted exactly in
    tests/api/test_schema_contract.py)."""
    return {"id": transition.id, "label": transition.label, "ui_visibility": transition.ui_visibility,
            "slug": transition.slug, "created_date": iso(transition.created_date),
            "modified_date": iso(transition.modified_date), "translations": transition.translations,
            "command": transition.command, "source_state": transition.source_state_id,
            "destination_state": transition.destination_state_id, "input_schema": ANY}


def user_with_profile(channel: str, locations=()) -> APIClient:
    user = UserFactory()
    profile = Profile.objects.create(user=user, channel=channel)
    profile.stock_locations.set(locations)
    return api_client_for(user)


def listed_commands(response) -> set[tuple[str, int | None]]:
    """(command, destination status) of each listed command."""
    states = dict(State.objects.values_list("id", "enum_value"))
    return {(c["command"], int(states[c["destination_state"]]) if c["destination_state"] else None)
            for c in response.json()["commands"]}


def implemented_spec_commands_from(status: int) -> set[tuple[str, int]]:
    return {(code, dest) for code in PACKAGE_TABLE for source, dest in spec_pairs(code)
            if source == status and registry.get(code).is_implemented}


# -- package detail ------------------------------------------------------------------------------
def test_package_detail_content(seeded, api):
    # given a package with two items at a location
    package = make_package(skus={"A": 2, "B": 1})
    # when
    response = api.get(f"{API}packages/{package.pk}/")
    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["number"], body["status"], body["shipment"], body["previous_state"]) == (
        package.pk, package.number, 100, None, None)
    assert body["order"]["id"] == package.order_id
    assert body["order"]["number"] == package.order.number
    assert body["stock_location"]["id"] == package.stock_location_id
    assert body["stock_location"]["erp_code"] == package.stock_location.erp_code
    assert [(i["sku"], i["quantity"], i["status"]) for i in body["packageitem_set"]] == [
        ("A", 2, "waiting"), ("B", 1, "waiting")]
    state = seeded.state(100)
    assert {k: body["state"][k] for k in STATE_KEYS} == {
        "id": state.pk, "name": "Waiting", "enum_class": "PackageStatus", "enum_value": "100",
        "translations": state.translations, "config": {}, "created_date": iso(state.created_date),
        "modified_date": iso(state.modified_date)}


def test_package_detail_has_exactly_the_spec_fields(seeded, api):
    package = make_package()
    body = api.get(f"{API}packages/{package.pk}/").json()
    assert set(body) == PACKAGE_DETAIL_KEYS


def test_package_detail_state_has_exactly_the_spec_fields(seeded, api):
    package = make_package()
    body = api.get(f"{API}packages/{package.pk}/").json()
    assert set(body["state"]) == STATE_KEYS


def test_package_detail_commands_are_in_the_seed_shape(seeded, api):
    # given a waiting package
    package = make_package()
    # when
    body = api.get(f"{API}packages/{package.pk}/").json()
    # then every entry has exactly the seed's keys and values of its transition
    assert body["commands"]
    for entry in body["commands"]:
        assert set(entry) == COMMAND_KEYS
        assert entry == command_entry(Transition.objects.get(pk=entry["id"]))
        assert entry["source_state"] == seeded.state(100).pk


def test_package_detail_lists_the_implemented_transitions_leaving_its_state(seeded, api):
    # given a waiting package
    package = make_package()
    # when
    response = api.get(f"{API}packages/{package.pk}/")
    # then the commands are the spec's moves from 100 whose type can run, each once
    assert listed_commands(response) == implemented_spec_commands_from(100)
    assert len(response.json()["commands"]) == len(implemented_spec_commands_from(100))
    assert ("COMPLETE_PACKAGING", 500) in listed_commands(response)
    assert ("BLOCK_THE_PACKAGE", 350) in listed_commands(response)


def test_package_detail_lists_exactly_the_waiting_commands_of_the_spec(seeded, api):
    # given a waiting package (spec §5, From includes 100)
    package = make_package()
    # when
    response = api.get(f"{API}packages/{package.pk}/")
    # then: every move from 100 of the spec table, minus the command types declared but not built
    every_move_from_100 = {
        ("PKG_STATE_TRANSITION", 100), ("PKG_STATE_TRANSITION", 150), ("PKG_STATE_TRANSITION", 200),
        ("PKG_STATE_TRANSITION", 400), ("PKG_DEALLOCATE_RESERVATIONS", 200),
        ("COMPLETE_PACKAGING", 500), ("COMPLETE_PACKAGING_WITHOUT_SHIPMENT", 500),
        ("CHANNEL_BASED_COMPLETE_PACKAGING", 500), ("DETECTED_OUT_OF_STOCK_ITEM", 920),
        ("DETECTED_OUT_OF_STOCK_ITEM_ADVANCED", 920), ("PACKAGE_REFUSE", 900),
        ("PACKED_FOR_REFUND", 1100), ("BLOCK_THE_PACKAGE", 350),
        ("ASSIGN_PACKAGE_ITEMS_MANUALLY", 950), ("REQUEST_CANCELLATION", 50), ("CANCEL_PACKAGE", 950),
    }
    declared_only = {c for c in registry.command_types if not registry.get(c).is_implemented}
    assert listed_commands(response) == {(c, d) for c, d in every_move_from_100
                                         if c not in declared_only}


def test_declared_only_command_types_are_not_listed(seeded, api, monkeypatch):
    # given COMPLETE_PACKAGING as a type without behaviour (declared only)
    package = make_package()
    monkeypatch.setattr(registry.get("COMPLETE_PACKAGING"), "handle", None)
    # when
    response = api.get(f"{API}packages/{package.pk}/")
    # then its transition is hidden, the others stay
    assert ("COMPLETE_PACKAGING", 500) not in listed_commands(response)
    assert ("COMPLETE_PACKAGING_WITHOUT_SHIPMENT", 500) in listed_commands(response)


def test_inactive_transitions_are_not_listed(seeded, api):
    # given the Waiting -> Blocked transition deactivated
    package = make_package()
    Transition.objects.filter(pk=seeded.transition("BLOCK_THE_PACKAGE", 100, 350).pk).update(
        is_active=False)
    # when
    response = api.get(f"{API}packages/{package.pk}/")
    # then
    assert listed_commands(response) == implemented_spec_commands_from(100) - {("BLOCK_THE_PACKAGE", 350)}


def test_commands_are_filtered_by_the_callers_channel(seeded, api):
    # given Waiting -> Packed visible to oms_web and instore only, and a third_party user
    package = make_package()
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    pack.ui_visibility = ["oms_web", "instore"]
    pack.save()
    third_party = user_with_profile("third_party")
    # when
    as_third_party = third_party.get(f"{API}packages/{package.pk}/")
    as_staff = api.get(f"{API}packages/{package.pk}/")
    # then
    assert as_third_party.status_code == 200
    third_party_ids = [c["id"] for c in as_third_party.json()["commands"]]
    assert pack.pk not in third_party_ids
    assert listed_commands(as_third_party) == implemented_spec_commands_from(100) - {
        ("COMPLETE_PACKAGING", 500)}
    assert pack.pk in [c["id"] for c in as_staff.json()["commands"]]


@pytest.mark.parametrize("status", [50, 200, 350, 500, 550, 920, 950])
def test_commands_list_follows_the_package_state(seeded, api, status):
    # given a package in `status`
    package = make_package(status=status)
    # when
    response = api.get(f"{API}packages/{package.pk}/")
    # then only the spec's moves from that status are offered, all leaving its state
    assert listed_commands(response) == implemented_spec_commands_from(status)
    assert {c["source_state"] for c in response.json()["commands"]} <= {seeded.state(status).pk}
    assert len(response.json()["commands"]) == len(implemented_spec_commands_from(status))


def test_restoring_commands_are_listed_without_destination(seeded, api):
    # given a blocked package
    package = make_package(status=350)
    # when
    commands = api.get(f"{API}packages/{package.pk}/").json()["commands"]
    # then unblock is offered with no destination ("the state before")
    unblock = seeded.transition("UNBLOCK_THE_PACKAGE", 350)
    assert command_entry(unblock) in commands
    assert command_entry(unblock)["destination_state"] is None


def test_commands_leave_the_exact_state_not_just_the_status(seeded, api):
    # given a package in an operator state sharing status 100 with "Waiting", and one transition
    # leaving that state
    marketplace = State.objects.create(name="Waiting – Marketplace", slug="waiting-marketplace",
                                       enum_class="PackageStatus", enum_value="100")
    package = make_package()
    Package.objects.filter(pk=package.pk).update(state=marketplace)
    pack = Transition.objects.create(label="Pack", command="COMPLETE_PACKAGING",
                                     source_state=marketplace, destination_state=seeded.state(500))
    # when
    response = api.get(f"{API}packages/{package.pk}/")
    # then
    assert response.json()["commands"] == [command_entry(pack)]


# -- pinned query counts ---------------------------------------------------------------------------
# token+user+profile, package (+state, location, order, shipment), items, configuration version
# (the transitions come from the per-process configuration cache, warm in a running server)
DETAIL_QUERIES = 4
LIST_QUERIES = 3    # token+user+profile, count, packages (+state, location, order)


@pytest.fixture
def warm_cache(seeded):
    cache.commands_config()


def test_package_detail_query_count_1_item(seeded, warm_cache, api, django_assert_num_queries):
    package = make_package(items=1)
    with django_assert_num_queries(DETAIL_QUERIES):
        response = api.get(f"{API}packages/{package.pk}/")
    assert len(response.json()["packageitem_set"]) == 1


def test_package_detail_query_count_25_items(seeded, warm_cache, api, django_assert_num_queries):
    package = make_package(items=25)
    with django_assert_num_queries(DETAIL_QUERIES):
        response = api.get(f"{API}packages/{package.pk}/")
    assert len(response.json()["packageitem_set"]) == 25
    assert len(response.json()["commands"]) == len(implemented_spec_commands_from(100))


def test_package_detail_query_count_with_shipment_and_instore_user(seeded, warm_cache,
                                                                   django_assert_num_queries):
    location = StockLocationFactory()
    package = make_package(location=location, items=3, status=500)
    package.refresh_from_db()
    from packages.models import Shipment

    Shipment.objects.create(package=package, tracking_number="T1")
    client = user_with_profile("instore", [location])
    # + 1: a store user's location ids, read to offer only the commands of its side.
    with django_assert_num_queries(DETAIL_QUERIES + 1):
        response = client.get(f"{API}packages/{package.pk}/")
    assert response.json()["shipment"]["tracking_number"] == "T1"


def test_package_list_query_count_1_package(seeded, api, django_assert_num_queries):
    make_package()
    with django_assert_num_queries(LIST_QUERIES):
        response = api.get(f"{API}packages/")
    assert response.json()["count"] == 1


def test_package_list_query_count_20_packages(seeded, api, django_assert_num_queries):
    location = StockLocationFactory()
    for i in range(20):
        make_package(location=location, skus={f"A{i}": 1, f"B{i}": 1})
    with django_assert_num_queries(LIST_QUERIES):
        response = api.get(f"{API}packages/")
    assert len(response.json()["results"]) == 20


# -- filters and pagination (spec §10) -------------------------------------------------------------
@pytest.fixture
def filter_packages(seeded):
    """p1 A/RED/100, p2 A/BLUE/200, p3 B/RED+GREEN/100, p4 A/PINK in a custom state of 100."""
    loc_a = StockLocationFactory(erp_code="A-01")
    loc_b = StockLocationFactory(erp_code="B-01")
    marketplace = State.objects.create(name="Waiting – Marketplace", slug="waiting-marketplace",
                                       enum_class="PackageStatus", enum_value="100")
    p1 = make_package(location=loc_a, skus={"RED": 1})
    p2 = make_package(location=loc_a, skus={"BLUE": 1}, status=200,
                      order=OrderFactory(channel=ChannelFactory(code="mp", name="Marketplace",
                                                                channel_type="marketplace")))
    p3 = make_package(location=loc_b, skus={"RED": 2, "GREEN": 1})
    p4 = make_package(location=loc_a, skus={"PINK": 1})
    Package.objects.filter(pk=p4.pk).update(state=marketplace)
    Package.objects.filter(pk__in=[p1.pk, p2.pk]).update(created_date=datetime(2024, 1, 1, tzinfo=UTC))
    Package.objects.filter(pk__in=[p3.pk, p4.pk]).update(created_date=datetime(2025, 6, 1, tzinfo=UTC))
    return {"p1": p1, "p2": p2, "p3": p3, "p4": p4, "loc_a": loc_a, "marketplace": marketplace}


FILTER_CASES = [
    (lambda f: {"state": f["marketplace"].pk}, ["p4"]),
    (lambda f: {"state": f["p2"].state_id}, ["p2"]),
    (lambda f: {"state__enum_value": "100"}, ["p4", "p3", "p1"]),
    (lambda f: {"state__enum_value": "200"}, ["p2"]),
    (lambda f: {"status": 200}, ["p2"]),
    (lambda f: {"status": 100}, ["p4", "p3", "p1"]),
    (lambda f: {"stock_location": f["loc_a"].pk}, ["p4", "p2", "p1"]),
    (lambda f: {"stock_location__erp_code": "B-01"}, ["p3"]),
    (lambda f: {"order": f["p3"].order_id}, ["p3"]),
    (lambda f: {"order__number": f["p2"].order.number}, ["p2"]),
    (lambda f: {"order__channel": f["p2"].order.channel_id}, ["p2"]),
    (lambda f: {"sku": "RED"}, ["p3", "p1"]),
    (lambda f: {"sku": "GREEN"}, ["p3"]),
    (lambda f: {"sku": "NONE"}, []),
    (lambda f: {"id__gt": f["p2"].pk}, ["p4", "p3"]),
    (lambda f: {"id__lt": f["p2"].pk}, ["p1"]),
    (lambda f: {"created_date__gte": "2025-01-01T00:00:00Z"}, ["p4", "p3"]),
    (lambda f: {"created_date__lte": "2025-01-01T00:00:00Z"}, ["p2", "p1"]),
    (lambda f: {"stock_location__erp_code": "A-01", "state__enum_value": "100"}, ["p4", "p1"]),
]


@pytest.mark.parametrize(("params", "expected"), FILTER_CASES,
                         ids=[f"case{i}" for i in range(len(FILTER_CASES))])
def test_package_list_filters(filter_packages, api, params, expected):
    # when
    response = api.get(f"{API}packages/", params(filter_packages))
    # then exactly the expected packages, newest first
    assert response.status_code == 200
    assert result_ids(response) == [filter_packages[name].pk for name in expected]
    assert response.json()["count"] == len(expected)


def test_package_list_pagination(filter_packages, api):
    # when
    first = api.get(f"{API}packages/", {"limit": 3})
    second = api.get(f"{API}packages/", {"limit": 3, "page": 2})
    # then
    names = ["p4", "p3", "p2", "p1"]
    assert first.json() == {
        "count": 4, "next": "http://testserver/api/v1/oms/packages/?limit=3&page=2", "previous": None,
        "results": first.json()["results"]}
    assert result_ids(first) == [filter_packages[n].pk for n in names[:3]]
    assert second.json()["count"] == 4
    assert second.json()["next"] is None
    assert second.json()["previous"] == "http://testserver/api/v1/oms/packages/?limit=3"
    assert result_ids(second) == [filter_packages["p1"].pk]


def test_package_list_page_out_of_range_is_404(filter_packages, api):
    response = api.get(f"{API}packages/", {"limit": 3, "page": 9})
    assert response.status_code == 404
    assert response.json() == {"error": {"detail": "Invalid page."}, "status_code": 404}


# -- instore users see their own locations only (spec §9) -------------------------------------------
def test_instore_user_lists_only_its_locations_packages(filter_packages):
    # given an instore user of location A
    client = user_with_profile("instore", [filter_packages["loc_a"]])
    # when
    packages = client.get(f"{API}packages/")
    short = client.get(f"{API}packages/short/")
    items = client.get(f"{API}packages/package-items/")
    # then
    expected = [filter_packages[n].pk for n in ["p4", "p2", "p1"]]
    assert result_ids(packages) == expected
    assert result_ids(short) == expected
    assert {row["package"] for row in items.json()["results"]} == set(expected)
    assert items.json()["count"] == 3


def test_instore_user_gets_404_for_another_locations_package(filter_packages):
    # given an instore user of location A and p3 at location B
    client = user_with_profile("instore", [filter_packages["loc_a"]])
    # when
    other = client.get(f"{API}packages/{filter_packages['p3'].pk}/")
    own = client.get(f"{API}packages/{filter_packages['p1'].pk}/")
    # then
    assert other.status_code == 404
    assert other.json() == {"error": {"detail": "Not found."}, "status_code": 404}
    assert own.status_code == 200
    assert own.json()["id"] == filter_packages["p1"].pk


def test_instore_user_with_no_location_sees_nothing(filter_packages):
    client = user_with_profile("instore", [])
    assert client.get(f"{API}packages/").json()["count"] == 0


# -- stock locations: quota is read-only, available_quota derived (spec §2, §4) --------------------
def test_stock_location_available_quota(seeded, api):
    # given locations with max_quota 5 (1 package), 1 (2 packages) and unlimited (1 package)
    roomy = StockLocationFactory(max_quota=5)
    full = StockLocationFactory(max_quota=1)
    unlimited = StockLocationFactory()
    make_package(location=roomy)
    make_package(location=full)
    make_package(location=full)
    make_package(location=unlimited)
    # when
    rows = {r["id"]: r for r in api.get(f"{API}stock_locations/").json()["results"]}
    # then
    assert (rows[roomy.pk]["quota"], rows[roomy.pk]["available_quota"]) == (1, 4)
    assert (rows[full.pk]["quota"], rows[full.pk]["available_quota"]) == (2, 0)
    assert (rows[unlimited.pk]["quota"], rows[unlimited.pk]["available_quota"]) == (1, None)


def test_stock_location_post_ignores_quota(db, api):
    # when a location is created with a quota
    response = api.post(f"{API}stock_locations/", {"name": "Depot", "erp_code": "D-1",
                                                   "stock_location_type": "warehouse",
                                                   "max_quota": 3, "quota": 7}, format="json")
    # then the quota is the system's (0)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["erp_code"], body["stock_location_type"], body["max_quota"], body["quota"],
            body["available_quota"]) == ("D-1", "warehouse", 3, 0, 3)
    assert StockLocation.objects.get(erp_code="D-1").quota == 0


def test_stock_location_patch_ignores_quota(seeded, api):
    # given a location holding one package
    location = StockLocationFactory(max_quota=10)
    make_package(location=location)
    # when
    response = api.patch(f"{API}stock_locations/{location.pk}/", {"quota": 0, "max_quota": 4},
                         format="json")
    # then max_quota changed, quota did not
    assert response.status_code == 200
    assert (response.json()["quota"], response.json()["max_quota"],
            response.json()["available_quota"]) == (1, 4, 3)
    location.refresh_from_db()
    assert (location.quota, location.max_quota) == (1, 4)


def test_stock_location_detail(db, api):
    location = StockLocationFactory(erp_code="X-9", name="Kadıköy", priority=5)
    response = api.get(f"{API}stock_locations/{location.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["name"], body["erp_code"], body["priority"], body["max_quota"],
            body["quota"], body["available_quota"]) == (location.pk, "Kadıköy", "X-9", 5, None, 0, None)


# -- the other endpoints ---------------------------------------------------------------------------
def test_cargo_company_list(db, api):
    company = CargoCompanyFactory(name="Yurtiçi Kargo", code="yurtici")
    response = api.get(f"{API}cargo-company/")
    assert response.status_code == 200
    assert response.json() == {"count": 1, "next": None, "previous": None, "results": [{
        "id": company.pk, "name": "Yurtiçi Kargo", "code": "yurtici", "is_active": True,
        "created_date": iso(company.created_date), "modified_date": iso(company.modified_date)}]}


def test_channels_list(db, api):
    channel = ChannelFactory(code="trendyol", name="Trendyol", channel_type="marketplace")
    response = api.get(f"{API}channels/")
    assert response.status_code == 200
    assert response.json() == {"count": 1, "next": None, "previous": None, "results": [{
        "id": channel.pk, "name": "Trendyol", "code": "trendyol", "channel_type": "marketplace",
        "created_date": iso(channel.created_date), "modified_date": iso(channel.modified_date)}]}


def test_states_list(seeded, api):
    response = api.get(f"{API}states/", {"limit": 100})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 24
    waiting = next(s for s in body["results"] if s["id"] == seeded.state(100).pk)
    assert {k: waiting[k] for k in ("name", "enum_class", "enum_value", "config")} == {
        "name": "Waiting", "enum_class": "PackageStatus", "enum_value": "100", "config": {}}
    assert all(set(s) >= STATE_KEYS for s in body["results"])
    assert sorted(s["enum_value"] for s in body["results"] if s["enum_class"] == "TransferStatus") == \
        sorted(["waiting", "ready_to_shipment", "in_transit", "transferred", "not_found",
                "out_of_stock", "cancelled"])


def test_state_transitions_list_and_detail(seeded, api):
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    listing = api.get(f"{API}state_transitions/", {"limit": 500})
    detail = api.get(f"{API}state_transitions/{pack.pk}/")
    assert listing.status_code == 200
    assert listing.json()["count"] == Transition.objects.count()
    assert sorted(result_ids(listing)) == sorted(Transition.objects.values_list("id", flat=True))
    assert detail.status_code == 200
    assert {k: v for k, v in detail.json().items() if k in COMMAND_KEYS} == command_entry(pack)


def test_orders_list_and_detail(seeded, api):
    package = make_package(skus={"A": 2})
    order = package.order
    listing = api.get(f"{API}orders/")
    detail = api.get(f"{API}orders/{order.pk}/")
    assert listing.status_code == 200
    assert result_ids(listing) == [order.pk]
    body = detail.json()
    assert (body["id"], body["number"], body["status"], body["payment_type"]) == (
        order.pk, order.number, 400, "credit_card")
    assert body["channel"]["code"] == "web"
    assert [(i["sku"], i["quantity"]) for i in body["orderitem_set"]] == [("A", 2)]


@pytest.fixture
def transfer(seeded):
    source = StockLocationFactory(erp_code="TC-1", is_transfer_center=True)
    package = make_package(skus={"A": 1})
    transfer = TransferOrder.objects.create(
        number=f"{package.number}T1", order=package.order, package=package, source=source,
        destination=package.stock_location, state=seeded.state("waiting", "TransferStatus"))
    TransferItem.objects.create(transfer=transfer, package_item=package.packageitem_set.get(),
                                sku="A", quantity=1)
    return transfer


def test_transfer_orders_list(transfer, api):
    response = api.get(f"{API}transfer_orders/")
    assert response.status_code == 200
    assert result_ids(response) == [transfer.pk]
    row = response.json()["results"][0]
    assert (row["number"], row["status"], row["package"], row["order"]) == (
        transfer.number, "waiting", transfer.package_id, transfer.order_id)
    assert (row["source"]["erp_code"], row["destination"]["id"]) == ("TC-1", transfer.destination_id)
    assert [(i["sku"], i["quantity"]) for i in row["transferitem_set"]] == [("A", 1)]


def test_transfer_orders_filters(transfer, api):
    assert result_ids(api.get(f"{API}transfer_orders/", {"source__erp_code": "TC-1"})) == [transfer.pk]
    assert result_ids(api.get(f"{API}transfer_orders/", {"source__erp_code": "NO"})) == []
    assert result_ids(api.get(f"{API}transfer_orders/", {"state__enum_value": "waiting"})) == [
        transfer.pk]
    assert result_ids(api.get(f"{API}transfer_orders/", {"package": transfer.package_id})) == [
        transfer.pk]
    assert result_ids(api.get(f"{API}transfer_orders/",
                              {"order__number": transfer.order.number})) == [transfer.pk]


def test_transfer_order_detail_lists_its_commands(transfer, seeded, api):
    # when
    response = api.get(f"{API}transfer_orders/{transfer.pk}/")
    # then the transitions leaving Waiting whose type can run, in the seed's shape
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["number"], body["state"]["id"]) == (
        transfer.pk, transfer.number, seeded.state("waiting", "TransferStatus").pk)
    expected = [command_entry(t) for t in Transition.objects.filter(
        source_state=transfer.state, is_active=True).order_by("id")
        if registry.get(t.command).is_implemented]
    assert body["commands"] == expected


def test_transfer_order_of_another_location_is_404_for_instore_user(transfer):
    client = user_with_profile("instore", [StockLocationFactory()])
    response = client.get(f"{API}transfer_orders/{transfer.pk}/")
    assert response.status_code == 404
    assert response.json() == {"error": {"detail": "Not found."}, "status_code": 404}


def test_packages_short(seeded, api):
    package = make_package()
    response = api.get(f"{API}packages/short/")
    assert response.status_code == 200
    assert response.json()["results"] == [{
        "id": package.pk, "number": package.number, "order": package.order_id,
        "stock_location": package.stock_location_id, "status": 100, "state": seeded.state(100).pk,
        "created_date": iso(package.created_date), "modified_date": iso(package.modified_date)}]


def test_package_items(seeded, api):
    package = make_package(skus={"A": 2, "B": 1})
    other = make_package(skus={"C": 1})
    response = api.get(f"{API}packages/package-items/", {"package": package.pk})
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["package"], r["sku"], r["quantity"], r["status"]) for r in rows] == [
        (package.pk, "A", 2, "waiting"), (package.pk, "B", 1, "waiting")]
    everything = api.get(f"{API}packages/package-items/")
    assert everything.json()["count"] == 3
    assert other.pk in {r["package"] for r in everything.json()["results"]}


def test_package_denial_reasons(db, api):
    reason = DenialReasonFactory(title="Damaged", remote_id="R1", priority=3)
    response = api.get(f"{API}packages/package_denial_reason/")
    assert response.status_code == 200
    assert response.json()["results"] == [{
        "id": reason.pk, "title": "Damaged", "remote_id": "R1", "priority": 3, "is_active": True,
        "created_date": iso(reason.created_date), "modified_date": iso(reason.modified_date)}]


def test_state_transition_logs(seeded, api, staff_user):
    # given a log row of a package's move Waiting -> Packed, and another of a second package
    from django.contrib.contenttypes.models import ContentType

    package = make_package()
    other = make_package()
    content_type = ContentType.objects.get_for_model(Package)
    attributes = {"command": {"slug": "package__complete_packaging__waiting__packed",
                              "transition_id": 1, "command": "COMPLETE_PACKAGING"},
                  "input_parameters": {}, "idempotency_key": None}
    log = StateTransitionLog.objects.create(
        content_type=content_type, object_id=package.pk, old_state=seeded.state(100),
        new_state=seeded.state(500), user=staff_user, attributes=attributes)
    StateTransitionLog.objects.create(content_type=content_type, object_id=other.pk,
                                      old_state=seeded.state(100), new_state=seeded.state(200))
    # when
    response = api.get(f"{API}state-transition-logs/", {"object_id": package.pk})
    # then
    assert response.status_code == 200
    assert response.json()["count"] == 1
    row = response.json()["results"][0]
    assert (row["id"], row["object_id"], row["old_state"], row["new_state"], row["user"],
            row["attributes"]) == (log.pk, package.pk, seeded.state(100).pk, seeded.state(500).pk,
                                   staff_user.pk, attributes)
    assert api.get(f"{API}state-transition-logs/", {"new_state": seeded.state(200).pk}).json()[
        "count"] == 1


def test_state_transition_logs_are_read_only(seeded, api):
    response = api.post(f"{API}state-transition-logs/", {}, format="json")
    assert response.status_code == 405
    assert StateTransitionLog.objects.count() == 0


# -- schema, docs, health ----------------------------------------------------------------------------
def test_schema_is_openapi_3(db, api):
    response = api.get(f"{API}schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/oms/packages/{id}/command/" in document["paths"]
    assert "/api/v1/oms/health/" in document["paths"]


def test_schema_default_format_contains_openapi(db, api):
    response = api.get(f"{API}schema/")
    assert response.status_code == 200
    assert b"openapi" in response.content


def test_docs_page(db, api):
    response = api.get(f"{API}docs/")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content


def test_health_without_authentication(db):
    response = APIClient().get(f"{API}health/")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["database"]) == ("ok", "ok")


def test_health_ignores_a_bad_token(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get(f"{API}health/")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["database"]) == ("ok", "ok")
