"""Packages in the admin: read-only pages with the commands allowed now as buttons. A package's
status, state and items change only through commands (the dispatcher), never by editing."""

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from rest_framework import serializers

from commands.admin_commands import CommandAdminMixin, ReadOnlyAdminMixin, state_history
from locations.models import CargoCompany, StockLocation
from packages.handlers import PACKAGE, CargoCompanyRef
from packages.models import Package, PackageDenialReason, PackageItem, Shipment
from packages.selectors import packages_visible_to


class CargoCompanyChoiceField(forms.ModelChoiceField):
    """A select of active cargo companies for a ``CargoCompanyRef`` input (sent as the id); a
    default given as a ``code`` in ``Transition.input_defaults`` preselects that company."""

    def prepare_value(self, value):
        if isinstance(value, str) and value and not value.isdigit():
            return CargoCompany.objects.filter(code=value).values_list("pk", flat=True).first()
        return super().prepare_value(value)


def cargo_company_form_field(field: serializers.Field, label: str) -> forms.ModelChoiceField:
    return CargoCompanyChoiceField(queryset=CargoCompany.objects.filter(is_active=True).order_by("name"),
                                   required=field.required, label=field.label or label,
                                   help_text=field.help_text or "")


class PackageItemInline(admin.TabularInline):
    model = PackageItem
    extra = 0
    can_delete = False
    fields = readonly_fields = ["id", "sku", "quantity", "status", "order_item"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Package)
class PackageAdmin(CommandAdminMixin, admin.ModelAdmin):
    command_object_type = PACKAGE
    list_display = ["number", "order", "stock_location", "state", "status", "shipment_status",
                    "created_date"]
    list_filter = ["status", ("state", admin.RelatedOnlyFieldListFilter),
                   ("stock_location", admin.RelatedOnlyFieldListFilter), "order__channel",
                   "shipment__status", "created_date"]
    search_fields = ["number", "order__number", "packageitem_set__sku", "stock_location__erp_code",
                     "order__customer__email", "shipment__tracking_number"]
    search_help_text = "Package or order number, SKU, location ERP code, customer email, tracking number."
    list_select_related = ["order", "stock_location", "state", "shipment"]
    date_hierarchy = "created_date"
    fieldsets = [
        (None, {"fields": ["number", "order", "stock_location", "status", "state", "previous_state",
                           "denial_reason", "excluded_locations_display"]}),
        ("Shipment", {"fields": ["shipment_summary", "transfer_links"]}),
        ("Invoice", {"fields": ["invoice_number", "invoice_date", "invoice_document_type",
                                "invoice_document_size"]}),
        ("History", {"fields": ["history"]}),
        ("Dates", {"fields": ["created_date", "modified_date"]}),
    ]
    # Everything: a package changes only through commands.
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]
    inlines = [PackageItemInline]

    def get_queryset(self, request):
        # Instore operators see their own locations' packages only, as in the API.
        return packages_visible_to(request.user, super().get_queryset(request))

    def command_queryset(self, request):
        return packages_visible_to(request.user)

    def command_form_field(self, name, field, obj):
        if isinstance(field, CargoCompanyRef):
            return cargo_company_form_field(field, name.replace("_", " ").capitalize())
        if name == "package_items" and isinstance(field, serializers.ListField):
            choices = [(item.pk, f"#{item.pk}: {item.quantity} x {item.sku} ({item.status})")
                       for item in obj.packageitem_set.order_by("id")]
            return forms.TypedMultipleChoiceField(
                choices=choices, coerce=int, required=field.required, label="Package items",
                widget=forms.CheckboxSelectMultiple, help_text=field.help_text or "")
        return super().command_form_field(name, field, obj)

    def command_success_message(self, obj, transition, body):
        message = super().command_success_message(obj, transition, body)
        if body and body.get("package_id") and body["package_id"] != obj.pk:
            message += (f" The items are now in package {body['package_number']} at "
                        f"{body['package_stock_location_name']}.")
        return message

    # -- read-only displays ----------------------------------------------------------------------
    @admin.display(description="shipment", ordering="shipment__status")
    def shipment_status(self, obj: Package) -> str:
        shipment = getattr(obj, "shipment", None)
        return shipment.get_status_display() if shipment else "–"

    @admin.display(description="shipment")
    def shipment_summary(self, obj: Package) -> str:
        shipment = Shipment.objects.select_related("cargo_company").filter(package=obj).first()
        if shipment is None:
            return "No shipment yet (created when the package is packed)."
        return format_html(
            '<a href="{}">Shipment {}</a>: {} · {} · tracking number {} · shipped {}',
            reverse("admin:packages_shipment_change", args=[shipment.pk]), shipment.pk,
            shipment.get_status_display(), shipment.cargo_company or "no cargo company",
            shipment.tracking_number or "–",
            shipment.shipped_date.strftime("%Y-%m-%d %H:%M") if shipment.shipped_date else "–")

    @admin.display(description="transfers")
    def transfer_links(self, obj: Package) -> str:
        transfers = obj.transfer_orders.select_related("state", "source").order_by("id")
        rows = [(reverse("admin:transfers_transferorder_change", args=[t.pk]), t.number, t.state.name,
                 t.source.erp_code) for t in transfers]
        if not rows:
            return "–"
        return format_html("<ul style=\"margin:0\">{}</ul>", format_html_join(
            "", '<li><a href="{}">{}</a> – {} from {}</li>', rows))

    @admin.display(description="excluded locations")
    def excluded_locations_display(self, obj: Package) -> str:
        # Locations that refused the package: re-planning never sends it back there.
        ids = getattr(obj, "excluded_locations", None) or []
        if not ids:
            return "–"
        names = dict(StockLocation.objects.filter(pk__in=ids).values_list("pk", "erp_code"))
        return ", ".join(names.get(pk, f"#{pk}") for pk in ids)

    @admin.display(description="document")
    def invoice_document_size(self, obj: Package) -> str:
        return f"{len(obj.invoice_document)} characters (base64)" if obj.invoice_document else "–"

    @admin.display(description="state changes")
    def history(self, obj: Package) -> str:
        return state_history(obj)


@admin.register(PackageItem)
class PackageItemAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "package", "sku", "quantity", "status"]
    list_filter = ["status"]
    search_fields = ["sku", "package__number"]
    list_select_related = ["package"]
    fields = readonly_fields = ["package", "order_item", "sku", "quantity", "status", "created_date",
                                "modified_date"]


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "package", "cargo_company", "tracking_number", "status", "shipped_date",
                    "has_shipping_document"]
    list_filter = ["status", "cargo_company", "has_shipping_document"]
    search_fields = ["tracking_number", "query_number", "package__number", "transfer__number"]
    list_select_related = ["package", "cargo_company"]
    date_hierarchy = "created_date"
    fields = readonly_fields = ["package", "transfer", "cargo_company", "tracking_number", "query_number",
                                "status", "shipped_date", "has_shipping_document", "created_date",
                                "modified_date"]


@admin.register(PackageDenialReason)
class PackageDenialReasonAdmin(admin.ModelAdmin):
    list_display = ["title", "remote_id", "priority", "is_active"]
    list_editable = ["priority", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["title", "remote_id"]
    readonly_fields = ["created_date", "modified_date"]
