from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from commands.admin_commands import ReadOnlyAdminMixin, UpdateFieldsSaveMixin
from locations.models import CargoCompany, Reservation, Stock, StockLocation
from locations.services import stock_location_save
from oms.admin_base import OmsModelAdmin
from oms.db import lock_one


@admin.register(CargoCompany)
class CargoCompanyAdmin(OmsModelAdmin):
    list_display = ["name", "code", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}
    readonly_fields = ["created_date", "modified_date"]


@admin.register(StockLocation)
class StockLocationAdmin(OmsModelAdmin):
    list_display = ["name", "erp_code", "stock_location_type", "city", "priority", "max_quota", "quota",
                    "available_quota_display", "is_fulfillment_center", "is_transfer_center",
                    "is_pickup_location", "is_active"]
    list_filter = ["stock_location_type", "is_active", "is_fulfillment_center", "is_transfer_center",
                   "is_pickup_location", "city"]
    search_fields = ["name", "erp_code", "city"]
    list_select_related = ["default_cargo_company"]
    readonly_fields = ["quota", "available_quota_display", "stock_link", "created_date", "modified_date"]
    autocomplete_fields = ["default_cargo_company"]
    fieldsets = [
        (None, {"fields": ["name", "erp_code", "stock_location_type", "is_active", "priority"]}),
        ("Roles", {"fields": ["is_fulfillment_center", "is_transfer_center", "is_pickup_location",
                              "default_cargo_company"]}),
        ("Address", {"fields": ["city", "country", "latitude", "longitude"]}),
        ("Capacity", {"fields": ["max_quota", "quota", "available_quota_display"],
                      "description": "quota = packages here whose status is below 400, kept by the "
                                     "system; only max_quota is set by hand."}),
        ("Stock", {"fields": ["stock_link"]}),
        ("Dates", {"fields": ["created_date", "modified_date"]}),
    ]

    def save_model(self, request, obj, form, change) -> None:
        # As the API does: never writes quota, and adds the stock_location.* webhook event.
        stock_location_save(location=obj)

    @admin.display(description="available quota")
    def available_quota_display(self, obj: StockLocation) -> str:
        value = obj.available_quota
        return "unlimited" if value is None else str(value)

    @admin.display(description="stock")
    def stock_link(self, obj: StockLocation) -> str:
        if obj.pk is None:
            return "–"
        url = reverse("admin:locations_stock_changelist") + f"?stock_location__id__exact={obj.pk}"
        return format_html('<a href="{}">{} stock rows</a>', url, obj.stocks.count())


class StockForm(forms.ModelForm):
    class Meta:
        model = Stock
        fields = ["stock_location", "sku", "quantity"]

    def clean(self):
        cleaned = super().clean()
        quantity = cleaned.get("quantity")
        if self.instance.pk is not None and quantity is not None and "quantity" in self.changed_data:
            # Locked until the admin's transaction ends, so no reservation slips in between.
            reserved = lock_one(Stock.objects.all(), self.instance.pk).reserved
            if quantity < reserved:
                self.add_error("quantity", f"{reserved} units are reserved by packages; the quantity "
                                           "cannot go below that.")
        return cleaned


@admin.register(Stock)
class StockAdmin(UpdateFieldsSaveMixin, OmsModelAdmin):
    form = StockForm
    list_display = ["sku", "stock_location", "quantity", "reserved", "available"]
    list_filter = [("stock_location", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["sku", "stock_location__erp_code", "stock_location__name"]
    list_select_related = ["stock_location"]
    autocomplete_fields = ["stock_location"]
    readonly_fields = ["reserved", "available", "created_date", "modified_date"]
    fields = ["stock_location", "sku", "quantity", "reserved", "available", "created_date",
              "modified_date"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            # Reservations point at (location, sku): re-keying a row would orphan them.
            return [*self.readonly_fields, "stock_location", "sku"]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.reserved:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # bulk delete would not check reservations
        return actions

    @admin.display(description="available")
    def available(self, obj: Stock) -> int:
        return obj.available


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdminMixin, OmsModelAdmin):
    list_display = ["id", "sku", "quantity", "stock_location", "package_number", "created_date"]
    list_filter = [("stock_location", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["sku", "package_item__package__number", "stock_location__erp_code"]
    list_select_related = ["stock_location", "package_item__package"]
    date_hierarchy = "created_date"
    fields = ["package_item", "package_number", "stock_location", "sku", "quantity", "created_date"]
    readonly_fields = fields

    @admin.display(description="package", ordering="package_item__package__number")
    def package_number(self, obj: Reservation) -> str:
        return obj.package_item.package.number
