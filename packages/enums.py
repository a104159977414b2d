from django.db import models


class PackageStatus(models.IntegerChoices):
    CANCELLATION_WAITING = 50, "Cancellation Waiting"
    WAITING = 100, "Waiting"
    WAITING_REMOTE_ACTION = 150, "Waiting Remote Action"
    PREPARING = 200, "Preparing"
    WAITING_FOR_TRANSFER = 300, "Waiting for Transfer"
    BLOCKED = 350, "Blocked"
    READY_FOR_PACKAGING = 400, "Ready for Packaging"
    PACKED = 500, "Packed"
    READY_FOR_PICKUP = 520, "Ready for Pickup"
    SHIPPED = 550, "Shipped"
    ATTEMPTED_DELIVERY = 560, "Attempted Delivery"
    DELIVERY_FAILED = 570, "Delivery Failed"
    DELIVERED = 600, "Delivered"
    NEEDS_RESCHEDULING = 900, "Needs Rescheduling"
    OUT_OF_STOCK = 920, "Contains out of stock products"
    CANCELLED = 950, "Cancelled"
    PACKED_FOR_REFUND = 1100, "Packed for Refund"


S = PackageStatus

# Spec §4: a package holds one unit of its location's quota exactly while its status < 400.
QUOTA_LIMIT = 400


def holds_quota(status: int) -> bool:
    return status < QUOTA_LIMIT


PRE_PACKING = [S.WAITING, S.WAITING_REMOTE_ACTION, S.PREPARING, S.READY_FOR_PACKAGING]
PACKABLE = [S.WAITING, S.PREPARING, S.READY_FOR_PACKAGING]
IN_DELIVERY = [S.SHIPPED, S.ATTEMPTED_DELIVERY, S.DELIVERY_FAILED]
DELIVERY_OUTCOMES = [S.ATTEMPTED_DELIVERY, S.DELIVERY_FAILED, S.DELIVERED]
SHIPMENT_INFO = [S.PACKED, S.SHIPPED, S.ATTEMPTED_DELIVERY, S.DELIVERED]
AFTER_PACKING = [S.PACKED, S.READY_FOR_PICKUP, S.SHIPPED, S.ATTEMPTED_DELIVERY,
                 S.DELIVERY_FAILED, S.DELIVERED]
CANCELLATION_REQUESTABLE = [S.WAITING, S.WAITING_REMOTE_ACTION, S.PREPARING,
                            S.WAITING_FOR_TRANSFER, S.BLOCKED, S.READY_FOR_PACKAGING]
CANCELLABLE = [S.CANCELLATION_WAITING, *CANCELLATION_REQUESTABLE]


class ItemStatus(models.TextChoices):
    """Package items mirror their package's status key, or are ``out_of_stock``."""

    WAITING = "waiting", "Waiting"
    OUT_OF_STOCK = "out_of_stock", "Out of stock"


class ShipmentStatus(models.TextChoices):
    CREATED = "created", "Created"
    SHIPPED = "shipped", "Shipped"
    ATTEMPTED_DELIVERY = "attempted_delivery", "Attempted delivery"
    DELIVERY_FAILED = "delivery_failed", "Delivery failed"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"
