"""Delete webhook history older than a given age (meant for cron): deliveries delivered before it,
with their attempts, then the events left with no delivery. Every command adds its events and
deliveries to the outbox, so without this the tables, and their indexes, grow for ever.

Pending and failed deliveries are kept whatever their age (still to send; for an operator to look
at and re-send), and so are their events. Each batch locks the deliveries it deletes (skipping any
a worker or a re-send holds): a delivery re-sent while the purge runs is either deleted before
the re-send reaches it or kept, never deleted once pending again."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEvent


class Command(BaseCommand):
    help = ("Purge webhook deliveries delivered more than --days ago (default WEBHOOK_HISTORY_DAYS, "
            "30), their attempts, and the events left without deliveries.")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=float, default=None,
                            help="Age in days; default: settings.WEBHOOK_HISTORY_DAYS.")
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, days=None, batch_size=5000, **options):
        days = settings.WEBHOOK_HISTORY_DAYS if days is None else days
        if days < 0:
            raise CommandError("--days must be 0 or more (e.g. --days 30).")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1 (e.g. --batch-size 5000).")
        cutoff = timezone.now() - timedelta(days=days)
        old = WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED, delivered_at__lt=cutoff)
        total = old.count()
        self.stdout.write(f"{total} delivered webhook deliver{'y' if total == 1 else 'ies'} older than "
                          f"{days:g} day(s) (before {cutoff:%Y-%m-%d %H:%M:%S} UTC).")
        deliveries = attempts = 0
        while True:
            with transaction.atomic():
                ids = list(old.select_for_update(skip_locked=True).order_by("pk")
                           .values_list("pk", flat=True)[:batch_size])
                if not ids:
                    break
                _, deleted = WebhookDelivery.objects.filter(pk__in=ids).delete()  # with attempts
                deliveries += deleted.get(WebhookDelivery._meta.label, 0)
                attempts += deleted.get(WebhookAttempt._meta.label, 0)
            self.stdout.write(f"  deliveries: {deliveries}/{total}")
        orphans = WebhookEvent.objects.filter(created_date__lt=cutoff, deliveries__isnull=True)
        events_total = orphans.count()
        events = 0
        while True:
            ids = list(orphans.order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            # an event a delivery was given meanwhile (a new subscription's re-send) is kept
            events += WebhookEvent.objects.filter(pk__in=ids, deliveries__isnull=True).delete()[0]
            self.stdout.write(f"  events: {events}/{events_total}")
        kept = {status: WebhookDelivery.objects.filter(status=status).count()
                for status in DeliveryStatus.values}
        self.stdout.write(self.style.SUCCESS(
            f"Purged {deliveries} deliveries ({attempts} attempts) and {events} events; kept "
            f"{kept['pending']} pending, {kept['failed']} failed and {kept['delivered']} delivered "
            f"deliveries, {WebhookEvent.objects.count()} events."))
