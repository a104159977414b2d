from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from commands.serializers import CommandSerializer, StateShortSerializer
from locations.serializers import StockLocationShortSerializer
from oms.api.serializers import BoundedModelSerializer
from orders.serializers import OrderShortSerializer
from packages.models import Package, PackageDenialReason, PackageItem, Shipment


class PackageDenialReasonSerializer(BoundedModelSerializer):
    class Meta:
        model = PackageDenialReason
        fields = ["id", "title", "remote_id", "priority", "is_active", "created_date",
                  "modified_date"]


class PackageItemSerializer(BoundedModelSerializer):
    class Meta:
        model = PackageItem
        fields = ["id", "package", "order_item", "sku", "quantity", "status", "created_date",
                  "modified_date"]


class ShipmentSerializer(BoundedModelSerializer):
    class Meta:
        model = Shipment
        fields = ["id", "package", "cargo_company", "tracking_number", "query_number", "status",
                  "shipped_date", "has_shipping_document", "created_date", "modified_date"]


class PackageListSerializer(BoundedModelSerializer):
    state = StateShortSerializer(read_only=True)
    stock_location = StockLocationShortSerializer(read_only=True)
    order = OrderShortSerializer(read_only=True)

    class Meta:
        model = Package
        fields = ["id", "number", "order", "stock_location", "status", "state", "previous_state",
                  "denial_reason", "invoice_number", "invoice_date", "invoice_document_type",
                  "created_date", "modified_date"]


class PackageDetailSerializer(PackageListSerializer):
    packageitem_set = PackageItemSerializer(many=True, read_only=True)
    shipment = serializers.SerializerMethodField()
    commands = serializers.SerializerMethodField()

    class Meta(PackageListSerializer.Meta):
        fields = [*PackageListSerializer.Meta.fields, "invoice_document", "packageitem_set", "shipment",
                  "commands"]

    def get_shipment(self, package: Package) -> dict | None:
        shipment = getattr(package, "shipment", None)
        return ShipmentSerializer(shipment).data if shipment is not None else None

    @extend_schema_field(CommandSerializer(many=True))
    def get_commands(self, package: Package) -> list[dict]:
        commands = self.context.get("commands", {}).get(package.state_id, [])
        return CommandSerializer(commands, many=True).data


class PackageShortSerializer(BoundedModelSerializer):
    class Meta:
        model = Package
        fields = ["id", "number", "order", "stock_location", "status", "state", "created_date",
                  "modified_date"]
