"""Deliver due webhook deliveries once (a cron-friendly alternative to a running worker)."""

from django.core.management.base import BaseCommand

from webhooks.delivery import deliveries_run
from webhooks.models import DeliveryStatus, WebhookDelivery


class Command(BaseCommand):
    help = "Send every due webhook delivery now, in order per subscription, and print a summary."

    def handle(self, *args, **options):
        pending = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).count()
        self.stdout.write(f"{pending} pending deliver{'y' if pending == 1 else 'ies'}.")
        sent = deliveries_run()
        counts = {s: WebhookDelivery.objects.filter(status=s).count() for s in DeliveryStatus.values}
        self.stdout.write(self.style.SUCCESS(
            f"Sent {sent} request(s). Now: {counts['pending']} pending, {counts['delivered']} delivered, "
            f"{counts['failed']} failed."))
