from django.db import models
from django.db.models import Q
from django_fsm import RETURN_VALUE, FSMIntegerField, FSMModelMixin, transition

from commands.models import State
from locations.models import CargoCompany, StockLocation
from oms.models import TimeStampedModel
from orders.models import Order, OrderItem
from packages.enums import (
    AFTER_PACKING,
    CANCELLABLE,
    CANCELLATION_REQUESTABLE,
    DELIVERY_OUTCOMES,
    IN_DELIVERY,
    PACKABLE,
    PRE_PACKING,
    SHIPMENT_INFO,
    ItemStatus,
    PackageStatus,
    ShipmentStatus,
)

S = PackageStatus


class PackageDenialReason(TimeStampedModel):
    title = models.CharField(max_length=255, unique=True)
    remote_id = models.CharField(max_length=64, blank=True)
    priority = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-priority", "title"]

    def __str__(self) -> str:
        return self.title


class StateMemoryMixin(models.Model):
    """Block and cancellation requests remember the state to return to. They can nest (a blocked
    package may get a cancellation request), so older memories are kept as a stack."""

    previous_state = models.ForeignKey(State, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    state_memory = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        abstract = True

    def remember_state(self) -> None:
        if self.previous_state_id is not None:
            self.state_memory = [*self.state_memory, self.previous_state_id]
        self.previous_state_id = self.state_id

    def forget_state(self) -> None:
        memory = list(self.state_memory)
        self.previous_state_id = memory.pop() if memory else None
        self.state_memory = memory


class Package(FSMModelMixin, StateMemoryMixin, TimeStampedModel):
    number = models.CharField(max_length=80, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="packages")
    stock_location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="packages")
    # Changed only by the transition methods below, called only by the command dispatcher.
    status = FSMIntegerField(choices=PackageStatus.choices, default=S.WAITING, protected=True,
                             db_index=True)
    state = models.ForeignKey(State, on_delete=models.PROTECT, related_name="packages")
    denial_reason = models.ForeignKey(PackageDenialReason, null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="packages")
    invoice_number = models.CharField(max_length=64, blank=True)
    invoice_date = models.DateTimeField(null=True, blank=True)
    invoice_document_type = models.CharField(max_length=32, blank=True)
    invoice_document = models.TextField(blank=True, help_text="Base64-encoded document.")
    # Locations that refused this package; re-planning never sends it back there.
    excluded_locations = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["stock_location", "status"])]

    def __str__(self) -> str:
        return self.number

    # -- lifecycle (spec §5): one method per command type, exactly its From -> To pairs --------
    @transition(field=status, source=PRE_PACKING, target=RETURN_VALUE(*PRE_PACKING))
    def move(self, status: int) -> int:
        return status

    @transition(field=status, source=S.WAITING, target=S.PREPARING)
    def deallocate(self) -> None:
        pass

    @transition(field=status, source=PACKABLE, target=S.PACKED)
    def pack(self) -> None:
        pass

    @transition(field=status, source=PACKABLE, target=S.PACKED)
    def pack_without_shipment(self) -> None:
        pass

    @transition(field=status, source=PACKABLE, target=S.PACKED)
    def pack_for_channel(self) -> None:
        pass

    @transition(field=status, source=S.PACKED, target=S.SHIPPED)
    def ship(self) -> None:
        pass

    @transition(field=status, source=S.PACKED, target=S.SHIPPED)
    def ship_advanced(self) -> None:
        pass

    @transition(field=status, source=S.PACKED, target=S.SHIPPED)
    def ship_basic(self) -> None:
        pass

    @transition(field=status, source=IN_DELIVERY, target=RETURN_VALUE(*DELIVERY_OUTCOMES))
    def update_delivery(self, status: int) -> int:
        return status

    @transition(field=status, source=SHIPMENT_INFO, target=None)
    def update_shipment_info(self) -> None:
        pass

    @transition(field=status, source=[S.WAITING, S.PREPARING], target=S.OUT_OF_STOCK)
    def mark_out_of_stock(self) -> None:
        pass

    @transition(field=status, source=[S.WAITING, S.PREPARING], target=S.OUT_OF_STOCK)
    def split_out_of_stock(self) -> None:
        pass

    @transition(field=status, source=[S.NEEDS_RESCHEDULING, S.OUT_OF_STOCK], target=S.WAITING)
    def repack(self) -> None:
        pass

    @transition(field=status, source=[S.WAITING, S.WAITING_REMOTE_ACTION, S.PREPARING],
                target=S.NEEDS_RESCHEDULING)
    def refuse(self) -> None:
        pass

    @transition(field=status, source=[S.WAITING, S.OUT_OF_STOCK], target=S.PACKED_FOR_REFUND)
    def pack_for_refund(self) -> None:
        pass

    @transition(field=status, source=PRE_PACKING, target=S.BLOCKED)
    def block(self) -> None:
        self.remember_state()

    @transition(field=status, source=S.BLOCKED, target=RETURN_VALUE(*PRE_PACKING))
    def unblock(self) -> int:
        status = self.previous_state.status
        self.state_id = self.previous_state_id
        self.forget_state()
        return status

    @transition(field=status, source=AFTER_PACKING, target=None)
    def update_invoice(self) -> None:
        pass

    @transition(field=status, source=[S.WAITING, S.PREPARING], target=S.CANCELLED)
    def assign_manually(self) -> None:
        pass

    @transition(field=status, source=CANCELLATION_REQUESTABLE, target=S.CANCELLATION_WAITING)
    def request_cancellation(self) -> None:
        self.remember_state()

    @transition(field=status, source=S.CANCELLATION_WAITING,
                target=RETURN_VALUE(*CANCELLATION_REQUESTABLE))
    def reject_cancellation(self) -> int:
        status = self.previous_state.status
        self.state_id = self.previous_state_id
        self.forget_state()
        return status

    @transition(field=status, source=CANCELLABLE, target=S.CANCELLED)
    def cancel(self) -> None:
        self.previous_state_id = None
        self.state_memory = []

    @transition(field=status, source=S.PACKED, target=S.READY_FOR_PICKUP)
    def ready_for_pickup(self) -> None:
        pass

    @transition(field=status, source=S.READY_FOR_PICKUP, target=S.DELIVERED)
    def deliver_to_customer(self) -> None:
        pass

    # -- system transitions (no command type: the OMS runs them itself) ------------------------
    @transition(field=status, source=S.WAITING_FOR_TRANSFER, target=S.WAITING)
    def release_from_transfer(self) -> None:
        pass


class PackageItem(TimeStampedModel):
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="packageitem_set")
    order_item = models.ForeignKey(OrderItem, on_delete=models.PROTECT, related_name="package_items")
    sku = models.CharField(max_length=128, db_index=True)
    quantity = models.PositiveIntegerField()
    # The package's status key, or "out_of_stock" for items marked not found.
    status = models.CharField(max_length=32, default=ItemStatus.WAITING)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=1),
                                              name="packageitem_quantity_gte_1")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class Shipment(TimeStampedModel):
    # A package's shipment; a transfer's shipment is linked from TransferOrder.shipment.
    package = models.OneToOneField(Package, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="shipment")
    cargo_company = models.ForeignKey(CargoCompany, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    tracking_number = models.CharField(max_length=128, blank=True)
    query_number = models.CharField(max_length=128, blank=True)
    status = models.CharField(max_length=32, choices=ShipmentStatus.choices,
                              default=ShipmentStatus.CREATED)
    shipped_date = models.DateTimeField(null=True, blank=True)
    # False when the channel ships on its own label (marketplace): no document is produced here.
    has_shipping_document = models.BooleanField(default=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Shipment {self.pk} ({self.status})"
