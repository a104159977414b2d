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

import datetime
import decimal
import json
import threading
import uuid
from collections.abc import Callable
from contextlib import contextmanager

import orjson
from django.conf import settings
from django.db import connection, models
from django.utils import timezone
from psycopg.types.json import Jsonb

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
        _state.statements = []
        try:
            yield
            events, rows, statements = _state.events + _state.deferred, _state.rows, _state.statements
            _state.events = _state.statements = None
            _write(events, rows, statements)
        finally:
            _state.events = _state.deferred = _state.rows = _state.statements = None
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


def statement_join(sql: str, params: list) -> bool:
    """Run a data-modifying statement (an UPDATE without RETURNING) as part of the batch's own
    statement, at the batch's end: one round trip fewer. True when it will be; False outside a
    batch or on a database other than PostgreSQL — the caller then runs it itself. It runs after
    everything else the transaction did (e.g. the quota of a command's location, whose row lock is
    then held for the shortest time) and its order among the batch's inserts is unspecified."""
    if not joining():
        return False
    _state.statements.append((sql, list(params)))
    return True


def joining() -> bool:
    """Whether ``statement_join`` joins statements here (inside a batch, on PostgreSQL): a caller
    with several statements that must all be joined, or all run, asks first."""
    return getattr(_state, "statements", None) is not None and connection.vendor == "postgresql"


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


def _write(events: list[tuple[str, dict, tuple[int, ...]]], rows: list | None = None,
           statements: list[tuple[str, list]] | None = None) -> None:
    rows, statements = rows or [], statements or []
    if not events and not rows:
        for sql, params in statements:  # nothing to insert: the joined statements alone
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
        return
    task = None
    if connection.vendor == "postgresql":
        # The worker's task row joins the statement too (database task backend; else None).
        now = timezone.now()  # the rows' auto_now(_add) dates: one moment for the whole batch
        task = _task_row(now) if events else None
        _insert_postgresql(rows, events, statements, task, now)
    else:
        for model in dict.fromkeys(type(row) for row in rows):
            model.objects.bulk_create([row for row in rows if type(row) is model])
        event_rows = [WebhookEvent(event_type=event_type, payload=payload)
                      for event_type, payload, _ in events]
        WebhookEvent.objects.bulk_create(event_rows)
        WebhookDelivery.objects.bulk_create([
            WebhookDelivery(event=row, subscription_id=subscription)
            for row, (_, _, subscribers) in zip(event_rows, events, strict=True)
            for subscription in subscribers])
    if events and task is None:
        wake_worker()


def _insert_postgresql(rows: list, events: list[tuple[str, dict, tuple[int, ...]]],
                       statements: list[tuple[str, list]], task: dict | None, now) -> None:
    """The batch's rows, events and deliveries in one statement, each delivery finding its event
    by the event's uuid, with the statements joined to it (``statement_join``) as CTEs. Each
    table's rows are one JSON parameter that ``jsonb_populate_recordset`` turns into rows of the
    table's type: a short statement with a few parameters whatever the rows, so psycopg keeps it
    parsed and PostgreSQL prepared (a VALUES list of ~100 parameters was parsed again on every
    command). The JSON is built from plain values (events and deliveries never become model
    instances; a row's columns are read as ``_Columns`` says) and encoded by orjson."""
    quote = connection.ops.quote_name
    inserts: list[str] = []   # plain INSERTs, run as CTEs of the last one
    params: list = []         # the inserts' parameters, in their order

    def insert(columns: _Columns, values: list[dict], returning: str = "") -> None:
        names = ", ".join(quote(name) for name in columns.names)
        inserts.append(f"INSERT INTO {columns.table} ({names}) SELECT {names} "
                       f"FROM jsonb_populate_recordset(NULL::{columns.table}, %s::jsonb){returning}")
        params.append(_dumps(values))

    for model in dict.fromkeys(type(row) for row in rows):
        columns = _columns(model)
        insert(columns, [columns.of(row, now) for row in rows if type(row) is model])
    if task is not None:
        insert(_columns(_task_model()), [task])
    deliveries: list[dict] = []
    if events:
        event_columns, delivery_columns = _columns(WebhookEvent), _columns(WebhookDelivery)
        event_rows = []
        for event_type, payload, subscribers in events:
            event = event_columns.new(now, event_type=event_type, payload=payload)
            event_rows.append(event)
            deliveries += [delivery_columns.new(now, subscription_id=subscription, event_uuid=event["uuid"])
                           for subscription in subscribers]
        insert(event_columns, event_rows, " RETURNING id, uuid" if deliveries else "")
    last = inserts.pop()
    if deliveries:
        table = quote(WebhookDelivery._meta.db_table)
        names = [name for name in _columns(WebhookDelivery).names if name != "event_id"]
        inserts.append(last)
        last = (f"INSERT INTO {table} ({', '.join(quote(name) for name in names)}, {quote('event_id')}) "
                f"SELECT {', '.join('d.' + quote(name) for name in names)}, event.id "
                f"FROM jsonb_array_elements(%s::jsonb) AS j(doc) "
                f"CROSS JOIN LATERAL jsonb_populate_record(NULL::{table}, j.doc) AS d "
                f"JOIN c{len(inserts) - 1} AS event ON event.uuid = j.doc ->> 'event_uuid'")
        params.append(_dumps(deliveries))
    ctes = [f"c{n} AS ({sql})" for n, sql in enumerate(inserts)]
    ctes += [f"s{n} AS ({sql})" for n, (sql, _) in enumerate(statements)]
    joined = [value for _, values in statements for value in values]
    # the parameters in the text's order: the inserts' CTEs, the joined statements, the last insert
    params = params[:len(inserts)] + joined + params[len(inserts):]
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(ctes)} {last}" if ctes else last, params)


# Fields whose Python value is already what its column takes as JSON (the exact types: a subclass
# may prepare its values otherwise); every other field goes through ``get_db_prep_save``.
_PLAIN_FIELDS = (models.BigIntegerField, models.BooleanField, models.CharField, models.IntegerField,
                 models.PositiveBigIntegerField, models.PositiveIntegerField,
                 models.PositiveSmallIntegerField, models.SmallIntegerField, models.TextField)


def _plain(field) -> bool:
    if isinstance(field, models.ForeignKey):
        return _plain(field.target_field)
    if type(field) is models.JSONField:  # its value itself, unless it has an encoder of its own
        return field.encoder is None
    return type(field) in _PLAIN_FIELDS or isinstance(field, models.AutoField)


class _Columns:
    """How one model's rows become JSON objects for ``jsonb_populate_recordset``: the columns an
    INSERT gives (all but a primary key the database numbers), which of them are read as they are,
    which are prepared by their field, which are the batch's moment (``auto_now``/``auto_now_add``)
    and, for rows built without an instance (``new``), the defaults."""

    def __init__(self, model) -> None:
        fields = _insert_fields(model)
        self.table = connection.ops.quote_name(model._meta.db_table)
        self.names = [f.column for f in fields]
        stamped = [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
        self.stamped = [(f.column, f.attname) for f in stamped]
        rest = [f for f in fields if f not in stamped]
        self.plain = [(f.column, f.attname) for f in rest if _plain(f)]
        self.prepared = [f for f in rest if not _plain(f)]
        self.generated = [(f.column, f) for f in rest if f.has_default() and callable(f.default)]
        self.constant = {f.column: f.get_db_prep_save(default, connection) for f in rest
                         if not (f.has_default() and callable(f.default))
                         and (default := f.get_default()) is not None}

    def of(self, obj, now) -> dict:
        """The row of a model instance (its auto dates set to ``now``, as saving it would)."""
        values = obj.__dict__
        row = {}
        for column, attname in self.stamped:
            values[attname] = now
            row[column] = now
        for column, attname in self.plain:
            row[column] = values[attname]
        for field in self.prepared:
            row[field.column] = field.get_db_prep_save(getattr(obj, field.attname), connection)
        return row

    def new(self, now, **given) -> dict:
        """A new row without an instance, as the model's constructor would fill it: the defaults,
        the auto dates, then ``given`` (columns left out are NULL)."""
        row = dict(self.constant)
        for column, field in self.generated:
            row[column] = field.get_db_prep_save(field.get_default(), connection)
        for column, _ in self.stamped:
            row[column] = now
        row.update(given)
        return row


_columns_of: dict = {}


def _columns(model) -> _Columns:
    columns = _columns_of.get(model)
    if columns is None:
        columns = _columns_of[model] = _Columns(model)
    return columns


_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS


def _dumps(rows: list[dict]) -> str:
    """Rows as a JSON array; dates as ISO 8601 and UUIDs natively, the rest by ``_json_value``."""
    return orjson.dumps(rows, default=_json_value, option=_JSON_OPTIONS).decode()


def _json_value(value):
    """What a prepared database value is in JSON: a JSON column's value itself (encoded by its
    field's encoder first when it has one), a date or time as ISO 8601, a UUID or a decimal as text."""
    if isinstance(value, Jsonb):
        return value.obj if value.dumps is None or value.dumps is json.dumps else json.loads(
            value.dumps(value.obj))
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return str(value)
    raise TypeError(f"{type(value).__name__} has no JSON form for the outbox insert")


def _insert_fields(model) -> list:
    """The columns an INSERT gives: all but a primary key the database numbers."""
    return [f for f in model._meta.concrete_fields if not (f.primary_key and f.db_returning)]


def _task_model():
    from django_tasks_db.models import DBTaskResult  # noqa: PLC0415

    return DBTaskResult


_task_template: list = [None, None]  # the backend it was made for, its row


def _task_row(now) -> dict | None:
    """The delivery task's row (its columns' values), as the database task backend would enqueue
    it, so that it is written with the events, in their statement; None on another backend. Every
    row is the same but for its id and date: the task is validated and its row made once per
    backend, then copied (a model instance for each cost 2 % of a pack's Python CPU)."""
    from django_tasks_db.backend import DatabaseBackend  # noqa: PLC0415
    from django_tasks_db.models import get_date_max  # noqa: PLC0415

    from webhooks.tasks import deliver_pending  # noqa: PLC0415 - tasks import the delivery code

    backend = deliver_pending.get_backend()
    if not isinstance(backend, DatabaseBackend):
        return None
    model = _task_model()
    if _task_template[0] is not backend:
        backend.validate_task(deliver_pending)
        prototype = model(
            id=backend._get_id(), args_kwargs={"args": [], "kwargs": {}},
            priority=deliver_pending.priority, task_path=deliver_pending.module_path,
            queue_name=deliver_pending.queue_name, backend_name=backend.alias,
            run_after=deliver_pending.run_after or get_date_max())
        _task_template[:] = [backend, _columns(model).of(prototype, now)]
    row = dict(_task_template[1])
    pk = model._meta.pk
    row[pk.column] = pk.get_db_prep_save(backend._get_id(), connection)
    for column, _ in _columns(model).stamped:
        row[column] = now
    return row


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
