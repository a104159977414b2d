"""Orders in the admin: the customer and the shipping address as fields people read and edit (not
JSON), the packages the order was planned into with their states."""

from django import forms
from django.contrib import admin
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.scoping import scope_queryset
from commands.admin_commands import ReadOnlyAdminMixin, UpdateFieldsSaveMixin
from commands.admin_display import badge, state_name
from oms.admin_base import OmsModelAdmin, OmsTabularInline
from orders.enums import OrderStatus
from orders.models import Channel, Order, OrderItem

ORDER_VARIANTS = {
    OrderStatus.APPROVED: "info", OrderStatus.PREPARING: "primary", OrderStatus.SHIPPED: "primary",
    OrderStatus.DELIVERED: "success", OrderStatus.CANCELLATION_WAITING: "warning",
    OrderStatus.CANCELLED: "default"}

# (JSON column, key, label, max length): what the intake API accepts (orders.serializers).
CUSTOMER_FIELDS = [("first_name", _("First name"), 128), ("last_name", _("Last name"), 128),
                   ("email", _("Email"), None), ("phone", _("Phone"), 32)]
ADDRESS_FIELDS = [("line", _("Address"), 512), ("city", _("City"), 128), ("postcode", _("Postcode"), 16),
                  ("country", _("Country"), 64)]
JSON_PARTS = {"customer": CUSTOMER_FIELDS, "shipping_address": ADDRESS_FIELDS}


def _form_name(column: str, key: str) -> str:
    return f"{column}__{key}"


def _json_part_fields() -> dict[str, forms.Field]:
    fields: dict[str, forms.Field] = {}
    for column, parts in JSON_PARTS.items():
        for key, label, max_length in parts:
            fields[_form_name(column, key)] = (
                forms.EmailField(required=False, label=label) if key == "email" else
                forms.CharField(required=False, label=label, max_length=max_length,
                                widget=forms.Textarea(attrs={"rows": 2}) if key == "line"
                                else forms.TextInput))
    return fields


class OrderFormBase(forms.ModelForm):
    """One input per customer and address detail; other keys of the JSON columns (coordinates a
    channel sent) are kept as they are."""

    class Meta:
        model = Order
        fields = ["payment_type", "cargo_company", "tracking_number", "notes"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for column, parts in JSON_PARTS.items():
            current = getattr(self.instance, column, None) or {}
            for key, _label, _length in parts:
                self.initial.setdefault(_form_name(column, key), current.get(key, ""))

    def _post_clean(self) -> None:
        super()._post_clean()
        for column, parts in JSON_PARTS.items():
            value = dict(getattr(self.instance, column, None) or {})
            for key, _label, _length in parts:
                if _form_name(column, key) not in self.cleaned_data:
                    continue  # invalid: the form is shown again, nothing is saved
                typed = (self.cleaned_data[_form_name(column, key)] or "").strip()
                if typed:
                    value[key] = typed
                else:
                    value.pop(key, None)
            setattr(self.instance, column, value)

    def changed_model_fields(self) -> list[str]:
        """The model columns this form changed (UpdateFieldsSaveMixin)."""
        changed = [name for name in self.changed_data if "__" not in name]
        for column in JSON_PARTS:
            if any(name.startswith(f"{column}__") for name in self.changed_data):
                changed.append(column)
        return changed


OrderForm = type("OrderForm", (OrderFormBase,), {**_json_part_fields(), "__module__": __name__})


@admin.register(Channel)
class ChannelAdmin(OmsModelAdmin):
    list_display = ["name", "code", "channel_type"]
    list_filter = ["channel_type"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}
    readonly_fields = ["created_date", "modified_date"]


class OrderItemInline(OmsTabularInline):
    model = OrderItem
    extra = 0
    can_delete = False
    fields = readonly_fields = ["sku", "quantity", "price", "currency", "fulfilment"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # items are planned into packages; they change only through commands

    def get_queryset(self, request):
        # Only the package items a store user may see (not other stores' packages of the order).
        items = OrderItem.package_items.rel.related_model
        visible = scope_queryset(items.objects.select_related("package__state"), request.user)
        return super().get_queryset(request).prefetch_related(Prefetch("package_items", queryset=visible))

    @admin.display(description=_("packages"))
    def fulfilment(self, obj: OrderItem) -> str:
        # Where the item is now: its packages' states (the order item's own status column is not
        # kept up to date by the domain).
        rows = [(item.package.number, state_name(item.package.state), item.quantity)
                for item in obj.package_items.all()]
        if not rows:
            return "–"
        return format_html_join(", ", "{} ({}, {})", rows)


@admin.register(Order)
class OrderAdmin(UpdateFieldsSaveMixin, OmsModelAdmin):
    form = OrderForm
    list_display = ["number", "channel", "status_display", "customer_name", "customer_email",
                    "payment_type", "cargo_company", "date_placed"]
    list_filter = ["status", "channel", "payment_type", "cargo_company"]
    search_fields = ["number", "customer__email", "customer__last_name", "tracking_number",
                     "orderitem_set__sku"]
    list_select_related = ["channel", "cargo_company"]
    date_hierarchy = "date_placed"
    readonly_fields = ["number", "channel", "status_display", "date_placed", "package_links",
                       "customer_display", "address_display", "created_date", "modified_date"]
    inlines = [OrderItemInline]

    def get_fieldsets(self, request, obj=None):
        if self.has_change_permission(request, obj):
            customer = [_form_name("customer", key) for key, _label, _length in CUSTOMER_FIELDS]
            address = [_form_name("shipping_address", key) for key, _label, _length in ADDRESS_FIELDS]
        else:  # read-only: the same details as text
            customer, address = ["customer_display"], ["address_display"]
        return [
            (None, {"fields": ["number", "channel", "status_display", "date_placed", "payment_type"]}),
            (_("Customer"), {"fields": customer}),
            (_("Shipping address"), {"fields": address}),
            (_("Shipping"), {"fields": ["cargo_company", "tracking_number"]}),
            (_("Packages"), {"fields": ["package_links"]}),
            (_("Notes and dates"), {"fields": ["notes", "created_date", "modified_date"]}),
        ]

    def has_add_permission(self, request) -> bool:
        return False  # orders come from the intake API, which plans them in the same transaction

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, obj: Order) -> str:
        return badge(obj.get_status_display(), ORDER_VARIANTS.get(obj.status, "default"),
                     status=str(obj.status), testid="order-status")

    @admin.display(description=_("customer"), ordering="customer__last_name")
    def customer_name(self, obj: Order) -> str:
        customer = obj.customer or {}
        return f"{customer.get('first_name', '')} {customer.get('last_name', '')}".strip() or "–"

    @admin.display(description=_("email"))
    def customer_email(self, obj: Order) -> str:
        return (obj.customer or {}).get("email") or "–"

    @admin.display(description=_("customer"))
    def customer_display(self, obj: Order) -> str:
        return _details(obj.customer, CUSTOMER_FIELDS)

    @admin.display(description=_("shipping address"))
    def address_display(self, obj: Order) -> str:
        return _details(obj.shipping_address, ADDRESS_FIELDS)

    @admin.display(description=_("packages"))
    def package_links(self, obj: Order) -> str:
        packages = getattr(obj, "visible_packages", None)
        if packages is None:
            packages = obj.packages.select_related("state", "stock_location").order_by("id")
        rows = [(reverse("admin:packages_package_change", args=[p.pk]), p.number, state_name(p.state),
                 p.stock_location.erp_code) for p in packages]
        if not rows:
            return "–"
        return format_html("<ul class=\"oms-links\">{}</ul>", format_html_join(
            "", '<li><a href="{}">{}</a> – {} at {}</li>', rows))

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            # A store user sees the order's packages at its own locations only.
            obj.visible_packages = list(scope_queryset(obj.packages.all(), request.user)
                                        .select_related("state", "stock_location").order_by("id"))
        return obj


def _details(value: dict | None, parts) -> str:
    value = value or {}
    rows = [(label, value[key]) for key, label, _length in parts if value.get(key)]
    rows += [(key.replace("_", " ").capitalize(), value[key]) for key in value
             if key not in {k for k, _label, _length in parts} and value[key] not in ("", None)]
    if not rows:
        return "–"
    return format_html('<dl class="oms-details">{}</dl>', format_html_join(
        "", "<div><dt>{}</dt><dd>{}</dd></div>", rows))


@admin.register(OrderItem)
class OrderItemAdmin(ReadOnlyAdminMixin, OmsModelAdmin):
    list_display = ["id", "order", "sku", "quantity", "price", "currency", "status"]
    list_filter = ["status", "currency"]
    search_fields = ["sku", "order__number"]
    list_select_related = ["order"]
    fields = readonly_fields = ["order", "sku", "quantity", "price", "currency", "status",
                                "created_date", "modified_date"]
