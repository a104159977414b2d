"""Transfer command types (spec §6), and CANCEL_PACKAGE (it cancels the package's transfers)."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import F
from django.utils import timezone
from rest_framework import serializers

from commands.dispatcher import log_transition
from commands.models import State
from commands.registry import CommandContext, CommandResult, ObjectType, command_type, registry
from locations.models import Reservation, Stock
from locations.services import reservations_consume
from oms.api.serializers import StrictSerializer
from oms.db import lock_many
from orders.models import Order
from packages.enums import PackageStatus, ShipmentStatus
from packages.events import shipment_event
from packages.handlers import PACKAGE, CargoCompanyRef, NoInput, ReasonInput, package_response
from packages.models import Package, PackageItem, Shipment
from packages.services import (
    items_reserve,
    package_after_move,
    package_release_reservations,
    package_state,
    shipment_status_set,
)
from transfers.enums import OPEN_TRANSFER, TransferStatus
from transfers.models import TransferItem, TransferOrder
from transfers.services import transfer_after_move, transfer_state

TRANSFER = "transfer"
T = TransferStatus


def _lock_package_of(transfer_id) -> None:
    packages = lock_many(Package.objects.filter(transfer_orders=transfer_id))
    lock_many(Order.objects.filter(pk__in=[p.order_id for p in packages]))


registry.register_object_type(ObjectType(
    name=TRANSFER, model_label="transfers.TransferOrder", enum_class="TransferStatus",
    status_enum=TransferStatus, lock_related=("package", "source", "destination"),
    after_move=lambda transfer, old, new, old_state_id: transfer_after_move(transfer, new),
    lock_before=_lock_package_of,
    # The source performs a transfer's commands; TRANSFER_DELIVERED is the destination's.
    acting_locations=lambda transfer, data: [transfer.source_id]))


def transfer_response(ctx: CommandContext, **extra) -> CommandResult:
    """The transfer as the command leaves it (the status is the transition's destination)."""
    transfer = ctx.obj
    return CommandResult({"transfer_id": transfer.pk, "transfer_number": transfer.number,
                          "status": ctx.transition.destination_state.enum_value,
                          "package_id": transfer.package_id}, **extra)


def transfer_reservations(transfer: TransferOrder) -> list[Reservation]:
    return list(Reservation.objects.filter(
        package_item__transfer_items__transfer=transfer, stock_location=transfer.source_id))


def system_log(obj, old_state_id: int, reason: str, trigger: TransferOrder | Package) -> None:
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
    system_log(package, old_state_id, reason, trigger)


def release_package_if_ready(package: Package, trigger: TransferOrder, reason: str) -> None:
    """When no transfer of a package is open any more, it waits for packing (300 -> 100), as a
    system transition. A package that left 300 meanwhile (blocked, cancellation requested) will
    come back to Waiting, not to 300: its remembered states are rewritten."""
    if TransferOrder.objects.filter(package=package, status__in=OPEN_TRANSFER).exists():
        return
    if package.status != PackageStatus.WAITING_FOR_TRANSFER:
        _forget_waiting_for_transfer(package)
        return
    if not PackageItem.objects.filter(package=package).exists():
        _package_system_move(package, "cancel", PackageStatus.CANCELLED, "no items left", trigger)
    else:
        _package_system_move(package, "release_from_transfer", PackageStatus.WAITING, reason, trigger)


def _forget_waiting_for_transfer(package: Package) -> None:
    remembered = [package.previous_state_id, *package.state_memory]
    if not remembered or package.previous_state_id is None:
        return
    stale = set(State.objects.filter(pk__in=[r for r in remembered if r],
                                     enum_value=str(PackageStatus.WAITING_FOR_TRANSFER))
                .values_list("pk", flat=True))
    if not stale:
        return
    waiting = package_state(PackageStatus.WAITING).pk
    package.previous_state_id = waiting if package.previous_state_id in stale else package.previous_state_id
    package.state_memory = [waiting if r in stale else r for r in package.state_memory]
    package.save(update_fields=["previous_state", "state_memory", "modified_date"])


def _receive(transfer: TransferOrder, *, reserve: bool) -> None:
    """The destination receives the transfer's units (and holds them for the package)."""
    items = list(TransferItem.objects.filter(transfer=transfer).select_related("package_item"))
    received: dict[str, int] = defaultdict(int)
    for item in items:
        received[item.sku] += item.quantity
    for sku in sorted(received):
        Stock.objects.get_or_create(stock_location_id=transfer.destination_id, sku=sku)
    stocks = lock_many(Stock.objects.filter(stock_location_id=transfer.destination_id, sku__in=received))
    now = timezone.now()
    for stock in stocks:
        stock.quantity = F("quantity") + received[stock.sku]
        stock.modified_date = now
    Stock.objects.bulk_update(stocks, ["quantity", "modified_date"])
    if reserve:
        items_reserve(items=[item.package_item for item in items], location_id=transfer.destination_id)


# -- dispatch -------------------------------------------------------------------------------------
@command_type("TRANSFER_READY_FOR_DISPATCH", object_type=TRANSFER, fsm_method="ready_for_dispatch",
              input_serializer=NoInput)
def transfer_ready_for_dispatch(ctx: CommandContext) -> CommandResult:
    return transfer_response(ctx)


class TransferShipmentInput(StrictSerializer):
    cargo_company = CargoCompanyRef()
    tracking_number = serializers.CharField(max_length=128)


@command_type("TRANSFER_ORDER_ADVANCED", object_type=TRANSFER, fsm_method="ready_with_shipment",
              input_serializer=TransferShipmentInput)
def transfer_order_advanced(ctx: CommandContext) -> CommandResult:
    transfer: TransferOrder = ctx.obj
    transfer.shipment = Shipment.objects.create(cargo_company=ctx.data["cargo_company"],
                                                tracking_number=ctx.data["tracking_number"])
    shipment_event("shipment.created", transfer.shipment)
    return transfer_response(ctx, update_fields=("shipment",))


@command_type("TRANSFER_DISPATCH", object_type=TRANSFER, fsm_method="dispatch", input_serializer=NoInput)
def transfer_dispatch(ctx: CommandContext) -> CommandResult:
    transfer: TransferOrder = ctx.obj
    reservations_consume(reservations=transfer_reservations(transfer))  # the items leave the source
    shipment_status_set(shipment_id=transfer.shipment_id, status=ShipmentStatus.SHIPPED)
    return transfer_response(ctx)


@command_type("TRANSFER_DELIVERED", object_type=TRANSFER, fsm_method="deliver", input_serializer=NoInput,
              acting_locations=lambda transfer, data: [transfer.destination_id])
def transfer_delivered(ctx: CommandContext) -> CommandResult:
    transfer: TransferOrder = ctx.obj
    _receive(transfer, reserve=True)
    shipment_status_set(shipment_id=transfer.shipment_id, status=ShipmentStatus.DELIVERED)
    # The package is released after this transfer's own move, once no transfer of it is open.
    return transfer_response(ctx, after=lambda: release_package_if_ready(
        transfer.package, transfer, "transfers delivered"))


# -- cancelling a package cancels its open transfers --------------------------------------------------
@command_type("CANCEL_PACKAGE", object_type=PACKAGE, fsm_method="cancel", input_serializer=ReasonInput)
def cancel_package(ctx: CommandContext) -> CommandResult:
    package: Package = ctx.obj
    package_release_reservations(package=package)
    cancelled = transfer_state(T.CANCELLED)
    for transfer in lock_many(TransferOrder.objects.filter(package=package, status__in=OPEN_TRANSFER)):
        old_state_id = transfer.state_id
        if transfer.status == T.IN_TRANSIT:
            # The units left the source and will arrive: they become free stock at the destination.
            _receive(transfer, reserve=False)
        shipment_status_set(shipment_id=transfer.shipment_id, status=ShipmentStatus.CANCELLED)
        transfer.cancel()
        transfer.state = cancelled
        transfer.save(update_fields=["status", "state", "modified_date"])
        transfer_after_move(transfer, T.CANCELLED)
        system_log(transfer, old_state_id, "package cancelled", package)
    shipment_status_set(package=package, status=ShipmentStatus.CANCELLED)
    return package_response(package)
