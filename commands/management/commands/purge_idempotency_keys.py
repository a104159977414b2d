"""Delete stored Idempotency-Key responses older than a given age (meant for cron)."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from commands.models import IdempotencyRecord


class Command(BaseCommand):
    help = "Purge idempotency records older than --hours (default IDEMPOTENCY_KEY_TTL_HOURS, 24)."

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=float, default=None,
                            help="Age in hours; default: settings.IDEMPOTENCY_KEY_TTL_HOURS.")
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, hours=None, batch_size=5000, **options):
        hours = settings.IDEMPOTENCY_KEY_TTL_HOURS if hours is None else hours
        if hours < 0:
            raise CommandError("--hours must be 0 or more (e.g. --hours 24).")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        cutoff = timezone.now() - timedelta(hours=hours)
        total = IdempotencyRecord.objects.filter(created_date__lt=cutoff).count()
        self.stdout.write(f"{total} idempotency record(s) older than {hours:g} h (before "
                          f"{cutoff:%Y-%m-%d %H:%M:%S} UTC).")
        deleted = 0
        while True:
            ids = list(IdempotencyRecord.objects.filter(created_date__lt=cutoff)
                       .values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            deleted += IdempotencyRecord.objects.filter(pk__in=ids).delete()[0]
            self.stdout.write(f"  deleted {deleted}/{total}")
        remaining = IdempotencyRecord.objects.count()
        self.stdout.write(self.style.SUCCESS(f"Purged {deleted}; {remaining} kept."))
