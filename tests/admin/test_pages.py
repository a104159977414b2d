"""Every admin page loads with data, and searches and filters find exactly the right rows."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import TokenProxy

from accounts.models import Profile
from commands.dispatcher import command_run
from commands.models import IdempotencyRecord, State, StateTransitionLog, Transition
from locations.models import CargoCompany, Reservation, Stock, StockLocation
from orders.models import Channel, Order, OrderItem
from packages.models import Package, PackageDenialReason, PackageItem, Shipment
from tests.factories import OrderFactory, make_package
from transfers.models import TransferItem, TransferOrder
from transfers.services import transfer_create

User = get_user_model()
OUR_APPS = {"commands", "locations", "accounts", "orders", "packages", "transfers", "auth", "authtoken"}


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def registered_models():
    return sorted((m for m in admin.site._registry if m._meta.app_label in OUR_APPS),
                  key=lambda m: m._meta.label)


def test_every_model_of_the_oms_apps_has_an_admin():
    expected = {State, Transition, StateTransitionLog, IdempotencyRecord, StockLocation, Stock,
                Reservation, CargoCompany, Profile, Channel, Order, OrderItem, Package, PackageItem,
                Shipment, PackageDenialReason, TransferOrder, TransferItem, User, Group, TokenProxy}
    assert set(registered_models()) == expected


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_changelist_and_change_page_load(world, staff_client, model):
    changelist = staff_client.get(admin_url(model, "changelist"))
    obj = model._default_manager.order_by("pk").first()
    change = staff_client.get(admin_url(model, "change", obj.pk))

    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count >= 1
    assert change.status_code == 200
    assert change.context["original"].pk == obj.pk


# (model, query string, the rows expected: a function of the world)
SEARCHES_AND_FILTERS = [
    (Package, "q=SKU-RED", lambda w: [w.waiting]),
    (Package, "q=ORD-2", lambda w: [w.packed]),
    (Package, "q=can@example.com", lambda w: [w.packed]),
    (Package, "status__exact=500", lambda w: [w.packed]),
    (Package, "shipment__status__exact=created", lambda w: [w.packed]),
    (TransferOrder, "q=SKU-RED", lambda w: [w.transfer]),
    (TransferOrder, "status__exact=waiting", lambda w: [w.transfer]),
    (TransferOrder, "q=WH01", lambda w: [w.transfer]),
    (Order, "q=can@example.com", lambda w: [w.packed.order]),
    (Order, "status__exact=450", lambda w: [w.packed.order]),
    (OrderItem, "q=SKU-BLUE", lambda w: list(OrderItem.objects.filter(sku="SKU-BLUE"))),
    (PackageItem, "q=SKU-RED", lambda w: list(w.waiting.packageitem_set.all())),
    (TransferItem, "q=SKU-RED", lambda w: list(w.transfer.transferitem_set.all())),
    (Shipment, "status__exact=created", lambda w: [w.packed.shipment]),
    (Shipment, "q=ORD-2P1", lambda w: [w.packed.shipment]),
    (State, "enum_class__exact=TransferStatus",
     lambda w: list(State.objects.filter(enum_class="TransferStatus"))),
    (State, "q=ready-for-pickup", lambda w: list(State.objects.filter(slug="ready-for-pickup"))),
    (Transition, "command__exact=COMPLETE_PACKAGING&q=waiting",
     lambda w: list(Transition.objects.filter(command="COMPLETE_PACKAGING",
                                              source_state__slug="waiting"))),
    (Transition, "is_active__exact=0", lambda w: []),
    (StateTransitionLog, "command=COMPLETE_PACKAGING", lambda w: [w.log]),
    (StateTransitionLog, "command=SHIP_THE_PACKAGE", lambda w: []),
    (StateTransitionLog, "q=package__complete_packaging__waiting__packed", lambda w: [w.log]),
    (IdempotencyRecord, "q=key-pack-1", lambda w: [w.record]),
    (IdempotencyRecord, "response_status__exact=200", lambda w: [w.record]),
    (StockLocation, "q=KDK01", lambda w: [w.store]),
    (StockLocation, "is_transfer_center__exact=1", lambda w: [w.warehouse]),
    (Stock, "q=SKU-RED", lambda w: list(Stock.objects.filter(sku="SKU-RED"))),
    (Reservation, "q=SKU-RED", lambda w: list(Reservation.objects.filter(sku="SKU-RED"))),
    (CargoCompany, "q=yurtici", lambda w: [w.cargo]),
    (CargoCompany, "is_active__exact=1", lambda w: [w.cargo]),
    (PackageDenialReason, "q=Damaged", lambda w: [w.reason]),
    (Channel, "q=web", lambda w: list(Channel.objects.filter(code="web"))),
    (Profile, "channel__exact=instore", lambda w: [w.instore]),
    (User, "q=instore1", lambda w: [w.instore.user]),
    (User, "oms_profile__channel__exact=instore", lambda w: [w.instore.user]),
]


@pytest.mark.parametrize(("model", "query", "expected"), SEARCHES_AND_FILTERS,
                         ids=[f"{m._meta.model_name}?{q}" for m, q, _ in SEARCHES_AND_FILTERS])
def test_search_and_filter_find_exactly_the_expected_rows(world, staff_client, model, query, expected):
    response = staff_client.get(f"{admin_url(model, 'changelist')}?{query}")

    assert response.status_code == 200
    assert sorted(o.pk for o in response.context["cl"].result_list) == sorted(o.pk for o in expected(world))


def test_state_transition_log_filters_by_content_type_and_object(world, staff_client):
    content_type = ContentType.objects.get_for_model(Package)
    url = f"{admin_url(StateTransitionLog, 'changelist')}?content_type__id__exact={content_type.pk}"

    for_packed = staff_client.get(f"{url}&object_id={world.packed.pk}")
    for_waiting = staff_client.get(f"{url}&object_id={world.waiting.pk}")

    assert [log.pk for log in for_packed.context["cl"].result_list] == [world.log.pk]
    assert list(for_waiting.context["cl"].result_list) == []


def test_state_transition_log_list_names_the_package_the_move_the_command_and_the_user(world, staff_client):
    response = staff_client.get(admin_url(StateTransitionLog, "changelist"))

    content = response.content.decode()
    assert (f'<a href="{admin_url(Package, "change", world.packed.pk)}">ORD-2P1: Waiting → Packed</a>'
            in content)
    # The command by its label; the slug stays at hand as the label's tooltip.
    assert '<span title="package__complete_packaging__waiting__packed">Pack</span>' in content
    assert world.log.user.username in content


@pytest.mark.parametrize("model", [Package, TransferOrder, Order, StateTransitionLog, Stock, Transition,
                                   Shipment, Reservation],
                         ids=lambda m: m._meta.model_name)
def test_changelist_query_count_does_not_grow_with_rows(world, staff_client, staff_user, seeded, model):
    url = admin_url(model, "changelist")
    with CaptureQueriesContext(connection) as before:
        rows_before = staff_client.get(url).context["cl"].result_count
    for n in range(3):  # more rows of every kind: packages, items, logs, transfers, transitions…
        package = make_package(location=world.store, skus={f"SKU-X{n}": 1},
                               order=OrderFactory(number=f"ORD-X{n}"))
        if n:  # the first keeps its reservation
            command_run(object_type="package", object_id=package.pk,
                        transition_id=seeded.transition("COMPLETE_PACKAGING", 100, 500).pk,
                        actor=staff_user, channel="oms_web")
        transfer_create(package=package, source=world.warehouse, items=list(package.packageitem_set.all()))
        Transition.objects.create(label=f"Extra move {n}", slug=f"extra-move-{n}",
                                  command="PKG_STATE_TRANSITION", source_state=seeded.state(100),
                                  destination_state=seeded.state(200))
    with CaptureQueriesContext(connection) as after:
        response = staff_client.get(url)

    assert response.status_code == 200
    assert response.context["cl"].result_count > rows_before
    assert len(after.captured_queries) == len(before.captured_queries)


@pytest.mark.parametrize("model", [Package, TransferOrder, StateTransitionLog, IdempotencyRecord,
                                   Reservation, PackageItem, TransferItem, Shipment, OrderItem],
                         ids=lambda m: m._meta.model_name)
def test_system_rows_cannot_be_added_from_the_admin(world, staff_client, model):
    response = staff_client.get(admin_url(model, "add"))

    assert response.status_code == 403


@pytest.mark.parametrize("model", [Package, TransferOrder, StateTransitionLog, IdempotencyRecord],
                         ids=lambda m: m._meta.model_name)
def test_system_rows_cannot_be_deleted_from_the_admin(world, staff_client, model):
    obj = model._default_manager.order_by("pk").first()
    count = model._default_manager.count()

    response = staff_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"})

    assert response.status_code == 403
    assert model._default_manager.count() == count


def test_package_page_shows_items_shipment_transfers_and_timeline(world, staff_client, staff_user):
    response = staff_client.get(admin_url(Package, "change", world.packed.pk))

    [items] = response.context["inline_admin_formsets"]
    assert [f.instance.sku for f in items.formset.forms] == ["SKU-BLUE"]
    assert items.has_change_permission is False and items.has_add_permission is False
    shipment = world.packed.shipment
    content = response.content.decode()
    assert (f'<a href="{admin_url(Shipment, "change", shipment.pk)}">Shipment {shipment.pk}</a>: Created · '
            "Yurtiçi Kargo · tracking number – · shipped –") in content
    # The timeline: the pack, by whom, from which state; the shipment it created.
    [entry] = [e for e in response.context["timeline_entries"] if e.kind == "transition"]
    assert (entry.title, entry.actor, entry.old_state_name, entry.new_state.name) == (
        "Pack", staff_user.username, "Waiting", "Packed")
    assert [e.title for e in response.context["timeline_entries"] if e.kind == "shipment"] == [
        "Shipment created"]
    # Every field is read-only: nothing to submit but commands.
    assert list(response.context["adminform"].form.fields) == []


def test_waiting_package_page_links_its_transfer(world, staff_client):
    response = staff_client.get(admin_url(Package, "change", world.waiting.pk))

    assert (f'<li><a href="{admin_url(TransferOrder, "change", world.transfer.pk)}">{world.transfer.number}'
            "</a> – Waiting from WH01</li>") in response.content.decode()
