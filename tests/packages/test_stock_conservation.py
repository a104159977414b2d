"""Issue 9 item 3: packing never takes units that are not there. Each item's units come from its
reservation or, when it has none (PKG_DEALLOCATE_RESERVATIONS released it), from the location's
*free* stock (on hand minus what other packages reserve), summed per SKU over the package's lines.
Not enough free stock refuses the pack (406 ``locations_400_2``, naming SKU and location) and
changes nothing."""

import pytest

from locations.models import Stock
from orders.models import OrderItem
from packages.models import PackageItem
from tests.factories import OrderFactory, StockLocationFactory, make_package
from tests.packages.helpers import command, stocks, world

PACK = ("COMPLETE_PACKAGING", 100, 500)


def deallocate(api, seeded, package):
    released = command(api, package, seeded.transition("PKG_DEALLOCATE_RESERVATIONS", 100, 200))
    assert released.status_code == 200, released.content
    # back to Waiting the way an operator would: the "Move" command
    moved = command(api, package, seeded.transition("PKG_STATE_TRANSITION", 200, 100))
    assert moved.status_code == 200, moved.content


@pytest.mark.parametrize("pack", [PACK, ("COMPLETE_PACKAGING_WITHOUT_SHIPMENT", 100, 500),
                                  ("CHANNEL_BASED_COMPLETE_PACKAGING", 100, 500)])
def test_a_released_package_cannot_pack_units_another_package_reserved(seeded, api, pack):
    # given: 2 units on the shelf; the first package released them, the second reserved them
    store = StockLocationFactory(erp_code="ST-KDK")
    released = make_package(location=store, skus={"TSH-M": 2}, stock=2)
    deallocate(api, seeded, released)
    holder = make_package(location=store, skus={"TSH-M": 2})
    assert stocks(store) == {"TSH-M": (2, 2)}
    before = world()

    # when: the released package is packed
    response = command(api, released, seeded.transition(*pack))

    # then: refused, naming SKU, location and the shortfall; nothing changed
    assert response.status_code == 406, response.content
    assert response.json() == {"error": {
        "non_field_errors": "Not enough free stock of TSH-M at ST-KDK: 2 needed, 0 free.",
        "error_code": "locations_400_2"}, "status_code": 406}
    assert world() == before
    # and the package that holds the reservation still packs its 2 units
    assert command(api, holder, seeded.transition(*PACK)).status_code == 200
    assert stocks(store) == {"TSH-M": (0, 0)}


def test_a_released_package_packs_from_free_stock(seeded, api):
    store = StockLocationFactory()
    package = make_package(location=store, skus={"A": 2, "B": 1}, stock=5)
    deallocate(api, seeded, package)
    other = make_package(location=store, skus={"A": 1})
    assert stocks(store) == {"A": (5, 1), "B": (5, 0)}

    response = command(api, package, seeded.transition(*PACK))

    assert response.status_code == 200, response.content
    # 2 of A and 1 of B left the shelf; the other package's reservation is untouched
    assert stocks(store) == {"A": (3, 1), "B": (4, 0)}
    assert command(api, other, seeded.transition(*PACK)).status_code == 200
    assert stocks(store) == {"A": (2, 0), "B": (4, 0)}


def test_two_lines_of_one_sku_take_both_lines_units(seeded, api):
    # given: an order with two lines of the same SKU (1 + 2 units) in one package, released
    store = StockLocationFactory()
    package = make_package(location=store, skus={"A": 1}, stock=10)
    order_item = OrderItem.objects.create(order=package.order, sku="A", quantity=2, price="10.00")
    PackageItem.objects.create(package=package, order_item=order_item, sku="A", quantity=2,
                               status="waiting")
    deallocate(api, seeded, package)
    assert stocks(store) == {"A": (10, 0)}

    response = command(api, package, seeded.transition(*PACK))

    assert response.status_code == 200, response.content
    assert stocks(store) == {"A": (7, 0)}


def test_two_lines_of_one_sku_are_refused_when_only_one_lines_units_are_free(seeded, api):
    store = StockLocationFactory(erp_code="ST-BSK")
    package = make_package(location=store, skus={"A": 2}, stock=3)
    order_item = OrderItem.objects.create(order=package.order, sku="A", quantity=2, price="10.00")
    PackageItem.objects.create(package=package, order_item=order_item, sku="A", quantity=2,
                               status="waiting")
    deallocate(api, seeded, package)
    before = world()

    response = command(api, package, seeded.transition(*PACK))

    assert response.status_code == 406
    assert response.json()["error"] == {
        "non_field_errors": "Not enough free stock of A at ST-BSK: 4 needed, 3 free.",
        "error_code": "locations_400_2"}
    assert world() == before


def test_a_sku_without_a_stock_row_is_refused(seeded, api):
    store = StockLocationFactory(erp_code="ST-ANK")
    package = make_package(location=store, skus={"A": 1})
    deallocate(api, seeded, package)
    Stock.objects.filter(stock_location=store, sku="A").delete()
    before = world()

    response = command(api, package, seeded.transition(*PACK))

    assert response.status_code == 406
    assert response.json()["error"]["non_field_errors"] == (
        "Not enough free stock of A at ST-ANK: 1 needed, 0 free.")
    assert world() == before


def test_a_reserved_package_packs_its_reservation_even_when_no_unit_is_free(seeded, api):
    store = StockLocationFactory()
    package = make_package(location=store, skus={"A": 2}, stock=2, order=OrderFactory())
    assert stocks(store) == {"A": (2, 2)}

    response = command(api, package, seeded.transition(*PACK))

    assert response.status_code == 200
    assert stocks(store) == {"A": (0, 0)}
