"""The whole command catalogue of spec §5 and §6 through the API: every command type is seeded,
listed in the ``commands`` of an object in each of its source states, and runs (none is refused as
not built); then the command types with side effects on others (cancel, deallocate, shipping) and
the order's derived status (§1.3) after each command."""

from dataclasses import dataclass
from itertools import count

import pytest
from django.contrib.contenttypes.models import ContentType

from commands.models import StateTransitionLog, Transition
from commands.registry import registry
from locations.models import CargoCompany, Reservation, Stock, StockLocation
from orders.models import Order
from packages.models import Package, PackageDenialReason, PackageItem, Shipment
from planning.models import Rule, Scenario
from tests.factories import CargoCompanyFactory, ChannelFactory, DenialReasonFactory, StockLocationFactory
from tests.snapshots import db_snapshot
from transfers.models import TransferItem, TransferOrder

API = "/api/v1/oms/"
SAME = "same state"
RESTORE = "remembered state"

# Spec §5, written out: command type -> (From, To).
PACKAGE_COMMAND_TYPES = {
    "PKG_STATE_TRANSITION": ({100, 150, 200, 400}, {100, 150, 200, 400}),
    "PKG_DEALLOCATE_RESERVATIONS": ({100}, {200}),
    "COMPLETE_PACKAGING": ({100, 200, 400}, {500}),
    "COMPLETE_PACKAGING_WITHOUT_SHIPMENT": ({100, 200, 400}, {500}),
    "CHANNEL_BASED_COMPLETE_PACKAGING": ({100, 200, 400}, {500}),
    "SHIP_THE_PACKAGE": ({500}, {550}),
    "SHIP_THE_PACKAGE_ADVANCED": ({500}, {550}),
    "SHIP_THE_PACKAGE_BASIC": ({500}, {550}),
    "UPDATE_PACKAGE_SHIPMENT_STATUS": ({550, 560, 570}, {560, 570, 600}),
    "UPDATE_SHIPMENT_INFO": ({500, 550, 560, 600}, SAME),
    "DETECTED_OUT_OF_STOCK_ITEM": ({100, 200}, {920}),
    "DETECTED_OUT_OF_STOCK_ITEM_ADVANCED": ({100, 200}, {920}),
    "REPACK": ({900, 920}, {100}),
    "PACKAGE_REFUSE": ({100, 150, 200}, {900}),
    "PACKED_FOR_REFUND": ({100, 920}, {1100}),
    "BLOCK_THE_PACKAGE": ({100, 150, 200, 400}, {350}),
    "UNBLOCK_THE_PACKAGE": ({350}, RESTORE),
    "UPDATE_INVOICE": ({500, 520, 550, 560, 570, 600}, SAME),   # "500 and later"
    "ASSIGN_PACKAGE_ITEMS_MANUALLY": ({100, 200}, {950}),
    "REQUEST_CANCELLATION": ({100, 150, 200, 300, 350, 400}, {50}),
    "REJECT_CANCELLATION": ({50}, RESTORE),
    "CANCEL_PACKAGE": ({50, 100, 150, 200, 300, 350, 400}, {950}),
    "READY_FOR_PICKUP": ({500}, {520}),
    "SELF_SERVICE_DELIVERY": ({520}, {600}),
}
# Spec §6.
TRANSFER_COMMAND_TYPES = {
    "TRANSFER_READY_FOR_DISPATCH": ({"waiting"}, {"ready_to_shipment"}),
    "TRANSFER_ORDER_ADVANCED": ({"waiting"}, {"ready_to_shipment"}),
    "TRANSFER_DISPATCH": ({"waiting", "ready_to_shipment"}, {"in_transit"}),
    "TRANSFER_DELIVERED": ({"in_transit"}, {"transferred"}),
    "TRANSFER_PRODUCT_NOT_FOUND": ({"waiting"}, {"not_found"}),
    "TRANSFER_OUT_OF_STOCK": ({"waiting"}, {"out_of_stock"}),
}
ALL_COMMAND_TYPES = [*PACKAGE_COMMAND_TYPES, *TRANSFER_COMMAND_TYPES]


# -- a small network and ways to bring a package or transfer into any state, through the API -------
@dataclass
class Shop:
    api: object
    book: object
    store: StockLocation      # sells B (on the shelf) and packs everything
    store2: StockLocation     # a second store with B, for manual planning and re-planning
    center: StockLocation     # transfer center holding A
    reason: PackageDenialReason
    cargo: CargoCompany
    numbers: count

    def intake(self, items: dict[str, int], *, tracking_number=None) -> Order:
        number = f"20{next(self.numbers):04d}"
        body = {"number": number, "channel": "web", "cargo_company": "yurtici",
                "shipping_address": {"city": "Istanbul"},
                "items": [{"sku": sku, "quantity": n, "price": "5.00"} for sku, n in items.items()]}
        if tracking_number:
            body["tracking_number"] = tracking_number
        response = self.api.post(f"{API}orders/", body, format="json")
        assert response.status_code == 201, response.json()
        return Order.objects.get(number=number)

    def run(self, obj, transition, params=None):
        kind = "transfer_orders" if isinstance(obj, TransferOrder) else "packages"
        return self.api.post(f"{API}{kind}/{obj.pk}/command/",
                             {"transition": transition.pk, "input_parameters": params or {}}, format="json")

    def step(self, obj, command, source, destination=None, params=None):
        response = self.run(obj, self.book.transition(command, source, destination), params)
        assert response.status_code in (200, 204), (command, response.content)

    def package(self, status: int) -> Package:
        """A package of a fresh order in ``status``, reached by the commands an operator would run."""
        if status == 300:
            return Package.objects.get(order=self.intake({"A": 1, "B": 1}))
        if status == 920:  # nothing has Z: planning puts the package in 920 at the default location
            return Package.objects.get(order=self.intake({"Z": 1}))
        package = Package.objects.get(order=self.intake({"B": 1}))
        for command, source, destination, params in self._path(status):
            self.step(package, command, source, destination, params)
        package = Package.objects.get(pk=package.pk)
        assert package.status == status
        return package

    def _path(self, status):
        pack = ("COMPLETE_PACKAGING", 100, 500, None)
        ship = ("SHIP_THE_PACKAGE", 500, 550, None)
        return {
            50: [("REQUEST_CANCELLATION", 100, 50, None)],
            100: [],
            150: [("PKG_STATE_TRANSITION", 100, 150, None)],
            200: [("PKG_STATE_TRANSITION", 100, 200, None)],
            350: [("BLOCK_THE_PACKAGE", 100, 350, {"reason": "inspection"})],
            400: [("PKG_STATE_TRANSITION", 100, 400, None)],
            500: [pack],
            520: [pack, ("READY_FOR_PICKUP", 500, 520, None)],
            550: [pack, ship],
            560: [pack, ship, ("UPDATE_PACKAGE_SHIPMENT_STATUS", 550, 560, None)],
            570: [pack, ship, ("UPDATE_PACKAGE_SHIPMENT_STATUS", 550, 570, None)],
            600: [pack, ship, ("UPDATE_PACKAGE_SHIPMENT_STATUS", 550, 600, None)],
            900: [("PACKAGE_REFUSE", 100, 900, {"denial_reason": self.reason.pk})],
            1100: [("PACKED_FOR_REFUND", 100, 1100, None)],
        }[status]

    def transfer(self, status: str) -> TransferOrder:
        transfer = TransferOrder.objects.get(package=self.package(300))
        path = {"waiting": [],
                "ready_to_shipment": [("TRANSFER_READY_FOR_DISPATCH", "waiting", "ready_to_shipment")],
                "in_transit": [("TRANSFER_DISPATCH", "waiting", "in_transit")]}[status]
        for command, source, destination in path:
            self.step(transfer, command, source, destination)
        return TransferOrder.objects.get(pk=transfer.pk)


@pytest.fixture
def shop(seeded, api) -> Shop:
    ChannelFactory()
    cargo = CargoCompanyFactory(name="Yurtiçi Kargo", code="yurtici")
    store = StockLocationFactory(name="Kadıköy store", erp_code="ST1", priority=10)
    store2 = StockLocationFactory(name="Beşiktaş store", erp_code="ST2", priority=5)
    center = StockLocationFactory(name="Central warehouse", erp_code="WH1", stock_location_type="warehouse",
                                  is_transfer_center=True)
    for location, sku, quantity in [(store, "B", 50), (store2, "B", 50), (center, "A", 50)]:
        Stock.objects.create(stock_location=location, sku=sku, quantity=quantity)
    scenario = Scenario.objects.create(name="Stores", default_stock_location=store)
    rule = Rule.objects.create(scenario=scenario, position=0, transferable=True)
    rule.stock_locations.set([store, store2])
    return Shop(api=api, book=seeded, store=store, store2=store2, center=center,
                reason=DenialReasonFactory(title="Damaged"), cargo=cargo, numbers=count(1))


def listed_commands(api, obj) -> list[str]:
    kind = "transfer_orders" if isinstance(obj, TransferOrder) else "packages"
    response = api.get(f"{API}{kind}/{obj.pk}/")
    assert response.status_code == 200
    return [c["command"] for c in response.json()["commands"]]


def stock(location, sku):
    row = Stock.objects.get(stock_location=location, sku=sku)
    return row.quantity, row.reserved


def quota(location) -> int:
    return StockLocation.objects.get(pk=location.pk).quota


def order_status(api, order) -> int:
    response = api.get(f"{API}orders/{order.pk}/")
    assert response.status_code == 200
    return response.json()["status"]


def logs_of(obj) -> list[StateTransitionLog]:
    return list(StateTransitionLog.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk).order_by("id"))


def reload(obj):
    return type(obj).objects.select_related("state").get(pk=obj.pk)


# -- the catalogue ----------------------------------------------------------------------------------
def test_the_catalogue_is_every_registered_command_type(db):
    assert sorted(registry.command_types) == sorted(ALL_COMMAND_TYPES)
    assert len(ALL_COMMAND_TYPES) == 30


@pytest.mark.parametrize("command", ALL_COMMAND_TYPES)
def test_command_type_is_seeded_with_the_spec_moves_and_is_built(seeded, command):
    enum_class = "PackageStatus" if command in PACKAGE_COMMAND_TYPES else "TransferStatus"
    sources, destinations = {**PACKAGE_COMMAND_TYPES, **TRANSFER_COMMAND_TYPES}[command]
    cast = int if enum_class == "PackageStatus" else str
    transitions = list(Transition.objects.filter(command=command).select_related(
        "source_state", "destination_state"))

    assert transitions, f"seed_transitions created no transition for {command}"
    assert registry.get(command).is_implemented
    assert {cast(t.source_state.enum_value) for t in transitions} == sources
    assert all(t.source_state.enum_class == enum_class for t in transitions)
    if destinations == RESTORE:
        assert {t.destination_state_id for t in transitions} == {None}
    elif destinations == SAME:
        assert all(t.destination_state_id == t.source_state_id for t in transitions)
    else:
        assert {cast(t.destination_state.enum_value) for t in transitions} == destinations
    # operators and integrations see every command; instore: tests/console/test_visibility_defaults.py
    assert all(t.is_active and {"oms_web", "third_party"} <= set(t.ui_visibility) for t in transitions)


@pytest.mark.parametrize("command", ALL_COMMAND_TYPES)
def test_command_type_is_listed_on_an_object_in_each_of_its_source_states(shop, api, command):
    if command in PACKAGE_COMMAND_TYPES:
        sources = sorted(PACKAGE_COMMAND_TYPES[command][0])
        objects = [shop.package(status) for status in sources]
    else:
        sources = sorted(TRANSFER_COMMAND_TYPES[command][0])
        objects = [shop.transfer(status) for status in sources]

    for source, obj in zip(sources, objects, strict=True):
        listed = listed_commands(api, obj)
        assert command in listed, (command, source, listed)
        expected = Transition.objects.filter(command=command, source_state=obj.state_id).count()
        assert listed.count(command) == expected >= 1


# Each command type run once from a source state with valid input: (source, destination, input,
# HTTP status, resulting status). ``input`` receives the shop and the object.
RUNS = {
    "PKG_STATE_TRANSITION": (100, 400, None, 200, 400),
    "PKG_DEALLOCATE_RESERVATIONS": (100, 200, None, 200, 200),
    "COMPLETE_PACKAGING": (100, 500, None, 200, 500),
    "COMPLETE_PACKAGING_WITHOUT_SHIPMENT": (200, 500, None, 200, 500),
    "CHANNEL_BASED_COMPLETE_PACKAGING": (400, 500, None, 200, 500),
    "SHIP_THE_PACKAGE": (500, 550, None, 200, 550),
    "SHIP_THE_PACKAGE_ADVANCED": (500, 550,
                                  lambda s, o: {"tracking_number": "YK9", "cargo_company": "yurtici"},
                                  200, 550),
    "SHIP_THE_PACKAGE_BASIC": (500, 550, None, 204, 550),
    "UPDATE_PACKAGE_SHIPMENT_STATUS": (560, 600, None, 200, 600),
    "UPDATE_SHIPMENT_INFO": (550, 550, lambda s, o: {"query_number": "Q1"}, 200, 550),
    "DETECTED_OUT_OF_STOCK_ITEM": (100, 920, lambda s, o: {"package_items": [o.packageitem_set.get().pk]},
                                   200, 920),
    "DETECTED_OUT_OF_STOCK_ITEM_ADVANCED": (
        200, 920, lambda s, o: {"package_items": [o.packageitem_set.get().pk]}, 200, 920),
    "REPACK": (900, 100, None, 200, 100),
    "PACKAGE_REFUSE": (150, 900, lambda s, o: {"denial_reason": s.reason.pk}, 200, 900),
    "PACKED_FOR_REFUND": (920, 1100, None, 200, 1100),
    "BLOCK_THE_PACKAGE": (400, 350, lambda s, o: {"reason": "audit"}, 200, 350),
    "UNBLOCK_THE_PACKAGE": (350, None, None, 200, 100),
    "UPDATE_INVOICE": (600, 600, lambda s, o: {"invoice_number": "INV-1"}, 200, 600),
    "ASSIGN_PACKAGE_ITEMS_MANUALLY": (100, 950, lambda s, o: {"assignment_groups": [
        {"package_items": [o.packageitem_set.get().pk], "stock_location": "ST2"}]}, 200, 950),
    "REQUEST_CANCELLATION": (300, 50, None, 200, 50),
    "REJECT_CANCELLATION": (50, None, None, 200, 100),
    "CANCEL_PACKAGE": (300, 950, None, 200, 950),
    "READY_FOR_PICKUP": (500, 520, None, 200, 520),
    "SELF_SERVICE_DELIVERY": (520, 600, None, 200, 600),
    "TRANSFER_READY_FOR_DISPATCH": ("waiting", "ready_to_shipment", None, 200, "ready_to_shipment"),
    "TRANSFER_ORDER_ADVANCED": ("waiting", "ready_to_shipment",
                                lambda s, o: {"tracking_number": "YK1", "cargo_company": s.cargo.pk},
                                200, "ready_to_shipment"),
    "TRANSFER_DISPATCH": ("ready_to_shipment", "in_transit", None, 200, "in_transit"),
    "TRANSFER_DELIVERED": ("in_transit", "transferred", None, 200, "transferred"),
    "TRANSFER_PRODUCT_NOT_FOUND": ("waiting", "not_found", None, 200, "not_found"),
    "TRANSFER_OUT_OF_STOCK": ("waiting", "out_of_stock",
                              lambda s, o: {"transfer_items": [o.transferitem_set.get().pk]},
                              200, "out_of_stock"),
}


def test_runs_cover_every_command_type():
    assert sorted(RUNS) == sorted(ALL_COMMAND_TYPES)


@pytest.mark.parametrize("command", ALL_COMMAND_TYPES)
def test_command_type_runs_and_is_never_refused_as_not_built(shop, api, command):
    source, destination, make_input, http_status, final = RUNS[command]
    obj = shop.transfer(source) if isinstance(source, str) else shop.package(source)
    logs_before = len(logs_of(obj))

    response = shop.run(obj, shop.book.transition(command, source, destination),
                        make_input(shop, obj) if make_input else None)

    assert response.status_code == http_status, response.content
    if response.status_code != 204:
        assert "error" not in response.json()
    obj = reload(obj)
    assert obj.status == final
    assert obj.state.status == obj.status
    assert len(logs_of(obj)) == logs_before + 1
    assert logs_of(obj)[-1].attributes["command"]["command"] == command


# -- CANCEL_PACKAGE ------------------------------------------------------------------------------------
def test_cancel_from_waiting_for_transfer_cancels_every_open_transfer(shop, api, seeded):
    # given: a package waiting for two transfers: A from WH1 (dispatched) and C from WH2 (waiting)
    wh2 = StockLocationFactory(name="Ankara warehouse", erp_code="WH2", is_transfer_center=True)
    Stock.objects.create(stock_location=wh2, sku="C", quantity=4)
    order = shop.intake({"A": 2, "C": 1, "B": 1})
    package = Package.objects.get(order=order)
    in_transit = TransferOrder.objects.get(package=package, source=shop.center)
    waiting = TransferOrder.objects.get(package=package, source=wh2)
    shop.step(in_transit, "TRANSFER_DISPATCH", "waiting", "in_transit")
    assert (stock(shop.center, "A"), stock(wh2, "C"), stock(shop.store, "B")) == ((48, 0), (4, 1), (50, 1))
    assert quota(shop.store) == 1

    # when
    response = shop.run(package, seeded.transition("CANCEL_PACKAGE", 300, 950), {"reason": "customer"})

    # then
    assert response.status_code == 200
    package = reload(package)
    assert (package.status, package.state_id, package.previous_state_id) == (950, seeded.state(950).pk, None)
    assert Reservation.objects.filter(package_item__package=package).count() == 0
    assert (stock(shop.center, "A"), stock(wh2, "C"), stock(shop.store, "B")) == ((48, 0), (4, 0), (50, 0))
    assert quota(shop.store) == 0
    cancelled = seeded.state("cancelled", "TransferStatus")
    for transfer, old in [(in_transit, "in_transit"), (waiting, "waiting")]:
        transfer = reload(transfer)
        assert (transfer.status, transfer.state_id) == ("cancelled", cancelled.pk)
        assert list(TransferItem.objects.filter(transfer=transfer).values_list("status", flat=True)) == [
            "cancelled"]
        row = logs_of(transfer)[-1]
        assert (row.user_id, row.old_state_id, row.new_state_id) == (
            None, seeded.state(old, "TransferStatus").pk, cancelled.pk)
        assert row.attributes == {"system": True, "reason": "package cancelled",
                                  "trigger": {"model": "package", "id": package.pk}}
    package_row = logs_of(package)[-1]
    assert (package_row.user_id, package_row.old_state_id, package_row.new_state_id) == (
        api.user.pk, seeded.state(300).pk, seeded.state(950).pk)
    assert order_status(api, order) == 100
    assert list(PackageItem.objects.filter(package=package).values_list("status", flat=True)) == [
        "cancelled"] * 3


def test_cancel_leaves_a_delivered_transfer_alone(shop, api, seeded):
    order = shop.intake({"A": 1})
    package = Package.objects.get(order=order)
    transfer = TransferOrder.objects.get(package=package)
    # a cancellation is requested while the transfer is on its way; it arrives meanwhile
    shop.step(package, "REQUEST_CANCELLATION", 300, 50)
    shop.step(transfer, "TRANSFER_DISPATCH", "waiting", "in_transit")
    shop.step(transfer, "TRANSFER_DELIVERED", "in_transit", "transferred")
    assert stock(shop.store, "A") == (1, 1)
    transfer_logs = len(logs_of(transfer))

    response = shop.run(package, seeded.transition("CANCEL_PACKAGE", 50, 950))

    assert response.status_code == 200
    assert reload(package).status == 950
    assert reload(transfer).status == "transferred"
    assert len(logs_of(transfer)) == transfer_logs
    assert stock(shop.store, "A") == (1, 0)    # the arrived unit is free again at the store
    assert quota(shop.store) == 0


@pytest.mark.parametrize(("status", "quota_delta"), [
    (50, -1), (100, -1), (150, -1), (200, -1), (300, -1), (350, -1), (400, 0)])
def test_cancel_releases_reservations_and_quota(shop, api, seeded, status, quota_delta):
    package = shop.package(status)
    store_b, center_a = stock(shop.store, "B"), stock(shop.center, "A")
    held = {sku: n for sku, n in Reservation.objects.filter(package_item__package=package)
            .values_list("sku", "quantity")}
    assert held == ({"A": 1, "B": 1} if status == 300 else {"B": 1})
    quota_before = quota(shop.store)
    open_transfers = list(TransferOrder.objects.filter(package=package))

    response = shop.run(package, seeded.transition("CANCEL_PACKAGE", status, 950), {"reason": "customer"})

    assert response.status_code == 200
    package = reload(package)
    assert (package.status, package.previous_state_id, package.state_memory) == (950, None, [])
    assert Reservation.objects.filter(package_item__package=package).count() == 0
    assert stock(shop.store, "B") == (store_b[0], store_b[1] - 1)
    assert stock(shop.center, "A") == (center_a[0], center_a[1] - held.get("A", 0))
    assert quota(shop.store) == quota_before + quota_delta
    assert [reload(t).status for t in open_transfers] == ["cancelled"] * len(open_transfers)
    assert order_status(api, package.order) == 100


@pytest.mark.parametrize("status", [500, 550, 900, 920, 950])
def test_cancel_is_refused_outside_its_source_states(shop, api, seeded, status):
    package = shop.package(status) if status != 950 else None
    if package is None:
        package = shop.package(100)
        shop.step(package, "CANCEL_PACKAGE", 100, 950)
    transition = seeded.transition("CANCEL_PACKAGE", 100, 950)
    before = db_snapshot()

    response = shop.run(package, transition)

    assert response.status_code == 406
    assert response.json()["error"]["error_code"] == "commands_100_1"
    assert db_snapshot() == before


# -- PKG_DEALLOCATE_RESERVATIONS -------------------------------------------------------------------
def test_deallocate_releases_the_reservations_and_keeps_the_quota(shop, api, seeded):
    order = shop.intake({"B": 3})
    package = Package.objects.get(order=order)
    assert (stock(shop.store, "B"), quota(shop.store)) == ((50, 3), 1)

    response = shop.run(package, seeded.transition("PKG_DEALLOCATE_RESERVATIONS", 100, 200))

    assert response.status_code == 200
    assert response.json() == {"package_id": package.pk, "package_number": package.number,
                               "package_stock_location_id": shop.store.pk,
                               "package_stock_location_name": "Kadıköy store", "is_same_location": True}
    package = reload(package)
    assert (package.status, package.state_id) == (200, seeded.state(200).pk)
    assert stock(shop.store, "B") == (50, 0)
    assert Reservation.objects.count() == 0
    assert quota(shop.store) == 1
    assert order_status(api, order) == 400
    assert len(logs_of(package)) == 1


# -- shipping ---------------------------------------------------------------------------------------
def test_ship_basic_answers_204_and_ships(shop, api, seeded):
    package = shop.package(500)
    shipment = Shipment.objects.get(package=package)
    assert shipment.status == "created"

    response = shop.run(package, seeded.transition("SHIP_THE_PACKAGE_BASIC", 500, 550))

    assert response.status_code == 204
    assert response.content == b""
    package = reload(package)
    assert (package.status, package.state_id) == (550, seeded.state(550).pk)
    shipment.refresh_from_db()
    assert (shipment.status, shipment.tracking_number) == ("shipped", "")
    assert order_status(api, package.order) == 500
    assert len(logs_of(package)) == 2


def test_shipment_status_follows_the_package_to_delivery(shop, api, seeded):
    package = shop.package(550)
    order = package.order
    shipment = Shipment.objects.get(package=package)
    assert (shipment.status, order_status(api, order)) == ("shipped", 500)
    logs_before = len(logs_of(package))

    for step, (source, destination, shipment_status, order_code) in enumerate([
            (550, 560, "attempted_delivery", 500),
            (560, 570, "delivery_failed", 500),
            (570, 600, "delivered", 550)], start=1):
        response = shop.run(package, seeded.transition("UPDATE_PACKAGE_SHIPMENT_STATUS", source, destination))

        assert response.status_code == 200
        assert reload(package).status == destination
        shipment.refresh_from_db()
        assert shipment.status == shipment_status
        assert order_status(api, order) == order_code
        assert len(logs_of(package)) == logs_before + step
        detail = api.get(f"{API}packages/{package.pk}/").json()
        assert (detail["status"], detail["shipment"]["status"]) == (destination, shipment_status)
    assert quota(shop.store) == 0


# -- the order's derived status (spec §1.3) ------------------------------------------------------------
def test_order_status_is_derived_after_every_command(shop, api, seeded):
    # given: two packages, F at ST1 and D at ST2 (no store has both)
    Stock.objects.create(stock_location=shop.store, sku="F", quantity=5)
    Stock.objects.create(stock_location=shop.store2, sku="D", quantity=5)
    order = shop.intake({"F": 1, "D": 1})
    p1 = Package.objects.get(order=order, stock_location=shop.store)
    p2 = Package.objects.get(order=order, stock_location=shop.store2)
    assert order_status(api, order) == 400                      # nothing packed: approved

    expected = [
        (p1, "COMPLETE_PACKAGING", 100, 500, None, 450),        # any live package packed
        (p2, "REQUEST_CANCELLATION", 100, 50, None, 50),        # any package in 50
        (p2, "REJECT_CANCELLATION", 50, None, None, 450),
        (p1, "SHIP_THE_PACKAGE", 500, 550, None, 450),          # P2 is still waiting
        (p2, "PKG_STATE_TRANSITION", 100, 400, None, 450),
        (p2, "COMPLETE_PACKAGING", 400, 500, None, 450),
        (p2, "SHIP_THE_PACKAGE", 500, 550, None, 500),          # every live package shipped
        (p1, "UPDATE_PACKAGE_SHIPMENT_STATUS", 550, 600, None, 500),   # delivered + shipped
        (p2, "UPDATE_PACKAGE_SHIPMENT_STATUS", 550, 560, None, 500),
        (p2, "UPDATE_PACKAGE_SHIPMENT_STATUS", 560, 600, None, 550),   # every live one delivered
    ]
    for package, command, source, destination, params, status in expected:
        shop.step(package, command, source, destination, params)
        assert order_status(api, order) == status, (command, source, destination)
        assert Order.objects.get(pk=order.pk).status == status


def test_order_status_ignores_cancelled_packages_and_is_cancelled_when_all_are(shop, api, seeded):
    Stock.objects.create(stock_location=shop.store, sku="F", quantity=5)
    Stock.objects.create(stock_location=shop.store2, sku="D", quantity=5)
    order = shop.intake({"F": 1, "D": 1})
    p1 = Package.objects.get(order=order, stock_location=shop.store)
    p2 = Package.objects.get(order=order, stock_location=shop.store2)

    for package, command, source, destination, status in [
            (p1, "REQUEST_CANCELLATION", 100, 50, 50),
            (p1, "CANCEL_PACKAGE", 50, 950, 400),               # P2 is the only live one
            (p2, "COMPLETE_PACKAGING", 100, 500, 450),
            (p2, "READY_FOR_PICKUP", 500, 520, 450),            # 520 is not shipped
            (p2, "SELF_SERVICE_DELIVERY", 520, 600, 550)]:      # the only live package delivered
        shop.step(package, command, source, destination)
        assert order_status(api, order) == status, command

    other = shop.intake({"F": 1, "D": 1})
    for package in Package.objects.filter(order=other).order_by("id"):
        shop.step(package, "CANCEL_PACKAGE", 100, 950)
    assert order_status(api, other) == 100                      # every package cancelled
