"""`manage.py purge_webhook_history`: delivered deliveries older than the age go, with their
attempts, and so do the events left with no delivery; nothing pending or failed, nothing younger."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from tests.concurrency import run_in_threads
from tests.snapshots import db_snapshot
from webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def subscription(n: int) -> WebhookSubscription:
    return WebhookSubscription.objects.create(event_type="*", target_url=f"http://127.0.0.1:9/{n}")


def event(age: timedelta, name: str) -> WebhookEvent:
    row = WebhookEvent.objects.create(event_type=name, payload={"name": name})
    WebhookEvent.objects.filter(pk=row.pk).update(created_date=timezone.now() - age)
    return row


def delivery(event: WebhookEvent, to: WebhookSubscription, status: str, age: timedelta, *,
             attempts: int = 1) -> WebhookDelivery:
    at = timezone.now() - age
    row = WebhookDelivery.objects.create(
        event=event, subscription=to, status=status, attempts=attempts,
        delivered_at=at if status == DeliveryStatus.DELIVERED else None)
    for number in range(1, attempts + 1):
        WebhookAttempt.objects.create(delivery=row, number=number, status_code=200)
    return row


@pytest.fixture
def history():
    one, two = subscription(1), subscription(2)
    gone = event(41 * DAY, "gone")
    half = event(41 * DAY, "half")
    failed = event(41 * DAY, "failed")
    young = event(2 * DAY, "young")
    mixed = event(41 * DAY, "mixed")
    return {
        "gone": delivery(gone, one, DeliveryStatus.DELIVERED, 40 * DAY, attempts=2),
        "half-delivered": delivery(half, one, DeliveryStatus.DELIVERED, 40 * DAY),
        "half-pending": delivery(half, two, DeliveryStatus.PENDING, 40 * DAY, attempts=0),
        "failed": delivery(failed, one, DeliveryStatus.FAILED, 40 * DAY, attempts=3),
        "young": delivery(young, one, DeliveryStatus.DELIVERED, 1 * DAY),
        "mixed-delivered": delivery(mixed, one, DeliveryStatus.DELIVERED, 31 * DAY),
        "mixed-failed": delivery(mixed, two, DeliveryStatus.FAILED, 31 * DAY),
    }


def names(model) -> set[str]:
    if model is WebhookEvent:
        return set(WebhookEvent.objects.values_list("event_type", flat=True))
    return set(model.objects.values_list("pk", flat=True))


def test_delivered_history_older_than_the_age_goes_and_nothing_else(history):
    out = StringIO()

    call_command("purge_webhook_history", "--days", "30", "--batch-size", "1", stdout=out)

    kept = {"half-pending", "failed", "young", "mixed-failed"}
    assert names(WebhookDelivery) == {history[name].pk for name in kept}
    assert names(WebhookEvent) == {"half", "failed", "young", "mixed"}
    assert sorted(WebhookAttempt.objects.values_list("delivery_id", "number")) == sorted(
        [(history["failed"].pk, n) for n in (1, 2, 3)] + [(history["young"].pk, 1)]
        + [(history["mixed-failed"].pk, 1)])
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("3 delivered webhook deliveries older than 30 day(s) (before ")
    assert lines[1:4] == ["  deliveries: 1/3", "  deliveries: 2/3", "  deliveries: 3/3"]
    assert lines[4:5] == ["  events: 1/1"]
    assert lines[-1] == ("Purged 3 deliveries (4 attempts) and 1 events; kept 1 pending, 2 failed and "
                         "1 delivered deliveries, 4 events.")


def test_the_default_age_is_the_setting(history, settings):
    settings.WEBHOOK_HISTORY_DAYS = 35

    call_command("purge_webhook_history", stdout=StringIO())

    assert history["mixed-delivered"].pk in names(WebhookDelivery)  # 31 days: younger than 35
    assert history["gone"].pk not in names(WebhookDelivery)


@pytest.mark.parametrize(("args", "message"), [
    (["--days", "-1"], "--days must be 0 or more (e.g. --days 30)."),
    (["--batch-size", "0"], "--batch-size must be at least 1 (e.g. --batch-size 5000)."),
])
def test_bad_arguments_are_named_and_change_nothing(history, args, message):
    before = db_snapshot()
    with pytest.raises(CommandError) as error:
        call_command("purge_webhook_history", *args, stdout=StringIO())
    assert str(error.value) == message
    assert db_snapshot() == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_delivery_locked_by_a_re_send_is_kept_and_the_rest_purged(history):
    """A re-send (or a worker) holding an old delivered delivery's row: the purge skips it rather
    than wait or delete it under the re-send."""
    held, done = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                list(WebhookDelivery.objects.select_for_update().filter(pk=history["gone"].pk))
                held.set()
                assert done.wait(30)
        finally:
            connection.close()

    def purge():
        try:
            assert held.wait(30)
            call_command("purge_webhook_history", "--days", "30", stdout=StringIO())
        finally:
            done.set()
            connection.close()

    assert run_in_threads([hold, purge]) == [None, None]

    assert names(WebhookDelivery) == {history[name].pk for name in
                                      ("gone", "half-pending", "failed", "young", "mixed-failed")}
    assert names(WebhookEvent) == {"gone", "half", "failed", "young", "mixed"}


def test_the_documented_task_prune_deletes_finished_wake_ups_older_than_a_day():
    """README: `prune_db_task_results --min-age-days 1` (django-tasks-db) for the task rows every
    event-writing command leaves on the database backend."""
    from django_tasks_db.models import DBTaskResult

    from webhooks.tasks import deliver_pending

    old, recent, waiting = (deliver_pending.enqueue().id for _ in range(3))
    now = timezone.now()
    DBTaskResult.objects.filter(id=old).update(status="SUCCESSFUL", finished_at=now - 2 * DAY)
    DBTaskResult.objects.filter(id=recent).update(status="SUCCESSFUL", finished_at=now - DAY / 2)

    call_command("prune_db_task_results", "--min-age-days", "1", stdout=StringIO())

    assert {str(pk) for pk in DBTaskResult.objects.values_list("id", flat=True)} == {recent, waiting}
