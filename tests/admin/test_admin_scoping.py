"""Location scoping in the admin (issue 9 item 1): a store user of store B, holding every model
permission, reaches nothing of store A on any admin page — lists, change/history/delete pages,
autocomplete, bulk actions, related choices and filters — and nothing at all of the models hidden
from stores. Every registered admin derives from the OMS base, so a new admin cannot escape."""

from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.admin.filters import FieldListFilter
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.models import Profile
from accounts.scoping import HIDDEN_FROM_STORES, SCOPE_RULES
from commands.dispatcher import command_run
from commands.models import StateTransitionLog
from locations.models import Reservation, Stock, StockLocation
from oms.admin_base import OmsModelAdmin, OmsStackedInline, OmsTabularInline, ScopedRelatedFieldListFilter
from orders.models import Order, OrderItem
from packages.models import Package, PackageItem, Shipment
from tests.factories import OrderFactory, StockLocationFactory, UserFactory, make_package
from transfers.models import TransferItem, TransferOrder
from transfers.services import transfer_create


def label(model) -> str:
    return model._meta.concrete_model._meta.label_lower


def registered():
    return sorted(admin.site._registry.items(), key=lambda pair: pair[0]._meta.label)


# -- no admin escapes the base ------------------------------------------------------------------------
@pytest.mark.parametrize(("model", "model_admin"), registered(), ids=lambda v: getattr(v, "__name__", ""))
def test_every_registered_admin_and_inline_derives_from_the_oms_base(model, model_admin):
    assert isinstance(model_admin, OmsModelAdmin), f"{type(model_admin).__name__} is not an OmsModelAdmin"
    for inline in model_admin.inlines:
        assert issubclass(inline, (OmsTabularInline, OmsStackedInline)), \
            f"{inline.__name__} is not an Oms inline"


def test_related_fields_filter_with_the_scoped_filter(staff_user):
    request = RequestFactory().get("/")
    request.user = staff_user
    field = PackageItem._meta.get_field("package")
    spec = FieldListFilter.create(field, request, {}, PackageItem, admin.site._registry[PackageItem],
                                  field_path="package")
    assert type(spec) is ScopedRelatedFieldListFilter


# -- the world: store A's rows of every location-bound model, store B's own ----------------------------
@dataclass
class Stores:
    a: StockLocation
    b: StockLocation
    a_rows: dict[type[models.Model], set[int]]   # every location-bound row of store A
    b_package: Package
    b_client: Client
    b_user: object


def _rows_of_store_a(a: StockLocation, transfer: TransferOrder) -> dict[type[models.Model], set[int]]:
    """Written out per model, not through the scoping code under test."""
    packages = set(Package.objects.filter(stock_location=a).values_list("pk", flat=True))
    package_type = ContentType.objects.get_for_model(Package)
    transfer_type = ContentType.objects.get_for_model(TransferOrder)
    return {
        Package: packages,
        PackageItem: set(PackageItem.objects.filter(package__in=packages).values_list("pk", flat=True)),
        Shipment: set(Shipment.objects.filter(package__in=packages).values_list("pk", flat=True)),
        Order: set(Order.objects.filter(packages__in=packages).values_list("pk", flat=True)),
        OrderItem: set(OrderItem.objects.filter(package_items__package__in=packages)
                       .values_list("pk", flat=True)),
        TransferOrder: {transfer.pk},
        TransferItem: set(TransferItem.objects.filter(transfer=transfer).values_list("pk", flat=True)),
        Stock: set(Stock.objects.filter(stock_location=a).values_list("pk", flat=True)),
        Reservation: set(Reservation.objects.filter(stock_location=a).values_list("pk", flat=True)),
        StateTransitionLog: set(StateTransitionLog.objects.filter(
            content_type=package_type, object_id__in=packages).values_list("pk", flat=True))
        | set(StateTransitionLog.objects.filter(content_type=transfer_type, object_id=transfer.pk)
              .values_list("pk", flat=True)),
    }


@pytest.fixture
def stores(seeded, staff_user) -> Stores:
    a = StockLocationFactory(name="Store A", erp_code="STA")
    b = StockLocationFactory(name="Store B", erp_code="STB")
    warehouse = StockLocationFactory(name="Warehouse", erp_code="WHA", is_transfer_center=True)
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    packed_a = make_package(location=a, skus={"SKU-A1": 1}, order=OrderFactory(number="ORD-A1"))
    command_run(object_type="package", object_id=packed_a.pk, transition_id=pack.pk, actor=staff_user,
                channel="oms_web")
    waiting_a = make_package(location=a, skus={"SKU-A2": 2}, order=OrderFactory(number="ORD-A2"))
    transfer = transfer_create(package=waiting_a, source=warehouse,
                               items=list(waiting_a.packageitem_set.all()))
    b_package = make_package(location=b, skus={"SKU-B1": 1}, order=OrderFactory(number="ORD-B1"))

    user = UserFactory(username="store-b", is_staff=True)
    user.user_permissions.set(Permission.objects.all())  # every model permission there is
    Profile.objects.create(user=user, channel="instore").stock_locations.set([b])
    client = Client()
    client.force_login(user)
    rows = _rows_of_store_a(a, transfer)
    assert all(rows.values()), rows  # the world has a store-A row of every kind
    return Stores(a=a, b=b, a_rows=rows, b_package=b_package, b_client=client, b_user=user)


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


LOCATION_BOUND = [Package, PackageItem, Shipment, Order, OrderItem, TransferOrder, TransferItem, Stock,
                  Reservation, StateTransitionLog]


def test_the_location_bound_models_here_are_the_scoping_rules():
    assert {label(m) for m in LOCATION_BOUND} == set(SCOPE_RULES)


# -- lists, pages, autocomplete -------------------------------------------------------------------------
@pytest.mark.parametrize("model", [m for m, _ in registered()],
                         ids=lambda m: m._meta.label)
def test_store_user_lists_nothing_of_another_store(stores, model):
    response = stores.b_client.get(admin_url(model, "changelist"))

    if label(model) in HIDDEN_FROM_STORES:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    shown = {obj.pk for obj in response.context["cl"].result_list}
    assert shown.isdisjoint(stores.a_rows.get(model, set()))


def test_store_user_lists_its_own_packages(stores):
    response = stores.b_client.get(admin_url(Package, "changelist"))

    assert [p.pk for p in response.context["cl"].result_list] == [stores.b_package.pk]


@pytest.mark.parametrize("model", LOCATION_BOUND, ids=lambda m: m._meta.label)
@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_store_user_cannot_open_another_stores_object(stores, model, view):
    for pk in stores.a_rows[model]:
        response = stores.b_client.get(admin_url(model, view, pk))

        assert response.status_code in (302, 403, 404), (model, view, pk, response.status_code)


@pytest.mark.parametrize("model", LOCATION_BOUND, ids=lambda m: m._meta.label)
def test_store_user_cannot_post_to_another_stores_object(stores, model):
    before = list(model._default_manager.filter(pk__in=stores.a_rows[model]).order_by("pk").values())

    for pk in stores.a_rows[model]:
        stores.b_client.post(admin_url(model, "change", pk), {})
        stores.b_client.post(admin_url(model, "delete", pk), {"post": "yes"})

    assert list(model._default_manager.filter(pk__in=stores.a_rows[model]).order_by("pk").values()) == before


def _autocomplete_sources():
    """Every (source model, field) whose target is a location-bound model with a searchable admin."""
    sources = []
    for model, _admin in registered():
        for field in model._meta.get_fields():
            if not (field.is_relation and field.concrete and field.remote_field):
                continue
            target = field.remote_field.model
            target_admin = admin.site._registry.get(target)
            if label(target) in SCOPE_RULES and target_admin is not None and target_admin.search_fields:
                sources.append((model, field.name, target))
    return sources


AUTOCOMPLETE = _autocomplete_sources()


def test_autocomplete_sources_cover_the_location_bound_models():
    assert {label(target) for _m, _f, target in AUTOCOMPLETE} >= {
        "packages.package", "packages.packageitem", "orders.order", "orders.orderitem",
        "transfers.transferorder", "packages.shipment"}


@pytest.mark.parametrize(("model", "field_name", "target"), AUTOCOMPLETE,
                         ids=[f"{m._meta.model_name}.{f}" for m, f, _t in AUTOCOMPLETE])
def test_autocomplete_returns_nothing_of_another_store(stores, model, field_name, target):
    response = stores.b_client.get("/admin/autocomplete/", {
        "app_label": model._meta.app_label, "model_name": model._meta.model_name,
        "field_name": field_name, "term": ""})

    assert response.status_code in (200, 403)
    if response.status_code == 200:
        ids = {int(r["id"]) for r in response.json()["results"] if str(r["id"]).isdigit()}
        assert ids.isdisjoint(stores.a_rows[target])


def test_autocomplete_of_the_store_users_own_packages_answers_them(stores):
    response = stores.b_client.get("/admin/autocomplete/", {
        "app_label": "packages", "model_name": "packageitem", "field_name": "package", "term": ""})

    assert [r["id"] for r in response.json()["results"]] == [str(stores.b_package.pk)]


# -- actions -------------------------------------------------------------------------------------------
def _snapshot(stores):
    return {model: list(model._default_manager.filter(pk__in=pks).order_by("pk").values())
            for model, pks in stores.a_rows.items()}


@pytest.mark.parametrize("model", LOCATION_BOUND, ids=lambda m: m._meta.label)
def test_every_bulk_action_posted_with_another_stores_ids_changes_nothing(stores, model):
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/")
    request.user = stores.b_user
    actions = list(model_admin.get_actions(request))
    before = _snapshot(stores)

    for action in actions:
        data = {"action": action, "_selected_action": [str(pk) for pk in stores.a_rows[model]],
                "post": "yes", "index": "0"}
        stores.b_client.post(admin_url(model, "changelist"), data)
        # The confirmation step of an action, posted directly (no "index").
        stores.b_client.post(admin_url(model, "changelist"), {k: v for k, v in data.items() if k != "index"})

    assert _snapshot(stores) == before
    if model is Package:  # the command actions are there for this user: the test posts them
        assert {"command_pack", "command_ship", "command_cancel"} <= set(actions)


# -- choices and filters --------------------------------------------------------------------------------
def test_foreign_key_choices_offer_nothing_of_another_store(stores):
    request = RequestFactory().get("/")
    request.user = stores.b_user
    checked = 0
    for model, model_admin in registered():
        for field in model._meta.get_fields():
            if not (field.is_relation and field.concrete and (field.many_to_one or field.many_to_many)):
                continue
            target = field.remote_field.model
            bound = label(target) in SCOPE_RULES
            own_locations = target is StockLocation and label(model) in SCOPE_RULES
            if not (bound or own_locations):
                continue
            form_field = model_admin.formfield_for_dbfield(field, request)
            if form_field is None or not hasattr(form_field, "queryset"):
                continue
            offered = set(form_field.queryset.values_list("pk", flat=True))
            forbidden = {stores.a.pk} if own_locations else stores.a_rows.get(target, set())
            assert offered.isdisjoint(forbidden), (model, field.name)
            checked += 1
    assert checked >= 5


def test_a_location_bound_model_offers_only_the_users_own_locations(stores):
    request = RequestFactory().get("/")
    request.user = stores.b_user
    stock_admin = admin.site._registry[Stock]

    form_field = stock_admin.formfield_for_dbfield(Stock._meta.get_field("stock_location"), request)

    assert list(form_field.queryset) == [stores.b]


def test_related_filter_lists_only_rows_the_user_may_see(stores):
    request = RequestFactory().get("/")
    request.user = stores.b_user
    field = PackageItem._meta.get_field("package")

    spec = ScopedRelatedFieldListFilter(field, request, {}, PackageItem, admin.site._registry[PackageItem],
                                        field_path="package")

    assert [pk for pk, _text in spec.lookup_choices] == [stores.b_package.pk]


def test_hidden_models_are_not_in_the_store_users_index(stores):
    response = stores.b_client.get(reverse("admin:index"))

    listed = {m["object_name"].lower() for app in response.context["app_list"] for m in app["models"]}
    apps = {app["app_label"] for app in response.context["app_list"]}
    hidden = {m._meta.model_name for m in admin.site._registry if label(m) in HIDDEN_FROM_STORES}
    assert response.status_code == 200
    assert "package" in listed
    assert hidden >= {"webhooksubscription", "webhookdelivery", "webhookevent", "idempotencyrecord",
                      "profile", "user", "group", "tokenproxy"}
    assert not hidden & listed
    assert "webhooks" not in apps


def test_unrestricted_staff_still_sees_every_store(stores, staff_client):
    response = staff_client.get(admin_url(Package, "changelist"))

    shown = {p.pk for p in response.context["cl"].result_list}
    assert shown == stores.a_rows[Package] | {stores.b_package.pk}


def test_the_command_palette_search_finds_nothing_of_another_store(stores):
    # unfold's search (UNFOLD["COMMAND"]["search_models"]) reads every admin's scoped rows.
    response = stores.b_client.get(reverse("admin:search"), {"s": "ORD-", "extended": "1"})

    content = response.content.decode()
    assert response.status_code == 200
    assert "ORD-B1P1" in content
    assert "ORD-A1" not in content and "ORD-A2" not in content


# -- transfers: each side sees its own commands ---------------------------------------------------------
@pytest.fixture
def transfer_between_stores(seeded):
    source = StockLocationFactory(name="Source store", erp_code="SRC")
    destination = StockLocationFactory(name="Destination store", erp_code="DST")
    package = make_package(location=destination, skus={"SKU-T": 1})
    transfer = transfer_create(package=package, source=source, items=list(package.packageitem_set.all()))
    return transfer, source, destination


def store_client(location, *codenames):
    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    Profile.objects.create(user=user, channel="instore").stock_locations.set([location])
    client = Client()
    client.force_login(user)
    return client


def test_each_side_of_a_transfer_sees_only_its_own_commands(seeded, transfer_between_stores):
    transfer, source, destination = transfer_between_stores
    url = admin_url(TransferOrder, "change", transfer.pk)
    perms = ("view_transferorder", "change_transferorder")

    at_source = store_client(source, *perms).get(url)
    at_destination = store_client(destination, *perms).get(url)

    assert at_source.status_code == at_destination.status_code == 200
    source_commands = {b.transition.command for b in at_source.context["command_buttons"]}
    assert {"TRANSFER_READY_FOR_DISPATCH", "TRANSFER_DISPATCH"} <= source_commands
    assert "TRANSFER_DELIVERED" not in source_commands  # not in transit yet anyway
    # The destination may not dispatch, mark not found or out of stock: none of those shows.
    assert at_destination.context["command_buttons"] == []
    assert 'data-testid="no-commands"' in at_destination.content.decode()
