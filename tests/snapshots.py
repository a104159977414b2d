"""Everything a command may change, captured so a refusal can be shown to have changed nothing."""

from commands.models import IdempotencyRecord, StateTransitionLog
from locations.models import Reservation, Stock, StockLocation
from orders.models import Order
from packages.models import Package, PackageItem, Shipment


def db_snapshot() -> dict:
    return {
        "packages": sorted(Package.objects.values_list("id", "status", "state_id", "previous_state_id",
                                                       "stock_location_id", "invoice_number")),
        "items": sorted(PackageItem.objects.values_list("id", "package_id", "status", "quantity")),
        "quota": sorted(StockLocation.objects.values_list("id", "quota")),
        "stock": sorted(Stock.objects.values_list("id", "quantity", "reserved")),
        "reservations": sorted(Reservation.objects.values_list("id", "package_item_id", "quantity")),
        "shipments": sorted(Shipment.objects.values_list("id", "status", "tracking_number",
                                                         "cargo_company_id")),
        "orders": sorted(Order.objects.values_list("id", "status")),
        "logs": StateTransitionLog.objects.count(),
        "idempotency": IdempotencyRecord.objects.count(),
    }
