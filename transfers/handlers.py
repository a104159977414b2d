"""Transfer command types (spec §6), and CANCEL_PACKAGE (it cancels the package's transfers)."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import F
from rest_framework import serializers

from commands.dispatcher import log_transition
from commands.registry import CommandContext, CommandResult, ObjectType, command_type, registry
from locations.models import Reservation, Stock, StockLocation
from locations.services import reservations_consume, reservations_release
from oms.db import lock_many
from packages.enums import PackageStatus, ShipmentStatus
from packages.events import shipment_event
from packages.handlers import MAX_ID, PACKAGE, CargoCompanyRef, ReasonInput, package_response
from packages.models import Package, PackageItem, Shipment
from packages.services import (
    items_reserve,
    package_after_move,
    package_create,
    package_release_reservations,
    package_state,
    shipment_status_set,
)
from transfers.enums import OPEN_TRANSFER, TransferStatus
from transfers.errors import ItemNotInTransfer
from transfers.models import TransferItem, TransferOrder
from transfers.services import transfer_after_move, transfer_create, transfer_state

TRANSFER = "transfer"
T = TransferStatus


def _lock_package_of(transfer_id) -> None:
    lock_many(Package.objects.filter(transfer_orders=transfer_id))


registry.register_object_type(ObjectType(
    name=TRANSFER, model_label="transfers.TransferOrder", enum_class="TransferStatus",
    status_enum=TransferStatus, lock_related=("package", "source", "destination"),
    after_move=lambda transfer, old, new, old_state_id: transfer_after_move(transfer, new),
    lock_before=_lock_package_of))


class NoInput(serializers.Serializer):
    pass


def _transfer_shipment_status(transfer: TransferOrder, status: str) -> None:
    if transfer.shipment_id:
        shipment = Shipment.objects.get(pk=transfer.shipment_id)
        shipment.status = status
        shipment.save(update_fields=["status", "modified_date"])
        shipment_event("shipment.status.updated", shipment)


def transfer_response(transfer: TransferOrder) -> CommandResult:
    return CommandResult({"transfer_id": transfer.pk, "transfer_number": transfer.number,
                          "status": transfer.status, "package_id": transfer.package_id})


def _transfer_reservations(transfer: TransferOrder) -> list[Reservation]:
    return list(Reservation.objects.filter(
        package_item__transfer_items__transfer=transfer, stock_location=transfer.source_id))


def _system_log(obj, old_state_id: int, reason: str, trigger: TransferOrder | Package) -> None:
    log_transition(obj=obj, old_state_id=old_state_id, new_state_id=obj.state_id, actor=None,
                   attributes={"system": True, "reason": reason,
                               "trigger": {"model": trigger._meta.model_name, "id": trigger.pk}})


def _package_system_move(package: Package, method: str, status: int, reason: str,
                         trigger: TransferOrder) -> None:
    old_status, old_state_id = package.status, package.state_id
    getattr(package, method)()
    package.state = package_state(status)
    package.save(update_fields=["status", "state", "previous_state", "state_memory", "modified_date"])
    package_after_move(package, old_status, package.status, old_state_id)
    _system_log(package, old_state_id, reason, trigger)


def release_package_if_ready(package: Package, trigger: TransferOrder) -> None:
    """When no transfer of a package is open any more, it waits for packing (300 -> 100)."""
    if package.status != PackageStatus.WAITING_FOR_TRANSFER:
        return
    if TransferOrder.objects.filter(package=package, status__in=OPEN_TRANSFER).exists():
        return
    if not PackageItem.objects.filter(package=package).exists():
        _package_system_move(package, "cancel", PackageStatus.CANCELLED, "no items left", trigger)
    else:
        _package_system_move(package, "release_from_transfer", PackageStatus.WAITING,
                             "transfers delivered", trigger)


# -- dispatch -------------------------------------------------------------------------------------
@command_type("TRANSFER_READY_FOR_DISPATCH", object_type=TRANSFER, fsm_method="ready_for_dispatch",
              input_serializer=NoInput)
def transfer_ready_for_dispatch(ctx: CommandContext) -> CommandResult:
    return transfer_response(ctx.obj)


class TransferShipmentInput(serializers.Serializer):
    cargo_company = CargoCompanyRef()
    tracking_number = serializers.CharField(max_length=128)


@command_type("TRANSFER_ORDER_ADVANCED", object_type=TRANSFER, fsm_method="ready_with_shipment",
              input_serializer=TransferShipmentInput)
def transfer_order_advanced(ctx: CommandContext) -> CommandResult:
    transfer: TransferOrder = ctx.obj
    transfer.shipment = Shipment.objects.create(cargo_company=ctx.data["cargo_company"],
                                                tracking_number=ctx.data["tracking_number"])
    shipment_event("shipment.created", transfer.shipment)
    return CommandResult(transfer_response(transfer).body, update_fields=("shipment",))


@command_type("TRANSFER_DISPATCH", object_type=TRANSFER, fsm_method="dispatch", input_serializer=NoInput)
def transfer_dispatch(ctx: CommandContext) -> CommandResult:
    transfer: TransferOrder = ctx.obj
    reservations_consume(reservations=_transfer_reservations(transfer))  # the items leave the source
    _transfer_shipment_status(transfer, ShipmentStatus.SHIPPED)
    return transfer_response(transfer)


@command_type("TRANSFER_DELIVERED", object_type=TRANSFER, fsm_method="deliver", input_serializer=NoInput)
def transfer_delivered(ctx: CommandContext) -> CommandResult:
    transfer: TransferOrder = ctx.obj
    items = list(TransferItem.objects.filter(transfer=transfer).select_related("package_item"))
    received: dict[str, int] = defaultdict(int)
    for item in items:
        received[item.sku] += item.quantity
    # The destination receives the units and holds them for the package at once.
    for sku in sorted(received):
        Stock.objects.get_or_create(stock_location_id=transfer.destination_id, sku=sku)
    stocks = lock_many(Stock.objects.filter(stock_location_id=transfer.destination_id, sku__in=received))
    for stock in stocks:
        stock.quantity = F("quantity") + received[stock.sku]
    Stock.objects.bulk_update(stocks, ["quantity"])
    items_reserve(items=[item.package_item for item in items], location_id=transfer.destination_id)
    _transfer_shipment_status(transfer, ShipmentStatus.DELIVERED)
    result = transfer_response(transfer)
    # The package is released after this transfer's own move (see after_transfer_move below).
    return CommandResult(result.body, after=lambda: release_package_if_ready(transfer.package, transfer))


# -- not found / out of stock: the items come from another source ------------------------------------
def _resource(transfer: TransferOrder, *, excluded_items: set[int], reason: str) -> None:
    """Bring the transfer's items from other transfer centers. ``excluded_items`` (transfer item
    ids) never come from this source again; the rest may. Items no center can give go to a
    package in 'Contains out of stock products' at the package's location."""
    items = list(TransferItem.objects.filter(transfer=transfer).select_related("package_item"))
    reservations_release(reservations=_transfer_reservations(transfer))
    package = transfer.package
    centers = {loc.pk: loc for loc in StockLocation.objects.filter(is_transfer_center=True, is_active=True)
               .exclude(pk=transfer.destination_id)}
    stocks = lock_many(Stock.objects.filter(stock_location_id__in=centers,
                                            sku__in={i.sku for i in items}))
    available = {(s.stock_location_id, s.sku): s.available for s in stocks}
    ranked = sorted(centers.values(), key=lambda c: (-c.priority, c.pk))
    legs: dict[int, list[PackageItem]] = defaultdict(list)
    unsourced: list[PackageItem] = []
    for item in items:
        source = next((c for c in ranked
                       if not (c.pk == transfer.source_id and item.pk in excluded_items)
                       and available.get((c.pk, item.sku), 0) >= item.quantity), None)
        if source is None:
            unsourced.append(item.package_item)
            continue
        available[(source.pk, item.sku)] -= item.quantity
        legs[source.pk].append(item.package_item)
    for source_id, package_items in sorted(legs.items()):
        transfer_create(package=package, source=source_id, items=package_items)
        items_reserve(items=package_items, location_id=package.stock_location_id,
                      reserve_at={i.order_item_id: source_id for i in package_items})
    if unsourced:
        package_create(order=package.order, stock_location=package.stock_location,
                       state=package_state(PackageStatus.OUT_OF_STOCK), move_items=unsourced,
                       reserve=False)


@command_type("TRANSFER_PRODUCT_NOT_FOUND", object_type=TRANSFER, fsm_method="mark_not_found",
              input_serializer=NoInput)
def transfer_product_not_found(ctx: CommandContext) -> CommandResult:
    transfer: TransferOrder = ctx.obj
    all_items = set(TransferItem.objects.filter(transfer=transfer).values_list("pk", flat=True))
    _resource(transfer, excluded_items=all_items, reason="product not found")
    return CommandResult(transfer_response(transfer).body,
                         after=lambda: release_package_if_ready(transfer.package, transfer))


class TransferOutOfStockInput(serializers.Serializer):
    transfer_items = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
                                           allow_empty=False)


@command_type("TRANSFER_OUT_OF_STOCK", object_type=TRANSFER, fsm_method="mark_out_of_stock",
              input_serializer=TransferOutOfStockInput)
def transfer_out_of_stock(ctx: CommandContext) -> CommandResult:
    transfer: TransferOrder = ctx.obj
    listed = set(ctx.data["transfer_items"])
    items = {i.pk: i for i in TransferItem.objects.filter(transfer=transfer)}
    unknown = listed - set(items)
    if unknown:
        raise ItemNotInTransfer(f"Transfer item(s) {', '.join(map(str, sorted(unknown)))} do not "
                                f"belong to transfer {transfer.number}.")
    # The source had none of the listed SKUs: on hand becomes what others still reserve there.
    reservations_release(reservations=_transfer_reservations(transfer))
    skus = {items[pk].sku for pk in listed}
    rows = lock_many(Stock.objects.filter(stock_location_id=transfer.source_id, sku__in=skus))
    Stock.objects.filter(pk__in=[r.pk for r in rows]).update(quantity=F("reserved"))
    _resource(transfer, excluded_items=listed, reason="out of stock")
    return CommandResult(transfer_response(transfer).body,
                         after=lambda: release_package_if_ready(transfer.package, transfer))


# -- cancelling a package cancels its open transfers --------------------------------------------------
@command_type("CANCEL_PACKAGE", object_type=PACKAGE, fsm_method="cancel", input_serializer=ReasonInput)
def cancel_package(ctx: CommandContext) -> CommandResult:
    package: Package = ctx.obj
    package_release_reservations(package=package)
    cancelled = transfer_state(T.CANCELLED)
    for transfer in lock_many(TransferOrder.objects.filter(package=package, status__in=OPEN_TRANSFER)):
        old_state_id = transfer.state_id
        transfer.cancel()
        transfer.state = cancelled
        transfer.save(update_fields=["status", "state", "modified_date"])
        transfer_after_move(transfer, T.CANCELLED)
        _system_log(transfer, old_state_id, "package cancelled", package)
    shipment_status_set(package=package, status=ShipmentStatus.CANCELLED)
    return package_response(package)
