"""The reads compiled once per process (oms.db.fetch_one): the same objects as the ORM's own
evaluation of the query, relations and annotations included; the looked-up value never leaks
from one call into the next; ids that cannot be a primary key are 404 before any SQL runs."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult
from rest_framework.authtoken.models import Token

from accounts.models import Profile
from commands import cache
from commands.registry import registry
from oms.db import PK_SENTINEL, fetch_one, forget_compiled
from packages.models import Package
from tests.conftest import api_client_for
from tests.factories import StockLocationFactory, UserFactory, make_package
from tests.snapshots import db_snapshot
from webhooks.models import WebhookSubscription

PACK = "package__complete_packaging__waiting__packed"


def _read(value):
    otype = registry.object_types["package"]
    return (Package.objects.select_related(*otype.lock_related)
            .annotate(**otype.read_annotations()).filter(pk=value))


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


@pytest.fixture(autouse=True)
def fresh():
    forget_compiled()
    yield
    forget_compiled()


def test_fetch_one_builds_the_objects_the_orm_builds(seeded):
    first, second = make_package(items=2), make_package(items=1)
    for package in (first, second):
        expected = _read(package.pk).get()
        with CaptureQueriesContext(connection) as queries:
            got = fetch_one("test-read", _read, package.pk, sentinel=PK_SENTINEL)
            # the select_related rows came with it: reading them runs no query
            related = (got.order, got.stock_location, Package.shipment.related.get_cached_value(got))
        assert len(queries) == 1
        assert _fields(got) == _fields(expected)
        assert (_fields(related[0]), _fields(related[1]), related[2]) == (
            _fields(expected.order), _fields(expected.stock_location), None)
        assert got.order_sibling_statuses == expected.order_sibling_statuses
        assert got._state.adding is False and got._state.db == "default"


def test_fetch_one_finds_nothing_for_an_id_no_row_has(seeded):
    make_package()
    assert fetch_one("test-read", _read, 2_000_000_000, sentinel=PK_SENTINEL) is None


def test_fetch_one_refuses_a_query_where_the_value_is_not_exactly_once(db):
    with pytest.raises(ValueError, match="once"):
        fetch_one("test-twice", lambda v: Package.objects.filter(pk=v) | Package.objects.filter(order_id=v),
                  1, sentinel=PK_SENTINEL)


def test_token_authentication_reads_token_user_and_profile_in_one_query(api, seeded):
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/v1/oms/states/")
    assert response.status_code == 200
    token_reads = [q["sql"] for q in queries.captured_queries if "authtoken_token" in q["sql"]]
    assert len(token_reads) == 1 and "accounts_profile" in token_reads[0]


def test_a_deleted_token_or_an_inactive_user_is_refused_at_the_next_request(api, seeded):
    assert api.get("/api/v1/oms/states/").status_code == 200
    api.user.is_active = False
    api.user.save(update_fields=["is_active"])
    response = api.get("/api/v1/oms/states/")
    assert (response.status_code, response.json()["error"]) == (401, {"detail": "User inactive or deleted."})
    api.user.is_active = True
    api.user.save(update_fields=["is_active"])
    Token.objects.filter(user=api.user).delete()
    response = api.get("/api/v1/oms/states/")
    assert (response.status_code, response.json()["error"]) == (401, {"detail": "Invalid token."})


@pytest.mark.parametrize("object_id", ["abc", "1.5", "-0x1", str(2**63), str(-(2**63) - 1), "9" * 400])
def test_ids_that_cannot_be_a_package_are_404_and_change_nothing(api, seeded, object_id):
    make_package()
    before = db_snapshot()
    response = api.post(f"/api/v1/oms/packages/{object_id}/command/", {"slug": PACK}, format="json")
    assert response.status_code == 404
    assert response.json()["status_code"] == 404
    assert db_snapshot() == before


@pytest.mark.postgres  # the task row joins the outbox statement on PostgreSQL
def test_a_command_with_wanted_events_enqueues_one_delivery_task_in_its_statement(api, seeded):
    WebhookSubscription.objects.create(event_type="*", target_url="https://hooks.example.com/all")
    cache.subscription_index()
    package = make_package()
    before = set(DBTaskResult.objects.values_list("id", flat=True))

    response = api.post(f"/api/v1/oms/packages/{package.pk}/command/", {"slug": PACK}, format="json")

    assert response.status_code == 200
    tasks = list(DBTaskResult.objects.exclude(id__in=before))
    assert len(tasks) == 1
    task = tasks[0]
    assert (task.task_path, task.status, task.args_kwargs, task.queue_name, task.backend_name) == (
        "webhooks.tasks.deliver_pending", "READY", {"args": [], "kwargs": {}}, "default", "default")
    assert list(DBTaskResult.objects.ready().filter(id=task.id)) == [task]  # what db_worker picks


def test_a_refused_command_leaves_no_task(api, seeded):
    WebhookSubscription.objects.create(event_type="*", target_url="https://hooks.example.com/all")
    package = make_package()
    before = DBTaskResult.objects.count()
    ship = "package__ship_the_package__packed__shipped"  # not from Waiting
    response = api.post(f"/api/v1/oms/packages/{package.pk}/command/", {"slug": ship}, format="json")
    assert response.status_code == 406
    assert DBTaskResult.objects.count() == before


def test_a_store_user_still_goes_through_the_scoped_read(seeded):
    """A restricted user's queryset has the scope's filter: the ORM path runs, and another store's
    package is 404 (tests/security has the whole matrix)."""
    mine, theirs = StockLocationFactory(), StockLocationFactory()
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="change_package"))
    Profile.objects.create(user=user, channel="instore").stock_locations.set([mine])
    package = make_package(location=theirs)
    before = db_snapshot()

    response = api_client_for(user).post(f"/api/v1/oms/packages/{package.pk}/command/", {"slug": PACK},
                                         format="json")

    assert response.status_code == 404
    assert db_snapshot() == before
    own = make_package(location=mine)
    response = api_client_for(user).post(f"/api/v1/oms/packages/{own.pk}/command/", {"slug": PACK},
                                         format="json")
    assert response.status_code == 200
    assert Package.objects.get(pk=own.pk).status == 500


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_read_compiled_in_one_thread_runs_on_another_threads_connection():
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from tests.factories import OrderFactory

    order = OrderFactory()
    assert fetch_one("test-thread", lambda v: type(order).objects.filter(pk=v), order.pk,
                     sentinel=PK_SENTINEL).number == order.number

    def elsewhere():
        try:
            got = fetch_one("test-thread", lambda v: type(order).objects.filter(pk=v), order.pk,
                            sentinel=PK_SENTINEL)
            return got.number, got.date_placed, connections["default"].connection is not None
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(elsewhere).result(timeout=30) == (order.number, order.date_placed, True)


def test_objects_from_cursor_builds_the_orms_objects_whatever_the_column_order(seeded):
    from oms.db import objects_from_cursor
    from packages.models import PackageItem

    package = make_package(items=3)
    columns = [f.column for f in PackageItem._meta.concrete_fields][::-1]  # not the model's order
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {PackageItem._meta.db_table} "
                       f"WHERE package_id = %s ORDER BY id", [package.pk])
        got = objects_from_cursor(PackageItem, cursor)
    expected = list(PackageItem.objects.filter(package=package).order_by("id"))
    assert [_fields(item) for item in got] == [_fields(item) for item in expected]
    assert all(item._state.adding is False for item in got)


def test_insert_one_writes_what_save_writes(seeded):
    from oms.db import insert_one
    from packages.models import Shipment

    package = make_package()
    shipment = Shipment(package=package, tracking_number="TRK-1", has_shipping_document=False)
    insert_one(shipment)
    assert shipment.pk is not None and shipment._state.adding is False
    stored = Shipment.objects.get(pk=shipment.pk)
    assert _fields(stored) == _fields(shipment)
    assert (stored.package_id, stored.tracking_number, stored.has_shipping_document) == (
        package.pk, "TRK-1", False)
    assert stored.created_date is not None and stored.modified_date is not None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the read brings the items on PostgreSQL")
def test_the_package_read_brings_its_items_and_reservations_as_the_orm_reads_them(seeded):
    from locations.models import Reservation
    from packages.models import PackageItem
    from packages.services import items_as_read, reservations_as_read

    package = make_package(skus={"A": 2, "B": 1, "C": 3})
    released = PackageItem.objects.filter(package=package, sku="B").get()
    Reservation.objects.filter(package_item=released).delete()  # an item without its reservation
    PackageItem.objects.filter(pk=released.pk).update(status="out_of_stock")
    otype = registry.object_types["package"]

    got = fetch_one("test-read-items", lambda value: Package.objects.select_related(*otype.lock_related)
                    .annotate(**otype.read_annotations(("items", "reservations"))).filter(pk=value),
                    package.pk, sentinel=PK_SENTINEL)
    items, reservations = items_as_read(got), reservations_as_read(got)

    expected_items = list(PackageItem.objects.filter(package=package).order_by("id"))
    assert [_fields(i) for i in items] == [_fields(i) for i in expected_items]
    assert [i.sku for i in items] == ["A", "B", "C"]
    assert all(i._state.adding is False for i in items)
    columns = ("id", "package_item_id", "stock_location_id", "sku", "quantity")
    assert [[getattr(r, c) for c in columns] for r in reservations] == [
        list(row) for row in Reservation.objects.filter(package_item__package=package).order_by("id")
        .values_list(*columns)]
    assert len(reservations) == 2


def test_a_command_that_reads_nothing_of_the_items_does_not_bring_them(seeded):
    package = make_package(items=1)
    otype = registry.object_types["package"]
    got = _read(package.pk).get()
    assert "items_read" not in got.__dict__ and "reservations_read" not in got.__dict__
    assert otype.read_annotations(("items",)).keys() >= ({"items_read"} if connection.vendor == "postgresql"
                                                         else set())
