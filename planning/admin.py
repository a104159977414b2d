from django.contrib import admin
from django.db.models import Count

from oms.admin_base import OmsModelAdmin, OmsStackedInline
from planning.models import Rule, Scenario


class RuleInline(OmsStackedInline):
    model = Rule
    extra = 0
    ordering = ["position", "id"]
    filter_horizontal = ["stock_locations", "except_stock_locations"]
    fields = [("position", "name", "is_active"), ("stock_locations", "except_stock_locations"),
              ("stock_location_type", "same_city", "select_by_quota", "transferable"), "sort_keys"]


@admin.register(Scenario)
class ScenarioAdmin(OmsModelAdmin):
    list_display = ["name", "priority", "is_active", "default_stock_location", "rule_count",
                    "modified_date"]
    list_filter = ["is_active", "channels", "default_stock_location"]
    search_fields = ["name"]
    list_select_related = ["default_stock_location"]
    filter_horizontal = ["channels", "cargo_companies"]
    fieldsets = [
        (None, {"fields": ["name", "priority", "is_active"]}),
        ("Conditions (empty = any)", {"fields": ["channels", "payment_types", "cargo_companies"]}),
        ("Placement", {"fields": ["default_stock_location", "initial_state"]}),
    ]
    inlines = [RuleInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(rules_total=Count("rules"))

    @admin.display(description="Rules", ordering="rules_total")
    def rule_count(self, scenario: Scenario) -> int:
        return scenario.rules_total
