from django.db import models
from django.db.models import Q
from django_fsm import FSMField, FSMModelMixin, transition

from commands.models import State
from locations.models import StockLocation
from oms.models import TimeStampedModel
from orders.models import Order
from packages.models import Package, PackageItem, Shipment
from transfers.enums import OPEN_TRANSFER, TransferStatus

T = TransferStatus


class TransferOrder(FSMModelMixin, TimeStampedModel):
    number = models.CharField(max_length=96, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="transfer_orders")
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="transfer_orders")
    source = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="transfers_out")
    destination = models.ForeignKey(StockLocation, on_delete=models.PROTECT,
                                    related_name="transfers_in")
    # Changed only by the transition methods below, called only by the command dispatcher.
    status = FSMField(max_length=32, choices=TransferStatus.choices, default=T.WAITING,
                      protected=True, db_index=True)
    state = models.ForeignKey(State, on_delete=models.PROTECT, related_name="transfer_orders")
    shipment = models.OneToOneField(Shipment, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="transfer")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.number

    # -- lifecycle (spec §6) ---------------------------------------------------------------------
    @transition(field=status, source=T.WAITING, target=T.READY_TO_SHIPMENT)
    def ready_for_dispatch(self) -> None:
        pass

    @transition(field=status, source=T.WAITING, target=T.READY_TO_SHIPMENT)
    def ready_with_shipment(self) -> None:
        pass

    @transition(field=status, source=[T.WAITING, T.READY_TO_SHIPMENT], target=T.IN_TRANSIT)
    def dispatch(self) -> None:
        pass

    @transition(field=status, source=T.IN_TRANSIT, target=T.TRANSFERRED)
    def deliver(self) -> None:
        pass

    @transition(field=status, source=T.WAITING, target=T.NOT_FOUND)
    def mark_not_found(self) -> None:
        pass

    @transition(field=status, source=T.WAITING, target=T.OUT_OF_STOCK)
    def mark_out_of_stock(self) -> None:
        pass

    # -- system transition: a cancelled package cancels its open transfers ---------------------
    @transition(field=status, source=OPEN_TRANSFER, target=T.CANCELLED)
    def cancel(self) -> None:
        pass


class TransferItem(TimeStampedModel):
    transfer = models.ForeignKey(TransferOrder, on_delete=models.CASCADE,
                                 related_name="transferitem_set")
    package_item = models.ForeignKey(PackageItem, on_delete=models.PROTECT,
                                     related_name="transfer_items")
    sku = models.CharField(max_length=128)
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=32, default=T.WAITING)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=1),
                                              name="transferitem_quantity_gte_1")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"
