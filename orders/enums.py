from django.db import models


class OrderStatus(models.IntegerChoices):
    CANCELLATION_WAITING = 50, "Cancellation Waiting"
    CANCELLED = 100, "Cancelled"
    APPROVED = 400, "Approved"
    PREPARING = 450, "Preparing"
    SHIPPED = 500, "Shipped"
    DELIVERED = 550, "Delivered"


class ChannelType(models.TextChoices):
    WEB = "web", "Web"
    MARKETPLACE = "marketplace", "Marketplace"
    INSTORE = "instore", "Instore"
