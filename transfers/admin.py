"""Transfer orders in the admin: read-only pages with the commands allowed now as buttons."""

from django import forms
from django.contrib import admin
from django.db.models import Q
from rest_framework import serializers

from accounts.selectors import restricted_locations
from commands.admin_commands import CommandAdminMixin, ReadOnlyAdminMixin, state_history
from packages.admin import cargo_company_form_field
from packages.handlers import CargoCompanyRef
from transfers.handlers import TRANSFER
from transfers.models import TransferItem, TransferOrder


def transfers_visible_to(user, queryset):
    """Instore operators see transfers from or to their own locations only, as in the API."""
    locations = restricted_locations(user)
    if locations is None:
        return queryset
    return queryset.filter(Q(source__in=locations) | Q(destination__in=locations))


class TransferItemInline(admin.TabularInline):
    model = TransferItem
    extra = 0
    can_delete = False
    fields = readonly_fields = ["id", "sku", "quantity", "status", "package_item"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TransferOrder)
class TransferOrderAdmin(CommandAdminMixin, admin.ModelAdmin):
    command_object_type = TRANSFER
    list_display = ["number", "package", "source", "destination", "state", "status", "created_date"]
    list_filter = ["status", ("state", admin.RelatedOnlyFieldListFilter),
                   ("source", admin.RelatedOnlyFieldListFilter),
                   ("destination", admin.RelatedOnlyFieldListFilter), "created_date"]
    search_fields = ["number", "package__number", "order__number", "transferitem_set__sku",
                     "source__erp_code", "destination__erp_code"]
    search_help_text = "Transfer, package or order number, SKU, source or destination ERP code."
    list_select_related = ["package", "source", "destination", "state"]
    date_hierarchy = "created_date"
    fieldsets = [
        (None, {"fields": ["number", "order", "package", "source", "destination", "status", "state"]}),
        ("Shipment", {"fields": ["shipment"]}),
        ("History", {"fields": ["history"]}),
        ("Dates", {"fields": ["created_date", "modified_date"]}),
    ]
    # Everything: a transfer changes only through commands.
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]
    inlines = [TransferItemInline]

    def get_queryset(self, request):
        return transfers_visible_to(request.user, super().get_queryset(request))

    def command_queryset(self, request):
        return transfers_visible_to(request.user, TransferOrder.objects.all())

    def command_form_field(self, name, field, obj):
        if isinstance(field, CargoCompanyRef):
            return cargo_company_form_field(field, name.replace("_", " ").capitalize())
        if name == "transfer_items" and isinstance(field, serializers.ListField):
            choices = [(item.pk, f"#{item.pk}: {item.quantity} x {item.sku} ({item.status})")
                       for item in obj.transferitem_set.order_by("id")]
            return forms.TypedMultipleChoiceField(
                choices=choices, coerce=int, required=field.required, label="Transfer items",
                widget=forms.CheckboxSelectMultiple, help_text=field.help_text or "")
        return super().command_form_field(name, field, obj)

    @admin.display(description="state changes")
    def history(self, obj: TransferOrder) -> str:
        return state_history(obj)


@admin.register(TransferItem)
class TransferItemAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "transfer", "sku", "quantity", "status"]
    list_filter = ["status"]
    search_fields = ["sku", "transfer__number", "transfer__package__number"]
    list_select_related = ["transfer"]
    fields = readonly_fields = ["transfer", "package_item", "sku", "quantity", "status", "created_date",
                                "modified_date"]
