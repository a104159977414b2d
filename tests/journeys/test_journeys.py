"""Realistic journeys through the HTTP API only: an order comes in, operators pick commands from the
``commands`` list of what they look at, and after every step the states, quotas, stock counters,
order status and the number of audit rows are read back through the API.

Locations, stock, scenarios and denial reasons are set up with factories, as an operator would in
the admin. The suite also runs on PostgreSQL in CI (no marker needed)."""

from __future__ import annotations

import pytest

from locations.models import Stock
from planning.models import Rule, Scenario
from tests.factories import CargoCompanyFactory, ChannelFactory, DenialReasonFactory, StockLocationFactory

API = "/api/v1/oms/"


class Desk:
    """An operator's desk: the API and nothing else."""

    def __init__(self, api, locations):
        self.api = api
        self.locations = {loc.pk: loc.erp_code for loc in locations}
        self.states = {}
        for row in self.get("states/", limit=100)["results"]:
            self.states.setdefault((row["enum_class"], row["enum_value"]), row["id"])

    def get(self, path, **params):
        response = self.api.get(f"{API}{path}", params)
        assert response.status_code == 200, (path, response.content)
        return response.json()

    def state_id(self, status) -> int:
        enum_class = "TransferStatus" if isinstance(status, str) else "PackageStatus"
        return self.states[(enum_class, str(status))]

    def intake(self, number, items, *, channel="web", tracking_number=None) -> dict:
        body = {"number": number, "channel": channel, "cargo_company": "yurtici",
                "customer": {"first_name": "Ayşe", "last_name": "Yılmaz", "email": "ayse@example.com"},
                "shipping_address": {"line": "Bağdat Cd. 1", "city": "Istanbul", "country": "TR"},
                "payment_type": "credit_card",
                "items": [{"sku": sku, "quantity": n, "price": "100.00"} for sku, n in items.items()]}
        if tracking_number is not None:
            body["tracking_number"] = tracking_number
        response = self.api.post(f"{API}orders/", body, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    def command(self, kind, obj_id, command, destination=None, params=None):
        """Pick the command from the object's ``commands`` list (as the UI does) and run it."""
        listed = [c for c in self.get(f"{kind}/{obj_id}/")["commands"] if c["command"] == command
                  and (destination is None or c["destination_state"] == self.state_id(destination))]
        assert len(listed) == 1, (command, destination, listed)
        return self.api.post(f"{API}{kind}/{obj_id}/command/",
                             {"transition": listed[0]["id"], "input_parameters": params or {}}, format="json")

    def transition_id(self, command, source, destination) -> int:
        rows = self.get("state_transitions/", command=command, source_state=self.state_id(source),
                        destination_state=self.state_id(destination))["results"]
        assert len(rows) == 1
        return rows[0]["id"]

    def packages(self, order_id) -> list[dict]:
        return self.get(f"orders/{order_id}/")["packages"]

    def transfers(self, order_number) -> list[dict]:
        return sorted(self.get("transfer_orders/", order__number=order_number)["results"],
                      key=lambda t: t["id"])

    def logs(self, content_type, object_id) -> int:
        return self.get("state-transition-logs/", object_id=object_id, content_type=content_type)["count"]

    def stock(self, erp_code, sku) -> tuple[int, int] | None:
        rows = self.get("stocks/", stock_location__erp_code=erp_code, sku=sku)["results"]
        return (rows[0]["quantity"], rows[0]["reserved"]) if rows else None

    def quota(self, erp_code) -> int:
        return self.get("stock_locations/", erp_code=erp_code)["results"][0]["quota"]

    def look(self, order: dict, *, stocks=(), quotas=()) -> dict:
        """Everything a step may change, read through the API."""
        packages = {}
        for short in self.packages(order["id"]):
            detail = self.get(f"packages/{short['id']}/")
            # the state always carries the package's status (spec §1.3)
            assert detail["state"]["enum_value"] == str(detail["status"])
            packages[detail["number"]] = (detail["status"], self.locations[detail["stock_location"]["id"]],
                                          self.logs("package", detail["id"]))
        transfers = {t["number"]: (t["status"], t["source"]["erp_code"], self.logs("transferorder", t["id"]))
                     for t in self.transfers(order["number"])}
        return {"order": self.get(f"orders/{order['id']}/")["status"], "packages": packages,
                "transfers": transfers,
                "stock": {f"{erp}/{sku}": self.stock(erp, sku) for erp, sku in stocks},
                "quota": {erp: self.quota(erp) for erp in quotas}}


def seed_answer(package: dict, origin_location: int | None = None) -> dict:
    return {"package_id": package["id"], "package_number": package["number"],
            "package_stock_location_id": package["stock_location"]["id"],
            "package_stock_location_name": package["stock_location"]["name"],
            "is_same_location": origin_location in (None, package["stock_location"]["id"])}


@pytest.fixture
def shop(seeded):
    """A store (ST1), a second store (ST2), a transfer center (WH1); web and marketplace channels."""
    ChannelFactory(code="web", name="Web shop", channel_type="web")
    ChannelFactory(code="trendyol", name="Trendyol", channel_type="marketplace")
    CargoCompanyFactory(code="yurtici", name="Yurtiçi Kargo")
    CargoCompanyFactory(code="aras", name="Aras Kargo")
    st1 = StockLocationFactory(name="Kadıköy store", erp_code="ST1", priority=10)
    st2 = StockLocationFactory(name="Beşiktaş store", erp_code="ST2", priority=5)
    wh1 = StockLocationFactory(name="Central warehouse", erp_code="WH1", stock_location_type="warehouse",
                               is_transfer_center=True)
    for location, sku, quantity in [(st1, "SHOE", 3), (st1, "BAG", 5), (wh1, "COAT", 5)]:
        Stock.objects.create(stock_location=location, sku=sku, quantity=quantity)
    scenario = Scenario.objects.create(name="Stores first", default_stock_location=st1)
    rule = Rule.objects.create(scenario=scenario, position=0, name="Stores, with transfers",
                               stock_location_type="store", transferable=True)
    rule.stock_locations.set([st1, st2])
    return {"st1": st1, "st2": st2, "wh1": wh1}


@pytest.fixture
def desk(shop, api) -> Desk:
    return Desk(api, shop.values())


def test_web_order_is_packed_shipped_and_delivered(desk):
    stocks, quotas = [("ST1", "SHOE")], ["ST1"]

    # an order for two shoes comes in from the web shop
    order = desk.intake("W-1", {"SHOE": 2})
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 400, "packages": {"W-1P1": (100, "ST1", 0)}, "transfers": {},
        "stock": {"ST1/SHOE": (3, 2)}, "quota": {"ST1": 1}}
    package = desk.packages(order["id"])[0]

    # the store packs it: the shoes leave the shelf, a shipment is created for the order's carrier
    response = desk.command("packages", package["id"], "COMPLETE_PACKAGING", 500)
    assert response.status_code == 200
    assert response.json() == seed_answer(desk.get(f"packages/{package['id']}/"))
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 450, "packages": {"W-1P1": (500, "ST1", 1)}, "transfers": {},
        "stock": {"ST1/SHOE": (1, 0)}, "quota": {"ST1": 0}}
    shipment = desk.get(f"packages/{package['id']}/")["shipment"]
    assert (shipment["status"], shipment["tracking_number"], shipment["has_shipping_document"]) == (
        "created", "", True)

    # it leaves with another carrier than planned, with a tracking number
    response = desk.command("packages", package["id"], "SHIP_THE_PACKAGE_ADVANCED", 550,
                            {"cargo_company": "aras", "tracking_number": "AR-777"})
    assert response.status_code == 200
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 500, "packages": {"W-1P1": (550, "ST1", 2)}, "transfers": {},
        "stock": {"ST1/SHOE": (1, 0)}, "quota": {"ST1": 0}}
    shipment = desk.get(f"packages/{package['id']}/")["shipment"]
    aras = desk.get("cargo-company/", code="aras")["results"][0]["id"]
    assert (shipment["status"], shipment["cargo_company"], shipment["tracking_number"]) == (
        "shipped", aras, "AR-777")
    assert shipment["shipped_date"] is not None

    # the carrier reports the delivery
    response = desk.command("packages", package["id"], "UPDATE_PACKAGE_SHIPMENT_STATUS", 600)
    assert response.status_code == 200
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 550, "packages": {"W-1P1": (600, "ST1", 3)}, "transfers": {},
        "stock": {"ST1/SHOE": (1, 0)}, "quota": {"ST1": 0}}
    assert desk.get(f"packages/{package['id']}/")["shipment"]["status"] == "delivered"


def test_marketplace_order_ships_on_the_marketplace_label(desk):
    stocks, quotas = [("ST1", "BAG")], ["ST1"]

    order = desk.intake("TY-1", {"BAG": 1}, channel="trendyol", tracking_number="TY-0099")
    assert order["tracking_number"] == "TY-0099"
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 400, "packages": {"TY-1P1": (100, "ST1", 0)}, "transfers": {},
        "stock": {"ST1/BAG": (5, 1)}, "quota": {"ST1": 1}}
    package = desk.packages(order["id"])[0]

    # packed for the marketplace: its tracking number, no shipping document from us
    response = desk.command("packages", package["id"], "CHANNEL_BASED_COMPLETE_PACKAGING", 500)
    assert response.status_code == 200
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 450, "packages": {"TY-1P1": (500, "ST1", 1)}, "transfers": {},
        "stock": {"ST1/BAG": (4, 0)}, "quota": {"ST1": 0}}
    shipment = desk.get(f"packages/{package['id']}/")["shipment"]
    assert (shipment["status"], shipment["tracking_number"], shipment["has_shipping_document"]) == (
        "created", "TY-0099", False)

    response = desk.command("packages", package["id"], "SHIP_THE_PACKAGE", 550)
    assert response.status_code == 200
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 500, "packages": {"TY-1P1": (550, "ST1", 2)}, "transfers": {},
        "stock": {"ST1/BAG": (4, 0)}, "quota": {"ST1": 0}}
    shipment = desk.get(f"packages/{package['id']}/")["shipment"]
    assert (shipment["status"], shipment["tracking_number"]) == ("shipped", "TY-0099")


def test_order_needing_a_transfer_is_packed_once_the_transfer_arrives(desk):
    stocks = [("WH1", "COAT"), ("ST1", "COAT"), ("ST1", "BAG")]
    quotas = ["ST1", "WH1"]

    # the coat is only at the warehouse; the bag is at the store
    order = desk.intake("W-2", {"COAT": 2, "BAG": 1})
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 400, "packages": {"W-2P1": (300, "ST1", 0)},
        "transfers": {"W-2P1T1": ("waiting", "WH1", 0)},
        "stock": {"WH1/COAT": (5, 2), "ST1/COAT": None, "ST1/BAG": (5, 1)}, "quota": {"ST1": 1, "WH1": 0}}
    package = desk.packages(order["id"])[0]
    transfer = desk.transfers("W-2")[0]
    assert transfer["destination"]["erp_code"] == "ST1"
    assert [(i["sku"], i["quantity"]) for i in transfer["transferitem_set"]] == [("COAT", 2)]

    # packing is not offered while the package waits, and refused if tried anyway
    listed = [c["command"] for c in desk.get(f"packages/{package['id']}/")["commands"]]
    assert "COMPLETE_PACKAGING" not in listed
    before = desk.look(order, stocks=stocks, quotas=quotas)
    pack = desk.transition_id("COMPLETE_PACKAGING", 100, 500)
    response = desk.api.post(f"{API}packages/{package['id']}/command/", {"transition": pack}, format="json")
    assert (response.status_code, response.json()["error"]["error_code"]) == (406, "commands_100_1")
    assert desk.look(order, stocks=stocks, quotas=quotas) == before

    # the warehouse dispatches: the coats leave it
    assert desk.command("transfer_orders", transfer["id"], "TRANSFER_DISPATCH").status_code == 200
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 400, "packages": {"W-2P1": (300, "ST1", 0)},
        "transfers": {"W-2P1T1": ("in_transit", "WH1", 1)},
        "stock": {"WH1/COAT": (3, 0), "ST1/COAT": None, "ST1/BAG": (5, 1)}, "quota": {"ST1": 1, "WH1": 0}}

    # the store receives them: they are held for the package, which is released to Waiting
    assert desk.command("transfer_orders", transfer["id"], "TRANSFER_DELIVERED").status_code == 200
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 400, "packages": {"W-2P1": (100, "ST1", 1)},
        "transfers": {"W-2P1T1": ("transferred", "WH1", 2)},
        "stock": {"WH1/COAT": (3, 0), "ST1/COAT": (2, 2), "ST1/BAG": (5, 1)}, "quota": {"ST1": 1, "WH1": 0}}
    [release] = desk.get("state-transition-logs/", object_id=package["id"], content_type="package")["results"]
    assert (release["old_state"], release["new_state"], release["user"]) == (
        desk.state_id(300), desk.state_id(100), None)
    assert release["attributes"]["system"] is True

    # now the store packs everything from its own shelf
    assert desk.command("packages", package["id"], "COMPLETE_PACKAGING", 500).status_code == 200
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 450, "packages": {"W-2P1": (500, "ST1", 2)},
        "transfers": {"W-2P1T1": ("transferred", "WH1", 2)},
        "stock": {"WH1/COAT": (3, 0), "ST1/COAT": (0, 0), "ST1/BAG": (4, 0)}, "quota": {"ST1": 0, "WH1": 0}}


def test_refused_package_is_replanned_elsewhere_never_at_the_refusing_store(desk):
    stocks, quotas = [("ST1", "SHOE"), ("ST2", "SHOE")], ["ST1", "ST2"]
    reason = DenialReasonFactory(title="Damaged box")

    order = desk.intake("W-3", {"SHOE": 1})
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 400, "packages": {"W-3P1": (100, "ST1", 0)}, "transfers": {},
        "stock": {"ST1/SHOE": (3, 1), "ST2/SHOE": None}, "quota": {"ST1": 1, "ST2": 0}}
    package = desk.packages(order["id"])[0]

    # the store refuses it
    response = desk.command("packages", package["id"], "PACKAGE_REFUSE", 900, {"denial_reason": reason.pk})
    assert response.status_code == 200
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 400, "packages": {"W-3P1": (900, "ST1", 1)}, "transfers": {},
        "stock": {"ST1/SHOE": (3, 0), "ST2/SHOE": None}, "quota": {"ST1": 0, "ST2": 0}}
    assert desk.get(f"packages/{package['id']}/")["denial_reason"] == reason.pk

    # re-planning finds no other store with shoes: refused, nothing changes (ST1 still has 3)
    before = desk.look(order, stocks=stocks, quotas=quotas)
    response = desk.command("packages", package["id"], "REPACK", 100)
    assert response.status_code == 406
    assert response.json() == {"error": {"non_field_errors": "No stock available to re-plan",
                                         "error_code": "packages_200_2"}, "status_code": 406}
    assert desk.look(order, stocks=stocks, quotas=quotas) == before

    # the integration reports shoes at ST2; the package is re-planned there
    upsert = desk.api.post(f"{API}stocks/bulk_upsert/",
                           [{"stock_location": "ST2", "sku": "SHOE", "quantity": 2}], format="json")
    assert (upsert.status_code, upsert.json()) == (200, {"created": 1, "updated": 0})
    response = desk.command("packages", package["id"], "REPACK", 100)
    assert response.status_code == 200
    moved = desk.get(f"packages/{package['id']}/")
    assert response.json() == seed_answer(moved, origin_location=desk.get(
        "stock_locations/", erp_code="ST1")["results"][0]["id"])
    assert response.json()["is_same_location"] is False
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 400, "packages": {"W-3P1": (100, "ST2", 2)}, "transfers": {},
        "stock": {"ST1/SHOE": (3, 0), "ST2/SHOE": (2, 1)}, "quota": {"ST1": 0, "ST2": 1}}

    # ST2 packs it
    assert desk.command("packages", package["id"], "COMPLETE_PACKAGING", 500).status_code == 200
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 450, "packages": {"W-3P1": (500, "ST2", 3)}, "transfers": {},
        "stock": {"ST1/SHOE": (3, 0), "ST2/SHOE": (1, 0)}, "quota": {"ST1": 0, "ST2": 0}}


def test_blocked_package_is_unblocked_back_to_exactly_where_it_was(desk):
    stocks, quotas = [("ST1", "BAG")], ["ST1"]
    order = desk.intake("W-4", {"BAG": 2})
    package = desk.packages(order["id"])[0]
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 400, "packages": {"W-4P1": (100, "ST1", 0)}, "transfers": {},
        "stock": {"ST1/BAG": (5, 2)}, "quota": {"ST1": 1}}

    # ready for packaging: it no longer holds quota
    assert desk.command("packages", package["id"], "PKG_STATE_TRANSITION", 400).status_code == 200
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 400, "packages": {"W-4P1": (400, "ST1", 1)}, "transfers": {},
        "stock": {"ST1/BAG": (5, 2)}, "quota": {"ST1": 0}}

    # blocked for inspection: 350 holds quota again; the reservation stays
    response = desk.command("packages", package["id"], "BLOCK_THE_PACKAGE", 350, {"reason": "inspection"})
    assert response.status_code == 200
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 400, "packages": {"W-4P1": (350, "ST1", 2)}, "transfers": {},
        "stock": {"ST1/BAG": (5, 2)}, "quota": {"ST1": 1}}
    detail = desk.get(f"packages/{package['id']}/")
    assert detail["previous_state"] == desk.state_id(400)
    assert sorted(c["command"] for c in detail["commands"]) == [
        "CANCEL_PACKAGE", "REQUEST_CANCELLATION", "UNBLOCK_THE_PACKAGE"]

    # packing is refused while blocked
    before = desk.look(order, stocks=stocks, quotas=quotas)
    pack = desk.transition_id("COMPLETE_PACKAGING", 400, 500)
    response = desk.api.post(f"{API}packages/{package['id']}/command/", {"transition": pack}, format="json")
    assert (response.status_code, response.json()["error"]["error_code"]) == (406, "commands_100_1")
    assert desk.look(order, stocks=stocks, quotas=quotas) == before

    # unblocked: back to Ready for Packaging, quota released again
    assert desk.command("packages", package["id"], "UNBLOCK_THE_PACKAGE").status_code == 200
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 400, "packages": {"W-4P1": (400, "ST1", 3)}, "transfers": {},
        "stock": {"ST1/BAG": (5, 2)}, "quota": {"ST1": 0}}
    detail = desk.get(f"packages/{package['id']}/")
    assert (detail["state"]["id"], detail["previous_state"]) == (desk.state_id(400), None)

    assert desk.command("packages", package["id"], "COMPLETE_PACKAGING", 500).status_code == 200
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 450, "packages": {"W-4P1": (500, "ST1", 4)}, "transfers": {},
        "stock": {"ST1/BAG": (3, 0)}, "quota": {"ST1": 0}}


def test_cancelling_a_package_cancels_its_open_transfer(desk):
    stocks = [("WH1", "COAT"), ("ST1", "BAG")]
    quotas = ["ST1", "WH1"]
    order = desk.intake("W-5", {"COAT": 1, "BAG": 1})
    package = desk.packages(order["id"])[0]
    transfer = desk.transfers("W-5")[0]
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 400, "packages": {"W-5P1": (300, "ST1", 0)},
        "transfers": {"W-5P1T1": ("waiting", "WH1", 0)},
        "stock": {"WH1/COAT": (5, 1), "ST1/BAG": (5, 1)}, "quota": {"ST1": 1, "WH1": 0}}

    # the warehouse books a carrier for the transfer
    response = desk.command("transfer_orders", transfer["id"], "TRANSFER_ORDER_ADVANCED", None,
                            {"cargo_company": "yurtici", "tracking_number": "YK-55"})
    assert response.status_code == 200
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 400, "packages": {"W-5P1": (300, "ST1", 0)},
        "transfers": {"W-5P1T1": ("ready_to_shipment", "WH1", 1)},
        "stock": {"WH1/COAT": (5, 1), "ST1/BAG": (5, 1)}, "quota": {"ST1": 1, "WH1": 0}}
    assert desk.get(f"transfer_orders/{transfer['id']}/")["shipment"]["tracking_number"] == "YK-55"

    # the customer asks to cancel
    assert desk.command("packages", package["id"], "REQUEST_CANCELLATION", 50).status_code == 200
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 50, "packages": {"W-5P1": (50, "ST1", 1)},
        "transfers": {"W-5P1T1": ("ready_to_shipment", "WH1", 1)},
        "stock": {"WH1/COAT": (5, 1), "ST1/BAG": (5, 1)}, "quota": {"ST1": 1, "WH1": 0}}

    # the operator cancels: reservations released, the transfer cancelled by a system row
    response = desk.command("packages", package["id"], "CANCEL_PACKAGE", 950, {"reason": "customer"})
    assert response.status_code == 200
    assert desk.look(order, stocks=stocks, quotas=quotas) == {
        "order": 100, "packages": {"W-5P1": (950, "ST1", 2)},
        "transfers": {"W-5P1T1": ("cancelled", "WH1", 2)},
        "stock": {"WH1/COAT": (5, 0), "ST1/BAG": (5, 0)}, "quota": {"ST1": 0, "WH1": 0}}
    rows = desk.get("state-transition-logs/", object_id=transfer["id"],
                    content_type="transferorder")["results"]
    system = [r for r in rows if r["attributes"].get("system")]
    assert len(system) == 1
    assert (system[0]["old_state"], system[0]["new_state"], system[0]["user"]) == (
        desk.state_id("ready_to_shipment"), desk.state_id("cancelled"), None)
    assert system[0]["attributes"]["trigger"] == {"model": "package", "id": package["id"]}
    # nothing is left to run on either
    assert desk.get(f"packages/{package['id']}/")["commands"] == []
    assert desk.get(f"transfer_orders/{transfer['id']}/")["commands"] == []
