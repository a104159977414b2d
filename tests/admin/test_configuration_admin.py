"""States and transitions are configured in the admin with the validation of spec §2; the
counters the system maintains are never written by an admin form."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape
from rest_framework.authtoken.models import Token

from accounts.models import Profile
from commands.dispatcher import command_run
from commands.models import State, StateTransitionLog, Transition
from commands.registry import registry
from locations.models import Stock, StockLocation
from orders.models import Order
from tests.factories import StockLocationFactory, UserFactory, make_package
from webhooks.models import WebhookEvent, WebhookSubscription

NOT_ALLOWED = ("Command definition is not allowed! Check source & destination states of command to "
               "be created")
TRANSITION_ADD = reverse("admin:commands_transition_add")


def transition_form(source, destination, **overrides):
    data = {"label": "Pack it", "slug": "", "command": "COMPLETE_PACKAGING", "source_state": source.pk,
            "destination_state": destination.pk if destination else "", "ui_visibility": ["oms_web"],
            "is_active": "on", "input_defaults": "{}", "translations": "null"}
    return {**data, **overrides}


def updates_of(queries, table):
    return [q["sql"] for q in queries if q["sql"].startswith(f'UPDATE "{table}"')]


# -- transitions ---------------------------------------------------------------------------------------
def test_transition_with_a_pair_its_command_cannot_move_is_refused(seeded, staff_client):
    count = Transition.objects.count()

    response = staff_client.post(TRANSITION_ADD, transition_form(seeded.state(500), seeded.state(550)))

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [NOT_ALLOWED]
    assert escape(NOT_ALLOWED) in response.content.decode()  # "&" is escaped
    assert Transition.objects.count() == count


def test_transition_with_a_valid_pair_is_created_with_checked_channels(seeded, staff_client):
    source = State.objects.create(name="Waiting – Marketplace", slug="waiting-marketplace",
                                  enum_class="PackageStatus", enum_value="100")

    response = staff_client.post(TRANSITION_ADD, transition_form(
        source, seeded.state(500), ui_visibility=["instore", "oms_web"]))

    assert response.status_code == 302
    transition = Transition.objects.get(source_state=source)
    assert transition.slug == "package__complete_packaging__waiting-marketplace__packed"
    assert transition.ui_visibility == ["oms_web", "instore"]
    assert (transition.command, transition.destination_state) == ("COMPLETE_PACKAGING", seeded.state(500))


def test_transition_duplicating_a_default_slug_is_refused_on_the_form(seeded, staff_client):
    count = Transition.objects.count()

    response = staff_client.post(TRANSITION_ADD, transition_form(seeded.state(100), seeded.state(500)))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["slug"] == [
        "A transition with the default slug package__complete_packaging__waiting__packed already "
        "exists; give this one its own slug."]
    assert Transition.objects.count() == count


def test_transition_form_offers_registered_command_types_and_visibility_checkboxes(seeded, staff_client):
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)

    response = staff_client.get(reverse("admin:commands_transition_change", args=[pack.pk]))

    form = response.context["adminform"].form
    assert [code for code, _ in form.fields["command"].choices] == ["", *sorted(registry.command_types)]
    assert form["ui_visibility"].value() == ["oms_web", "third_party", "instore"]
    content = response.content.decode()
    assert content.count('type="checkbox" name="ui_visibility"') == 3
    assert 'value="instore"' in content


def test_transition_visibility_is_edited_with_checkboxes(seeded, staff_client):
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    data = transition_form(seeded.state(100), seeded.state(500), label=pack.label, slug=pack.slug,
                           ui_visibility=["third_party"])

    response = staff_client.post(reverse("admin:commands_transition_change", args=[pack.pk]), data)

    assert response.status_code == 302
    pack.refresh_from_db()
    assert pack.ui_visibility == ["third_party"]


def test_transition_changelist_shows_the_columns_operators_need(seeded, staff_client):
    response = staff_client.get(reverse("admin:commands_transition_changelist")
                                + "?q=package__complete_packaging__waiting__packed")

    assert response.context["cl"].list_display == [
        "action_checkbox", "label", "slug", "command", "source_display", "destination_display",
        "visibility", "is_active"]
    content = response.content.decode()
    assert "oms_web, third_party, instore" in content
    # States by their names, as coloured badges (not "Waiting (PackageStatus 100)").
    assert 'data-status="waiting">Waiting</span>' in content
    assert 'data-status="packed">Packed</span>' in content
    assert "PackageStatus 100" not in content


def test_state_page_lists_transitions_leaving_and_entering_it(seeded, staff_client):
    waiting = seeded.state(100)

    response = staff_client.get(reverse("admin:commands_state_change", args=[waiting.pk]))

    leaving, entering = response.context["inline_admin_formsets"]
    assert {f.instance.pk for f in leaving.formset.forms} == set(
        Transition.objects.filter(source_state=waiting).values_list("pk", flat=True))
    assert {f.instance.pk for f in entering.formset.forms} == set(
        Transition.objects.filter(destination_state=waiting).values_list("pk", flat=True))
    assert "Pack (Waiting → Packed)" in response.content.decode()
    assert "Repack (Contains out of stock products → Waiting)" in response.content.decode()
    # The status a state carries is fixed once it exists: packages rely on it.
    assert "enum_value" not in response.context["adminform"].form.fields


def test_state_with_a_status_of_another_enum_class_is_refused(seeded, staff_client):
    count = State.objects.count()

    response = staff_client.post(reverse("admin:commands_state_add"), {
        "name": "Odd", "slug": "odd", "enum_class": "TransferStatus", "enum_value": "100",
        "translations": "{}", "config": "{}", "is_active": "on",
        "transitions_out-TOTAL_FORMS": "0", "transitions_out-INITIAL_FORMS": "0",
        "transitions_in-TOTAL_FORMS": "0", "transitions_in-INITIAL_FORMS": "0"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["enum_value"] == [
        "'100' is not a TransferStatus value; choose one of waiting, ready_to_shipment, in_transit, "
        "transferred, not_found, out_of_stock, cancelled."]
    assert State.objects.count() == count


def test_state_transition_log_is_read_only(seeded, staff_client, staff_user):
    package = make_package()
    command_run(object_type="package", object_id=package.pk,
                transition_id=seeded.transition("COMPLETE_PACKAGING", 100, 500).pk,
                actor=staff_user, channel="oms_web")
    log = StateTransitionLog.objects.get()
    change_url = reverse("admin:commands_statetransitionlog_change", args=[log.pk])

    page = staff_client.get(change_url)
    edit = staff_client.post(change_url, {"object_id": "999"})

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert "package__complete_packaging__waiting__packed" in page.content.decode()
    assert edit.status_code == 403
    assert StateTransitionLog.objects.get().object_id == package.pk


# -- system-maintained counters --------------------------------------------------------------------------
def test_editing_a_location_never_writes_its_quota(seeded, staff_client):
    WebhookSubscription.objects.create(event_type="stock_location.*", target_url="https://hooks.example.com/h")
    location = StockLocationFactory(name="Kadıköy", erp_code="KDK01", max_quota=5)
    make_package(location=location)
    url = reverse("admin:locations_stocklocation_change", args=[location.pk])
    data = {"name": "Kadıköy Moda", "erp_code": "KDK01", "stock_location_type": "store", "is_active": "on",
            "priority": "0", "city": "Istanbul", "country": "TR", "max_quota": "7", "quota": "0"}

    with CaptureQueriesContext(connection) as queries:
        response = staff_client.post(url, data)

    assert response.status_code == 302
    location.refresh_from_db()
    assert (location.name, location.max_quota, location.quota, location.available_quota) == (
        "Kadıköy Moda", 7, 1, 6)
    [update] = updates_of(queries, "locations_stocklocation")
    assert '"quota" =' not in update
    assert '"max_quota" =' in update
    [event] = WebhookEvent.objects.filter(event_type="stock_location.updated")
    assert (event.payload["name"], event.payload["max_quota"], event.payload["quota"]) == (
        "Kadıköy Moda", 7, 1)


def test_adding_a_location_from_the_admin_adds_its_webhook_event(seeded, staff_client):
    WebhookSubscription.objects.create(event_type="stock_location.*", target_url="https://hooks.example.com/h")
    response = staff_client.post(reverse("admin:locations_stocklocation_add"), {
        "name": "Moda", "erp_code": "MDA01", "stock_location_type": "store", "is_active": "on",
        "priority": "0", "city": "Istanbul", "country": "TR", "max_quota": ""})

    assert response.status_code == 302
    location = StockLocation.objects.get(erp_code="MDA01")
    assert (location.quota, location.max_quota, location.available_quota) == (0, None, None)
    assert list(WebhookEvent.objects.values_list("event_type", "payload__erp_code")) == [
        ("stock_location.created", "MDA01")]


def test_editing_stock_never_writes_reserved_and_cannot_go_below_it(seeded, staff_client):
    location = StockLocationFactory()
    make_package(location=location, skus={"SKU-RED": 3})
    stock = Stock.objects.get(stock_location=location, sku="SKU-RED")
    url = reverse("admin:locations_stock_change", args=[stock.pk])

    too_low = staff_client.post(url, {"quantity": "2", "reserved": "0"})
    with CaptureQueriesContext(connection) as queries:
        ok = staff_client.post(url, {"quantity": "12", "reserved": "0"})

    assert too_low.status_code == 200
    assert too_low.context["adminform"].form.errors == {
        "quantity": ["3 units are reserved by packages; the quantity cannot go below that."]}
    assert ok.status_code == 302
    assert Stock.objects.filter(pk=stock.pk).values_list("quantity", "reserved").get() == (12, 3)
    [update] = updates_of(queries, "locations_stock")
    assert '"reserved" =' not in update


def test_stock_with_reservations_cannot_be_deleted(seeded, staff_client):
    location = StockLocationFactory()
    make_package(location=location, skus={"SKU-RED": 1})
    stock = Stock.objects.get(stock_location=location, sku="SKU-RED")

    response = staff_client.post(reverse("admin:locations_stock_delete", args=[stock.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert Stock.objects.filter(pk=stock.pk).exists()


def test_editing_an_order_never_writes_its_derived_status(seeded, staff_client):
    package = make_package()
    order = package.order
    Order.objects.filter(pk=order.pk).update(status=450)
    url = reverse("admin:orders_order_change", args=[order.pk])
    data = {"payment_type": "credit_card", "customer__email": "new@example.com", "cargo_company": "",
            "tracking_number": "", "notes": "call first",
            "orderitem_set-TOTAL_FORMS": "1", "orderitem_set-INITIAL_FORMS": "1"}

    with CaptureQueriesContext(connection) as queries:
        response = staff_client.post(url, data)

    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.notes, order.customer) == (450, "call first", {"email": "new@example.com"})
    [update] = updates_of(queries, "orders_order")
    assert '"status" =' not in update


# -- users -----------------------------------------------------------------------------------------------
def test_operator_sets_an_api_users_channel_and_locations_on_the_user_page(seeded, staff_client):
    user = UserFactory(username="kiosk")
    store = StockLocationFactory()
    url = reverse("admin:auth_user_change", args=[user.pk])

    page = staff_client.get(url)
    response = staff_client.post(url, {
        "username": "kiosk", "email": "", "first_name": "", "last_name": "", "is_active": "on",
        "date_joined_0": "2024-01-01", "date_joined_1": "10:00:00", "initial-date_joined_0": "2024-01-01",
        "initial-date_joined_1": "10:00:00",
        "oms_profile-TOTAL_FORMS": "1", "oms_profile-INITIAL_FORMS": "0", "oms_profile-MIN_NUM_FORMS": "0",
        "oms_profile-MAX_NUM_FORMS": "1", "oms_profile-0-channel": "instore",
        "oms_profile-0-stock_locations": [str(store.pk)]})

    assert page.status_code == 200
    # Without a profile a non-staff user acts as an integration: the form starts there.
    assert page.context["inline_admin_formsets"][0].formset.forms[0]["channel"].value() == "third_party"
    assert "No token." in page.content.decode()
    assert response.status_code == 302
    profile = Profile.objects.get(user=user)
    assert profile.channel == "instore"
    assert list(profile.stock_locations.all()) == [store]


def test_user_page_links_the_users_api_token(seeded, staff_client, staff_user):
    Token.objects.create(user=staff_user)

    response = staff_client.get(reverse("admin:auth_user_change", args=[staff_user.pk]))

    assert reverse("admin:authtoken_tokenproxy_change", args=[staff_user.pk]) in response.content.decode()


@pytest.mark.parametrize("url_name", ["admin:auth_user_changelist", "admin:authtoken_tokenproxy_changelist",
                                      "admin:accounts_profile_changelist"])
def test_user_token_and_profile_lists_load(seeded, staff_client, url_name):
    get_user_model().objects.create(username="integration")

    response = staff_client.get(reverse(url_name))

    assert response.status_code == 200
