"""Packing command types through the API (spec §4, §5): reservations consumed, the shipment
created (or not), quota released when held, items and order follow the package."""

import pytest

from commands.models import StateTransitionLog
from orders.models import Order
from packages.models import Shipment
from tests.factories import CargoCompanyFactory, OrderFactory, StockLocationFactory, make_package
from tests.packages.helpers import (
    command,
    item_statuses,
    last_log,
    logged,
    quota,
    reload,
    reservations,
    seed_body,
    stocks,
    world,
)

PACKABLE = [100, 200, 400]


# -- helpers of this file (shared ones: tests/packages/helpers.py) ---------------------------------
# -- COMPLETE_PACKAGING ---------------------------------------------------------------------------
@pytest.mark.parametrize("source", PACKABLE)
def test_complete_packaging_consumes_reservations_and_creates_the_shipment(seeded, api, source):
    # given: a package reserving A x2, B x1 next to another package also reserving A
    order_cargo = CargoCompanyFactory(code="yurtici")
    location = StockLocationFactory(default_cargo_company=CargoCompanyFactory(code="aras"))
    package = make_package(location=location, skus={"A": 2, "B": 1}, status=source,
                           order=OrderFactory(cargo_company=order_cargo))
    other = make_package(location=location, skus={"A": 3}, status=100)
    held = 1 if source < 400 else 0
    assert quota(location) == 1 + held
    assert stocks(location) == {"A": (10, 5), "B": (10, 1)}
    transition = seeded.transition("COMPLETE_PACKAGING", source, 500)
    logs_before = StateTransitionLog.objects.count()

    # when
    response = command(api, package, transition)

    # then
    assert response.status_code == 200
    package = reload(package)
    assert response.json() == seed_body(package)
    assert (package.status, package.state_id) == (500, seeded.state(500).pk)
    assert package.state.status == package.status
    assert stocks(location) == {"A": (8, 3), "B": (9, 0)}
    assert reservations(package) == []
    assert reservations(other) == [("A", 3)]
    assert quota(location) == 1
    shipment = Shipment.objects.get(package=package)
    assert (shipment.status, shipment.cargo_company_id, shipment.tracking_number,
            shipment.query_number, shipment.shipped_date, shipment.has_shipping_document) == (
        "created", order_cargo.pk, "", "", None, True)
    assert item_statuses(package) == ["packed", "packed"]
    assert item_statuses(other) == ["waiting"]
    assert Order.objects.get(pk=package.order_id).status == 450
    assert StateTransitionLog.objects.count() == logs_before + 1
    assert last_log(package) == logged(api, transition, seeded.state(source), seeded.state(500))


def test_complete_packaging_takes_the_locations_default_cargo_company_when_the_order_has_none(
        seeded, api):
    default = CargoCompanyFactory(code="mng")
    package = make_package(location=StockLocationFactory(default_cargo_company=default),
                           skus={"A": 1}, order=OrderFactory(cargo_company=None))

    response = command(api, package, seeded.transition("COMPLETE_PACKAGING", 100, 500))

    assert response.status_code == 200
    assert list(Shipment.objects.filter(package=package).values_list("status", "cargo_company_id")) == [
        ("created", default.pk)]


def test_complete_packaging_twice_is_refused_and_changes_nothing(seeded, api):
    package = make_package(skus={"A": 1})
    transition = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    assert command(api, package, transition).status_code == 200
    before = world()

    response = command(api, package, transition)

    assert response.status_code == 406
    assert response.json() == {"error": {
        "non_field_errors": "Command definition is not allowed! Check source & destination states "
                            "of command to be created",
        "error_code": "commands_100_1"}, "status_code": 406}
    assert world() == before


def test_packing_the_only_package_of_an_order_from_ready_for_packaging_keeps_quota_untouched(
        seeded, api):
    # 400 holds no quota (spec §4), so leaving it for 500 must not decrement anything.
    location = StockLocationFactory()
    package = make_package(location=location, skus={"A": 1}, status=400)
    assert quota(location) == 0

    response = command(api, package, seeded.transition("COMPLETE_PACKAGING", 400, 500))

    assert response.status_code == 200
    assert quota(location) == 0
    assert reload(package).status == 500


# -- COMPLETE_PACKAGING_WITHOUT_SHIPMENT ----------------------------------------------------------
@pytest.mark.parametrize("source", PACKABLE)
def test_complete_packaging_without_shipment_consumes_stock_and_creates_no_shipment(
        seeded, api, source):
    location = StockLocationFactory(default_cargo_company=CargoCompanyFactory(code="aras"))
    package = make_package(location=location, skus={"A": 2, "B": 1}, status=source,
                           order=OrderFactory(cargo_company=CargoCompanyFactory(code="yurtici")))
    assert quota(location) == (1 if source < 400 else 0)
    transition = seeded.transition("COMPLETE_PACKAGING_WITHOUT_SHIPMENT", source, 500)
    logs_before = StateTransitionLog.objects.count()

    response = command(api, package, transition)

    assert response.status_code == 200
    package = reload(package)
    assert response.json() == seed_body(package)
    assert (package.status, package.state_id) == (500, seeded.state(500).pk)
    assert package.state.status == package.status
    assert stocks(location) == {"A": (8, 0), "B": (9, 0)}
    assert reservations(package) == []
    assert quota(location) == 0
    assert Shipment.objects.count() == 0
    assert item_statuses(package) == ["packed", "packed"]
    assert Order.objects.get(pk=package.order_id).status == 450
    assert StateTransitionLog.objects.count() == logs_before + 1
    assert last_log(package) == logged(api, transition, seeded.state(source), seeded.state(500))


# -- CHANNEL_BASED_COMPLETE_PACKAGING -------------------------------------------------------------
@pytest.mark.parametrize("source", PACKABLE)
def test_channel_based_packaging_uses_the_marketplace_tracking_number_and_no_document(
        seeded, api, source):
    cargo = CargoCompanyFactory(code="trendyol-express")
    location = StockLocationFactory()
    package = make_package(location=location, skus={"A": 1}, status=source,
                           order=OrderFactory(cargo_company=cargo, tracking_number="TY-7290011"))
    transition = seeded.transition("CHANNEL_BASED_COMPLETE_PACKAGING", source, 500)
    logs_before = StateTransitionLog.objects.count()

    response = command(api, package, transition)

    assert response.status_code == 200
    package = reload(package)
    assert response.json() == seed_body(package)
    assert (package.status, package.state_id) == (500, seeded.state(500).pk)
    assert package.state.status == package.status
    shipment = Shipment.objects.get(package=package)
    assert (shipment.status, shipment.cargo_company_id, shipment.tracking_number,
            shipment.has_shipping_document, shipment.shipped_date) == (
        "created", cargo.pk, "TY-7290011", False, None)
    assert stocks(location) == {"A": (9, 0)}
    assert reservations(package) == []
    assert quota(location) == 0
    assert item_statuses(package) == ["packed"]
    assert Order.objects.get(pk=package.order_id).status == 450
    assert StateTransitionLog.objects.count() == logs_before + 1
    assert last_log(package) == logged(api, transition, seeded.state(source), seeded.state(500))
