from django.db import models
from django.db.models import Q

from locations.models import CargoCompany
from oms.models import TimeStampedModel
from orders.enums import ChannelType, OrderStatus


class Channel(TimeStampedModel):
    name = models.CharField(max_length=128)
    code = models.SlugField(max_length=64, unique=True)
    channel_type = models.CharField(max_length=16, choices=ChannelType.choices,
                                    default=ChannelType.WEB)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Order(TimeStampedModel):
    number = models.CharField(max_length=64, unique=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="orders")
    # Derived from the order's packages after every command (spec §1.3).
    status = models.IntegerField(choices=OrderStatus.choices, default=OrderStatus.APPROVED,
                                 editable=False, db_index=True)
    customer = models.JSONField(default=dict, blank=True,
                                help_text='{"first_name", "last_name", "email", "phone"}')
    shipping_address = models.JSONField(default=dict, blank=True,
                                        help_text='{"line", "city", "country", "postcode"}')
    payment_type = models.CharField(max_length=64, blank=True)
    cargo_company = models.ForeignKey(CargoCompany, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    tracking_number = models.CharField(max_length=128, null=True, blank=True)
    date_placed = models.DateTimeField()
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.number


class OrderItem(TimeStampedModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="orderitem_set")
    sku = models.CharField(max_length=128, db_index=True)
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="TRY")
    status = models.CharField(max_length=32, default="waiting")

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=1),
                                              name="orderitem_quantity_gte_1")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"
