from django.core.exceptions import ValidationError
from django.db import models

from commands.models import State
from locations.models import CargoCompany, StockLocation
from oms.models import TimeStampedModel
from orders.models import Channel
from planning.enums import SortKey, StockLocationTypeFilter


def default_sort_keys() -> list[str]:
    return [SortKey.PRIORITY]


class Scenario(TimeStampedModel):
    """Which rules plan an order. The active scenario with the highest priority whose
    conditions match the order is used; empty conditions match anything."""

    name = models.CharField(max_length=255)
    priority = models.IntegerField(default=0, help_text="Higher is tried first.")
    is_active = models.BooleanField(default=True)
    channels = models.ManyToManyField(Channel, blank=True, related_name="+")
    payment_types = models.JSONField(default=list, blank=True,
                                     help_text='e.g. ["credit_card", "pay_on_delivery"]; empty = any')
    cargo_companies = models.ManyToManyField(CargoCompany, blank=True, related_name="+")
    default_stock_location = models.ForeignKey(
        StockLocation, on_delete=models.PROTECT, related_name="+",
        help_text="Items no rule can place go to a package here, in 'Contains out of stock products'.")
    initial_state = models.ForeignKey(
        State, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        limit_choices_to={"enum_class": "PackageStatus", "enum_value__in": ["100", "150", "200"]},
        help_text="State of new packages when an order is split into several (default: Waiting).")

    class Meta:
        ordering = ["-priority", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        types = self.payment_types
        if not isinstance(types, list) or not all(isinstance(p, str) for p in types):
            raise ValidationError({"payment_types": "Use a list of payment type names."})
        if self.initial_state_id and self.initial_state.enum_value not in ("100", "150", "200"):
            raise ValidationError({"initial_state": "Choose a Waiting, Waiting Remote Action or "
                                                    "Preparing state."})


class Rule(TimeStampedModel):
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(default=0, help_text="Rules are tried in this order.")
    name = models.CharField(max_length=255, blank=True)
    is_active = models.BooleanField(default=True)
    stock_locations = models.ManyToManyField(StockLocation, blank=True, related_name="+",
                                             help_text="Only these locations (empty = all).")
    except_stock_locations = models.ManyToManyField(StockLocation, blank=True, related_name="+")
    stock_location_type = models.CharField(max_length=16, blank=True,
                                           choices=StockLocationTypeFilter.choices)
    same_city = models.BooleanField(default=False, help_text="Only locations in the order's city.")
    select_by_quota = models.BooleanField(
        "SELECT_BY_QUOTA", default=False,
        help_text="Skip locations whose available quota is 0 (no max_quota = unlimited).")
    sort_keys = models.JSONField(default=default_sort_keys, blank=True,
                                 help_text="Any of priority, stock, available_quota, distance.")
    transferable = models.BooleanField(
        default=False, help_text="Items missing at the packaging location may come from a transfer "
                                 "center (a transfer order is created; the package waits for it).")

    class Meta:
        ordering = ["scenario_id", "position", "id"]

    def __str__(self) -> str:
        return self.name or f"Rule {self.position}"

    def clean(self) -> None:
        keys = self.sort_keys
        if not isinstance(keys, list) or any(k not in SortKey.values for k in keys):
            raise ValidationError({"sort_keys": f"Use a list of {', '.join(SortKey.values)}."})
        if len(set(keys)) != len(keys):
            raise ValidationError({"sort_keys": "Each sort key once."})
