"""Command buttons on package and transfer pages run commands through the dispatcher: same checks,
same log row, same counters as the API (spec §3, §9); refusals are said in words (the API keeps
the wire texts: tests/api)."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts.models import Profile
from commands.dispatcher import command_run
from commands.models import StateTransitionLog
from commands.selectors import commands_for_states
from locations.models import Stock, StockLocation
from packages.models import Package, Shipment
from tests.factories import CargoCompanyFactory, StockLocationFactory, UserFactory, make_package
from transfers.models import TransferOrder
from transfers.services import transfer_create


# -- helpers ------------------------------------------------------------------------------------------
def change_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def command_url(obj, transition):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_command",
                   args=[obj.pk, transition.pk])


def messages_of(response):
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def snapshot(package):
    """Everything a refused command must leave as it was."""
    package = Package.objects.get(pk=package.pk)
    return {
        "status": package.status, "state": package.state_id, "modified": package.modified_date,
        "logs": StateTransitionLog.objects.count(),
        "quota": StockLocation.objects.get(pk=package.stock_location_id).quota,
        "stock": sorted(Stock.objects.filter(stock_location_id=package.stock_location_id)
                        .values_list("sku", "quantity", "reserved")),
        "shipments": Shipment.objects.count(),
    }


def package_logs(package):
    return list(StateTransitionLog.objects.filter(content_type=ContentType.objects.get_for_model(Package),
                                                  object_id=package.pk))


@pytest.fixture
def store():
    return StockLocationFactory(name="Kadıköy", erp_code="KDK01", max_quota=5)


@pytest.fixture
def waiting(seeded, store):
    return make_package(location=store, skus={"SKU-RED": 2})


# -- the buttons -------------------------------------------------------------------------------------
def test_waiting_package_page_shows_the_allowed_commands_as_buttons(seeded, waiting, staff_client):
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    block = seeded.transition("BLOCK_THE_PACKAGE", 100, 350)

    response = staff_client.get(change_url(waiting))

    allowed = commands_for_states([waiting.state_id], "oms_web")[waiting.state_id]
    buttons = response.context["command_buttons"]
    assert sorted(b.transition.pk for b in buttons) == sorted(t.pk for t in allowed)
    # Pack is the one primary command of a Waiting package; the rest is under "More".
    assert [(b.transition.pk, b.label) for b in response.context["primary_commands"]] == [(pack.pk, "Pack")]
    assert len(response.context["more_commands"]) == len(allowed) - 1
    by_command = {b.transition.pk: b for b in buttons}
    assert by_command[pack.pk].needs_input is False       # confirmed in place, then POSTed
    assert by_command[block.pk].needs_input is True       # optional reason: opens the form
    content = response.content.decode()
    assert f'<form method="post" action="{command_url(waiting, pack)}" class="oms-confirm-box">' in content
    assert f'href="{command_url(waiting, block)}" title="Block (Waiting → Blocked)"' in content
    assert 'title="Pack (Waiting → Packed)" data-testid="primary-command"' in content
    # The package itself is not edited here: no save buttons.
    assert 'name="_save"' not in content
    assert 'name="_continue"' not in content


def test_buttons_follow_the_users_channel(seeded, waiting, staff_user, staff_client):
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    pack.ui_visibility = ["oms_web"]
    pack.save()
    Profile.objects.create(user=staff_user, channel="third_party")

    response = staff_client.get(change_url(waiting))

    assert pack.pk not in [b.transition.pk for b in response.context["command_buttons"]]
    assert len(response.context["command_buttons"]) == len(
        commands_for_states([waiting.state_id], "third_party")[waiting.state_id])


def test_transfer_page_shows_the_commands_allowed_now(seeded, waiting, staff_client):
    transfer = transfer_create(package=waiting, source=StockLocationFactory(is_transfer_center=True),
                               items=list(waiting.packageitem_set.all()))

    response = staff_client.get(change_url(transfer))

    allowed = commands_for_states([transfer.state_id], "oms_web")[transfer.state_id]
    assert response.status_code == 200
    assert response.context["command_buttons_shown"] is True
    assert sorted(b.transition.pk for b in response.context["command_buttons"]) == sorted(
        t.pk for t in allowed)
    assert [b.label for b in response.context["primary_commands"]] == ["Ready for dispatch", "Dispatch"]
    assert 'id="object-commands"' in response.content.decode()


# -- running a command without input ---------------------------------------------------------------
def test_pack_button_packs_a_waiting_package(seeded, waiting, store, staff_user, staff_client):
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    assert StockLocation.objects.get(pk=store.pk).quota == 1

    response = staff_client.post(command_url(waiting, pack))

    assert response.status_code == 302
    assert response["Location"] == change_url(waiting)
    package = Package.objects.get(pk=waiting.pk)
    assert package.status == 500
    assert package.state == seeded.state(500)
    assert StockLocation.objects.get(pk=store.pk).quota == 0
    assert list(Stock.objects.filter(stock_location=store).values_list("sku", "quantity", "reserved")) \
        == [("SKU-RED", 8, 0)]
    [log] = package_logs(waiting)
    assert log.user == staff_user
    assert (log.old_state, log.new_state) == (seeded.state(100), seeded.state(500))
    assert log.attributes == {"command": {"slug": "package__complete_packaging__waiting__packed",
                                          "transition_id": pack.pk, "command": "COMPLETE_PACKAGING"},
                              "input_parameters": {}, "idempotency_key": None}
    assert messages_of(response) == [("success", f"Pack done: {waiting.number} is now Packed.")]


def test_get_on_a_command_url_only_shows_the_confirmation(seeded, waiting, staff_client):
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    before = snapshot(waiting)

    response = staff_client.get(command_url(waiting, pack))

    assert response.status_code == 200
    assert response.template_name == "admin/command_form.html"
    assert "This command takes no input." in response.content.decode()
    assert snapshot(waiting) == before


def test_refused_command_shows_the_api_message_and_changes_nothing(seeded, waiting, staff_client):
    # Preparing -> Packed: not the package's state (Waiting).
    pack_from_preparing = seeded.transition("COMPLETE_PACKAGING", 200, 500)
    before = snapshot(waiting)

    response = staff_client.post(command_url(waiting, pack_from_preparing))

    assert response.status_code == 302
    assert response["Location"] == change_url(waiting)
    assert messages_of(response) == [
        ("error", f"{waiting.number} is Waiting now; Pack needs Preparing.")]
    assert snapshot(waiting) == before
    assert before["status"] == 100 and before["quota"] == 1 and before["logs"] == 0


def test_transition_invisible_to_the_channel_is_refused(seeded, waiting, staff_user, staff_client):
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    pack.ui_visibility = ["oms_web"]
    pack.save()
    Profile.objects.create(user=staff_user, channel="instore").stock_locations.set(
        [waiting.stock_location])
    before = snapshot(waiting)

    response = staff_client.post(command_url(waiting, pack))

    assert messages_of(response) == [("error", "Pack is not available to your channel (instore).")]
    assert snapshot(waiting) == before


def test_instore_operator_cannot_reach_another_locations_package(seeded, waiting, staff_user,
                                                                 staff_client):
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    Profile.objects.create(user=staff_user, channel="instore").stock_locations.set(
        [StockLocationFactory()])
    before = snapshot(waiting)

    page = staff_client.get(change_url(waiting))
    response = staff_client.post(command_url(waiting, pack))

    assert page.status_code == 302
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    assert snapshot(waiting) == before


def test_command_of_another_object_type_is_not_found(seeded, waiting, staff_client):
    dispatch = seeded.transition("TRANSFER_DISPATCH", "waiting", "in_transit")
    before = snapshot(waiting)

    response = staff_client.post(command_url(waiting, dispatch))

    assert messages_of(response) == [("error", "This command does not exist (any more) for packages.")]
    assert snapshot(waiting) == before


# -- commands with input ---------------------------------------------------------------------------
@pytest.fixture
def packed(seeded, waiting, staff_user):
    command_run(object_type="package", object_id=waiting.pk,
                transition_id=seeded.transition("COMPLETE_PACKAGING", 100, 500).pk,
                actor=staff_user, channel="oms_web")
    return Package.objects.get(pk=waiting.pk)


def test_advanced_ship_form_is_built_from_the_input_serializer(seeded, packed, staff_client):
    cargo = CargoCompanyFactory(name="Yurtiçi Kargo", code="yurtici")
    CargoCompanyFactory(name="Old cargo", code="old", is_active=False)
    ship = seeded.transition("SHIP_THE_PACKAGE_ADVANCED", 500, 550)
    ship.input_defaults = {"tracking_number": "PRE-000", "cargo_company": "yurtici"}
    ship.save()

    response = staff_client.get(command_url(packed, ship))

    form = response.context["form"]
    assert list(form.fields) == ["tracking_number", "cargo_company"]
    assert form.fields["tracking_number"].required is True
    assert list(form.fields["cargo_company"].queryset) == [cargo]       # active companies only
    assert form.initial == {"tracking_number": "PRE-000", "cargo_company": "yurtici"}
    content = response.content.decode()
    assert 'name="tracking_number"' in content and 'value="PRE-000"' in content
    assert f'<option value="{cargo.pk}" selected>Yurtiçi Kargo</option>' in content


def test_advanced_ship_through_the_form(seeded, packed, staff_user, staff_client):
    cargo = CargoCompanyFactory(name="Yurtiçi Kargo", code="yurtici")
    ship = seeded.transition("SHIP_THE_PACKAGE_ADVANCED", 500, 550)

    response = staff_client.post(command_url(packed, ship),
                                 {"tracking_number": "TRK-123", "cargo_company": str(cargo.pk)})

    assert response.status_code == 302
    assert response["Location"] == change_url(packed)
    package = Package.objects.get(pk=packed.pk)
    assert (package.status, package.state) == (550, seeded.state(550))
    shipment = Shipment.objects.get(package=package)
    assert (shipment.status, shipment.tracking_number, shipment.cargo_company) == ("shipped", "TRK-123",
                                                                                   cargo)
    assert shipment.shipped_date is not None
    log = package_logs(packed)[0]
    assert log.user == staff_user
    assert log.attributes["command"]["command"] == "SHIP_THE_PACKAGE_ADVANCED"
    assert log.attributes["input_parameters"] == {"tracking_number": "TRK-123", "cargo_company": cargo.pk}
    assert messages_of(response) == [("success", f"Ship done: {packed.number} is now Shipped.")]


def test_advanced_ship_form_with_missing_input_runs_nothing(seeded, packed, staff_client):
    cargo = CargoCompanyFactory(code="yurtici")
    ship = seeded.transition("SHIP_THE_PACKAGE_ADVANCED", 500, 550)
    before = snapshot(packed)

    response = staff_client.post(command_url(packed, ship),
                                 {"tracking_number": "", "cargo_company": cargo.pk})

    assert response.status_code == 200
    assert response.context["form"].errors == {"tracking_number": ["This field is required."]}
    assert snapshot(packed) == before


def test_ship_form_offers_this_packages_items(seeded, packed, staff_user, staff_client):
    ship = seeded.transition("SHIP_THE_PACKAGE", 500, 550)
    [item] = packed.packageitem_set.all()

    page = staff_client.get(command_url(packed, ship))
    response = staff_client.post(command_url(packed, ship), {"package_items": [str(item.pk)]})

    assert page.context["form"].fields["package_items"].choices == [
        (item.pk, f"#{item.pk}: 2 x SKU-RED (packed)")]
    assert response.status_code == 302
    assert Package.objects.get(pk=packed.pk).status == 550
    assert package_logs(packed)[0].attributes["input_parameters"] == {"package_items": [item.pk]}


def test_block_with_optional_reason_left_empty(seeded, waiting, staff_client):
    block = seeded.transition("BLOCK_THE_PACKAGE", 100, 350)

    response = staff_client.post(command_url(waiting, block), {"reason": ""})

    package = Package.objects.get(pk=waiting.pk)
    assert response.status_code == 302
    assert (package.status, package.previous_state) == (350, seeded.state(100))
    assert package_logs(waiting)[0].attributes["input_parameters"] == {}


def test_invalid_input_refused_by_the_dispatcher_shows_the_form_again(seeded, packed, staff_client):
    invoice = seeded.transition("UPDATE_INVOICE", 500, 500)
    before = snapshot(packed)

    response = staff_client.post(command_url(packed, invoice),
                                 {"invoice_number": "INV-1", "document": "not base64!"})

    assert response.status_code == 200
    assert response.template_name == "admin/command_form.html"
    assert messages_of(response) == [
        ("error", f"{packed.number}: Update invoice needs other input: document: Must be base64-encoded.")]
    assert response.context["form"]["invoice_number"].value() == "INV-1"
    assert response.context["form"].errors == {"document": ["Must be base64-encoded."]}
    assert snapshot(packed) == before


# -- permissions and CSRF ------------------------------------------------------------------------------
@pytest.fixture
def viewer(db):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_package"))
    return user


def test_user_without_change_permission_sees_no_buttons_and_gets_403(seeded, waiting, viewer):
    client = Client()
    client.force_login(viewer)
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    before = snapshot(waiting)

    page = client.get(change_url(waiting))
    form = client.get(command_url(waiting, pack))
    response = client.post(command_url(waiting, pack))

    assert page.status_code == 200
    assert "command_buttons" not in page.context
    assert 'data-testid="primary-command"' not in page.content.decode()
    assert 'data-testid="state-badge" data-variant="info" data-status="waiting">Waiting<' in (
        page.content.decode())
    assert form.status_code == 403
    assert response.status_code == 403
    assert snapshot(waiting) == before


def test_command_post_without_csrf_token_is_refused(seeded, waiting, staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    before = snapshot(waiting)

    response = client.post(command_url(waiting, pack))

    assert response.status_code == 403
    assert snapshot(waiting) == before


def test_anonymous_user_is_sent_to_the_login_page(seeded, waiting, client):
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    before = snapshot(waiting)

    response = client.post(command_url(waiting, pack))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert snapshot(waiting) == before


# -- transfers ---------------------------------------------------------------------------------------
@pytest.fixture
def transfer(seeded, waiting):
    warehouse = StockLocationFactory(erp_code="WH01", is_transfer_center=True)
    return transfer_create(package=waiting, source=warehouse, items=list(waiting.packageitem_set.all()))


def test_transfer_ready_for_dispatch_with_shipment_through_the_form(seeded, transfer, staff_user,
                                                                    staff_client):
    cargo = CargoCompanyFactory(name="Aras Kargo", code="aras")
    advanced = seeded.transition("TRANSFER_ORDER_ADVANCED", "waiting", "ready_to_shipment")

    page = staff_client.get(change_url(transfer))
    response = staff_client.post(command_url(transfer, advanced),
                                 {"cargo_company": str(cargo.pk), "tracking_number": "TR-77"})

    assert advanced.pk in [b.transition.pk for b in page.context["command_buttons"]]
    assert response.status_code == 302
    assert response["Location"] == change_url(transfer)
    transfer = TransferOrder.objects.select_related("shipment").get(pk=transfer.pk)
    assert (transfer.status, transfer.state) == ("ready_to_shipment",
                                                 seeded.state("ready_to_shipment", "TransferStatus"))
    assert (transfer.shipment.cargo_company, transfer.shipment.tracking_number) == (cargo, "TR-77")
    log = StateTransitionLog.objects.get(content_type=ContentType.objects.get_for_model(TransferOrder),
                                         object_id=transfer.pk)
    assert log.user == staff_user
    assert log.attributes["input_parameters"] == {"cargo_company": cargo.pk, "tracking_number": "TR-77"}
    assert messages_of(response) == [
        ("success", f"Ready for dispatch done: {transfer.number} is now Ready to Shipment.")]


def test_transfer_out_of_stock_form_offers_this_transfers_items(seeded, transfer, staff_client):
    out_of_stock = seeded.transition("TRANSFER_OUT_OF_STOCK", "waiting", "out_of_stock")
    [item] = transfer.transferitem_set.all()

    response = staff_client.get(command_url(transfer, out_of_stock))

    assert response.context["form"].fields["transfer_items"].choices == [
        (item.pk, f"#{item.pk}: 2 x SKU-RED (waiting)")]
