"""Package command types (spec §5): one small handler per type, with its input serializer."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from commands.registry import (
    CommandContext,
    CommandResult,
    ObjectType,
    command_type,
    registry,
)
from locations.models import CargoCompany
from locations.services import quota_batch
from oms.api.serializers import BIGINT_MAX, IdField, StrictSerializer, parse_id
from packages.enums import PackageStatus, ShipmentStatus
from packages.errors import ItemNotInPackage
from packages.models import Package, PackageItem
from packages.services import (
    items_as_read,
    items_untouched,
    package_after_move,
    package_pack,
    package_read_annotations,
    package_release_reservations,
    package_ship,
    shipment_info_update,
    shipment_status_set,
    sibling_statuses_batch,
)

PACKAGE = "package"

# Quota moves of a command are written at its end, all location rows in one pk-ordered lock.
registry.command_batches.append(quota_batch)
registry.command_batches.append(sibling_statuses_batch)

# Commands on a package may renumber its order's packages and always refresh its status: the
# order is locked right after the package, by the read of the package with its relations, which
# also brings its shipment and the statuses of the order's other packages.
registry.register_object_type(ObjectType(
    name=PACKAGE, model_label="packages.Package", enum_class="PackageStatus",
    status_enum=PackageStatus, after_move=package_after_move,
    lock_related=("order", "stock_location", "shipment"), lock_with=("order",),
    read_annotations=package_read_annotations, saves_after_move=True,
    acting_locations=lambda package, data: [package.stock_location_id]))


def package_response(package: Package, *, origin: Package | None = None) -> CommandResult:
    """The seed's response: the package now holding the items and whether it is at the same
    location as the package the command ran on."""
    origin = origin or package
    return CommandResult({
        "package_id": package.pk,
        "package_number": package.number,
        "package_stock_location_id": package.stock_location_id,
        "package_stock_location_name": package.stock_location.name,
        "is_same_location": package.stock_location_id == origin.stock_location_id,
    })


# Command input serializers are strict: a key the command does not take answers 400
# (commands_100_4) naming it, instead of being dropped.
class NoInput(StrictSerializer):
    # No fields: an empty input is valid as it is, and the dispatcher does not build this
    # serializer for it (commands/dispatcher.py: _validate); anything else is validated (400).
    takes_nothing = True


@extend_schema_field({"oneOf": [{"type": "integer", "minimum": 1, "maximum": BIGINT_MAX},
                                {"type": "string", "minLength": 1, "maxLength": 64}],
                      "description": "An active cargo company, by id or by code."})
class CargoCompanyRef(serializers.Field):
    """A cargo company by id or by ``code``."""

    default_error_messages = {"unknown": "Unknown cargo company '{value}'."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            self.fail("unknown", value=data)
        value = str(data).strip()
        if not value or len(value) > 64:
            self.fail("unknown", value=value[:64])
        # Only ASCII digits are an id ("²".isdigit() is true, and int("²") raises).
        pk = parse_id(value)
        lookup = {"pk": pk} if pk is not None else {"code": value}
        company = CargoCompany.objects.filter(is_active=True, **lookup).first()
        if company is None:
            self.fail("unknown", value=data)
        return company

    def to_representation(self, value):
        return value.pk


MAX_LISTED_ITEMS = 1000


class PackageItemIds(serializers.ListField):
    child = IdField()

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", MAX_LISTED_ITEMS)
        super().__init__(**kwargs)


def check_items_belong(package: Package, item_ids: list[int]) -> list[int]:
    wanted = set(item_ids)
    known = items_as_read(package)
    found = ({item.pk for item in known} & wanted if known is not None else
             set(PackageItem.objects.filter(package=package, pk__in=wanted).values_list("pk", flat=True)))
    if found != wanted:
        missing = ", ".join(str(i) for i in sorted(wanted - found))
        raise ItemNotInPackage(f"Package item(s) {missing} do not belong to package {package.number}.")
    return sorted(wanted)


# -- moves without side effects --------------------------------------------------------------------
@command_type("PKG_STATE_TRANSITION", object_type=PACKAGE, fsm_method="move", input_serializer=NoInput)
def pkg_state_transition(ctx: CommandContext) -> CommandResult:
    return package_response(ctx.obj)


@command_type("PKG_DEALLOCATE_RESERVATIONS", object_type=PACKAGE, fsm_method="deallocate",
              input_serializer=NoInput)
def pkg_deallocate_reservations(ctx: CommandContext) -> CommandResult:
    package_release_reservations(package=ctx.obj)
    return package_response(ctx.obj)


# -- packing -----------------------------------------------------------------------------------------
@command_type("COMPLETE_PACKAGING", object_type=PACKAGE, fsm_method="pack", input_serializer=NoInput,
              reads=("items", "reservations"))
def complete_packaging(ctx: CommandContext) -> CommandResult:
    package_pack(package=ctx.obj)
    return package_response(ctx.obj)


@command_type("COMPLETE_PACKAGING_WITHOUT_SHIPMENT", object_type=PACKAGE,
              fsm_method="pack_without_shipment", input_serializer=NoInput, reads=("items", "reservations"))
def complete_packaging_without_shipment(ctx: CommandContext) -> CommandResult:
    package_pack(package=ctx.obj, with_shipment=False)
    return package_response(ctx.obj)


@command_type("CHANNEL_BASED_COMPLETE_PACKAGING", object_type=PACKAGE, fsm_method="pack_for_channel",
              input_serializer=NoInput, reads=("items", "reservations"))
def channel_based_complete_packaging(ctx: CommandContext) -> CommandResult:
    # The marketplace ships on its own label: its tracking number, no document from us.
    package_pack(package=ctx.obj, tracking_number=ctx.obj.order.tracking_number,
                 has_shipping_document=False)
    return package_response(ctx.obj)


# -- shipping ----------------------------------------------------------------------------------------
class ShipInput(StrictSerializer):
    package_items = PackageItemIds(required=False, allow_empty=True)


@command_type("SHIP_THE_PACKAGE", object_type=PACKAGE, fsm_method="ship", input_serializer=ShipInput,
              reads=("items",))
def ship_the_package(ctx: CommandContext) -> CommandResult:
    if ctx.data.get("package_items"):
        check_items_belong(ctx.obj, ctx.data["package_items"])
    package_ship(package=ctx.obj)
    items_untouched(ctx.obj)
    return package_response(ctx.obj)


class ShipAdvancedInput(StrictSerializer):
    tracking_number = serializers.CharField(max_length=128)
    cargo_company = CargoCompanyRef()


@command_type("SHIP_THE_PACKAGE_ADVANCED", object_type=PACKAGE, fsm_method="ship_advanced",
              input_serializer=ShipAdvancedInput, reads=("items",))
def ship_the_package_advanced(ctx: CommandContext) -> CommandResult:
    package_ship(package=ctx.obj, cargo_company_id=ctx.data["cargo_company"].pk,
                 tracking_number=ctx.data["tracking_number"])
    items_untouched(ctx.obj)
    return package_response(ctx.obj)


@command_type("SHIP_THE_PACKAGE_BASIC", object_type=PACKAGE, fsm_method="ship_basic",
              input_serializer=NoInput)
def ship_the_package_basic(ctx: CommandContext) -> CommandResult:
    # No shipment integration: only the package's status moves; a shipment, if any, follows.
    shipment_status_set(package=ctx.obj, status=ShipmentStatus.SHIPPED)
    return CommandResult(None, status_code=204)


_SHIPMENT_FOR_STATUS = {
    PackageStatus.ATTEMPTED_DELIVERY: ShipmentStatus.ATTEMPTED_DELIVERY,
    PackageStatus.DELIVERY_FAILED: ShipmentStatus.DELIVERY_FAILED,
    PackageStatus.DELIVERED: ShipmentStatus.DELIVERED,
}


@command_type("UPDATE_PACKAGE_SHIPMENT_STATUS", object_type=PACKAGE, fsm_method="update_delivery",
              input_serializer=NoInput)
def update_package_shipment_status(ctx: CommandContext) -> CommandResult:
    status = _SHIPMENT_FOR_STATUS[ctx.transition.destination_state.status]
    shipment_status_set(package=ctx.obj, status=status)
    return package_response(ctx.obj)


class ShipmentInfoInput(StrictSerializer):
    cargo_company = CargoCompanyRef(required=False)
    tracking_number = serializers.CharField(max_length=128, required=False)
    query_number = serializers.CharField(max_length=128, required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(
                "Give at least one of cargo_company, tracking_number, query_number.")
        return attrs


@command_type("UPDATE_SHIPMENT_INFO", object_type=PACKAGE, fsm_method="update_shipment_info",
              input_serializer=ShipmentInfoInput)
def update_shipment_info(ctx: CommandContext) -> CommandResult:
    shipment_info_update(package=ctx.obj, changes=dict(ctx.data))
    return package_response(ctx.obj)


# -- blocking ------------------------------------------------------------------------------------------
class ReasonInput(StrictSerializer):
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True)


@command_type("BLOCK_THE_PACKAGE", object_type=PACKAGE, fsm_method="block", input_serializer=ReasonInput)
def block_the_package(ctx: CommandContext) -> CommandResult:
    return package_response(ctx.obj)


@command_type("UNBLOCK_THE_PACKAGE", object_type=PACKAGE, fsm_method="unblock",
              input_serializer=NoInput, restores_state=True)
def unblock_the_package(ctx: CommandContext) -> CommandResult:
    return package_response(ctx.obj)


@command_type("REQUEST_CANCELLATION", object_type=PACKAGE, fsm_method="request_cancellation",
              input_serializer=ReasonInput)
def request_cancellation(ctx: CommandContext) -> CommandResult:
    return package_response(ctx.obj)


@command_type("REJECT_CANCELLATION", object_type=PACKAGE, fsm_method="reject_cancellation",
              input_serializer=ReasonInput, restores_state=True)
def reject_cancellation(ctx: CommandContext) -> CommandResult:
    return package_response(ctx.obj)


# -- after packing -----------------------------------------------------------------------------------
@command_type("PACKED_FOR_REFUND", object_type=PACKAGE, fsm_method="pack_for_refund",
              input_serializer=NoInput)
def packed_for_refund(ctx: CommandContext) -> CommandResult:
    package_release_reservations(package=ctx.obj)
    return package_response(ctx.obj)


class InvoiceInput(StrictSerializer):
    invoice_number = serializers.CharField(max_length=64)
    invoice_date = serializers.DateTimeField(required=False)
    document_type = serializers.CharField(max_length=32, required=False, allow_blank=True)
    document = serializers.CharField(required=False, allow_blank=True)

    def validate_document(self, value: str) -> str:
        import base64
        import binascii

        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError("Must be base64-encoded.") from None
        return value


@command_type("UPDATE_INVOICE", object_type=PACKAGE, fsm_method="update_invoice",
              input_serializer=InvoiceInput)
def update_invoice(ctx: CommandContext) -> CommandResult:
    package, data = ctx.obj, ctx.data
    package.invoice_number = data["invoice_number"]
    package.invoice_date = data.get("invoice_date", package.invoice_date)
    package.invoice_document_type = data.get("document_type", package.invoice_document_type)
    package.invoice_document = data.get("document", package.invoice_document)
    result = package_response(package)
    return CommandResult(result.body, update_fields=(
        "invoice_number", "invoice_date", "invoice_document_type", "invoice_document"))


@command_type("READY_FOR_PICKUP", object_type=PACKAGE, fsm_method="ready_for_pickup",
              input_serializer=NoInput)
def ready_for_pickup(ctx: CommandContext) -> CommandResult:
    return package_response(ctx.obj)


@command_type("SELF_SERVICE_DELIVERY", object_type=PACKAGE, fsm_method="deliver_to_customer",
              input_serializer=NoInput)
def self_service_delivery(ctx: CommandContext) -> CommandResult:
    shipment_status_set(package=ctx.obj, status=ShipmentStatus.DELIVERED)
    return package_response(ctx.obj)


# CANCEL_PACKAGE is registered by the transfers app: cancelling also cancels open transfers.
# The re-planning command types are registered by the planning app.
