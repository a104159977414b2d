from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from commands.admin_commands import ReadOnlyAdminMixin, UpdateFieldsSaveMixin
from orders.models import Channel, Order, OrderItem


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "channel_type"]
    list_filter = ["channel_type"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}
    readonly_fields = ["created_date", "modified_date"]


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    can_delete = False
    fields = readonly_fields = ["sku", "quantity", "price", "currency", "status"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # items are planned into packages; they change only through commands


@admin.register(Order)
class OrderAdmin(UpdateFieldsSaveMixin, admin.ModelAdmin):
    list_display = ["number", "channel", "status", "customer_name", "customer_email", "payment_type",
                    "cargo_company", "date_placed"]
    list_filter = ["status", "channel", "payment_type", "cargo_company"]
    search_fields = ["number", "customer__email", "customer__last_name", "tracking_number",
                     "orderitem_set__sku"]
    list_select_related = ["channel", "cargo_company"]
    date_hierarchy = "date_placed"
    readonly_fields = ["number", "channel", "status", "date_placed", "package_links", "created_date",
                       "modified_date"]
    fieldsets = [
        (None, {"fields": ["number", "channel", "status", "date_placed", "payment_type"]}),
        ("Customer", {"fields": ["customer", "shipping_address"]}),
        ("Shipping", {"fields": ["cargo_company", "tracking_number"]}),
        ("Packages", {"fields": ["package_links"]}),
        ("Notes and dates", {"fields": ["notes", "created_date", "modified_date"]}),
    ]
    inlines = [OrderItemInline]

    def has_add_permission(self, request) -> bool:
        return False  # orders come from the intake API, which plans them in the same transaction

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="customer", ordering="customer__last_name")
    def customer_name(self, obj: Order) -> str:
        customer = obj.customer or {}
        return f"{customer.get('first_name', '')} {customer.get('last_name', '')}".strip() or "–"

    @admin.display(description="email")
    def customer_email(self, obj: Order) -> str:
        return (obj.customer or {}).get("email") or "–"

    @admin.display(description="packages")
    def package_links(self, obj: Order) -> str:
        packages = obj.packages.select_related("state", "stock_location").order_by("id")
        rows = [(reverse("admin:packages_package_change", args=[p.pk]), p.number, p.state.name,
                 p.stock_location.erp_code) for p in packages]
        if not rows:
            return "–"
        return format_html("<ul style=\"margin:0\">{}</ul>", format_html_join(
            "", '<li><a href="{}">{}</a> – {} at {}</li>', rows))


@admin.register(OrderItem)
class OrderItemAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "order", "sku", "quantity", "price", "currency", "status"]
    list_filter = ["status", "currency"]
    search_fields = ["sku", "order__number"]
    list_select_related = ["order"]
    fields = readonly_fields = ["order", "sku", "quantity", "price", "currency", "status",
                                "created_date", "modified_date"]
