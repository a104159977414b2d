"""The admin's home page: a store's work queue, the operations overview. Every number links to
the changelist filtered to exactly the rows it counts."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from accounts.models import Profile
from oms.dashboard import operations_counts, store_queue_counts
from packages.models import Package
from tests.factories import StockLocationFactory, UserFactory, make_package
from transfers.models import TransferOrder
from transfers.services import transfer_create
from webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription


@pytest.fixture
def stores(seeded):
    kdk = StockLocationFactory(name="Kadıköy", erp_code="ST-KDK", max_quota=10, is_pickup_location=True)
    bsk = StockLocationFactory(name="Beşiktaş", erp_code="ST-BSK", max_quota=1)
    warehouse = StockLocationFactory(name="Depo", erp_code="WH", is_transfer_center=True,
                                     stock_location_type="warehouse")
    return kdk, bsk, warehouse


def store_user(*locations, username="store-1"):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name="Store staff"))
    profile = Profile.objects.create(user=user, channel="instore")
    profile.stock_locations.set(locations)
    return user


def tiles(response, erp_code: str) -> dict[str, tuple[str, str]]:
    """{tile key: (value, link)} of one location's queue, as the page shows them."""
    queue = next(q for q in response.context["store_queues"] if q.location.erp_code == erp_code)
    return {t.key: (t.value, t.url) for t in queue.tiles}


def listed(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url  # a lookup the list refuses redirects to ?e=1 or is a 400
    return response.context["cl"].result_count


@pytest.fixture
def kadikoy_day(stores):
    """Kadıköy: 2 Waiting + 1 Ready for packaging (to pack), 1 Packed, 1 Ready for pickup, 1 Blocked,
    1 out of stock, 1 Shipped; a transfer coming from the warehouse. Beşiktaş: 1 Waiting, 1 Packed."""
    kdk, bsk, warehouse = stores
    old = make_package(location=kdk, status=100)
    Package.objects.filter(pk=old.pk).update(created_date=timezone.now() - timedelta(hours=5))
    make_package(location=kdk, status=100)
    make_package(location=kdk, status=400)
    make_package(location=kdk, status=500)
    make_package(location=kdk, status=520)
    make_package(location=kdk, status=350)
    make_package(location=kdk, status=920)
    make_package(location=kdk, status=550)
    make_package(location=bsk, status=100)
    make_package(location=bsk, status=500)
    waiting_for_transfer = make_package(location=kdk, status=300, skus={"COAT": 1})
    transfer_create(package=waiting_for_transfer, source=warehouse,
                    items=list(waiting_for_transfer.packageitem_set.all()))
    return old


def test_a_store_user_sees_its_work_queue_and_every_number_opens_its_rows(client, stores, kadikoy_day):
    # given
    kdk, _bsk, _wh = stores
    user = store_user(kdk)
    client.force_login(user)
    # when
    response = client.get("/admin/")
    # then
    assert response.status_code == 200
    shown = tiles(response, "ST-KDK")
    assert {key: value for key, (value, _url) in shown.items()} == {
        "to-pack": "3", "to-ship": "1", "awaiting-pickup": "1", "blocked": "1", "out-of-stock": "1",
        "incoming": "1", "quota": "4 / 10", "oldest": "5\xa0hours"}
    # each count is what its link lists
    for key in ("to-pack", "to-ship", "awaiting-pickup", "blocked", "out-of-stock", "incoming"):
        value, url = shown[key]
        assert listed(client, url) == int(value), key
    assert listed(client, shown["quota"][1]) == 4  # holding quota (below 400): 2 Waiting, Blocked, transfer
    # the oldest package to pack opens its page
    assert shown["oldest"][1] == f"/admin/packages/package/{kadikoy_day.pk}/change/"
    assert client.get(shown["oldest"][1]).status_code == 200
    assert [q.location.erp_code for q in response.context["store_queues"]] == ["ST-KDK"]
    assert "operations" not in response.context
    assert b'data-testid="work-queue"' in response.content


def test_links_show_only_the_counted_rows(client, stores, kadikoy_day):
    # given
    kdk, _bsk, _wh = stores
    client.force_login(store_user(kdk))
    shown = tiles(client.get("/admin/"), "ST-KDK")
    # when
    to_pack = client.get(shown["to-pack"][1]).context["cl"].result_list
    incoming = client.get(shown["incoming"][1]).context["cl"].result_list
    # then
    assert sorted(p.status for p in to_pack) == [100, 100, 400]
    assert {p.stock_location.erp_code for p in to_pack} == {"ST-KDK"}
    assert [(t.source.erp_code, t.destination.erp_code, t.status) for t in incoming] == [
        ("WH", "ST-KDK", "waiting")]


def test_a_user_of_two_stores_gets_one_queue_each(client, stores, kadikoy_day):
    # given
    kdk, bsk, _wh = stores
    client.force_login(store_user(kdk, bsk))
    # when
    response = client.get("/admin/")
    # then (ordered by name)
    assert [q.location.erp_code for q in response.context["store_queues"]] == ["ST-BSK", "ST-KDK"]
    bsk_tiles = tiles(response, "ST-BSK")
    assert {k: v for k, (v, _u) in bsk_tiles.items()} == {
        "to-pack": "1", "to-ship": "1", "blocked": "0", "out-of-stock": "0", "incoming": "0",
        "quota": "1 / 1", "oldest": "0\xa0minutes"}


def test_the_warehouse_sees_transfers_to_dispatch(client, stores, kadikoy_day):
    # given a user of the warehouse the transfer leaves from
    _kdk, _bsk, warehouse = stores
    client.force_login(store_user(warehouse, username="depo"))
    # when
    shown = tiles(client.get("/admin/"), "WH")
    # then
    assert shown["to-dispatch"][0] == "1"
    assert listed(client, shown["to-dispatch"][1]) == 1
    assert shown["quota"][0] == "0 of unlimited"


def test_a_store_user_without_package_permission_gets_no_queue(client, stores, kadikoy_day):
    # given an instore user of Kadıköy outside the "Store staff" group
    kdk, _bsk, _wh = stores
    user = store_user(kdk)
    user.groups.clear()
    client.force_login(user)
    # when
    response = client.get("/admin/")
    # then
    assert response.status_code == 200
    assert "store_queues" not in response.context and "operations" not in response.context


def test_a_store_user_without_locations_is_told(client, stores):
    # given
    client.force_login(store_user())
    # when
    response = client.get("/admin/")
    # then
    assert response.context["store_queues"] == []
    assert b'data-testid="no-locations"' in response.content


def test_store_queue_takes_three_queries_whatever_the_numbers(stores, kadikoy_day, django_assert_num_queries):
    # given two locations with eleven packages and a transfer
    kdk, bsk, warehouse = stores
    ids = [kdk.pk, bsk.pk, warehouse.pk]
    # when / then
    with django_assert_num_queries(3):
        queues = store_queue_counts(ids)
    # and with ten more packages
    for i in range(10):
        make_package(location=bsk, status=100, skus={f"MORE-{i}": 1})
    with django_assert_num_queries(3):
        queues = store_queue_counts(ids)
    assert [(q.erp_code, q.to_pack) for q in queues] == [("ST-BSK", 11), ("WH", 0), ("ST-KDK", 3)]


# -- operations -----------------------------------------------------------------------------------
@pytest.fixture
def webhooks(db):
    subscription = WebhookSubscription.objects.create(event_type="*", target_url="https://example.com/h")
    WebhookSubscription.objects.create(event_type="*", target_url="https://example.com/off", is_active=False,
                                       deactivated_reason="10 failed deliveries in a row")
    statuses = ["pending", "pending", "failed", "delivered"]
    for status in statuses:
        event = WebhookEvent.objects.create(event_type="package.created", payload={})
        WebhookDelivery.objects.create(event=event, subscription=subscription, status=status)
    return subscription


def operator():
    user = UserFactory(username="ops", is_staff=True)
    user.groups.add(Group.objects.get(name="Operations"))
    return user


def test_operations_overview_counts_and_links(client, stores, kadikoy_day, webhooks):
    # given a transfer on its way and the Beşiktaş store at its quota
    TransferOrder.objects.update(status="in_transit")
    client.force_login(operator())
    # when
    response = client.get("/admin/")
    # then
    overview = response.context["operations"]
    shown = {t.key: (t.value, t.url) for t in overview["tiles"]}
    assert {k: v for k, (v, _u) in shown.items()} == {
        "ops-out-of-stock": "1", "ops-transfers-in-transit": "1", "ops-transfers-waiting": "0",
        "ops-transfers-ready-to-shipment": "0", "ops-webhooks-pending": "2", "ops-webhooks-failed": "1",
        "ops-webhooks-deactivated": "1"}
    for key, (value, url) in shown.items():
        assert listed(client, url) == int(value), key
    assert [loc.erp_code for loc in overview["full_locations"]] == ["ST-BSK"]
    assert b'data-testid="operations-dashboard"' in response.content
    assert "store_queues" not in response.context


def test_open_packages_by_state_and_location(client, stores, kadikoy_day):
    # given
    client.force_login(operator())
    # when
    overview = client.get("/admin/").context["operations"]
    # then columns are the states holding open packages, in lifecycle order; shipped counts,
    # delivered and cancelled would not
    assert [name for _state, name in overview["states"]] == [
        "Waiting", "Waiting for Transfer", "Blocked", "Ready for Packaging", "Packed", "Ready for Pickup",
        "Shipped", "Contains out of stock products"]
    table = {row["erp_code"]: [count for count, _url in row["cells"]] for row in overview["rows"]}
    assert table == {"ST-BSK": [1, 0, 0, 0, 1, 0, 0, 0], "ST-KDK": [2, 1, 1, 1, 1, 1, 1, 1]}
    for row in overview["rows"]:
        for count, url in row["cells"]:
            assert (url == "") == (count == 0)
            if url:
                assert listed(client, url) == count


def test_operations_overview_query_count(stores, kadikoy_day, webhooks, django_assert_num_queries):
    # when / then
    with django_assert_num_queries(7):
        operations_counts(with_webhooks=True)
    with django_assert_num_queries(5):
        counts = operations_counts(with_webhooks=False)
    assert (counts.out_of_stock, [p.status for p in counts.out_of_stock_oldest]) == (1, [920])


def test_webhook_numbers_need_the_webhook_permission(client, stores, webhooks):
    # given a staff user who may view packages but not webhooks
    user = UserFactory(username="viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_package"))
    client.force_login(user)
    # when
    overview = client.get("/admin/").context["operations"]
    # then
    assert not [t for t in overview["tiles"] if t.key.startswith("ops-webhooks")]


def test_a_user_without_package_permission_gets_no_dashboard(client, db):
    # given
    client.force_login(UserFactory(username="nobody", is_staff=True))
    # when
    response = client.get("/admin/")
    # then
    assert response.status_code == 200
    assert "operations" not in response.context and "store_queues" not in response.context
