"""The transactional outbox. Events are rows written in the transaction of the change that caused
them: a rolled-back change leaves no event, a committed one always has its events.

Inside ``outbox_batch()`` (the dispatcher and order intake open one) events are collected and
written at the end with a constant number of queries, whatever the number of events and
subscriptions: one bulk insert of events, one read of subscriptions, one bulk insert of
deliveries, one task enqueued for the worker."""

from __future__ import annotations

import threading
from contextlib import contextmanager

from django.conf import settings

from webhooks.events import matches
from webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription

_state = threading.local()


@contextmanager
def outbox_batch():
    """Collect events until the block ends, then write them (still inside the transaction)."""
    if getattr(_state, "events", None) is not None:
        yield  # joins the enclosing batch
        return
    _state.events, _state.deferred, _state.deferring = [], [], False
    try:
        yield
        events = _state.events + _state.deferred
        _state.events = None
        _write(events)
    finally:
        _state.events = _state.deferred = None
        _state.deferring = False


@contextmanager
def outbox_deferred():
    """Events added in this block are written after the batch's other events: a command's own
    effects (a shipment created while packing) follow the status move they belong to."""
    if getattr(_state, "events", None) is None:
        yield
        return
    previous, _state.deferring = _state.deferring, True
    try:
        yield
    finally:
        _state.deferring = previous


def event_add(event_type: str, payload: dict) -> None:
    """Add an event to the outbox of the current transaction."""
    events = getattr(_state, "events", None)
    if events is None:
        _write([(event_type, payload)])
    elif _state.deferring:
        _state.deferred.append((event_type, payload))
    else:
        events.append((event_type, payload))


def _write(events: list[tuple[str, dict]]) -> None:
    if not events:
        return
    rows = WebhookEvent.objects.bulk_create(
        [WebhookEvent(event_type=event_type, payload=payload) for event_type, payload in events])
    subscriptions = list(WebhookSubscription.objects.filter(is_active=True).only("id", "event_type"))
    deliveries = [WebhookDelivery(event=row, subscription=sub) for row in rows for sub in subscriptions
                  if matches(sub.event_type, row.event_type)]
    if deliveries:
        WebhookDelivery.objects.bulk_create(deliveries)
        wake_worker()


def wake_worker() -> None:
    """Enqueue a delivery run. On the database backend the task row is part of this transaction
    (no task for a rolled-back change, never a lost one); a broker (e.g. django-tasks-rq on Redis)
    is only told once the transaction has committed, so its worker finds the deliveries."""
    from django.db import transaction  # noqa: PLC0415

    from webhooks.tasks import deliver_pending  # noqa: PLC0415 - tasks import the delivery code

    if "django_tasks_db" in settings.TASKS["default"]["BACKEND"]:
        deliver_pending.enqueue()
    else:
        transaction.on_commit(deliver_pending.enqueue)
