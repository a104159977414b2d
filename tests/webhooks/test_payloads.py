"""Webhook payloads are built without the DRF serializers (packages/events.py): they must stay the
JSON the detail endpoint's serializers produce, for packages in every shape."""

import json

import pytest
from django.utils import timezone

from commands.dispatcher import command_run
from commands.selectors import commands_for_states
from locations.models import Stock
from packages.events import package_payload, shipment_data
from packages.models import Package, PackageItem, Shipment
from packages.selectors import package_detail_queryset
from packages.serializers import PackageDetailSerializer, ShipmentSerializer
from tests.factories import (
    CargoCompanyFactory,
    DenialReasonFactory,
    OrderFactory,
    StockLocationFactory,
    make_package,
)
from tests.webhooks.helpers import events_after, last_event_id, pack, ship
from transfers.services import transfer_create
from webhooks.models import WebhookSubscription


def serialized(package: Package) -> dict:
    """What the detail serializer makes of the package, with every channel's commands."""
    fresh = package_detail_queryset(None).get(pk=package.pk)
    context = {"commands": commands_for_states([fresh.state_id], None)}
    return json.loads(json.dumps(PackageDetailSerializer(fresh, context=context).data))


def built(package: Package) -> dict:
    fresh = Package.objects.select_related("state", "stock_location", "order").get(pk=package.pk)
    return json.loads(json.dumps(package_payload(fresh)))


def run(package: Package, slug: str, **input_parameters) -> None:
    command_run(object_type="package", object_id=package.pk, slug=slug, input_parameters=input_parameters)


def waiting_with_two_items(seeded):
    return make_package(items=2)


def waiting_with_an_out_of_stock_item(seeded):
    package = make_package(items=2)
    PackageItem.objects.filter(pk=package.packageitem_set.order_by("id").first().pk).update(
        status="out_of_stock")
    return package


def packed_with_a_shipment(seeded):
    package = make_package(items=3)
    run(package, "package__complete_packaging__waiting__packed")
    return package


def shipped_with_tracking_and_cargo(seeded):
    cargo = CargoCompanyFactory(code="aras")
    order = OrderFactory(cargo_company=cargo, tracking_number="ORDER-TRK")
    package = make_package(order=order, items=1)
    run(package, "package__complete_packaging__waiting__packed")
    run(package, "package__ship_the_package_advanced__packed__shipped", cargo_company="aras",
        tracking_number="TRK-1")
    return package


def blocked_with_reason_and_invoice(seeded):
    package = make_package(items=1)
    Package.objects.filter(pk=package.pk).update(
        denial_reason=DenialReasonFactory(), invoice_number="INV-1", invoice_date=timezone.now(),
        invoice_document_type="pdf", invoice_document="aGVsbG8=")
    run(package, "package__block_the_package__waiting__blocked")
    return package


def waiting_for_a_transfer(seeded):
    center = StockLocationFactory(is_transfer_center=True)
    package = make_package(items=2, status=300)
    item = package.packageitem_set.order_by("id").first()
    Stock.objects.create(stock_location=center, sku=item.sku, quantity=5)
    transfer_create(package=package, source=center, items=[item])
    return package


@pytest.mark.parametrize("shape", [
    waiting_with_two_items, waiting_with_an_out_of_stock_item, packed_with_a_shipment,
    shipped_with_tracking_and_cargo, blocked_with_reason_and_invoice, waiting_for_a_transfer,
])
def test_the_built_payload_is_the_detail_serializers_json(seeded, shape):
    package = shape(seeded)

    payload, expected = built(package), serialized(package)

    assert payload == expected
    assert list(payload) == list(expected)  # same keys, same order


@pytest.mark.parametrize("zone", ["Europe/Istanbul", "America/St_Johns"])
def test_the_built_payload_renders_dates_in_the_current_time_zone_as_the_serializer(seeded, zone):
    """The payload looks the time zone up once (packages/events.py: _dt); the configuration's
    parts of it (state, commands) are kept per time zone. A zone other than UTC, and another one
    after it, must still give the serializer's JSON, dates with their offsets."""
    package = shipped_with_tracking_and_cargo(seeded)
    utc = built(package)
    with timezone.override(zone):
        payload, expected = built(package), serialized(package)
    assert payload == expected
    assert payload["created_date"] != utc["created_date"]
    assert payload["shipment"]["created_date"] == expected["shipment"]["created_date"]
    assert payload["state"]["created_date"] != utc["state"]["created_date"]
    assert built(package) == utc  # back in UTC: nothing of the other zone kept


def test_a_shipments_built_payload_is_its_serializers_json(seeded):
    package = shipped_with_tracking_and_cargo(seeded)
    shipment = Shipment.objects.get(package=package)

    assert json.loads(json.dumps(shipment_data(shipment))) == json.loads(
        json.dumps(ShipmentSerializer(shipment).data))


@pytest.mark.parametrize("shape", [waiting_with_two_items, waiting_with_an_out_of_stock_item])
def test_the_events_of_pack_and_ship_carry_the_package_as_the_serializer_shows_it_then(api, seeded, shape):
    WebhookSubscription.objects.create(event_type="*", target_url="https://hooks.example.com/oms")
    package = shape(seeded)
    since = last_event_id()

    pack(api, seeded, package)
    after_pack = serialized(package)
    ship(api, seeded, package)
    after_ship = serialized(package)

    events = events_after(since)
    assert [(e.event_type, e.payload) for e in events] == [
        ("package.status.transitioned", after_pack), ("package.status.packed", after_pack),
        ("shipment.created", after_pack["shipment"]),
        ("package.status.transitioned", after_ship), ("package.status.shipped", after_ship),
        ("shipment.status.updated", after_ship["shipment"]),
    ]


# -- every event of a command, against the serializers after it ---------------------------------------
SEQUENCES = {
    "pack, ship with tracking, delivered": [
        ("package__complete_packaging__waiting__packed", {}),
        ("package__ship_the_package_advanced__packed__shipped",
         {"cargo_company": "aras", "tracking_number": "TRK-9"}),
        ("package__update_package_shipment_status__shipped__delivered", {})],
    "block, unblock": [
        ("package__block_the_package__waiting__blocked", {"reason": "damaged box"}),
        ("package__unblock_the_package__blocked__previous", {})],
    "cancellation requested, then cancelled": [
        ("package__request_cancellation__waiting__cancellation-waiting", {}),
        ("package__cancel_package__cancellation-waiting__cancelled", {})],
    "packed without shipment, shipment info, shipped basic": [
        ("package__complete_packaging_without_shipment__waiting__packed", {}),
        ("package__update_shipment_info__packed__packed", {"tracking_number": "TRK-7"}),
        ("package__ship_the_package_basic__packed__shipped", {})],
    "reservations released, then packed from free stock": [
        ("package__pkg_deallocate_reservations__waiting__preparing", {}),
        ("package__complete_packaging__preparing__packed", {})],
    "packed for refund": [("package__packed_for_refund__waiting__packed-for-refund", {})],
    "ready for pickup, delivered to the customer": [
        ("package__complete_packaging__waiting__packed", {}),
        ("package__ready_for_pickup__packed__ready-for-pickup", {}),
        ("package__self_service_delivery__ready-for-pickup__delivered", {})],
}


@pytest.mark.parametrize("steps", SEQUENCES.values(), ids=SEQUENCES.keys())
def test_every_event_of_a_command_is_the_object_as_the_serializers_show_it_after_the_command(
        seeded, steps):
    WebhookSubscription.objects.create(event_type="*", target_url="https://hooks.example.com/oms")
    CargoCompanyFactory(code="aras")
    order = OrderFactory()
    package = make_package(order=order, items=2)
    sibling = make_package(order=order, items=1)  # the order's status depends on both

    for slug, input_parameters in steps:
        since = last_event_id()
        run(package, slug, **input_parameters)

        events = events_after(since)
        assert events, slug
        for event in events:
            if event.event_type.startswith("package.status.") or event.event_type == "package.created":
                assert event.payload == serialized(package), (slug, event.event_type)
            else:
                shipment = Shipment.objects.get(pk=event.payload["id"])
                assert event.payload == json.loads(json.dumps(ShipmentSerializer(shipment).data)), (
                    slug, event.event_type)
    assert serialized(sibling)["status"] == 100


def test_an_operators_change_to_a_state_or_a_command_shows_in_the_next_events_payload(api, seeded):
    """The state and commands parts of a payload are built once per configuration version
    (packages/events.py): an operator's edit is in the very next event, never a stale copy."""
    WebhookSubscription.objects.create(event_type="package.status.packed",
                                       target_url="https://hooks.example.com/p")
    first, second = make_package(), make_package()
    pack(api, seeded, first)  # builds and keeps the Packed state's parts
    packed_state = seeded.transition("COMPLETE_PACKAGING", 100, 500).destination_state
    packed_state.translations = {"tr": "Paketlendi (yeni)"}
    packed_state.save(update_fields=["translations", "modified_date"])
    offered = seeded.transition("SHIP_THE_PACKAGE", 500, 550)
    offered.label = "Hand over to the carrier"
    offered.save(update_fields=["label", "modified_date"])
    since = last_event_id()

    pack(api, seeded, second)

    (event,) = events_after(since)
    assert event.payload == serialized(second)
    assert event.payload["state"]["translations"] == {"tr": "Paketlendi (yeni)"}
    assert "Hand over to the carrier" in [c["label"] for c in event.payload["commands"]]
