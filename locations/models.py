from django.db import models
from django.db.models import Q

from locations.enums import StockLocationType
from oms.models import TimeStampedModel


class CargoCompany(TimeStampedModel):
    name = models.CharField(max_length=128)
    code = models.SlugField(max_length=64, unique=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "cargo companies"

    def __str__(self) -> str:
        return self.name


class StockLocation(TimeStampedModel):
    name = models.CharField(max_length=255)
    erp_code = models.CharField(max_length=64, unique=True)
    stock_location_type = models.CharField(max_length=16, choices=StockLocationType.choices,
                                           default=StockLocationType.STORE)
    is_active = models.BooleanField(default=True)
    priority = models.IntegerField(default=0, help_text="Higher is tried first by planning.")
    is_fulfillment_center = models.BooleanField(default=False)
    is_transfer_center = models.BooleanField(default=False)
    is_pickup_location = models.BooleanField(default=False)
    city = models.CharField(max_length=128, blank=True)
    country = models.CharField(max_length=64, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    max_quota = models.PositiveIntegerField(null=True, blank=True,
                                            help_text="Empty means unlimited.")
    # System-maintained: packages here whose status is below 400 (spec §4).
    quota = models.PositiveIntegerField(default=0, editable=False)
    default_cargo_company = models.ForeignKey(CargoCompany, null=True, blank=True,
                                              on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-priority", "id"]
        constraints = [models.CheckConstraint(condition=Q(quota__gte=0), name="location_quota_gte_0")]

    def __str__(self) -> str:
        return f"{self.name} ({self.erp_code})"

    @property
    def available_quota(self) -> int | None:
        if self.max_quota is None:
            return None
        return max(self.max_quota - self.quota, 0)


class Stock(TimeStampedModel):
    stock_location = models.ForeignKey(StockLocation, on_delete=models.CASCADE, related_name="stocks")
    sku = models.CharField(max_length=128)
    quantity = models.PositiveIntegerField(default=0)
    reserved = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["stock_location_id", "sku"]
        constraints = [
            models.UniqueConstraint(fields=["stock_location", "sku"], name="stock_unique_location_sku"),
            models.CheckConstraint(condition=Q(reserved__gte=0) & Q(reserved__lte=models.F("quantity")),
                                   name="stock_reserved_within_quantity"),
        ]
        indexes = [models.Index(fields=["sku"])]

    def __str__(self) -> str:
        return f"{self.sku} @ {self.stock_location_id}: {self.quantity} ({self.reserved} reserved)"

    @property
    def available(self) -> int:
        return self.quantity - self.reserved


class Reservation(TimeStampedModel):
    package_item = models.ForeignKey("packages.PackageItem", on_delete=models.CASCADE,
                                     related_name="reservations")
    stock_location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=128)
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=1),
                                              name="reservation_quantity_gte_1")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku} @ {self.stock_location_id}"
