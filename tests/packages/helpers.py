"""Helpers shared by the package command tests: run a command through the API, read back what it
changed, and capture everything a command may touch ('nothing changed' assertions)."""

from django.contrib.contenttypes.models import ContentType

from commands.models import StateTransitionLog
from locations.models import Reservation, Stock, StockLocation
from orders.models import Order
from packages.models import Package, PackageItem, Shipment


def command(api, package, transition, input_parameters=None):
    body = {"transition": transition.pk, "slug": transition.slug,
            "input_parameters": input_parameters or {}}
    return api.post(f"/api/v1/oms/packages/{package.pk}/command/", body, format="json")


def seed_body(package):
    return {"package_id": package.pk, "package_number": package.number,
            "package_stock_location_id": package.stock_location_id,
            "package_stock_location_name": package.stock_location.name, "is_same_location": True}


def stocks(location):
    return {s.sku: (s.quantity, s.reserved) for s in Stock.objects.filter(stock_location=location)}


def quota(location):
    return StockLocation.objects.get(pk=location.pk).quota


def reservations(package):
    return sorted(Reservation.objects.filter(package_item__package=package)
                  .values_list("sku", "quantity"))


def item_statuses(package):
    return list(PackageItem.objects.filter(package=package).order_by("pk").values_list("status", flat=True))


def last_log(package):
    row = (StateTransitionLog.objects.filter(content_type=ContentType.objects.get_for_model(Package),
                                             object_id=package.pk).order_by("-id").first())
    return {"user": row.user_id, "old_state": row.old_state_id, "new_state": row.new_state_id,
            "attributes": row.attributes}


def logged(api, transition, old_state, new_state, input_parameters=None):
    return {"user": api.user.pk, "old_state": old_state.pk, "new_state": new_state.pk,
            "attributes": {"command": {"slug": transition.slug, "transition_id": transition.pk,
                                       "command": transition.command},
                           "input_parameters": input_parameters or {}, "idempotency_key": None}}


def world():
    """Every row a package command may touch, for 'nothing changed' assertions."""
    return {
        "packages": list(Package.objects.order_by("pk").values_list(
            "pk", "status", "state_id", "previous_state_id", "state_memory", "stock_location_id",
            "invoice_number", "modified_date")),
        "items": list(PackageItem.objects.order_by("pk").values_list("pk", "status", "package_id")),
        "stocks": list(Stock.objects.order_by("pk").values_list("pk", "quantity", "reserved")),
        "reservations": list(Reservation.objects.order_by("pk").values_list(
            "pk", "package_item_id", "sku", "quantity")),
        "quotas": list(StockLocation.objects.order_by("pk").values_list("pk", "quota")),
        "shipments": list(Shipment.objects.order_by("pk").values_list(
            "pk", "status", "cargo_company_id", "tracking_number", "query_number", "shipped_date")),
        "orders": list(Order.objects.order_by("pk").values_list("pk", "status")),
        "logs": StateTransitionLog.objects.count(),
    }


def reload(package):
    return Package.objects.select_related("state", "stock_location").get(pk=package.pk)
