"""Webhook events of packages and shipments (spec §8), added to the transaction's outbox.
Payloads are the object as its detail endpoint serializes it at that moment."""

from __future__ import annotations

from commands.selectors import commands_for_states
from packages.enums import PackageStatus
from packages.models import Package, Shipment
from packages.selectors import package_detail_queryset
from packages.serializers import PackageDetailSerializer, ShipmentSerializer
from webhooks.outbox import event_add


def package_payload(package: Package) -> dict:
    fresh = package_detail_queryset(None).get(pk=package.pk)
    context = {"commands": commands_for_states([fresh.state_id], None)}
    return dict(PackageDetailSerializer(fresh, context=context).data)


def package_created(package: Package) -> None:
    event_add("package.created", package_payload(package))


def package_transitioned(package: Package) -> None:
    payload = package_payload(package)
    event_add("package.status.transitioned", payload)
    event_add(f"package.status.{PackageStatus(package.status).name.lower()}", payload)


def package_refused(package: Package) -> None:
    event_add("package.refused", package_payload(package))


def shipment_event(event_type: str, shipment: Shipment) -> None:
    event_add(event_type, dict(ShipmentSerializer(shipment).data))


def shipment_tracking_set(shipment: Shipment) -> None:
    """``package.shipment.awb_number``: a tracking (air waybill) number was set."""
    if shipment.tracking_number:
        shipment_event("package.shipment.awb_number", shipment)
