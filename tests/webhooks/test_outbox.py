"""The transactional outbox (spec §8, §3.3): events are rows written in the transaction of the
change that caused them, with the deliveries of the matching active subscriptions, in a constant
number of queries."""

import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from commands import cache
from commands.dispatcher import command_run
from packages.models import Package
from planning.models import Rule, Scenario
from tests.factories import ChannelFactory, StockFactory, StockLocationFactory, make_package
from tests.snapshots import db_snapshot
from tests.webhooks.helpers import PACK_EVENTS, command, events_after, last_event_id, pack, run
from webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription

HEX32 = re.compile(r"[0-9a-f]{32}")


def outbox() -> dict:
    return {"events": WebhookEvent.objects.count(), "deliveries": WebhookDelivery.objects.count(),
            "tasks": DBTaskResult.objects.count()}


def subscription(event_type: str = "*", *, is_active: bool = True, url: str = "http://127.0.0.1:9/h"):
    return WebhookSubscription.objects.create(event_type=event_type, target_url=url, is_active=is_active)


# -- a command's events ------------------------------------------------------------------------------
def test_packing_writes_its_events_in_order_with_the_package_as_the_detail_endpoint_shows_it(
        api, seeded):
    subscription("*")
    package = make_package(items=2)
    since = last_event_id()

    pack(api, seeded, package)

    events = events_after(since)
    detail = api.get(f"/api/v1/oms/packages/{package.pk}/").json()
    assert [e.event_type for e in events] == PACK_EVENTS
    transitioned, packed, shipment = events
    assert transitioned.payload == detail
    assert packed.payload == detail
    assert detail["status"] == 500 and detail["shipment"] is not None
    assert shipment.payload == detail["shipment"]
    for event in events:
        assert HEX32.fullmatch(event.uuid)
        assert event.envelope() == {"event": {"type": event.event_type, "uuid": event.uuid},
                                    "payload": event.payload}
    assert len({e.uuid for e in events}) == 3


def test_a_refused_command_writes_no_event_and_no_delivery(api, seeded):
    subscription("*")
    package = make_package()
    pack(api, seeded, package)
    before, snapshot = outbox(), db_snapshot()

    response = command(api, package, seeded.transition("COMPLETE_PACKAGING", 100, 500))

    assert response.status_code == 406
    assert response.json()["error"]["error_code"] == "commands_100_1"
    assert outbox() == before
    assert db_snapshot() == snapshot


def test_a_command_whose_input_is_invalid_writes_no_event(api, seeded):
    subscription("*")
    package = make_package()
    pack(api, seeded, package)
    before = outbox()

    response = command(api, package, seeded.transition("SHIP_THE_PACKAGE", 500, 550),
                       {"package_items": [999999]})

    assert response.status_code == 406
    assert response.json()["error"]["error_code"] == "packages_200_1"
    assert outbox() == before


def test_a_failure_after_the_events_were_added_rolls_them_back_with_the_change(seeded, monkeypatch,
                                                                               staff_user):
    subscription("*")
    package = make_package()
    before, snapshot = outbox(), db_snapshot()

    def broken_log(**kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr("commands.dispatcher.log_transition", broken_log)
    with pytest.raises(RuntimeError, match="audit log unavailable"):
        command_run(object_type="package", object_id=package.pk, actor=staff_user,
                    transition_id=seeded.transition("COMPLETE_PACKAGING", 100, 500).pk)

    assert outbox() == before
    assert db_snapshot() == snapshot


def test_events_already_inserted_are_rolled_back_when_the_transaction_fails(seeded, monkeypatch,
                                                                            staff_user):
    """The outbox rows (events, deliveries, the worker's task) are in the command's transaction:
    a failure after they were inserted leaves none of them."""
    import webhooks.outbox

    subscription("*")
    package = make_package()
    before, snapshot = outbox(), db_snapshot()
    write = webhooks.outbox._write
    written = []

    def write_then_fail(events, rows=None, statements=None):
        write(events, rows, statements)
        written.append(WebhookEvent.objects.count() - before["events"])
        raise RuntimeError("crash after the outbox insert")

    monkeypatch.setattr(webhooks.outbox, "_write", write_then_fail)
    with pytest.raises(RuntimeError, match="crash after the outbox insert"):
        command_run(object_type="package", object_id=package.pk, actor=staff_user,
                    transition_id=seeded.transition("COMPLETE_PACKAGING", 100, 500).pk)

    assert written == [3]  # they were in the database, inside the transaction
    assert outbox() == before
    assert db_snapshot() == snapshot


# -- the deliveries of matching subscriptions ------------------------------------------------------
def test_deliveries_are_created_only_for_matching_active_subscriptions(api, seeded):
    everything = subscription("*")
    statuses = subscription("package.status.*")
    shipments = subscription("shipment.created")
    packed = subscription("package.status.packed")
    subscription("transfer.status.*")
    subscription("package.status.shipped")
    subscription("*", is_active=False)
    package = make_package()
    since, tasks_before = last_event_id(), DBTaskResult.objects.count()

    pack(api, seeded, package)

    rows = sorted(WebhookDelivery.objects.filter(event_id__gt=since)
                  .values_list("subscription_id", "event__event_type", "status", "attempts"))
    assert rows == sorted([
        (everything.pk, "package.status.transitioned", "pending", 0),
        (everything.pk, "package.status.packed", "pending", 0),
        (everything.pk, "shipment.created", "pending", 0),
        (statuses.pk, "package.status.transitioned", "pending", 0),
        (statuses.pk, "package.status.packed", "pending", 0),
        (shipments.pk, "shipment.created", "pending", 0),
        (packed.pk, "package.status.packed", "pending", 0),
    ])
    assert DBTaskResult.objects.count() == tasks_before + 1  # one worker task, whatever the number


def _columns(obj, *, leave_out: tuple[str, ...]) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields
            if f.name not in leave_out}


def test_the_outbox_rows_hold_what_the_models_and_the_task_backend_would_write(api, seeded):
    """On PostgreSQL the deliveries, the worker's task and the log row are written from plain
    values (webhooks/outbox.py: _Columns), not saved through model instances: every column holds
    what the ORM — or django-tasks' own enqueue — would have written."""
    from django.db import transaction

    from commands.models import StateTransitionLog
    from webhooks.tasks import deliver_pending

    hook = subscription("*")
    package = make_package()
    since, tasks_before = last_event_id(), set(DBTaskResult.objects.values_list("id", flat=True))

    pack(api, seeded, package)

    events = events_after(since)
    assert [e.event_type for e in events] == PACK_EVENTS
    # PostgreSQL writes the batch in one statement with one moment (elsewhere each save has its own)
    one_moment = connection.vendor == "postgresql"
    moment = events[0].created_date
    for event in events:
        [delivery] = event.deliveries.all()
        generated = ("id", "uuid", "created_date", "modified_date")
        assert _columns(delivery, leave_out=generated) == _columns(
            WebhookDelivery(event=event, subscription=hook), leave_out=generated)
        assert delivery.uuid.version == 4
        if one_moment:
            assert (delivery.created_date, delivery.modified_date, event.created_date) == (moment,) * 3
    [task] = DBTaskResult.objects.exclude(id__in=tasks_before)
    with transaction.atomic():
        enqueued = DBTaskResult.objects.get(id=deliver_pending.enqueue().id)
        transaction.set_rollback(True)
    generated = ("id", "enqueued_at")
    assert _columns(task, leave_out=generated) == _columns(enqueued, leave_out=generated)
    log = StateTransitionLog.objects.filter(object_id=package.pk).latest("id")
    if one_moment:
        assert (task.enqueued_at, log.created_date, log.modified_date) == (moment,) * 3
    assert log.user_id == api.user.pk
    assert log.attributes["command"]["command"] == "COMPLETE_PACKAGING"


def test_each_command_writes_a_task_row_of_its_own(api, seeded):
    """The task's row is made once per process and copied (webhooks/outbox.py: _task_row): every
    command's copy has its own id and its own moment, and the rest as the backend would write it."""
    from django.db import transaction

    from webhooks.tasks import deliver_pending

    subscription("*")
    packages = [make_package() for _ in range(3)]
    tasks_before = set(DBTaskResult.objects.values_list("id", flat=True))
    moments = []
    for package in packages:
        since = last_event_id()
        pack(api, seeded, package)
        moments.append(events_after(since)[0].created_date)

    tasks = list(DBTaskResult.objects.exclude(id__in=tasks_before).order_by("enqueued_at"))
    assert len(tasks) == len({task.id for task in tasks}) == 3
    assert len({task.enqueued_at for task in tasks}) == 3
    if connection.vendor == "postgresql":
        assert [task.enqueued_at for task in tasks] == moments
    with transaction.atomic():
        enqueued = DBTaskResult.objects.get(id=deliver_pending.enqueue().id)
        transaction.set_rollback(True)
    for task in tasks:
        assert _columns(task, leave_out=("id", "enqueued_at")) == _columns(
            enqueued, leave_out=("id", "enqueued_at"))


def test_no_event_no_delivery_and_no_task_without_a_matching_subscription(api, seeded):
    subscription("transfer.status.*")
    subscription("*", is_active=False)
    package = make_package()
    before = outbox()

    pack(api, seeded, package)

    assert outbox() == before  # events nobody wants are not written (nor their payloads built)
    assert Package.objects.get(pk=package.pk).status == 500


def test_a_subscription_added_between_two_commands_gets_the_second_ones_events(api, seeded):
    first, second = make_package(), make_package()
    pack(api, seeded, first)
    since = last_event_id()
    hook = subscription("package.status.packed")

    pack(api, seeded, second)

    [event] = events_after(since)
    assert (event.event_type, event.payload["id"]) == ("package.status.packed", second.pk)
    assert list(WebhookDelivery.objects.values_list("subscription_id", "event_id")) == [(hook.pk, event.pk)]


def _pack_queries(api, seeded, *, matching: int, non_matching: int = 0):
    """Subscriptions added, then a fresh package packed: the transition looked up beforehand and the
    content-type cache cleared, so the count does not depend on which test ran before."""
    for _ in range(matching):
        subscription("package.status.*")
    for _ in range(non_matching):
        subscription("transfer.status.*")
    package = make_package(items=3)
    transition = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    ContentType.objects.clear_cache()
    cache.commands_config(), cache.subscription_index()  # per-process caches warm, as in a server
    return package, transition


# Pinned relative to the same command without subscriptions (its absolute count belongs to
# tests/commands/test_dispatcher.py): wanted events add the same queries whatever the number of
# subscriptions and deliveries — on SQLite the events, the deliveries and the worker's task inserts;
# on PostgreSQL none: they join the log row's insert, one statement. Payloads are built from what
# the command holds, nothing is read for them. Unwanted ones add nothing.
DELIVERY_QUERIES = 0 if connection.vendor == "postgresql" else 3


@pytest.mark.parametrize(("matching", "non_matching", "extra"), [
    (0, 10, 0),
    (1, 0, DELIVERY_QUERIES),
    (10, 0, DELIVERY_QUERIES),
    (10, 10, DELIVERY_QUERIES),
])
def test_the_pack_command_runs_a_constant_number_of_queries_whatever_the_subscriptions(
        api, seeded, django_assert_num_queries, matching, non_matching, extra):
    baseline_package, transition = _pack_queries(api, seeded, matching=0)
    with CaptureQueriesContext(connection) as baseline:
        run(api, baseline_package, transition)
    package, transition = _pack_queries(api, seeded, matching=matching, non_matching=non_matching)

    with django_assert_num_queries(len(baseline) + extra):
        run(api, package, transition)

    assert WebhookDelivery.objects.count() == 2 * matching


def test_one_and_ten_matching_subscriptions_cost_the_same_queries(api, seeded, django_assert_num_queries):
    one, transition = _pack_queries(api, seeded, matching=1)
    with CaptureQueriesContext(connection) as with_one:
        run(api, one, transition)
    ten, transition = _pack_queries(api, seeded, matching=9)  # 10 matching now

    with django_assert_num_queries(len(with_one)):
        run(api, ten, transition)

    assert WebhookDelivery.objects.count() == 2 * 1 + 2 * 10


# -- other sources of events -----------------------------------------------------------------------
def test_order_intake_writes_package_created_with_the_package_as_the_detail_endpoint_shows_it(
        api, seeded):
    ChannelFactory(code="web")
    store = StockLocationFactory(erp_code="ST1")
    StockFactory(stock_location=store, sku="A", quantity=5)
    scenario = Scenario.objects.create(name="Default", default_stock_location=store)
    Rule.objects.create(scenario=scenario, position=0, name="Any location")
    hook = subscription("package.created")
    since = last_event_id()

    response = api.post("/api/v1/oms/orders/", {
        "number": "5001", "channel": "web", "payment_type": "credit_card",
        "items": [{"sku": "A", "quantity": 2, "price": "10.00"}]}, format="json")

    assert response.status_code == 201, response.json()
    package = Package.objects.get(order__number="5001")
    [event] = events_after(since)
    assert event.event_type == "package.created"
    assert event.payload == api.get(f"/api/v1/oms/packages/{package.pk}/").json()
    assert list(WebhookDelivery.objects.values_list("subscription_id", "event_id")) == [(hook.pk, event.pk)]


def test_a_refused_order_intake_writes_no_event(api, seeded):
    ChannelFactory(code="web")
    subscription("*")
    before = outbox()

    response = api.post("/api/v1/oms/orders/", {
        "number": "5002", "channel": "web", "items": [{"sku": "A", "quantity": 1, "price": "1.00"}]},
        format="json")

    assert response.status_code == 406  # no scenario matches
    assert response.json()["error"]["error_code"] == "orders_300_1"
    assert outbox() == before


def test_creating_and_updating_a_stock_location_through_the_api_writes_its_events(api, db):
    hook = subscription("stock_location.*")
    since = last_event_id()

    created = api.post("/api/v1/oms/stock_locations/", {"name": "Depot", "erp_code": "DEP1",
                                                         "city": "Ankara"}, format="json")
    location_id = created.json()["id"]
    after_create = api.get(f"/api/v1/oms/stock_locations/{location_id}/").json()
    updated = api.patch(f"/api/v1/oms/stock_locations/{location_id}/", {"max_quota": 7}, format="json")
    after_update = api.get(f"/api/v1/oms/stock_locations/{location_id}/").json()

    assert (created.status_code, updated.status_code) == (201, 200)
    events = events_after(since)
    assert [(e.event_type, e.payload) for e in events] == [
        ("stock_location.created", after_create),
        ("stock_location.updated", after_update),
    ]
    assert after_update["max_quota"] == 7
    assert list(WebhookDelivery.objects.order_by("id").values_list("subscription_id", "event_id")) == [
        (hook.pk, events[0].pk), (hook.pk, events[1].pk)]


def test_outbox_rows_reach_their_columns_as_json_with_each_columns_type():
    """The PostgreSQL insert sends each table's rows as one JSON array (webhooks/outbox.py):
    dates, UUIDs, decimals and JSON values keep their meaning; anything else is refused, not
    silently turned into text."""
    import datetime
    import decimal
    import functools
    import json
    import uuid

    from django.core.serializers.json import DjangoJSONEncoder
    from psycopg.types.json import Jsonb

    from webhooks.outbox import _json_value

    moment = datetime.datetime(2026, 11, 30, 1, 2, 3, 456789, tzinfo=datetime.UTC)
    token = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert json.loads(json.dumps([moment, token, decimal.Decimal("7.50"), Jsonb({"a": [1, "ş"]}, json.dumps)],
                                 default=_json_value)) == [
        "2026-11-30T01:02:03.456789+00:00", "12345678-1234-5678-1234-567812345678", "7.50", {"a": [1, "ş"]}]
    # a JSON column with its own encoder is encoded by it first
    custom = Jsonb({"at": moment}, functools.partial(json.dumps, cls=DjangoJSONEncoder))
    assert _json_value(custom) == {"at": "2026-11-30T01:02:03.456Z"}
    with pytest.raises(TypeError):
        _json_value(b"bytes")
