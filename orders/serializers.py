from rest_framework import serializers

from locations.models import CargoCompany
from oms.api.serializers import INT_MAX, BoundedModelSerializer, JsonSerializer
from oms.db import fetch_one
from orders.models import Channel, Order, OrderItem

MAX_ORDER_LINES = 1000


class ChannelSerializer(BoundedModelSerializer):
    class Meta:
        model = Channel
        fields = ["id", "name", "code", "channel_type", "created_date", "modified_date"]


class OrderItemSerializer(BoundedModelSerializer):
    class Meta:
        model = OrderItem
        fields = ["id", "sku", "quantity", "price", "currency", "status"]


class OrderSerializer(BoundedModelSerializer):
    orderitem_set = OrderItemSerializer(many=True, read_only=True)
    channel = ChannelSerializer(read_only=True)

    class Meta:
        model = Order
        fields = ["id", "number", "channel", "status", "customer", "shipping_address",
                  "payment_type", "cargo_company", "tracking_number", "date_placed", "notes",
                  "orderitem_set", "created_date", "modified_date"]


class OrderShortSerializer(BoundedModelSerializer):
    class Meta:
        model = Order
        fields = ["id", "number", "channel", "status", "cargo_company", "tracking_number",
                  "date_placed"]


class IntakeItemSerializer(JsonSerializer):
    sku = serializers.CharField(max_length=128)
    quantity = serializers.IntegerField(min_value=1, max_value=INT_MAX)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    currency = serializers.CharField(max_length=3, default="TRY")


class CustomerSerializer(JsonSerializer):
    first_name = serializers.CharField(max_length=128, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=128, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)


class AddressSerializer(JsonSerializer):
    line = serializers.CharField(max_length=512, required=False, allow_blank=True)
    city = serializers.CharField(max_length=128, required=False, allow_blank=True)
    country = serializers.CharField(max_length=64, required=False, allow_blank=True)
    postcode = serializers.CharField(max_length=16, required=False, allow_blank=True)
    latitude = serializers.FloatField(required=False, min_value=-90, max_value=90)
    longitude = serializers.FloatField(required=False, min_value=-180, max_value=180)


class ChannelCodeField(serializers.SlugRelatedField):
    """A channel by its code, as ``SlugRelatedField`` finds it, the read compiled once per process
    (``oms.db.fetch_one``): every intake looks its channel up."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or self.slug_field != "code":
            return super().to_internal_value(data)
        channel = fetch_one("channel-by-code", lambda code: Channel.objects.filter(code=code), data,
                            sentinel="-oms-no-such-channel-code-")
        if channel is None:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return channel


class OrderIntakeSerializer(JsonSerializer):
    """``POST /orders/``: the order as the channel sends it; planned at once."""

    number = serializers.CharField(max_length=64)
    channel = ChannelCodeField(
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
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    items = IntakeItemSerializer(many=True, allow_empty=False, max_length=MAX_ORDER_LINES)

    def validate_items(self, items):
        # Lines of one SKU are planned together: their total must fit a quantity column too.
        totals: dict[str, int] = {}
        for item in items:
            totals[item["sku"]] = totals.get(item["sku"], 0) + item["quantity"]
        too_many = sorted(sku for sku, total in totals.items() if total > INT_MAX)
        if too_many:
            raise serializers.ValidationError(
                f"The total quantity of {', '.join(too_many)} exceeds {INT_MAX}.")
        return items
