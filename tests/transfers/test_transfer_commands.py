"""Transfer command types through the API (spec §6): packages that need a transfer are built by
order intake with a transferable rule, exactly as production builds them; every command is run
through ``POST /transfer_orders/{id}/command/`` and refusals are shown to change nothing."""

from dataclasses import dataclass

import pytest
from django.contrib.contenttypes.models import ContentType

from commands.models import StateTransitionLog, Transition
from locations.models import CargoCompany, Reservation, Stock, StockLocation
from orders.models import Order
from packages.models import Package, PackageItem, Shipment
from planning.models import Rule, Scenario
from tests.factories import CargoCompanyFactory, ChannelFactory, StockLocationFactory
from tests.snapshots import db_snapshot
from transfers.models import TransferItem, TransferOrder

API = "/api/v1/oms/"
TS = "TransferStatus"


# -- the network: one store that sells, two transfer centers that hold stock ----------------------
@dataclass
class Network:
    store: StockLocation
    wh1: StockLocation      # transfer center, higher priority: the first choice
    wh2: StockLocation      # transfer center, lower priority: the fallback
    rule: Rule
    cargo: CargoCompany


@pytest.fixture
def net(seeded) -> Network:
    """Stock: store B:5; WH1 A:5, D:2, E:2; WH2 A:3, C:4, E:2. The only rule packs at the store
    and is transferable, so A, C, D, E reach the store by transfer and B is taken from the shelf."""
    ChannelFactory()
    cargo = CargoCompanyFactory(name="Yurtiçi Kargo", code="yurtici")
    store = StockLocationFactory(name="Kadıköy store", erp_code="ST1", stock_location_type="store",
                                 priority=10)
    wh1 = StockLocationFactory(name="Central warehouse", erp_code="WH1", stock_location_type="warehouse",
                               is_transfer_center=True, priority=5)
    wh2 = StockLocationFactory(name="Ankara warehouse", erp_code="WH2", stock_location_type="warehouse",
                               is_transfer_center=True, priority=1)
    for location, sku, quantity in [(store, "B", 5), (wh1, "A", 5), (wh1, "D", 2), (wh1, "E", 2),
                                    (wh2, "A", 3), (wh2, "C", 4), (wh2, "E", 2)]:
        Stock.objects.create(stock_location=location, sku=sku, quantity=quantity)
    scenario = Scenario.objects.create(name="Store with transfers", default_stock_location=store)
    rule = Rule.objects.create(scenario=scenario, position=0, name="Store, transferable", transferable=True)
    rule.stock_locations.set([store])
    return Network(store=store, wh1=wh1, wh2=wh2, rule=rule, cargo=cargo)


# -- helpers ------------------------------------------------------------------------------------
def intake(api, number, items: dict[str, int]) -> Order:
    response = api.post(f"{API}orders/", {
        "number": number, "channel": "web", "cargo_company": "yurtici",
        "shipping_address": {"line": "Bağdat Cd. 1", "city": "Istanbul", "country": "TR"},
        "items": [{"sku": sku, "quantity": n, "price": "10.00"} for sku, n in items.items()]},
        format="json")
    assert response.status_code == 201, response.json()
    return Order.objects.get(number=number)


def run(api, transfer, transition, input_parameters=None):
    body = {"transition": transition.pk, "slug": transition.slug,
            "input_parameters": input_parameters or {}}
    return api.post(f"{API}transfer_orders/{transfer.pk}/command/", body, format="json")


def stock(location, sku) -> tuple[int, int] | None:
    row = Stock.objects.filter(stock_location=location, sku=sku).first()
    return None if row is None else (row.quantity, row.reserved)


def quota(location) -> int:
    return StockLocation.objects.get(pk=location.pk).quota


def reservations_of(package) -> list[tuple[str, str, int]]:
    return sorted(Reservation.objects.filter(package_item__package=package)
                  .values_list("stock_location__erp_code", "sku", "quantity"))


def transfers_of(package) -> list[tuple[str, str, str, list[tuple[str, int]]]]:
    return [(t.number, t.source.erp_code, t.status,
             [(i.sku, i.quantity) for i in t.transferitem_set.order_by("id")])
            for t in TransferOrder.objects.filter(package=package).select_related("source").order_by("id")]


def reload(obj):
    return type(obj).objects.select_related("state").get(pk=obj.pk)


def logs(obj) -> int:
    return StateTransitionLog.objects.filter(content_type=ContentType.objects.get_for_model(obj),
                                             object_id=obj.pk).count()


def last_log(obj) -> StateTransitionLog:
    return StateTransitionLog.objects.filter(content_type=ContentType.objects.get_for_model(obj),
                                             object_id=obj.pk).order_by("-id").first()


def world() -> dict:
    """db_snapshot() plus the transfer rows, for 'nothing changed' assertions."""
    return {**db_snapshot(),
            "transfers": sorted(TransferOrder.objects.values_list("id", "status", "state_id", "shipment_id",
                                                                 "modified_date")),
            "transfer_items": sorted(TransferItem.objects.values_list("id", "transfer_id", "status")),
            "package_count": Package.objects.count()}


def response_body(transfer) -> dict:
    transfer = reload(transfer)
    return {"transfer_id": transfer.pk, "transfer_number": transfer.number, "status": transfer.status,
            "package_id": transfer.package_id}


def expect_system_log(package, old_status, new_status, trigger, reason, book):
    row = last_log(package)
    assert (row.user_id, row.old_state_id, row.new_state_id) == (
        None, book.state(old_status).pk, book.state(new_status).pk)
    assert row.attributes == {"system": True, "reason": reason,
                              "trigger": {"model": "transferorder", "id": trigger.pk}}


# -- intake builds the transfer ---------------------------------------------------------------------
def test_intake_with_a_transferable_rule_creates_a_waiting_transfer(net, api):
    # when: A is missing at the store, B is on its shelf
    order = intake(api, "1001", {"A": 2, "B": 1})

    # then: one package at the store waiting for a transfer of A from the first-choice center
    package = Package.objects.get(order=order)
    assert (package.number, package.stock_location_id, package.status) == ("1001P1", net.store.pk, 300)
    assert transfers_of(package) == [("1001P1T1", "WH1", "waiting", [("A", 2)])]
    assert reservations_of(package) == [("ST1", "B", 1), ("WH1", "A", 2)]
    assert (stock(net.wh1, "A"), stock(net.store, "B"), stock(net.store, "A")) == ((5, 2), (5, 1), None)
    assert quota(net.store) == 1 and quota(net.wh1) == 0
    assert Order.objects.get(pk=order.pk).status == 400


# -- TRANSFER_READY_FOR_DISPATCH / TRANSFER_ORDER_ADVANCED ----------------------------------------
def test_ready_for_dispatch_moves_the_transfer_only(net, api, seeded):
    order = intake(api, "1001", {"A": 2})
    package, transfer = Package.objects.get(order=order), TransferOrder.objects.get(order=order)
    before = world()
    transition = seeded.transition("TRANSFER_READY_FOR_DISPATCH", "waiting", "ready_to_shipment")

    response = run(api, transfer, transition)

    assert response.status_code == 200
    transfer = reload(transfer)
    assert (transfer.status, transfer.state_id) == (
        "ready_to_shipment", seeded.state("ready_to_shipment", TS).pk)
    assert list(transfer.transferitem_set.values_list("status", flat=True)) == ["ready_to_shipment"]
    assert transfer.shipment_id is None
    assert logs(transfer) == 1
    row = last_log(transfer)
    assert (row.user_id, row.old_state_id, row.new_state_id) == (
        api.user.pk, seeded.state("waiting", TS).pk, seeded.state("ready_to_shipment", TS).pk)
    assert row.attributes["command"] == {"slug": transition.slug, "transition_id": transition.pk,
                                         "command": "TRANSFER_READY_FOR_DISPATCH"}
    # the package and every counter stay as they were; only the log grew by the transfer's row
    assert {k: v for k, v in world().items() if k not in ("transfers", "transfer_items", "logs")} == \
        {k: v for k, v in before.items() if k not in ("transfers", "transfer_items", "logs")}
    assert world()["logs"] == before["logs"] + 1
    assert reload(package).status == 300


def test_transfer_command_answers_with_the_new_status(net, api, seeded):
    order = intake(api, "1001", {"A": 2})
    transfer = TransferOrder.objects.get(order=order)

    response = run(api, transfer, seeded.transition("TRANSFER_READY_FOR_DISPATCH", "waiting",
                                                    "ready_to_shipment"))

    assert response.status_code == 200
    assert response.json() == {"transfer_id": transfer.pk, "transfer_number": "1001P1T1",
                               "status": "ready_to_shipment", "package_id": transfer.package_id}


@pytest.mark.parametrize("cargo_ref", ["code", "id"])
def test_order_advanced_records_the_transfer_shipment(net, api, seeded, cargo_ref):
    order = intake(api, "1001", {"A": 2})
    transfer = TransferOrder.objects.get(order=order)
    value = "yurtici" if cargo_ref == "code" else net.cargo.pk
    transition = seeded.transition("TRANSFER_ORDER_ADVANCED", "waiting", "ready_to_shipment")

    response = run(api, transfer, transition, {"cargo_company": value, "tracking_number": "YK123"})

    assert response.status_code == 200
    transfer = reload(transfer)
    assert transfer.status == "ready_to_shipment"
    shipment = Shipment.objects.get(pk=transfer.shipment_id)
    assert (shipment.package_id, shipment.cargo_company_id, shipment.tracking_number, shipment.status) == (
        None, net.cargo.pk, "YK123", "created")
    assert Shipment.objects.count() == 1
    assert last_log(transfer).attributes["input_parameters"] == {"cargo_company": value,
                                                                 "tracking_number": "YK123"}
    # the detail endpoint shows it
    body = api.get(f"{API}transfer_orders/{transfer.pk}/").json()
    shown = body["shipment"]
    assert (shown["id"], shown["tracking_number"], shown["cargo_company"]) == (
        shipment.pk, "YK123", net.cargo.pk)


@pytest.mark.parametrize(("params", "errors"), [
    ({"cargo_company": "nope", "tracking_number": "YK1"},
     {"cargo_company": ["Unknown cargo company 'nope'."]}),
    ({"cargo_company": 99999, "tracking_number": "YK1"},
     {"cargo_company": ["Unknown cargo company '99999'."]}),
    ({"tracking_number": "YK1"}, {"cargo_company": ["This field is required."]}),
    ({"cargo_company": "yurtici"}, {"tracking_number": ["This field is required."]}),
])
def test_order_advanced_with_bad_input_is_400_and_changes_nothing(net, api, seeded, params, errors):
    order = intake(api, "1001", {"A": 2})
    transfer = TransferOrder.objects.get(order=order)
    before = world()

    response = run(api, transfer, seeded.transition("TRANSFER_ORDER_ADVANCED", "waiting",
                                                    "ready_to_shipment"), params)

    assert response.status_code == 400
    assert response.json() == {"error": {**errors, "error_code": "commands_100_4"}, "status_code": 400}
    assert world() == before


# -- TRANSFER_DISPATCH ----------------------------------------------------------------------------
@pytest.mark.parametrize("from_state", ["waiting", "ready_to_shipment"])
def test_dispatch_consumes_the_source_reservations(net, api, seeded, from_state):
    order = intake(api, "1001", {"A": 2, "B": 1})
    package, transfer = Package.objects.get(order=order), TransferOrder.objects.get(order=order)
    if from_state == "ready_to_shipment":
        assert run(api, transfer, seeded.transition("TRANSFER_READY_FOR_DISPATCH", "waiting",
                                                    "ready_to_shipment")).status_code == 200
    assert stock(net.wh1, "A") == (5, 2)

    response = run(api, transfer, seeded.transition("TRANSFER_DISPATCH", from_state, "in_transit"))

    assert response.status_code == 200
    transfer = reload(transfer)
    assert (transfer.status, transfer.state_id) == ("in_transit", seeded.state("in_transit", TS).pk)
    assert stock(net.wh1, "A") == (3, 0)          # the two units left the center
    assert stock(net.store, "A") is None          # and have not arrived yet
    assert reservations_of(package) == [("ST1", "B", 1)]  # the WH1 reservation row is gone
    assert (reload(package).status, quota(net.store), quota(net.wh1)) == (300, 1, 0)
    assert logs(transfer) == (2 if from_state == "ready_to_shipment" else 1)
    assert logs(package) == 0


def test_dispatch_after_order_advanced_ships_the_transfer_shipment(net, api, seeded):
    order = intake(api, "1001", {"A": 2})
    transfer = TransferOrder.objects.get(order=order)
    run(api, transfer, seeded.transition("TRANSFER_ORDER_ADVANCED", "waiting", "ready_to_shipment"),
        {"cargo_company": "yurtici", "tracking_number": "YK123"})

    response = run(api, transfer, seeded.transition("TRANSFER_DISPATCH", "ready_to_shipment", "in_transit"))

    assert response.status_code == 200
    assert Shipment.objects.get(pk=reload(transfer).shipment_id).status == "shipped"


# -- TRANSFER_DELIVERED ---------------------------------------------------------------------------
def dispatch(api, book, transfer):
    response = run(api, transfer, book.transition("TRANSFER_DISPATCH", "waiting", "in_transit"))
    assert response.status_code == 200, response.json()


def deliver(api, book, transfer):
    return run(api, transfer, book.transition("TRANSFER_DELIVERED", "in_transit", "transferred"))


def test_delivered_stocks_the_destination_and_releases_the_package(net, api, seeded):
    order = intake(api, "1001", {"A": 2, "B": 1})
    package, transfer = Package.objects.get(order=order), TransferOrder.objects.get(order=order)
    dispatch(api, seeded, transfer)
    logs_before = StateTransitionLog.objects.count()

    response = deliver(api, seeded, transfer)

    assert response.status_code == 200
    transfer = reload(transfer)
    assert (transfer.status, transfer.state_id) == ("transferred", seeded.state("transferred", TS).pk)
    # the store received the two units and holds them for the package
    assert stock(net.store, "A") == (2, 2)
    assert stock(net.wh1, "A") == (3, 0)
    assert reservations_of(package) == [("ST1", "A", 2), ("ST1", "B", 1)]
    # the last open transfer is delivered: 300 -> 100, logged as a system transition
    package = reload(package)
    assert (package.status, package.state_id) == (100, seeded.state(100).pk)
    assert list(package.packageitem_set.values_list("status", flat=True)) == ["waiting", "waiting"]
    assert StateTransitionLog.objects.count() == logs_before + 2
    expect_system_log(package, 300, 100, transfer, "transfers delivered", seeded)
    # 300 and 100 both hold quota: the store's quota does not move
    assert quota(net.store) == 1
    assert Order.objects.get(pk=order.pk).status == 400
    # the released package can now be packed from the store's shelf
    packed = api.post(f"{API}packages/{package.pk}/command/", {
        "transition": seeded.transition("COMPLETE_PACKAGING", 100, 500).pk}, format="json")
    assert packed.status_code == 200
    assert (stock(net.store, "A"), stock(net.store, "B")) == ((0, 0), (4, 0))


def test_delivered_after_order_advanced_delivers_the_transfer_shipment(net, api, seeded):
    order = intake(api, "1001", {"A": 2})
    transfer = TransferOrder.objects.get(order=order)
    run(api, transfer, seeded.transition("TRANSFER_ORDER_ADVANCED", "waiting", "ready_to_shipment"),
        {"cargo_company": "yurtici", "tracking_number": "YK123"})
    run(api, transfer, seeded.transition("TRANSFER_DISPATCH", "ready_to_shipment", "in_transit"))

    assert deliver(api, seeded, transfer).status_code == 200

    assert Shipment.objects.get(pk=reload(transfer).shipment_id).status == "delivered"


def test_delivered_adds_to_an_existing_destination_stock_row(net, api, seeded):
    # given: the store already has one A, all reserved by another package
    Stock.objects.create(stock_location=net.store, sku="A", quantity=1)
    net.rule.transferable = False
    net.rule.save()
    other = Package.objects.get(order=intake(api, "1000", {"A": 1}))
    net.rule.transferable = True
    net.rule.save()
    assert (other.status, stock(net.store, "A")) == (100, (1, 1))
    order = intake(api, "1001", {"A": 2})
    package, transfer = Package.objects.get(order=order), TransferOrder.objects.get(order=order)
    dispatch(api, seeded, transfer)

    assert deliver(api, seeded, transfer).status_code == 200

    assert stock(net.store, "A") == (3, 3)
    assert reservations_of(package) == [("ST1", "A", 2)]
    assert reservations_of(other) == [("ST1", "A", 1)]
    assert quota(net.store) == 2


def test_package_is_released_only_when_its_last_transfer_is_delivered(net, api, seeded):
    # given: A comes from WH1 (first choice), C only exists at WH2: two transfers
    order = intake(api, "1001", {"A": 1, "C": 1})
    package = Package.objects.get(order=order)
    assert transfers_of(package) == [("1001P1T1", "WH1", "waiting", [("A", 1)]),
                                      ("1001P1T2", "WH2", "waiting", [("C", 1)])]
    t1, t2 = TransferOrder.objects.filter(package=package).order_by("id")
    dispatch(api, seeded, t1)
    dispatch(api, seeded, t2)

    # when the first arrives: the package still waits for the second
    assert deliver(api, seeded, t1).status_code == 200
    assert (reload(package).status, logs(package), quota(net.store)) == (300, 0, 1)
    assert (stock(net.store, "A"), stock(net.store, "C")) == ((1, 1), None)

    # when the second arrives: released, once, by a system transition triggered by it
    assert deliver(api, seeded, t2).status_code == 200
    package = reload(package)
    assert (package.status, logs(package), quota(net.store)) == (100, 1, 1)
    expect_system_log(package, 300, 100, t2, "transfers delivered", seeded)
    assert (stock(net.store, "A"), stock(net.store, "C")) == ((1, 1), (1, 1))
    assert (stock(net.wh1, "A"), stock(net.wh2, "C")) == ((4, 0), (3, 0))
    assert reservations_of(package) == [("ST1", "A", 1), ("ST1", "C", 1)]


def test_system_release_is_visible_in_the_state_transition_log_api(net, api, seeded):
    order = intake(api, "1001", {"A": 2})
    package, transfer = Package.objects.get(order=order), TransferOrder.objects.get(order=order)
    dispatch(api, seeded, transfer)
    deliver(api, seeded, transfer)

    response = api.get(f"{API}state-transition-logs/", {"object_id": package.pk, "content_type": "package"})

    assert response.status_code == 200
    rows = response.json()["results"]
    assert len(rows) == 1
    assert (rows[0]["old_state"], rows[0]["new_state"], rows[0]["user"]) == (
        seeded.state(300).pk, seeded.state(100).pk, None)
    assert rows[0]["attributes"]["system"] is True
    transfer_rows = api.get(f"{API}state-transition-logs/",
                            {"object_id": transfer.pk, "content_type": "transferorder"}).json()["results"]
    assert len(transfer_rows) == 2


# -- wrong-state refusals -----------------------------------------------------------------------------
@pytest.mark.parametrize(("command", "transition_from", "transition_to", "transfer_state"), [
    ("TRANSFER_DELIVERED", "in_transit", "transferred", "waiting"),
    ("TRANSFER_DELIVERED", "in_transit", "transferred", "ready_to_shipment"),
    ("TRANSFER_READY_FOR_DISPATCH", "waiting", "ready_to_shipment", "in_transit"),
    ("TRANSFER_DISPATCH", "waiting", "in_transit", "ready_to_shipment"),
    ("TRANSFER_DISPATCH", "ready_to_shipment", "in_transit", "transferred"),
    # "not-found / out-of-stock can no longer run" once the transfer is ready for dispatch
    ("TRANSFER_PRODUCT_NOT_FOUND", "waiting", "not_found", "ready_to_shipment"),
    ("TRANSFER_OUT_OF_STOCK", "waiting", "out_of_stock", "ready_to_shipment"),
])
def test_command_from_the_wrong_state_is_refused_and_changes_nothing(
        net, api, seeded, command, transition_from, transition_to, transfer_state):
    order = intake(api, "1001", {"A": 2})
    transfer = TransferOrder.objects.get(order=order)
    path = {"waiting": [],
            "ready_to_shipment": [("TRANSFER_READY_FOR_DISPATCH", "waiting", "ready_to_shipment")],
            "in_transit": [("TRANSFER_DISPATCH", "waiting", "in_transit")],
            "transferred": [("TRANSFER_DISPATCH", "waiting", "in_transit"),
                            ("TRANSFER_DELIVERED", "in_transit", "transferred")]}[transfer_state]
    for step in path:
        assert run(api, transfer, seeded.transition(*step)).status_code == 200
    assert reload(transfer).status == transfer_state
    item = TransferItem.objects.get(transfer=transfer)
    params = {"transfer_items": [item.pk]} if command == "TRANSFER_OUT_OF_STOCK" else {}
    before = world()

    response = run(api, transfer, seeded.transition(command, transition_from, transition_to), params)

    assert response.status_code == 406
    assert response.json() == {"error": {
        "non_field_errors": "Command definition is not allowed! Check source & destination states of "
                            "command to be created", "error_code": "commands_100_1"}, "status_code": 406}
    assert world() == before


def test_a_package_transition_on_a_transfer_is_not_found(net, api, seeded):
    order = intake(api, "1001", {"A": 2})
    transfer = TransferOrder.objects.get(order=order)
    before = world()

    response = run(api, transfer, seeded.transition("COMPLETE_PACKAGING", 100, 500))

    assert response.status_code == 406
    assert response.json()["error"]["error_code"] == "commands_100_2"
    assert world() == before


# -- TRANSFER_PRODUCT_NOT_FOUND --------------------------------------------------------------------
def test_product_not_found_resources_from_another_center(net, api, seeded):
    order = intake(api, "1001", {"A": 2, "B": 1})
    package, transfer = Package.objects.get(order=order), TransferOrder.objects.get(order=order)
    logs_before = StateTransitionLog.objects.count()

    response = run(api, transfer, seeded.transition("TRANSFER_PRODUCT_NOT_FOUND", "waiting", "not_found"))

    assert response.status_code == 200
    transfer = reload(transfer)
    assert (transfer.status, transfer.state_id) == ("not_found", seeded.state("not_found", TS).pk)
    assert transfers_of(package) == [("1001P1T1", "WH1", "not_found", [("A", 2)]),
                                      ("1001P1T2", "WH2", "waiting", [("A", 2)])]
    new = TransferOrder.objects.get(number="1001P1T2")
    assert (new.destination_id, new.order_id, new.state_id) == (
        net.store.pk, order.pk, seeded.state("waiting", TS).pk)
    # the reservation moved from WH1 to WH2; WH1's stock of A is written down to what others reserve
    assert reservations_of(package) == [("ST1", "B", 1), ("WH2", "A", 2)]
    assert (stock(net.wh1, "A"), stock(net.wh2, "A")) == ((0, 0), (3, 2))
    # the package keeps waiting for the new transfer; only the transfer's own row was written
    assert (reload(package).status, quota(net.store)) == (300, 1)
    assert StateTransitionLog.objects.count() == logs_before + 1
    assert Package.objects.filter(order=order).count() == 1


def test_product_not_found_never_resources_from_the_same_center(net, api, seeded):
    # given: D exists only at WH1 (2 units), the package needs 2: no other center has it
    order = intake(api, "1001", {"D": 2, "B": 1})
    package, transfer = Package.objects.get(order=order), TransferOrder.objects.get(order=order)
    assert transfers_of(package) == [("1001P1T1", "WH1", "waiting", [("D", 2)])]
    d_item = PackageItem.objects.get(package=package, sku="D")

    response = run(api, transfer, seeded.transition("TRANSFER_PRODUCT_NOT_FOUND", "waiting", "not_found"))

    # then: D leaves for a package in 920 at the package's location; the rest is released to 100
    assert response.status_code == 200
    assert transfers_of(package) == [("1001P1T1", "WH1", "not_found", [("D", 2)])]
    packages = list(Package.objects.filter(order=order).order_by("id"))
    assert [(p.number, p.status, p.stock_location_id) for p in packages] == [
        ("1001P1", 100, net.store.pk), ("1001P2", 920, net.store.pk)]
    out_of_stock = packages[1]
    assert list(out_of_stock.packageitem_set.values_list("pk", "sku", "quantity", "status")) == [
        (d_item.pk, "D", 2, "out_of_stock")]
    assert list(package.packageitem_set.values_list("sku", "status")) == [("B", "waiting")]
    assert reservations_of(package) == [("ST1", "B", 1)]
    assert reservations_of(out_of_stock) == []
    assert stock(net.wh1, "D") == (0, 0)
    # the original package left 300 for 100 (both hold quota); the 920 package holds none
    assert quota(net.store) == 1
    expect_system_log(package, 300, 100, transfer, "transfer re-sourced", seeded)
    assert Order.objects.get(pk=order.pk).status == 400


def test_items_no_center_can_give_wait_in_920_at_the_scenario_default_location(net, api, seeded):
    # given: the scenario's default location is not the store that packs
    default = StockLocationFactory(name="Returns desk", erp_code="DEF")
    Scenario.objects.filter(pk=net.rule.scenario_id).update(default_stock_location=default)
    order = intake(api, "1001", {"D": 2, "B": 1})
    transfer = TransferOrder.objects.get(order=order)

    response = run(api, transfer, seeded.transition("TRANSFER_PRODUCT_NOT_FOUND", "waiting", "not_found"))

    assert response.status_code == 200
    assert [(p.number, p.status, p.stock_location_id) for p in Package.objects.filter(order=order)
            .order_by("id")] == [("1001P1", 100, net.store.pk), ("1001P2", 920, default.pk)]
    assert (quota(net.store), quota(default)) == (1, 0)


def test_product_not_found_with_nothing_left_cancels_the_emptied_package(net, api, seeded):
    order = intake(api, "1001", {"D": 2})
    package, transfer = Package.objects.get(order=order), TransferOrder.objects.get(order=order)

    response = run(api, transfer, seeded.transition("TRANSFER_PRODUCT_NOT_FOUND", "waiting", "not_found"))

    assert response.status_code == 200
    packages = list(Package.objects.filter(order=order).order_by("id"))
    assert [(p.number, p.status, p.stock_location_id, p.packageitem_set.count()) for p in packages] == [
        ("1001P1", 950, net.store.pk, 0), ("1001P2", 920, net.store.pk, 1)]
    expect_system_log(package, 300, 950, transfer, "no items left", seeded)
    assert quota(net.store) == 0
    assert stock(net.wh1, "D") == (0, 0)
    assert Reservation.objects.count() == 0
    # one live package, not packed: the order is still approved, not cancelled
    assert Order.objects.get(pk=order.pk).status == 400


def test_product_not_found_keeps_the_package_waiting_for_its_other_transfer(net, api, seeded):
    # given: D (WH1 only) and C (WH2 only): two transfers; D's is not found
    order = intake(api, "1001", {"D": 1, "C": 1})
    package = Package.objects.get(order=order)
    t1 = TransferOrder.objects.get(package=package, source=net.wh1)

    response = run(api, t1, seeded.transition("TRANSFER_PRODUCT_NOT_FOUND", "waiting", "not_found"))

    # then: D waits in 920; the package keeps waiting for C
    assert response.status_code == 200
    assert [(p.number, p.status) for p in Package.objects.filter(order=order).order_by("id")] == [
        ("1001P1", 300), ("1001P2", 920)]
    assert logs(package) == 0
    assert reservations_of(package) == [("WH2", "C", 1)]
    assert quota(net.store) == 1


# -- TRANSFER_OUT_OF_STOCK -----------------------------------------------------------------------------
def test_out_of_stock_resources_listed_items_elsewhere_and_writes_the_source_down(net, api, seeded):
    # given: another order holds one A at WH1; this one takes A:2 and E:1 from WH1
    intake(api, "1000", {"A": 1})
    order = intake(api, "1001", {"A": 2, "E": 1})
    package, transfer = Package.objects.get(order=order), TransferOrder.objects.get(order=order)
    assert transfers_of(package) == [("1001P1T1", "WH1", "waiting", [("A", 2), ("E", 1)])]
    assert stock(net.wh1, "A") == (5, 3)
    a_item = TransferItem.objects.get(transfer=transfer, sku="A")

    # when: WH1 has no A after all
    response = run(api, transfer, seeded.transition("TRANSFER_OUT_OF_STOCK", "waiting", "out_of_stock"),
                   {"transfer_items": [a_item.pk]})

    # then: A comes from WH2; E (not listed) may come from WH1 again
    assert response.status_code == 200
    assert transfers_of(package) == [("1001P1T1", "WH1", "out_of_stock", [("A", 2), ("E", 1)]),
                                      ("1001P1T2", "WH1", "waiting", [("E", 1)]),
                                      ("1001P1T3", "WH2", "waiting", [("A", 2)])]
    assert reservations_of(package) == [("WH1", "E", 1), ("WH2", "A", 2)]
    # WH1's A is written down to what the other order still reserves there
    assert stock(net.wh1, "A") == (1, 1)
    assert stock(net.wh1, "E") == (2, 1)   # unlisted SKU: not written down
    assert stock(net.wh2, "A") == (3, 2)
    assert (reload(package).status, quota(net.store)) == (300, 2)
    assert last_log(transfer).attributes["input_parameters"] == {"transfer_items": [a_item.pk]}


def test_out_of_stock_with_no_other_source_moves_the_items_to_920(net, api, seeded):
    order = intake(api, "1001", {"D": 1, "B": 1})
    package, transfer = Package.objects.get(order=order), TransferOrder.objects.get(order=order)
    item = TransferItem.objects.get(transfer=transfer)

    response = run(api, transfer, seeded.transition("TRANSFER_OUT_OF_STOCK", "waiting", "out_of_stock"),
                   {"transfer_items": [item.pk]})

    assert response.status_code == 200
    assert [(p.number, p.status) for p in Package.objects.filter(order=order).order_by("id")] == [
        ("1001P1", 100), ("1001P2", 920)]
    assert stock(net.wh1, "D") == (0, 0)
    assert reservations_of(package) == [("ST1", "B", 1)]
    assert quota(net.store) == 1


@pytest.mark.parametrize("params", [{"transfer_items": [999999]}, "other-transfer-item"])
def test_out_of_stock_with_an_item_of_another_transfer_is_refused_and_changes_nothing(
        net, api, seeded, params):
    order = intake(api, "1001", {"A": 2})
    other = intake(api, "1002", {"A": 1})
    transfer = TransferOrder.objects.get(order=order)
    if params == "other-transfer-item":
        foreign = TransferItem.objects.get(transfer__order=other)
        params = {"transfer_items": [TransferItem.objects.get(transfer=transfer).pk, foreign.pk]}
        unknown = foreign.pk
    else:
        unknown = 999999
    before = world()

    response = run(api, transfer, seeded.transition("TRANSFER_OUT_OF_STOCK", "waiting", "out_of_stock"),
                   params)

    assert response.status_code == 406
    assert response.json() == {"error": {
        "non_field_errors": f"Transfer item(s) {unknown} do not belong to transfer 1001P1T1.",
        "error_code": "transfers_500_1"}, "status_code": 406}
    assert world() == before


@pytest.mark.parametrize(("params", "errors"), [
    ({}, {"transfer_items": ["This field is required."]}),
    ({"transfer_items": []}, {"transfer_items": ["This list may not be empty."]}),
    ({"transfer_items": ["x"]}, {"transfer_items": {"0": ["A valid integer is required."]}}),
])
def test_out_of_stock_with_bad_input_is_400_and_changes_nothing(net, api, seeded, params, errors):
    order = intake(api, "1001", {"A": 2})
    transfer = TransferOrder.objects.get(order=order)
    before = world()

    response = run(api, transfer, seeded.transition("TRANSFER_OUT_OF_STOCK", "waiting", "out_of_stock"),
                   params)

    assert response.status_code == 400
    assert response.json() == {"error": {**errors, "error_code": "commands_100_4"}, "status_code": 400}
    assert world() == before


# -- the detail's commands and the list filters -----------------------------------------------------
@pytest.mark.parametrize(("path", "expected"), [
    ([], ["TRANSFER_DISPATCH", "TRANSFER_ORDER_ADVANCED", "TRANSFER_OUT_OF_STOCK",
          "TRANSFER_PRODUCT_NOT_FOUND", "TRANSFER_READY_FOR_DISPATCH"]),
    ([("TRANSFER_READY_FOR_DISPATCH", "waiting", "ready_to_shipment")], ["TRANSFER_DISPATCH"]),
    ([("TRANSFER_DISPATCH", "waiting", "in_transit")], ["TRANSFER_DELIVERED"]),
    ([("TRANSFER_DISPATCH", "waiting", "in_transit"), ("TRANSFER_DELIVERED", "in_transit", "transferred")],
     []),
])
def test_transfer_detail_lists_the_transitions_of_its_state(net, api, seeded, path, expected):
    order = intake(api, "1001", {"A": 2})
    transfer = TransferOrder.objects.get(order=order)
    for step in path:
        assert run(api, transfer, seeded.transition(*step)).status_code == 200
    transfer = reload(transfer)

    body = api.get(f"{API}transfer_orders/{transfer.pk}/").json()

    assert body["state"]["id"] == transfer.state_id
    assert sorted(c["command"] for c in body["commands"]) == expected
    expected_ids = list(Transition.objects.filter(source_state=transfer.state_id, is_active=True)
                        .order_by("id").values_list("id", flat=True))
    assert [c["id"] for c in body["commands"]] == expected_ids
    assert all(c["source_state"] == transfer.state_id for c in body["commands"])


def test_transfer_orders_filters(net, api, seeded):
    # given: 1001 transfers to ST1 from WH1; 1002 packs at ST2 and gets C from WH2
    store2 = StockLocationFactory(name="Beşiktaş store", erp_code="ST2")
    first = intake(api, "1001", {"A": 2})
    net.rule.stock_locations.set([store2])
    second = intake(api, "1002", {"C": 1})
    t1, t2 = TransferOrder.objects.get(order=first), TransferOrder.objects.get(order=second)
    assert (t1.source_id, t1.destination_id, t2.source_id, t2.destination_id) == (
        net.wh1.pk, net.store.pk, net.wh2.pk, store2.pk)
    dispatch(api, seeded, t2)

    def ids(**params):
        response = api.get(f"{API}transfer_orders/", params)
        assert response.status_code == 200
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [t2.pk, t1.pk]
    assert ids(source__erp_code="WH1") == [t1.pk]
    assert ids(source__erp_code="WH2") == [t2.pk]
    assert ids(source__erp_code="ST1") == []
    assert ids(destination__erp_code="ST1") == [t1.pk]
    assert ids(destination__erp_code="ST2") == [t2.pk]
    assert ids(state__enum_value="waiting") == [t1.pk]
    assert ids(state__enum_value="in_transit") == [t2.pk]
    assert ids(state__enum_value="transferred") == []
    assert ids(order__number="1001") == [t1.pk]
    assert ids(order__number="1002") == [t2.pk]
    assert ids(order__number="9999") == []
    assert ids(source__erp_code="WH1", state__enum_value="in_transit") == []


# -- a package whose cancellation is pending when its last transfer arrives --------------------------
def test_rejected_cancellation_after_the_last_transfer_arrived_leaves_the_package_waiting(
        net, api, seeded):
    order = intake(api, "1001", {"A": 2})
    package, transfer = Package.objects.get(order=order), TransferOrder.objects.get(order=order)

    def package_command(transition, params=None):
        return api.post(f"{API}packages/{package.pk}/command/",
                        {"transition": transition.pk, "input_parameters": params or {}}, format="json")

    assert package_command(seeded.transition("REQUEST_CANCELLATION", 300, 50)).status_code == 200
    dispatch(api, seeded, transfer)
    assert deliver(api, seeded, transfer).status_code == 200
    assert reload(package).status == 50        # a pending cancellation is not interrupted

    # when: the store refuses the cancellation
    assert package_command(seeded.transition("REJECT_CANCELLATION", 50)).status_code == 200

    # then: no transfer is open any more, so the package waits for packing (spec §6), not for a
    # transfer that already arrived
    package = reload(package)
    assert (package.status, package.state_id) == (100, seeded.state(100).pk)
    assert quota(net.store) == 1
    assert package_command(seeded.transition("COMPLETE_PACKAGING", 100, 500)).status_code == 200
