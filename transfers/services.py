"""Transfer writes, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence

from commands.models import State
from locations.models import StockLocation
from packages.models import Package, PackageItem
from transfers.enums import TransferStatus
from transfers.models import TransferItem, TransferOrder


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
    return transfer
