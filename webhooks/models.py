import uuid

from django.db import models

from oms.models import TimeStampedModel


def default_retry_config() -> dict:
    return {"strategy": "exponential", "countdown": 30, "max_retries": 8}


def hex_uuid() -> str:
    return uuid.uuid4().hex


class WebhookSubscription(TimeStampedModel):
    event_type = models.CharField(max_length=128, help_text="An event type, or a pattern such as "
                                                            "package.status.* or *.")
    target_url = models.URLField(max_length=1000)
    secret_key = models.CharField(max_length=255, null=True, blank=True,
                                  help_text="Signs deliveries (X-OMS-Signature).")
    additional_headers = models.JSONField(null=True, blank=True)
    retry_countdown_config = models.JSONField(default=default_retry_config)
    is_active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    deactivated_reason = models.CharField(max_length=255, blank=True, editable=False)
    # A worker delivering this subscription's queue holds it until then (deliveries stay in order;
    # a worker that died releases it by expiry).
    leased_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.target_url}"


class WebhookEvent(models.Model):
    """The outbox: written in the transaction of the change that caused it."""

    uuid = models.CharField(max_length=32, default=hex_uuid, editable=False)
    event_type = models.CharField(max_length=128)
    payload = models.JSONField()
    created_date = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]
        # Written by every command (webhooks.outbox): no index but those its readers use. Declared
        # here rather than with unique=/db_index= on the fields, which on PostgreSQL also add a
        # varchar_pattern_ops copy for LIKE queries nobody makes.
        constraints = [models.UniqueConstraint(fields=["uuid"], name="webhookevent_unique_uuid")]
        indexes = [models.Index(fields=["event_type"], name="webhookevent_event_type")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.uuid}"

    def envelope(self) -> dict:
        return {"event": {"type": self.event_type, "uuid": self.uuid}, "payload": self.payload}


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(TimeStampedModel):
    """One event for one subscription. Its uuid (X-OMS-Delivery) stays the same on every attempt,
    so receivers can drop duplicates (delivery is at least once)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Both foreign keys are the first column of an index below (their own index would be a copy).
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries",
                              db_index=False)
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE,
                                     related_name="deliveries", db_index=False)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "subscription"],
                                               name="delivery_unique_event_subscription")]
        indexes = [models.Index(fields=["subscription", "status", "id"]),
                   models.Index(fields=["status"], name="webhookdelivery_status")]

    def __str__(self) -> str:
        return f"{self.event.event_type} → {self.subscription_id} ({self.status})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_date = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.status_code or self.error[:40]}"
