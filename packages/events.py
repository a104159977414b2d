"""Webhook events of packages and shipments (spec §8), added to the transaction's outbox.

Payloads are the object as its detail endpoint serializes it at that moment — built here by plain
functions from the objects the command already holds, not by the DRF serializers (their field
construction cost more than the rest of a command); tests/webhooks/test_payloads.py keeps the two
equal. An event no active subscription wants is not built at all (webhooks.outbox)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils import timezone
from rest_framework import ISO_8601
from rest_framework.settings import api_settings

from commands.cache import commands_config
from commands.serializers import transition_input_schema
from packages.enums import PackageStatus
from packages.models import Package, PackageItem, Shipment
from webhooks.outbox import event_add

UNKNOWN: Any = object()


def _dt(value, tz):
    """A datetime as DRF's ``DateTimeField`` renders it (DATETIME_FORMAT, in ``tz``: the current
    time zone, which a payload looks up once — the lookup cost more than the rendering), without
    its per-call machinery."""
    if value is None:
        return None
    value = value.astimezone(tz)
    output = api_settings.DATETIME_FORMAT
    if output is None or output.lower() == ISO_8601:
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    return value.strftime(output)


def state_data(state, tz=None) -> dict:
    """``StateShortSerializer``."""
    tz = tz or timezone.get_current_timezone()
    return {"id": state.pk, "name": state.name, "enum_class": state.enum_class,
            "enum_value": state.enum_value, "translations": state.translations, "config": state.config,
            "created_date": _dt(state.created_date, tz), "modified_date": _dt(state.modified_date, tz)}


def command_data(transition, tz=None) -> dict:
    """``CommandSerializer``."""
    tz = tz or timezone.get_current_timezone()
    return {"id": transition.pk, "label": transition.label, "ui_visibility": transition.ui_visibility,
            "slug": transition.slug, "created_date": _dt(transition.created_date, tz),
            "modified_date": _dt(transition.modified_date, tz), "translations": transition.translations,
            "command": transition.command, "source_state": transition.source_state_id,
            "destination_state": transition.destination_state_id,
            "input_schema": transition_input_schema(transition)}


def commands_data(state_id: int, tz=None) -> list[dict]:
    """The commands offered in a state to the OMS itself (every channel), as the detail shows them
    (built once per configuration version and time zone: shared, never to be changed)."""
    from commands.registry import registry

    config = commands_config()
    tz = tz or timezone.get_current_timezone()
    return config.derive(("payload-commands", state_id, tz), lambda: [
        command_data(t, tz) for t in config.outgoing.get(state_id, ())
        if (ct := registry.get(t.command)) is not None and ct.is_implemented])


def _state_data(state, tz) -> dict:
    """``state_data`` of a configured state, built once per configuration version (shared)."""
    config = commands_config()
    if config.states.get(state.pk) is not state:  # not the cached object: build it afresh
        return state_data(state, tz)
    return config.derive(("payload-state", state.pk, tz), lambda: state_data(state, tz))


def item_data(item: PackageItem, tz=None) -> dict:
    """``PackageItemSerializer``."""
    tz = tz or timezone.get_current_timezone()
    return {"id": item.pk, "package": item.package_id, "order_item": item.order_item_id, "sku": item.sku,
            "quantity": item.quantity, "status": item.status, "created_date": _dt(item.created_date, tz),
            "modified_date": _dt(item.modified_date, tz)}


def shipment_data(shipment: Shipment, tz=None) -> dict:
    """``ShipmentSerializer``."""
    tz = tz or timezone.get_current_timezone()
    return {"id": shipment.pk, "package": shipment.package_id, "cargo_company": shipment.cargo_company_id,
            "tracking_number": shipment.tracking_number, "query_number": shipment.query_number,
            "status": shipment.status, "shipped_date": _dt(shipment.shipped_date, tz),
            "has_shipping_document": shipment.has_shipping_document,
            "created_date": _dt(shipment.created_date, tz), "modified_date": _dt(shipment.modified_date, tz)}


def package_payload(package: Package, *, items: Sequence[PackageItem] | None = None,
                    shipment: Shipment | None = UNKNOWN) -> dict:
    """``PackageDetailSerializer`` with every channel's commands, from loaded objects: the package
    with its state, stock location and order as they are now; its items (read when not given,
    by id) and its shipment (read when not given; None: it has none)."""
    if items is None:
        items = PackageItem.objects.filter(package_id=package.pk).order_by("id")
    if shipment is UNKNOWN:
        shipment = Shipment.objects.filter(package_id=package.pk).first()
    order, location = package.order, package.stock_location
    tz = timezone.get_current_timezone()
    return {
        "id": package.pk, "number": package.number,
        "order": {"id": order.pk, "number": order.number, "channel": order.channel_id,
                  "status": int(order.status), "cargo_company": order.cargo_company_id,
                  "tracking_number": order.tracking_number, "date_placed": _dt(order.date_placed, tz)},
        "stock_location": {"id": location.pk, "name": location.name, "erp_code": location.erp_code,
                           "stock_location_type": location.stock_location_type},
        "status": int(package.status), "state": _state_data(package.state, tz),
        "previous_state": package.previous_state_id, "denial_reason": package.denial_reason_id,
        "invoice_number": package.invoice_number, "invoice_date": _dt(package.invoice_date, tz),
        "invoice_document_type": package.invoice_document_type,
        "created_date": _dt(package.created_date, tz), "modified_date": _dt(package.modified_date, tz),
        "invoice_document": package.invoice_document,
        "packageitem_set": [item_data(item, tz) for item in items],
        "shipment": shipment_data(shipment, tz) if shipment is not None else None,
        "commands": commands_data(package.state_id, tz),
    }


def _fresh(package: Package) -> Package:
    """The package re-read with what its payload shows (the order's derived status may have moved
    in this transaction)."""
    return Package.objects.select_related("state", "stock_location", "order").get(pk=package.pk)


def package_created(package: Package) -> None:
    """A new package, read back for its payload."""
    event_add("package.created", lambda: package_payload(_fresh(package), shipment=None))


def package_created_from(package: Package, *, items: Sequence[PackageItem]) -> None:
    """A new package whose order, location and state objects are current, with ``items``."""
    event_add("package.created", lambda: package_payload(package, items=items, shipment=None))


def package_transitioned(package: Package) -> None:
    """A package moved, read back for its payload."""
    _transitioned(package, _once(lambda: package_payload(_fresh(package))))


def package_transitioned_from(package: Package, *, items: Sequence[PackageItem] | None,
                              shipment: Shipment | None) -> None:
    """A package moved by this transaction, which holds it as it now is: with its order (status
    included), location and state, its ``items`` (read when None) and its ``shipment``."""
    _transitioned(package, _once(lambda: package_payload(package, items=items, shipment=shipment)))


def _transitioned(package: Package, payload) -> None:
    event_add("package.status.transitioned", payload)
    event_add(f"package.status.{PackageStatus(package.status).name.lower()}", payload)


def package_refused(package: Package) -> None:
    event_add("package.refused", lambda: package_payload(_fresh(package)))


def shipment_event(event_type: str, shipment: Shipment) -> None:
    event_add(event_type, lambda: shipment_data(shipment))


def shipment_tracking_set(shipment: Shipment) -> None:
    """``package.shipment.awb_number``: a tracking (air waybill) number was set."""
    if shipment.tracking_number:
        shipment_event("package.shipment.awb_number", shipment)


def _once(build):
    """A payload factory that builds at most once (several events share one payload)."""
    built: list[dict] = []

    def payload() -> dict:
        if not built:
            built.append(build())
        return built[0]

    return payload
