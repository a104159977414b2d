"""Shared helpers of the planning tests: request bodies, invariants and a wide snapshot."""

from __future__ import annotations

from collections import Counter, defaultdict

from django.db.models import Sum

from locations.models import Reservation, Stock, StockLocation
from orders.models import Order, OrderItem
from packages.models import Package, PackageItem
from planning.models import Rule, Scenario
from tests.snapshots import db_snapshot
from transfers.models import TransferItem, TransferOrder
from webhooks.models import WebhookEvent

ORDERS_URL = "/api/v1/oms/orders/"
UPSERT_URL = "/api/v1/oms/stocks/bulk_upsert/"
AVAILABILITY_URL = "/api/v1/oms/stocks/query-stock-availability/"


def order_body(number: str = "1001", items=(("A", 1),), *, channel: str = "web", **fields) -> dict:
    """An intake body as a channel sends it; ``items`` is a sequence of (sku, quantity)."""
    body = {
        "number": number,
        "channel": channel,
        "customer": {"first_name": "Ayşe", "last_name": "Yılmaz", "email": "ayse@example.com",
                     "phone": "+905550000000"},
        "shipping_address": {"line": "Bağdat Cd. 1", "city": "Istanbul", "country": "TR",
                             "postcode": "34000", "latitude": 41.0082, "longitude": 28.9784},
        "payment_type": "credit_card",
        "items": [{"sku": sku, "quantity": quantity, "price": "10.00", "currency": "TRY"}
                  for sku, quantity in items],
    }
    body.update(fields)
    return body


def command(api, package, transition, input_parameters=None):
    body = {"transition": transition.pk, "input_parameters": input_parameters or {}}
    return api.post(f"/api/v1/oms/packages/{package.pk}/command/", body, format="json")


def seed_shape(package: Package, *, same: bool) -> dict:
    return {"package_id": package.pk, "package_number": package.number,
            "package_stock_location_id": package.stock_location_id,
            "package_stock_location_name": package.stock_location.name, "is_same_location": same}


def scenario_with_rules(default: StockLocation, *rules: dict, **fields) -> Scenario:
    """A scenario whose rules are given as dicts (``stock_locations``/``except_stock_locations``
    as lists of locations); positions follow the argument order."""
    scenario = Scenario.objects.create(name=fields.pop("name", "Scenario"), default_stock_location=default,
                                       **fields)
    for position, spec in enumerate(rules or ({},)):
        spec = dict(spec)
        include = spec.pop("stock_locations", [])
        exclude = spec.pop("except_stock_locations", [])
        rule = Rule.objects.create(scenario=scenario, position=position, **spec)
        rule.stock_locations.set(include)
        rule.except_stock_locations.set(exclude)
    return scenario


def stock_of(location: StockLocation, sku: str) -> tuple[int, int]:
    """(quantity, reserved) of one stock row."""
    return Stock.objects.values_list("quantity", "reserved").get(stock_location=location, sku=sku)


def quota_of(location: StockLocation) -> int:
    return StockLocation.objects.values_list("quota", flat=True).get(pk=location.pk)


def reservations_of(package: Package) -> list[tuple[str, str, int]]:
    """(location erp_code, sku, quantity) of the package's items' reservations."""
    return sorted(Reservation.objects.filter(package_item__package=package)
                  .values_list("stock_location__erp_code", "sku", "quantity"))


def items_of(package: Package) -> list[tuple[str, int, str]]:
    """(sku, quantity, status) of the package's items."""
    return sorted(PackageItem.objects.filter(package=package).values_list("sku", "quantity", "status"))


def assert_invariants() -> None:
    """Spec §4: quota == packages below 400 at each location; each stock's ``reserved`` equals
    its reservations and stays within ``quantity``."""
    held = Counter(Package.objects.filter(status__lt=400).values_list("stock_location_id", flat=True))
    quotas = dict(StockLocation.objects.values_list("id", "quota"))
    assert quotas == {pk: held.get(pk, 0) for pk in quotas}
    reserved: dict[tuple[int, str], int] = defaultdict(int)
    for row in Reservation.objects.values("stock_location_id", "sku").annotate(n=Sum("quantity")):
        reserved[(row["stock_location_id"], row["sku"])] = row["n"]
    stocks = {(s.stock_location_id, s.sku): (s.reserved, s.quantity) for s in Stock.objects.all()}
    assert {key: r for key, (r, _) in stocks.items() if r} == dict(reserved)


def wide_snapshot() -> dict:
    """``db_snapshot`` plus what intake and planning also write."""
    snapshot = db_snapshot()
    snapshot.update({
        "order_rows": sorted(Order.objects.values_list("id", "number", "status", "modified_date")),
        "order_items": sorted(OrderItem.objects.values_list("id", "order_id", "sku", "quantity")),
        "package_rows": sorted(Package.objects.values_list("id", "number", "denial_reason_id",
                                                          "excluded_locations", "modified_date")),
        "stock_rows": sorted(Stock.objects.values_list("id", "stock_location_id", "sku")),
        "reservation_rows": sorted(Reservation.objects.values_list("id", "stock_location_id", "sku")),
        "transfers": sorted(TransferOrder.objects.values_list("id", "number", "status", "source_id",
                                                              "destination_id")),
        "transfer_items": sorted(TransferItem.objects.values_list("id", "transfer_id", "package_item_id")),
        "outbox": WebhookEvent.objects.count(),
    })
    return snapshot


from tests.concurrency import post, run_in_threads  # noqa: E402, F401 - the planning tests' helpers
