"""Transfer writes, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence

from commands.models import State
from commands.selectors import commands_for_states
from locations.models import StockLocation
from packages.models import Package, PackageItem
from transfers.enums import TransferStatus
from transfers.models import TransferItem, TransferOrder
from transfers.serializers import TransferOrderDetailSerializer
from webhooks.outbox import event_add


def transfer_state(status: str) -> State:
    return State.objects.get(enum_class="TransferStatus", slug=status.replace("_", "-"))


def transfer_create(*, package: Package, source: StockLocation | int, items: Sequence[PackageItem],
                    state: State | None = None) -> TransferOrder:
    """A transfer bringing ``items`` from ``source`` (a transfer center) to the package's
    location. The items' reservations at the source are made by the caller (planning)."""
    existing = TransferOrder.objects.filter(package=package).count()
    source_id = source.pk if isinstance(source, StockLocation) else source
    transfer = TransferOrder.objects.create(
        number=f"{package.number}T{existing + 1}", order_id=package.order_id, package=package,
        source_id=source_id, destination_id=package.stock_location_id,
        status=TransferStatus.WAITING, state=state or transfer_state(TransferStatus.WAITING))
    TransferItem.objects.bulk_create([
        TransferItem(transfer=transfer, package_item=item, sku=item.sku, quantity=item.quantity,
                     status=TransferStatus.WAITING) for item in items])
    event_add("transfer.status.created", transfer_payload(transfer))
    return transfer


def transfer_payload(transfer: TransferOrder) -> dict:
    fresh = (TransferOrder.objects.select_related("state", "source", "destination", "shipment")
             .prefetch_related("transferitem_set").get(pk=transfer.pk))
    context = {"commands": commands_for_states([fresh.state_id], None)}
    return dict(TransferOrderDetailSerializer(fresh, context=context).data)


def transfer_after_move(transfer: TransferOrder, new_status: str) -> None:
    """Items mirror the transfer's status; the move is announced (spec §8)."""
    TransferItem.objects.filter(transfer=transfer).update(status=new_status)
    payload = transfer_payload(transfer)
    event_add("transfer.status.transitioned", payload)
    event_add(f"transfer.status.{new_status}", payload)
