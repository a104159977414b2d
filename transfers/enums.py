from django.db import models


class TransferStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    READY_TO_SHIPMENT = "ready_to_shipment", "Ready to Shipment"
    IN_TRANSIT = "in_transit", "In Transit"
    TRANSFERRED = "transferred", "Transferred"
    NOT_FOUND = "not_found", "Not Found"
    OUT_OF_STOCK = "out_of_stock", "Out of Stock"
    CANCELLED = "cancelled", "Cancelled"


OPEN_TRANSFER = [TransferStatus.WAITING, TransferStatus.READY_TO_SHIPMENT, TransferStatus.IN_TRANSIT]
