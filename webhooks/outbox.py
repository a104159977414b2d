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

import json
import threading
from collections.abc import Callable
from contextlib import contextmanager

from django.conf import settings
from django.db import connection
from django.db.models import JSONField

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
        _state.events, _state.deferred, _state.deferring, _state.rows = [], [], False, []
        try:
            yield
            events, rows = _state.events + _state.deferred, _state.rows
            _state.events = None
            _write(events, rows)
        finally:
            _state.events = _state.deferred = _state.rows = None
            _state.deferring = False


def row_add(row) -> None:
    """An append-only row (a model instance not saved yet, e.g. a state-transition log row) to
    insert with the batch's events — in their statement on PostgreSQL — or at once outside a
    batch. Nothing in the transaction may need to read it back before the batch ends."""
    rows = getattr(_state, "rows", None)
    if rows is None:
        row.save(force_insert=True)
    else:
        rows.append(row)


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


def _write(events: list[tuple[str, dict, tuple[int, ...]]], rows: list | None = None) -> None:
    rows = rows or []
    if not events and not rows:
        return
    event_rows = [WebhookEvent(event_type=event_type, payload=payload) for event_type, payload, _ in events]
    deliveries = [(row, WebhookDelivery(subscription_id=subscription))
                  for row, (_, _, subscribers) in zip(event_rows, events, strict=True)
                  for subscription in subscribers]
    task = None
    if connection.vendor == "postgresql":
        # The worker's task row joins the statement too (database task backend; else None).
        task = _task_row() if events else None
        _insert_postgresql([*rows, task] if task is not None else rows, event_rows, deliveries)
    else:
        for model in dict.fromkeys(type(row) for row in rows):
            model.objects.bulk_create([row for row in rows if type(row) is model])
        WebhookEvent.objects.bulk_create(event_rows)
        for row, delivery in deliveries:
            delivery.event = row
        WebhookDelivery.objects.bulk_create([delivery for _, delivery in deliveries])
    if events and task is None:
        wake_worker()


def _insert_postgresql(rows: list, events: list[WebhookEvent],
                       deliveries: list[tuple[WebhookEvent, WebhookDelivery]]) -> None:
    """The batch's rows, events and deliveries in one statement, each delivery finding its event
    by the event's uuid. Values are rows of VALUES prepared by the model fields themselves — not
    Django's UNNEST arrays, whose text elements psycopg escapes in Python: for kilobyte payloads
    that cost more than all the rest of the outbox."""
    quote = connection.ops.quote_name
    inserts: list[str] = []   # plain INSERTs, run as CTEs of the last one
    params: list = []
    for model in dict.fromkeys(type(row) for row in rows):
        same = [row for row in rows if type(row) is model]
        fields = _insert_fields(model)
        inserts.append(f"INSERT INTO {quote(model._meta.db_table)} "
                       f"({', '.join(quote(f.column) for f in fields)}) VALUES {_rows(fields, len(same))}")
        params += _params(fields, same)
    if events:
        fields = _insert_fields(WebhookEvent)
        inserts.append(f"INSERT INTO {quote(WebhookEvent._meta.db_table)} "
                       f"({', '.join(quote(f.column) for f in fields)}) VALUES {_rows(fields, len(events))}"
                       + (" RETURNING id, uuid" if deliveries else ""))
        params += _params(fields, events)
    last = inserts.pop()
    if deliveries:
        fields = [f for f in _insert_fields(WebhookDelivery) if f.name != "event"]
        columns = [f"c{n}" for n in range(len(fields))]
        typed = ", ".join(f"{c}::{f.db_type(connection)}" for c, f in zip(columns, fields, strict=True))
        inserts.append(last)
        last = (f"INSERT INTO {quote(WebhookDelivery._meta.db_table)} "
                f"({', '.join(quote(f.column) for f in fields)}, {quote('event_id')}) "
                f"SELECT {typed}, event.id FROM (VALUES {_rows(fields, len(deliveries), lead=1)}) "
                f"AS d(event_uuid, {', '.join(columns)}) JOIN c{len(inserts) - 1} AS event "
                f"ON event.uuid = d.event_uuid")
        for event, delivery in deliveries:
            params += [event.uuid, *_params(fields, [delivery])]
    ctes = ", ".join(f"c{n} AS ({sql})" for n, sql in enumerate(inserts))
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {ctes} {last}" if inserts else last, params)


def _insert_fields(model) -> list:
    """The columns an INSERT gives: all but a primary key the database numbers."""
    return [f for f in model._meta.concrete_fields if not (f.primary_key and f.db_returning)]


def _rows(fields: list, count: int, lead: int = 0) -> str:
    return ", ".join(["(" + ", ".join(["%s"] * (len(fields) + lead)) + ")"] * count)


def _params(fields: list, objs: list) -> list:
    """The rows' values for ``fields``. A JSON value is sent as its text (the column casts it), and
    a payload several events share (package.status.transitioned and .packed) is encoded once."""
    encoded: dict[int, str] = {}
    params = []
    for obj in objs:
        for f in fields:
            value = f.pre_save(obj, add=True)
            if isinstance(f, JSONField) and f.encoder is None and value is not None:
                text = encoded.get(id(value))
                if text is None:
                    text = encoded[id(value)] = json.dumps(value)
                params.append(text)
            else:
                params.append(f.get_db_prep_save(value, connection))
    return params


def _task_row():
    """The delivery task's row, unsaved, as the database task backend would enqueue it (so that it
    is written with the events, in their statement); None on another backend."""
    from django_tasks_db.backend import DatabaseBackend  # noqa: PLC0415
    from django_tasks_db.models import DBTaskResult, get_date_max  # noqa: PLC0415

    from webhooks.tasks import deliver_pending  # noqa: PLC0415 - tasks import the delivery code

    backend = deliver_pending.get_backend()
    if not isinstance(backend, DatabaseBackend):
        return None
    backend.validate_task(deliver_pending)
    return DBTaskResult(
        id=backend._get_id(), args_kwargs={"args": [], "kwargs": {}},
        priority=deliver_pending.priority, task_path=deliver_pending.module_path,
        queue_name=deliver_pending.queue_name, backend_name=backend.alias,
        run_after=deliver_pending.run_after or get_date_max())


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
