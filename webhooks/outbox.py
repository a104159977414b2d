"""The transactional outbox. Events are rows written in the transaction of the change that caused
them: a rolled-back change leaves no event, a committed one always has its events.

Only events some active subscription wants are written (and their payloads built): the active
subscriptions come from the per-process subscription index (commands.cache), checked once per
batch against the database's configuration version. A subscription applies to the changes whose
batch starts after it was committed.

Inside ``outbox_batch()`` (the dispatcher and order intake open one) events are collected and
written at the end with a constant number of queries, whatever the number of events and
subscriptions: one bulk insert of events, one bulk insert of deliveries, one task enqueued for
the worker — and nothing at all when no subscription wants any of them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import contextmanager

from django.conf import settings

from commands.cache import config_scope, subscription_index
from webhooks.models import WebhookDelivery, WebhookEvent

_state = threading.local()


@contextmanager
def outbox_batch():
    """Collect events until the block ends, then write them (still inside the transaction). The
    block is one configuration scope: subscriptions are checked once for all its events."""
    if getattr(_state, "events", None) is not None:
        yield  # joins the enclosing batch
        return
    with config_scope():
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


Payload = dict | Callable[[], dict]


def event_add(event_type: str, payload: Payload) -> None:
    """Add an event to the outbox of the current transaction, if an active subscription wants it.
    ``payload`` may be a function: it is called (now, while the objects show this moment) only
    for a wanted event."""
    subscribers = subscription_index().matching(event_type)
    if not subscribers:
        return
    event = (event_type, payload() if callable(payload) else payload, subscribers)
    events = getattr(_state, "events", None)
    if events is None:
        _write([event])
    elif _state.deferring:
        _state.deferred.append(event)
    else:
        events.append(event)


def _write(events: list[tuple[str, dict, tuple[int, ...]]]) -> None:
    if not events:
        return
    rows = WebhookEvent.objects.bulk_create(
        [WebhookEvent(event_type=event_type, payload=payload) for event_type, payload, _ in events])
    WebhookDelivery.objects.bulk_create([
        WebhookDelivery(event=row, subscription_id=subscription)
        for row, (_, _, subscribers) in zip(rows, events, strict=True) for subscription in subscribers])
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
        # robust: with Redis down the change is committed all the same (its deliveries wait in the
        # outbox for the next wake-up or `deliver_webhooks`) and the request does not answer 500.
        transaction.on_commit(deliver_pending.enqueue, robust=True)
