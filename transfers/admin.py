"""Transfer orders in the admin: the same page as packages (state badge, primary commands, "More",
timeline); a store sees only the commands of its side (the source dispatches, the destination
receives)."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from commands.admin_commands import CommandAdminMixin, CommandRole, ReadOnlyAdminMixin, StateListFilter
from commands.admin_display import (
    TimelineEntry,
    register_input_describer,
    register_status_variants,
    state_badge,
)
from oms.admin_base import OmsModelAdmin, OmsTabularInline
from packages.admin import cargo_company_form_field
from packages.handlers import CargoCompanyRef
from transfers.enums import TransferStatus
from transfers.handlers import TRANSFER
from transfers.models import TransferItem, TransferOrder

T = TransferStatus

register_status_variants("TransferStatus", {
    T.WAITING: "info", T.READY_TO_SHIPMENT: "primary", T.IN_TRANSIT: "primary",
    T.TRANSFERRED: "success", T.NOT_FOUND: "danger", T.OUT_OF_STOCK: "danger", T.CANCELLED: "default",
})

TRANSFER_ROLES = (
    CommandRole("ready_for_dispatch", _("Ready for dispatch"),
                ("TRANSFER_ORDER_ADVANCED", "TRANSFER_READY_FOR_DISPATCH"), done=_("ready for dispatch")),
    CommandRole("dispatch", _("Dispatch"), ("TRANSFER_DISPATCH",), done=_("dispatched")),
    CommandRole("receive", _("Received"), ("TRANSFER_DELIVERED",), done=_("received")),
    CommandRole("not_found", _("Product not found"), ("TRANSFER_PRODUCT_NOT_FOUND",),
                done=_("marked not found"), primary=False, bulk=False, danger=True),
    CommandRole("out_of_stock", _("Out of stock"), ("TRANSFER_OUT_OF_STOCK",),
                done=_("marked out of stock"), primary=False, bulk=False, danger=True),
)


def _transfer_items(value) -> str:
    ids = [v for v in value if isinstance(v, int)] if isinstance(value, list) else []
    items = {i.pk: i for i in TransferItem.objects.filter(pk__in=ids)}
    return ", ".join(f"{items[i].quantity} x {items[i].sku}" if i in items else f"#{i}" for i in ids)


register_input_describer("transfer_items", _transfer_items)


class TransferItemInline(OmsTabularInline):
    model = TransferItem
    extra = 0
    can_delete = False
    fields = readonly_fields = ["id", "sku", "quantity", "status", "package_item"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TransferOrder)
class TransferOrderAdmin(CommandAdminMixin, OmsModelAdmin):
    command_object_type = TRANSFER
    command_roles = TRANSFER_ROLES
    list_display = ["number", "package", "source", "destination", "state_display", "created_date"]
    list_filter = ["status", ("state", StateListFilter),
                   ("source", admin.RelatedOnlyFieldListFilter),
                   ("destination", admin.RelatedOnlyFieldListFilter), "created_date"]
    search_fields = ["number", "package__number", "order__number", "transferitem_set__sku",
                     "source__erp_code", "destination__erp_code"]
    search_help_text = _("Transfer, package or order number, SKU, source or destination ERP code.")
    list_select_related = ["package", "source", "destination", "state"]
    date_hierarchy = "created_date"
    fieldsets = [
        (None, {"fields": ["number", "order", "package", "source", "destination", "state_display"]}),
        (_("Shipment"), {"fields": ["shipment"]}),
        (_("Dates"), {"fields": ["created_date", "modified_date"]}),
    ]
    # Everything: a transfer changes only through commands.
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]
    inlines = [TransferItemInline]

    def command_form_field(self, name, field, obj):
        if isinstance(field, CargoCompanyRef):
            return cargo_company_form_field(field, name.replace("_", " ").capitalize())
        if name == "transfer_items" and isinstance(field, serializers.ListField):
            choices = [(item.pk, f"#{item.pk}: {item.quantity} x {item.sku} ({item.status})")
                       for item in obj.transferitem_set.order_by("id")]
            return forms.TypedMultipleChoiceField(
                choices=choices, coerce=int, required=field.required, label=_("Transfer items"),
                widget=forms.CheckboxSelectMultiple, help_text=field.help_text or "")
        return super().command_form_field(name, field, obj)

    def timeline_extra(self, obj: TransferOrder) -> list[TimelineEntry]:
        shipment = obj.shipment
        if shipment is None:
            return []
        company = shipment.cargo_company.name if shipment.cargo_company else "–"
        entries = [TimelineEntry(when=shipment.created_date, kind="shipment",
                                 title=gettext("Shipment created"),
                                 details=[(gettext("Cargo company"), company),
                                          (gettext("Tracking number"), shipment.tracking_number or "–")])]
        if shipment.shipped_date:
            entries.append(TimelineEntry(when=shipment.shipped_date, kind="shipment",
                                         title=gettext("Handed to the carrier")))
        return entries

    @admin.display(description=_("state"), ordering="state__name")
    def state_display(self, obj: TransferOrder) -> str:
        return state_badge(obj.state)


@admin.register(TransferItem)
class TransferItemAdmin(ReadOnlyAdminMixin, OmsModelAdmin):
    list_display = ["id", "transfer", "sku", "quantity", "status"]
    list_filter = ["status"]
    search_fields = ["sku", "transfer__number", "transfer__package__number"]
    list_select_related = ["transfer"]
    fields = readonly_fields = ["transfer", "package_item", "sku", "quantity", "status", "created_date",
                                "modified_date"]
