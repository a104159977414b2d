from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from commands.serializers import CommandSerializer, StateShortSerializer
from locations.serializers import StockLocationShortSerializer
from oms.api.serializers import BoundedModelSerializer
from packages.serializers import ShipmentSerializer
from transfers.models import TransferItem, TransferOrder


class TransferItemSerializer(BoundedModelSerializer):
    class Meta:
        model = TransferItem
        fields = ["id", "transfer", "package_item", "sku", "quantity", "status"]


class TransferOrderSerializer(BoundedModelSerializer):
    state = StateShortSerializer(read_only=True)
    source = StockLocationShortSerializer(read_only=True)
    destination = StockLocationShortSerializer(read_only=True)
    transferitem_set = TransferItemSerializer(many=True, read_only=True)
    shipment = ShipmentSerializer(read_only=True, allow_null=True)

    class Meta:
        model = TransferOrder
        fields = ["id", "number", "order", "package", "source", "destination", "status", "state",
                  "transferitem_set", "shipment", "created_date", "modified_date"]


class TransferOrderDetailSerializer(TransferOrderSerializer):
    commands = serializers.SerializerMethodField()

    class Meta(TransferOrderSerializer.Meta):
        fields = [*TransferOrderSerializer.Meta.fields, "commands"]

    @extend_schema_field(CommandSerializer(many=True))
    def get_commands(self, transfer: TransferOrder) -> list[dict]:
        commands = self.context.get("commands", {}).get(transfer.state_id, [])
        return CommandSerializer(commands, many=True).data
