"""Shipping and after-shipping command types through the API (spec §5): the shipment follows the
package, refusals change nothing, the order's status is derived (§1.3)."""


import pytest
from django.utils import timezone

from commands.models import StateTransitionLog
from orders.models import Order
from packages.models import PackageItem, Shipment
from tests.factories import CargoCompanyFactory, OrderFactory, StockLocationFactory, make_package
from tests.packages.helpers import (
    command,
    item_statuses,
    last_log,
    logged,
    quota,
    reload,
    seed_body,
    stocks,
    world,
)


# -- helpers of this file (shared ones: tests/packages/helpers.py) ---------------------------------
def packed(seeded, api, *, with_shipment=True, **package_kwargs):
    """A package packed through the API (so its shipment exists exactly as packing makes it)."""
    package = make_package(**package_kwargs)
    command_code = "COMPLETE_PACKAGING" if with_shipment else "COMPLETE_PACKAGING_WITHOUT_SHIPMENT"
    assert command(api, package, seeded.transition(command_code, package.status, 500)).status_code == 200
    return reload(package)


def shipment_row(package):
    return list(Shipment.objects.filter(package=package).values_list(
        "status", "cargo_company_id", "tracking_number", "query_number", "has_shipping_document"))


# -- SHIP_THE_PACKAGE -----------------------------------------------------------------------------
@pytest.mark.parametrize("with_items", [False, True], ids=["no-items", "own-items"])
def test_ship_marks_the_shipment_shipped_with_a_shipped_date(seeded, api, with_items):
    cargo = CargoCompanyFactory(code="yurtici")
    location = StockLocationFactory()
    package = packed(seeded, api, location=location, skus={"A": 1, "B": 2},
                     order=OrderFactory(cargo_company=cargo))
    item_ids = sorted(PackageItem.objects.filter(package=package).values_list("pk", flat=True))
    params = {"package_items": item_ids} if with_items else {}
    transition = seeded.transition("SHIP_THE_PACKAGE", 500, 550)
    stocks_before, logs_before = stocks(location), StateTransitionLog.objects.count()
    started = timezone.now()

    response = command(api, package, transition, params)

    assert response.status_code == 200
    package = reload(package)
    assert response.json() == seed_body(package)
    assert (package.status, package.state_id) == (550, seeded.state(550).pk)
    assert package.state.status == package.status
    shipment = Shipment.objects.get(package=package)
    assert (shipment.status, shipment.cargo_company_id, shipment.tracking_number) == (
        "shipped", cargo.pk, "")
    assert started <= shipment.shipped_date <= timezone.now()
    assert stocks(location) == stocks_before == {"A": (9, 0), "B": (8, 0)}
    assert quota(location) == 0
    assert item_statuses(package) == ["shipped", "shipped"]
    assert Order.objects.get(pk=package.order_id).status == 500
    assert StateTransitionLog.objects.count() == logs_before + 1
    assert last_log(package) == logged(api, transition, seeded.state(500), seeded.state(550), params)


def test_ship_with_an_item_of_another_package_is_refused_and_changes_nothing(seeded, api):
    package = packed(seeded, api, skus={"A": 1})
    stranger = make_package(skus={"B": 1})
    foreign_item = PackageItem.objects.get(package=stranger)
    own_item = PackageItem.objects.get(package=package)
    before = world()

    response = command(api, package, seeded.transition("SHIP_THE_PACKAGE", 500, 550),
                       {"package_items": [own_item.pk, foreign_item.pk]})

    assert response.status_code == 406
    assert response.json() == {"error": {
        "non_field_errors": f"Package item(s) {foreign_item.pk} do not belong to package "
                            f"{package.number}.",
        "error_code": "packages_200_1"}, "status_code": 406}
    assert world() == before
    package = reload(package)
    assert (package.status, package.state_id) == (500, seeded.state(500).pk)
    assert shipment_row(package)[0][0] == "created"


def test_ship_with_an_out_of_range_item_id_is_refused_not_a_crash(seeded, api):
    # Spec §3.2: "No request may answer 500 for bad input"; an id beyond any 64-bit key is
    # invalid input.
    package = packed(seeded, api, skus={"A": 1})
    before = world()

    response = command(api, package, seeded.transition("SHIP_THE_PACKAGE", 500, 550),
                       {"package_items": [10 ** 22]})

    assert response.status_code == 400
    assert response.json() == {"error": {
        "package_items": {"0": ["Ensure this value is less than or equal to 9223372036854775807."]},
        "error_code": "commands_100_4"}, "status_code": 400}
    assert world() == before


def test_ship_after_packing_without_shipment_creates_a_shipped_shipment(seeded, api):
    cargo = CargoCompanyFactory(code="aras")
    package = packed(seeded, api, with_shipment=False, skus={"A": 1},
                     location=StockLocationFactory(default_cargo_company=cargo),
                     order=OrderFactory(cargo_company=None))
    assert Shipment.objects.filter(package=package).count() == 0
    started = timezone.now()

    response = command(api, package, seeded.transition("SHIP_THE_PACKAGE", 500, 550))

    assert response.status_code == 200
    assert response.json() == seed_body(reload(package))
    assert reload(package).status == 550
    assert shipment_row(package) == [("shipped", cargo.pk, "", "", True)]
    assert started <= Shipment.objects.get(package=package).shipped_date <= timezone.now()


# -- SHIP_THE_PACKAGE_ADVANCED --------------------------------------------------------------------
@pytest.mark.parametrize("by", ["id", "code"])
def test_advanced_ship_records_carrier_and_tracking_number(seeded, api, by):
    package = packed(seeded, api, skus={"A": 1},
                     order=OrderFactory(cargo_company=CargoCompanyFactory(code="yurtici")))
    carrier = CargoCompanyFactory(code="ups")
    params = {"tracking_number": "1Z999AA10123456784",
              "cargo_company": carrier.pk if by == "id" else "ups"}
    transition = seeded.transition("SHIP_THE_PACKAGE_ADVANCED", 500, 550)
    started = timezone.now()

    response = command(api, package, transition, params)

    assert response.status_code == 200
    package = reload(package)
    assert response.json() == seed_body(package)
    assert (package.status, package.state_id) == (550, seeded.state(550).pk)
    assert package.state.status == package.status
    assert shipment_row(package) == [("shipped", carrier.pk, "1Z999AA10123456784", "", True)]
    assert started <= Shipment.objects.get(package=package).shipped_date <= timezone.now()
    assert item_statuses(package) == ["shipped"]
    assert Order.objects.get(pk=package.order_id).status == 500
    assert last_log(package) == logged(api, transition, seeded.state(500), seeded.state(550), params)


@pytest.mark.parametrize(("params", "errors"), [
    ({"tracking_number": "T1", "cargo_company": "no-such-carrier"},
     {"cargo_company": ["Unknown cargo company 'no-such-carrier'."]}),
    ({"tracking_number": "T1", "cargo_company": 10 ** 22},
     {"cargo_company": [f"Unknown cargo company '{10 ** 22}'."]}),
    ({"tracking_number": "T1", "cargo_company": "inactive"},
     {"cargo_company": ["Unknown cargo company 'inactive'."]}),
    ({"cargo_company": "ups"}, {"tracking_number": ["This field is required."]}),
    ({"tracking_number": "T1"}, {"cargo_company": ["This field is required."]}),
], ids=["unknown-code", "unknown-id", "inactive", "no-tracking-number", "no-cargo-company"])
def test_advanced_ship_with_invalid_input_is_refused_and_changes_nothing(seeded, api, params, errors):
    CargoCompanyFactory(code="ups")
    CargoCompanyFactory(code="inactive", is_active=False)
    package = packed(seeded, api, skus={"A": 1})
    before = world()

    response = command(api, package, seeded.transition("SHIP_THE_PACKAGE_ADVANCED", 500, 550), params)

    assert response.status_code == 400
    assert response.json() == {"error": {**errors, "error_code": "commands_100_4"}, "status_code": 400}
    assert world() == before


# -- SHIP_THE_PACKAGE_BASIC -----------------------------------------------------------------------
def test_basic_ship_answers_204_with_an_empty_body(seeded, api):
    package = packed(seeded, api, skus={"A": 1})
    transition = seeded.transition("SHIP_THE_PACKAGE_BASIC", 500, 550)
    logs_before = StateTransitionLog.objects.count()

    response = command(api, package, transition)

    assert response.status_code == 204
    assert response.content == b""
    package = reload(package)
    assert (package.status, package.state_id) == (550, seeded.state(550).pk)
    assert package.state.status == package.status
    assert shipment_row(package)[0][0] == "shipped"
    assert Order.objects.get(pk=package.order_id).status == 500
    assert StateTransitionLog.objects.count() == logs_before + 1
    assert last_log(package) == logged(api, transition, seeded.state(500), seeded.state(550))


# -- UPDATE_PACKAGE_SHIPMENT_STATUS ---------------------------------------------------------------
@pytest.mark.parametrize(("destination", "shipment_status", "order_status"), [
    (560, "attempted_delivery", 500), (570, "delivery_failed", 500), (600, "delivered", 550)])
def test_update_shipment_status_moves_the_shipment_with_the_package(
        seeded, api, destination, shipment_status, order_status):
    package = packed(seeded, api, skus={"A": 1})
    assert command(api, package, seeded.transition("SHIP_THE_PACKAGE", 500, 550)).status_code == 200
    transition = seeded.transition("UPDATE_PACKAGE_SHIPMENT_STATUS", 550, destination)

    response = command(api, package, transition)

    assert response.status_code == 200
    package = reload(package)
    assert response.json() == seed_body(package)
    assert (package.status, package.state_id) == (destination, seeded.state(destination).pk)
    assert package.state.status == package.status
    assert shipment_row(package)[0][0] == shipment_status
    assert Order.objects.get(pk=package.order_id).status == order_status
    assert item_statuses(package) == [shipment_status]
    assert last_log(package) == logged(api, transition, seeded.state(550), seeded.state(destination))


def test_delivery_after_an_attempt_and_a_failure_ends_delivered(seeded, api):
    package = packed(seeded, api, skus={"A": 1})
    for source, destination in [(500, 550), (550, 560), (560, 570), (570, 600)]:
        code = "SHIP_THE_PACKAGE" if source == 500 else "UPDATE_PACKAGE_SHIPMENT_STATUS"
        assert command(api, package, seeded.transition(code, source, destination)).status_code == 200

    package = reload(package)
    assert (package.status, package.state_id) == (600, seeded.state(600).pk)
    assert shipment_row(package)[0][0] == "delivered"
    assert Order.objects.get(pk=package.order_id).status == 550


# -- UPDATE_SHIPMENT_INFO ------------------------------------------------------------------------
@pytest.mark.parametrize("status", [500, 550])
def test_update_shipment_info_changes_the_shipment_only(seeded, api, status):
    old_cargo = CargoCompanyFactory(code="yurtici")
    new_cargo = CargoCompanyFactory(code="mng")
    location = StockLocationFactory()
    package = packed(seeded, api, location=location, skus={"A": 1},
                     order=OrderFactory(cargo_company=old_cargo))
    if status == 550:
        assert command(api, package, seeded.transition("SHIP_THE_PACKAGE", 500, 550)).status_code == 200
    shipment_status = Shipment.objects.get(package=package).status
    stocks_before, order_before = stocks(location), Order.objects.get(pk=package.order_id).status
    transition = seeded.transition("UPDATE_SHIPMENT_INFO", status, status)
    params = {"cargo_company": "mng", "tracking_number": "MNG-1", "query_number": "Q-1"}

    response = command(api, package, transition, params)

    assert response.status_code == 200
    package = reload(package)
    assert response.json() == seed_body(package)
    assert (package.status, package.state_id) == (status, seeded.state(status).pk)
    assert shipment_row(package) == [(shipment_status, new_cargo.pk, "MNG-1", "Q-1", True)]
    assert stocks(location) == stocks_before
    assert Order.objects.get(pk=package.order_id).status == order_before
    assert last_log(package) == logged(api, transition, seeded.state(status), seeded.state(status),
                                       params)


def test_update_shipment_info_with_one_field_keeps_the_others(seeded, api):
    cargo = CargoCompanyFactory(code="yurtici")
    package = packed(seeded, api, skus={"A": 1}, order=OrderFactory(cargo_company=cargo))

    response = command(api, package, seeded.transition("UPDATE_SHIPMENT_INFO", 500, 500),
                       {"query_number": "Q-42"})

    assert response.status_code == 200
    assert shipment_row(package) == [("created", cargo.pk, "", "Q-42", True)]


@pytest.mark.parametrize(("params", "errors"), [
    ({}, {"non_field_errors": ["Give at least one of cargo_company, tracking_number, query_number."]}),
    ({"cargo_company": "nope"}, {"cargo_company": ["Unknown cargo company 'nope'."]}),
], ids=["empty", "unknown-cargo-company"])
def test_update_shipment_info_with_invalid_input_is_refused_and_changes_nothing(
        seeded, api, params, errors):
    package = packed(seeded, api, skus={"A": 1})
    before = world()

    response = command(api, package, seeded.transition("UPDATE_SHIPMENT_INFO", 500, 500), params)

    assert response.status_code == 400
    assert response.json() == {"error": {**errors, "error_code": "commands_100_4"}, "status_code": 400}
    assert world() == before


# -- READY_FOR_PICKUP, SELF_SERVICE_DELIVERY ------------------------------------------------------
def test_ready_for_pickup_then_self_service_delivery(seeded, api):
    location = StockLocationFactory(is_pickup_location=True)
    package = packed(seeded, api, location=location, skus={"A": 1})
    pickup = seeded.transition("READY_FOR_PICKUP", 500, 520)

    response = command(api, package, pickup)

    assert response.status_code == 200
    package = reload(package)
    assert response.json() == seed_body(package)
    assert (package.status, package.state_id) == (520, seeded.state(520).pk)
    assert package.state.status == package.status
    assert item_statuses(package) == ["ready_for_pickup"]
    assert shipment_row(package)[0][0] == "created"
    assert Order.objects.get(pk=package.order_id).status == 450
    assert last_log(package) == logged(api, pickup, seeded.state(500), seeded.state(520))

    collected = seeded.transition("SELF_SERVICE_DELIVERY", 520, 600)
    response = command(api, package, collected)

    assert response.status_code == 200
    package = reload(package)
    assert response.json() == seed_body(package)
    assert (package.status, package.state_id) == (600, seeded.state(600).pk)
    assert package.state.status == package.status
    assert item_statuses(package) == ["delivered"]
    assert shipment_row(package)[0][0] == "delivered"
    assert Order.objects.get(pk=package.order_id).status == 550
    assert quota(location) == 0
    assert last_log(package) == logged(api, collected, seeded.state(520), seeded.state(600))


# -- order status across packages (spec §1.3) -----------------------------------------------------
def test_order_with_one_package_packed_and_one_waiting_is_preparing(seeded, api):
    order = OrderFactory()
    first = make_package(order=order, skus={"A": 1})
    second = make_package(order=order, skus={"B": 1})

    assert command(api, first, seeded.transition("COMPLETE_PACKAGING", 100, 500)).status_code == 200

    assert (reload(first).status, reload(second).status) == (500, 100)
    assert Order.objects.get(pk=order.pk).status == 450


def test_order_is_shipped_only_when_every_package_is_shipped(seeded, api):
    order = OrderFactory()
    first = packed(seeded, api, order=order, skus={"A": 1})
    second = packed(seeded, api, order=order, skus={"B": 1})
    ship = seeded.transition("SHIP_THE_PACKAGE", 500, 550)

    assert command(api, first, ship).status_code == 200
    assert Order.objects.get(pk=order.pk).status == 450

    assert command(api, second, ship).status_code == 200
    assert Order.objects.get(pk=order.pk).status == 500


def test_order_with_one_package_delivered_and_one_shipped_is_shipped(seeded, api):
    order = OrderFactory()
    first = packed(seeded, api, order=order, skus={"A": 1})
    second = packed(seeded, api, order=order, skus={"B": 1})
    ship = seeded.transition("SHIP_THE_PACKAGE", 500, 550)
    assert command(api, first, ship).status_code == 200
    assert command(api, second, ship).status_code == 200

    response = command(api, first, seeded.transition("UPDATE_PACKAGE_SHIPMENT_STATUS", 550, 600))

    assert response.status_code == 200
    assert (reload(first).status, reload(second).status) == (600, 550)
    assert Order.objects.get(pk=order.pk).status == 500

    assert command(api, second, seeded.transition("UPDATE_PACKAGE_SHIPMENT_STATUS", 550, 600)
                   ).status_code == 200
    assert Order.objects.get(pk=order.pk).status == 550
