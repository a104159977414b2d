from django.db import connection, transaction
from rest_framework import serializers

from commands.models import State
from locations.models import CargoCompany, StockLocation
from oms.api.serializers import BoundedModelSerializer, IdRelatedField
from orders.models import Channel, Order, OrderItem
from orders.serializers import OrderSerializer
from packages.models import Package
from packages.serializers import PackageShortSerializer
from planning.enums import SortKey
from planning.models import Rule, Scenario

MAX_RULES = 100


class OrderWithPackagesSerializer(OrderSerializer):
    packages = PackageShortSerializer(many=True, read_only=True)

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "packages"]


# The intake's response is built from the rows the intake wrote (nothing read back): what
# OrderWithPackagesSerializer gives for them, without building its four serializers per request
# (tests/planning/test_intake.py compares the two).
_datetime = serializers.DateTimeField()
_price = OrderItem._meta.get_field("price")
_price_field = serializers.DecimalField(max_digits=_price.max_digits, decimal_places=_price.decimal_places)


def _jsonb(value):
    """``value`` as PostgreSQL's jsonb gives it back: keys by length then bytes, numbers as
    numeric (no negative zero)."""
    if isinstance(value, dict):
        return {key: _jsonb(value[key]) for key in sorted(value, key=lambda k: (len(k.encode()), k.encode()))}
    if isinstance(value, list):
        return [_jsonb(v) for v in value]
    if isinstance(value, float) and value == 0:
        return 0.0
    return value


def intake_response_data(order: Order, items: list[OrderItem], packages: list[Package]) -> dict:
    """``OrderWithPackagesSerializer(order).data`` of an order just created with these ``items``
    and ``packages`` (pk order), for a user who sees all of it."""
    dt = _datetime.to_representation
    stored = _jsonb if connection.vendor == "postgresql" else (lambda v: v)
    channel = order.channel
    return {
        "id": order.pk, "number": order.number,
        "channel": {"id": channel.pk, "name": channel.name, "code": channel.code,
                    "channel_type": channel.channel_type, "created_date": dt(channel.created_date),
                    "modified_date": dt(channel.modified_date)},
        "status": order.status, "customer": stored(order.customer),
        "shipping_address": stored(order.shipping_address), "payment_type": order.payment_type,
        "cargo_company": order.cargo_company_id, "tracking_number": order.tracking_number,
        "date_placed": dt(order.date_placed), "notes": order.notes,
        "orderitem_set": [{"id": i.pk, "sku": i.sku, "quantity": i.quantity,
                           "price": _price_field.to_representation(i.price), "currency": i.currency,
                           "status": i.status} for i in items],
        "created_date": dt(order.created_date), "modified_date": dt(order.modified_date),
        "packages": [{"id": p.pk, "number": p.number, "order": p.order_id,
                      "stock_location": p.stock_location_id, "status": p.status, "state": p.state_id,
                      "created_date": dt(p.created_date), "modified_date": dt(p.modified_date)}
                     for p in packages],
    }


class RuleSerializer(BoundedModelSerializer):
    stock_locations = IdRelatedField(many=True, queryset=StockLocation.objects.all(), required=False)
    except_stock_locations = IdRelatedField(many=True, queryset=StockLocation.objects.all(),
                                            required=False)
    sort_keys = serializers.ListField(child=serializers.ChoiceField(choices=SortKey.values),
                                      required=False, max_length=len(SortKey.values))

    class Meta:
        model = Rule
        fields = ["id", "position", "name", "is_active", "stock_locations", "except_stock_locations",
                  "stock_location_type", "same_city", "select_by_quota", "sort_keys", "transferable"]
        read_only_fields = ["id"]

    def validate_sort_keys(self, keys):
        if len(set(keys)) != len(keys):
            raise serializers.ValidationError("Each sort key once.")
        return keys


class ScenarioSerializer(BoundedModelSerializer):
    rules = RuleSerializer(many=True, required=False, max_length=MAX_RULES)
    channels = IdRelatedField(many=True, queryset=Channel.objects.all(), required=False)
    cargo_companies = IdRelatedField(many=True, queryset=CargoCompany.objects.all(), required=False)
    payment_types = serializers.ListField(child=serializers.CharField(max_length=64), required=False,
                                          max_length=100)
    initial_state = IdRelatedField(
        queryset=State.objects.filter(enum_class="PackageStatus", enum_value__in=["100", "150", "200"]),
        required=False, allow_null=True)

    class Meta:
        model = Scenario
        fields = ["id", "name", "priority", "is_active", "channels", "payment_types", "cargo_companies",
                  "default_stock_location", "initial_state", "rules", "created_date", "modified_date"]

    @transaction.atomic
    def create(self, validated_data):
        rules = validated_data.pop("rules", [])
        scenario = super().create(validated_data)
        self._write_rules(scenario, rules)
        return scenario

    @transaction.atomic
    def update(self, instance, validated_data):
        rules = validated_data.pop("rules", None)
        scenario = super().update(instance, validated_data)
        if rules is not None:  # rules given: they replace the scenario's rules
            scenario.rules.all().delete()
            self._write_rules(scenario, rules)
        return scenario

    def _write_rules(self, scenario, rules):
        for position, data in enumerate(rules):
            include = data.pop("stock_locations", [])
            exclude = data.pop("except_stock_locations", [])
            data.setdefault("position", position)
            rule = Rule.objects.create(scenario=scenario, **data)
            rule.stock_locations.set(include)
            rule.except_stock_locations.set(exclude)
