from rest_framework import serializers

from orders.models import Channel, Order, OrderItem


class ChannelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Channel
        fields = ["id", "name", "code", "channel_type", "created_date", "modified_date"]


class OrderItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderItem
        fields = ["id", "sku", "quantity", "price", "currency", "status"]


class OrderSerializer(serializers.ModelSerializer):
    orderitem_set = OrderItemSerializer(many=True, read_only=True)
    channel = ChannelSerializer(read_only=True)

    class Meta:
        model = Order
        fields = ["id", "number", "channel", "status", "customer", "shipping_address",
                  "payment_type", "cargo_company", "tracking_number", "date_placed", "notes",
                  "orderitem_set", "created_date", "modified_date"]


class OrderShortSerializer(serializers.ModelSerializer):
    class Meta:
        model = Order
        fields = ["id", "number", "channel", "status", "cargo_company", "tracking_number",
                  "date_placed"]
