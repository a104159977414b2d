from rest_framework import serializers

from locations.models import CargoCompany
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


class IntakeItemSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=128)
    quantity = serializers.IntegerField(min_value=1)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    currency = serializers.CharField(max_length=3, default="TRY")


class CustomerSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=128, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=128, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)


class AddressSerializer(serializers.Serializer):
    line = serializers.CharField(max_length=512, required=False, allow_blank=True)
    city = serializers.CharField(max_length=128, required=False, allow_blank=True)
    country = serializers.CharField(max_length=64, required=False, allow_blank=True)
    postcode = serializers.CharField(max_length=16, required=False, allow_blank=True)
    latitude = serializers.FloatField(required=False, min_value=-90, max_value=90)
    longitude = serializers.FloatField(required=False, min_value=-180, max_value=180)


class OrderIntakeSerializer(serializers.Serializer):
    """``POST /orders/``: the order as the channel sends it; planned at once."""

    number = serializers.CharField(max_length=64)
    channel = serializers.SlugRelatedField(
        slug_field="code", queryset=Channel.objects.all(),
        error_messages={"does_not_exist": "Unknown channel '{value}'."})
    customer = CustomerSerializer(required=False, default=dict)
    shipping_address = AddressSerializer(required=False, default=dict)
    payment_type = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    cargo_company = serializers.SlugRelatedField(
        slug_field="code", queryset=CargoCompany.objects.filter(is_active=True), required=False,
        allow_null=True, error_messages={"does_not_exist": "Unknown cargo company '{value}'."})
    tracking_number = serializers.CharField(max_length=128, required=False, allow_null=True,
                                            allow_blank=True)
    date_placed = serializers.DateTimeField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    items = IntakeItemSerializer(many=True, allow_empty=False)
