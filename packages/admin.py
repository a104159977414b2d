"""Packages in the admin: the package page store staff work on (state badge, the primary commands
as buttons, the rest under "More", a timeline), bulk commands on the list. A package's status,
state and items change only through commands (the dispatcher), never by editing."""

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from commands.admin_commands import CommandAdminMixin, CommandRole, ReadOnlyAdminMixin, StateListFilter
from commands.admin_display import (
    TimelineEntry,
    badge,
    register_input_describer,
    register_status_variants,
    state_badge,
    state_name,
)
from locations.models import CargoCompany, StockLocation
from oms.admin_base import OmsModelAdmin, OmsTabularInline
from oms.api.serializers import parse_id
from packages.enums import PackageStatus, ShipmentStatus
from packages.handlers import PACKAGE, CargoCompanyRef
from packages.models import Package, PackageDenialReason, PackageItem, Shipment

S = PackageStatus

# Badge colours: blue = to do at the store, purple = done there and moving on, green = delivered,
# orange = needs someone's attention, red = stopped, grey = over.
register_status_variants("PackageStatus", {
    S.WAITING: "info", S.WAITING_REMOTE_ACTION: "info", S.PREPARING: "info",
    S.READY_FOR_PACKAGING: "info", S.WAITING_FOR_TRANSFER: "info",
    S.PACKED: "primary", S.READY_FOR_PICKUP: "primary", S.SHIPPED: "primary",
    S.DELIVERED: "success",
    S.CANCELLATION_WAITING: "warning", S.NEEDS_RESCHEDULING: "warning", S.ATTEMPTED_DELIVERY: "warning",
    S.BLOCKED: "danger", S.OUT_OF_STOCK: "danger", S.DELIVERY_FAILED: "danger",
    S.CANCELLED: "default", S.PACKED_FOR_REFUND: "default",
})
SHIPMENT_VARIANTS = {
    ShipmentStatus.CREATED: "info", ShipmentStatus.SHIPPED: "primary",
    ShipmentStatus.ATTEMPTED_DELIVERY: "warning", ShipmentStatus.DELIVERY_FAILED: "danger",
    ShipmentStatus.DELIVERED: "success", ShipmentStatus.CANCELLED: "default",
}

# The commands of the normal flow, as store staff name them; the first configured one of each is
# the button (the others stay under "More").
PACKAGE_ROLES = (
    CommandRole("pack", _("Pack"), ("COMPLETE_PACKAGING", "COMPLETE_PACKAGING_WITHOUT_SHIPMENT",
                                    "CHANNEL_BASED_COMPLETE_PACKAGING"), done=_("packed")),
    CommandRole("ship", _("Ship"), ("SHIP_THE_PACKAGE_ADVANCED", "SHIP_THE_PACKAGE",
                                    "SHIP_THE_PACKAGE_BASIC"), done=_("shipped")),
    CommandRole("ready_for_pickup", _("Ready for pickup"), ("READY_FOR_PICKUP",),
                done=_("ready for pickup")),
    CommandRole("hand_over", _("Handed to customer"), ("SELF_SERVICE_DELIVERY",),
                done=_("handed to the customer")),
    CommandRole("delivered", _("Delivered"), (("UPDATE_PACKAGE_SHIPMENT_STATUS", S.DELIVERED),),
                done=_("delivered")),
    CommandRole("unblock", _("Unblock"), ("UNBLOCK_THE_PACKAGE",), done=_("unblocked")),
    CommandRole("block", _("Block"), ("BLOCK_THE_PACKAGE",), done=_("blocked"), primary=False,
                danger=True),
    CommandRole("cancel", _("Cancel"), ("CANCEL_PACKAGE",), done=_("cancelled"), primary=False,
                danger=True),
    CommandRole("refuse", _("Refuse"), ("PACKAGE_REFUSE",), done=_("refused"), primary=False,
                bulk=False, danger=True),
    CommandRole("out_of_stock", _("Out of stock"), ("DETECTED_OUT_OF_STOCK_ITEM",
                                                    "DETECTED_OUT_OF_STOCK_ITEM_ADVANCED"),
                done=_("marked out of stock"), primary=False, bulk=False, danger=True),
)


# -- how package command inputs read in timelines --------------------------------------------------
def _cargo_company_name(value) -> str:
    text = str(value)
    pk = parse_id(text)
    lookup = {"pk": pk} if pk is not None else {"code": text}
    company = CargoCompany.objects.filter(**lookup).first()
    return company.name if company else text


def _denial_reason_title(value) -> str:
    pk = parse_id(value if isinstance(value, int) else str(value))
    reason = PackageDenialReason.objects.filter(pk=pk).first() if pk is not None else None
    return reason.title if reason else str(value)


def _package_items(value) -> str:
    ids = [v for v in value if isinstance(v, int)] if isinstance(value, list) else []
    items = {i.pk: i for i in PackageItem.objects.filter(pk__in=ids)}
    return ", ".join(f"{items[i].quantity} x {items[i].sku}" if i in items else f"#{i}" for i in ids)


def _document(value) -> str:
    return gettext("attached (%(size)s characters, base64)") % {"size": len(str(value))}


register_input_describer("cargo_company", _cargo_company_name)
register_input_describer("denial_reason", _denial_reason_title)
register_input_describer("package_items", _package_items)
register_input_describer("document", _document)


# -- command input fields ----------------------------------------------------------------------------
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


class PackageItemInline(OmsTabularInline):
    model = PackageItem
    extra = 0
    can_delete = False
    fields = readonly_fields = ["id", "sku", "quantity", "status", "order_item"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Package)
class PackageAdmin(CommandAdminMixin, OmsModelAdmin):
    command_object_type = PACKAGE
    command_roles = PACKAGE_ROLES
    list_display = ["number", "order", "stock_location", "state_display", "shipment_status",
                    "created_date"]
    list_filter = ["status", ("state", StateListFilter),
                   ("stock_location", admin.RelatedOnlyFieldListFilter), "order__channel",
                   "shipment__status", "created_date"]
    search_fields = ["number", "order__number", "packageitem_set__sku", "stock_location__erp_code",
                     "order__customer__email", "shipment__tracking_number"]
    search_help_text = _("Package or order number, SKU, location ERP code, customer email, tracking "
                         "number.")
    list_select_related = ["order", "stock_location", "state", "shipment"]
    date_hierarchy = "created_date"
    fieldsets = [
        (None, {"fields": ["number", "order", "stock_location", "state_display", "previous_state_display",
                           "denial_reason", "excluded_locations_display"]}),
        (_("Shipment"), {"fields": ["shipment_summary", "transfer_links"]}),
        (_("Invoice"), {"fields": ["invoice_number", "invoice_date", "invoice_document_type",
                                   "invoice_document_size"]}),
        (_("Dates"), {"fields": ["created_date", "modified_date"]}),
    ]
    # Everything: a package changes only through commands.
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]
    inlines = [PackageItemInline]

    def command_form_field(self, name, field, obj):
        if isinstance(field, CargoCompanyRef):
            return cargo_company_form_field(field, name.replace("_", " ").capitalize())
        if name == "package_items" and isinstance(field, serializers.ListField):
            choices = [(item.pk, f"#{item.pk}: {item.quantity} x {item.sku} ({item.status})")
                       for item in obj.packageitem_set.order_by("id")]
            return forms.TypedMultipleChoiceField(
                choices=choices, coerce=int, required=field.required, label=_("Package items"),
                widget=forms.CheckboxSelectMultiple, help_text=field.help_text or "")
        return super().command_form_field(name, field, obj)

    def command_success_message(self, obj, transition, body, label=None):
        message = super().command_success_message(obj, transition, body, label)
        if body and body.get("package_id") and body["package_id"] != obj.pk:
            message += " " + gettext("The items are now in package %(number)s at %(location)s.") % {
                "number": body["package_number"], "location": body["package_stock_location_name"]}
        return message

    def timeline_extra(self, obj: Package) -> list[TimelineEntry]:
        """The shipment's events and the transfers asked for the package."""
        entries = []
        shipment = Shipment.objects.select_related("cargo_company").filter(package=obj).first()
        if shipment is not None:
            company = shipment.cargo_company.name if shipment.cargo_company else ""
            entries.append(TimelineEntry(
                when=shipment.created_date, title=gettext("Shipment created"), kind="shipment",
                details=[(gettext("Cargo company"), company)] if company else []))
            if shipment.shipped_date:
                details = [(gettext("Cargo company"), company or "–"),
                           (gettext("Tracking number"), shipment.tracking_number or "–")]
                entries.append(TimelineEntry(when=shipment.shipped_date, kind="shipment",
                                             title=gettext("Handed to the carrier"), details=details))
            if shipment.status in (ShipmentStatus.ATTEMPTED_DELIVERY, ShipmentStatus.DELIVERY_FAILED,
                                   ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED):
                entries.append(TimelineEntry(
                    when=shipment.modified_date, kind="shipment",
                    title=gettext("Shipment: %(status)s") % {"status": shipment.get_status_display()}))
        for transfer in obj.transfer_orders.select_related("source").order_by("id"):
            entries.append(TimelineEntry(
                when=transfer.created_date, kind="transfer",
                title=gettext("Transfer %(number)s asked from %(source)s") % {
                    "number": transfer.number, "source": transfer.source.name}))
        return entries

    # -- read-only displays ----------------------------------------------------------------------
    @admin.display(description=_("state"), ordering="state__name")
    def state_display(self, obj: Package) -> str:
        return state_badge(obj.state)

    @admin.display(description=_("returns to"))
    def previous_state_display(self, obj: Package) -> str:
        # Blocked packages and cancellation requests go back to this state.
        return state_name(obj.previous_state) if obj.previous_state_id else "–"

    @admin.display(description=_("shipment"), ordering="shipment__status")
    def shipment_status(self, obj: Package) -> str:
        shipment = getattr(obj, "shipment", None)
        if shipment is None:
            return "–"
        return badge(shipment.get_status_display(), SHIPMENT_VARIANTS.get(shipment.status, "default"),
                     status=shipment.status, testid="shipment-badge")

    @admin.display(description=_("shipment"))
    def shipment_summary(self, obj: Package) -> str:
        shipment = Shipment.objects.select_related("cargo_company").filter(package=obj).first()
        if shipment is None:
            return gettext("No shipment yet (created when the package is packed).")
        details = gettext("%(status)s · %(company)s · tracking number %(tracking)s · shipped %(shipped)s") % {
            "status": shipment.get_status_display(),
            "company": shipment.cargo_company or gettext("no cargo company"),
            "tracking": shipment.tracking_number or "–",
            "shipped": shipment.shipped_date.strftime("%Y-%m-%d %H:%M") if shipment.shipped_date else "–"}
        return format_html('<a href="{}">{}</a>: {}',
                           reverse("admin:packages_shipment_change", args=[shipment.pk]),
                           gettext("Shipment %(id)s") % {"id": shipment.pk}, details)

    @admin.display(description=_("transfers"))
    def transfer_links(self, obj: Package) -> str:
        transfers = obj.transfer_orders.select_related("state", "source").order_by("id")
        rows = [(reverse("admin:transfers_transferorder_change", args=[t.pk]), t.number, state_name(t.state),
                 t.source.erp_code) for t in transfers]
        if not rows:
            return "–"
        return format_html("<ul class=\"oms-links\">{}</ul>", format_html_join(
            "", '<li><a href="{}">{}</a> – {} from {}</li>', rows))

    @admin.display(description=_("excluded locations"))
    def excluded_locations_display(self, obj: Package) -> str:
        # Locations that refused the package: re-planning never sends it back there.
        ids = getattr(obj, "excluded_locations", None) or []
        if not ids:
            return "–"
        names = dict(StockLocation.objects.filter(pk__in=ids).values_list("pk", "erp_code"))
        return ", ".join(names.get(pk, f"#{pk}") for pk in ids)

    @admin.display(description=_("document"))
    def invoice_document_size(self, obj: Package) -> str:
        if not obj.invoice_document:
            return "–"
        return gettext("%(size)s characters (base64)") % {"size": len(obj.invoice_document)}


@admin.register(PackageItem)
class PackageItemAdmin(ReadOnlyAdminMixin, OmsModelAdmin):
    list_display = ["id", "package", "sku", "quantity", "status"]
    list_filter = ["status"]
    search_fields = ["sku", "package__number"]
    list_select_related = ["package"]
    fields = readonly_fields = ["package", "order_item", "sku", "quantity", "status", "created_date",
                                "modified_date"]


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdminMixin, OmsModelAdmin):
    list_display = ["id", "package", "cargo_company", "tracking_number", "status_display", "shipped_date",
                    "has_shipping_document"]
    list_filter = ["status", "cargo_company", "has_shipping_document"]
    search_fields = ["tracking_number", "query_number", "package__number", "transfer__number"]
    list_select_related = ["package", "cargo_company"]
    date_hierarchy = "created_date"
    fields = readonly_fields = ["package", "transfer", "cargo_company", "tracking_number", "query_number",
                                "status", "shipped_date", "has_shipping_document", "created_date",
                                "modified_date"]

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, obj: Shipment) -> str:
        return badge(obj.get_status_display(), SHIPMENT_VARIANTS.get(obj.status, "default"),
                     status=obj.status, testid="shipment-badge")


@admin.register(PackageDenialReason)
class PackageDenialReasonAdmin(OmsModelAdmin):
    list_display = ["title", "remote_id", "priority", "is_active"]
    list_editable = ["priority", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["title", "remote_id"]
    readonly_fields = ["created_date", "modified_date"]
