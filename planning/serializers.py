from django.db import transaction
from rest_framework import serializers

from commands.models import State
from locations.models import CargoCompany, StockLocation
from oms.api.serializers import BoundedModelSerializer, IdRelatedField
from orders.models import Channel
from orders.serializers import OrderSerializer
from packages.serializers import PackageShortSerializer
from planning.enums import SortKey
from planning.models import Rule, Scenario

MAX_RULES = 100


class OrderWithPackagesSerializer(OrderSerializer):
    packages = PackageShortSerializer(many=True, read_only=True)

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "packages"]


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
