"""Pinned SQL statements of the two hottest commands, pack and ship, through the API, with webhook
subscriptions that want every event they write — whatever the number of items. In a test the
dispatcher's BEGIN/COMMIT are a SAVEPOINT and its RELEASE: both are counted. The per-process caches
(configuration, content types) are warm, as in a running server; bench/ measures the rest."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commands import cache
from packages.models import Package
from tests.factories import StockLocationFactory, make_package
from webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription

PACK = "package__complete_packaging__waiting__packed"
SHIP = "package__ship_the_package__packed__shipped"

POSTGRESQL = connection.vendor == "postgresql"
# token+user+profile, BEGIN, package lock (+ the configuration's version, the order locked with
# it), package read (location, shipment, the order's other packages' statuses, its items with their
# reservations), stock moved (locked in pk order by the same statement) with the reservations
# deleted and the shipment inserted, the package's row + its items' statuses + the order's status
# + the log row + events + deliveries + the worker's task + the location's quota, COMMIT: 7.
# SQLite cannot modify rows in a WITH clause: reservations delete, shipment insert, order status,
# package row, events, deliveries and the task are separate statements there, and the items are
# read on their own and written returning themselves (+10).
PACK_QUERIES = 7 if POSTGRESQL else 17
# token+user+profile, BEGIN, package lock, package read, the shipment's update + the package's row +
# its items + its order + log row + events + deliveries + task, COMMIT: 6 (SQLite +7).
SHIP_QUERIES = 6 if POSTGRESQL else 13


def command(api, package: Package, slug: str):
    with CaptureQueriesContext(connection) as queries:
        response = api.post(f"/api/v1/oms/packages/{package.pk}/command/", {"slug": slug}, format="json")
    assert response.status_code == 200, response.json()
    return [q["sql"] for q in queries.captured_queries]


@pytest.fixture
def hooks(seeded):
    WebhookSubscription.objects.create(event_type="*", target_url="https://hooks.example.com/all")
    WebhookSubscription.objects.create(event_type="package.status.*", target_url="https://hooks.example.com/s")
    cache.commands_config(), cache.subscription_index(), ContentType.objects.get_for_model(Package)


@pytest.mark.parametrize("items", [1, 25])
def test_pack_and_ship_run_a_pinned_number_of_statements_whatever_the_items(api, hooks, items):
    location = StockLocationFactory()
    package = make_package(location=location, items=items)

    packed = command(api, package, PACK)
    shipped = command(api, package, SHIP)

    assert (len(packed), len(shipped)) == (PACK_QUERIES, SHIP_QUERIES)
    assert PACK_QUERIES <= 12 or not POSTGRESQL
    # token, lock, read (with the items on PostgreSQL; SQLite reads them on their own)
    assert sum(sql.startswith("SELECT") for sql in packed) == (3 if POSTGRESQL else 4)
    # package.created, then three events per command, each delivered to "*"; the four
    # package.status.* ones to the second subscription too
    assert list(WebhookEvent.objects.order_by("id").values_list("event_type", flat=True)) == [
        "package.created", "package.status.transitioned", "package.status.packed", "shipment.created",
        "package.status.transitioned", "package.status.shipped", "shipment.status.updated"]
    assert WebhookDelivery.objects.count() == 7 + 4
