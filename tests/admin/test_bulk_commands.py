"""Bulk commands from the package list (issue 11 item 5): select packages, run a command on all of
them — each through the dispatcher in its own transaction — with one summary; a command with input
asks it once (tracking numbers once per package)."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from commands.dispatcher import command_run
from commands.models import StateTransitionLog
from packages.models import Package, Shipment
from tests.factories import CargoCompanyFactory, OrderFactory, StockLocationFactory, UserFactory, make_package

CHANGELIST = reverse("admin:packages_package_changelist")


def messages_of(response):
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def states(packages):
    return [Package.objects.get(pk=p.pk).state.name for p in packages]


def choose(action, packages):
    """The list's "Go": the action and the selected rows."""
    return {"action": action, "index": "0", "_selected_action": [str(p.pk) for p in packages]}


def confirm(action, packages, **inputs):
    """The confirmation page's button."""
    return {"action": action, "post": "yes", "_selected_action": [str(p.pk) for p in packages], **inputs}


@pytest.fixture
def store():
    return StockLocationFactory(name="Kadıköy", erp_code="KDK01", max_quota=10)


@pytest.fixture
def waiting(seeded, store):
    return [make_package(location=store, skus={f"SKU-{n}": 1}, order=OrderFactory(number=f"WEB-24010{n}"))
            for n in (1, 2, 3)]


@pytest.fixture
def packed_one(seeded, store, staff_user):
    package = make_package(location=store, skus={"SKU-9": 1}, order=OrderFactory(number="WEB-240109"))
    command_run(object_type="package", object_id=package.pk, actor=staff_user, channel="oms_web",
                transition_id=seeded.transition("COMPLETE_PACKAGING", 100, 500).pk)
    return Package.objects.get(pk=package.pk)


def test_the_package_list_offers_the_command_actions(seeded, waiting, staff_client):
    response = staff_client.get(CHANGELIST)

    choices = dict(response.context["action_form"].fields["action"].choices)
    assert choices["command_pack"] == "Pack selected packages"
    assert {"command_ship", "command_ready_for_pickup", "command_hand_over", "command_delivered",
            "command_unblock", "command_block", "command_cancel"} <= set(choices)
    assert "command_refuse" not in choices  # per package: a reason each, not in bulk


def test_bulk_pack_asks_for_confirmation_then_packs_each_and_sums_up(seeded, waiting, packed_one, staff_user,
                                                                     staff_client):
    selected = [*waiting, packed_one]

    page = staff_client.post(CHANGELIST, choose("command_pack", selected))

    assert page.status_code == 200
    assert page.template_name == "admin/oms/bulk_command.html"
    assert [(r["object"].pk, r["runnable"]) for r in page.context["rows"]] == [
        *((p.pk, True) for p in waiting), (packed_one.pk, False)]
    assert states(waiting) == ["Waiting"] * 3  # nothing ran yet

    response = staff_client.post(CHANGELIST, confirm("command_pack", selected))

    assert response.status_code == 302
    assert states(selected) == ["Packed"] * 4
    assert messages_of(response) == [(
        "warning", "3 packed; WEB-240109P1 refused: it is Packed now; Pack needs Waiting, Preparing or "
                   "Ready for Packaging")]
    # One log row per package, written by the dispatcher for this user.
    logs = StateTransitionLog.objects.filter(object_id__in=[p.pk for p in waiting], user=staff_user)
    assert sorted(log.object_id for log in logs) == sorted(p.pk for p in waiting)
    assert Shipment.objects.filter(package__in=waiting).count() == 3


def test_a_refusal_in_the_middle_leaves_the_others_done(seeded, waiting, staff_client):
    # The second package is packed by someone else between the confirmation page and the run.
    command_run(object_type="package", object_id=waiting[1].pk, channel="oms_web",
                transition_id=seeded.transition("COMPLETE_PACKAGING", 100, 500).pk)
    logs_before = StateTransitionLog.objects.count()

    response = staff_client.post(CHANGELIST, confirm("command_pack", waiting))

    assert states(waiting) == ["Packed"] * 3
    assert StateTransitionLog.objects.count() == logs_before + 2
    assert messages_of(response) == [(
        "warning", "2 packed; WEB-240102P1 refused: it is Packed now; Pack needs Waiting, Preparing or "
                   "Ready for Packaging")]


def test_bulk_ship_asks_the_cargo_company_once_and_a_tracking_number_per_package(
        seeded, waiting, staff_client, staff_user):
    cargo = CargoCompanyFactory(name="Yurtiçi Kargo", code="yurtici")
    for package in waiting:
        command_run(object_type="package", object_id=package.pk, actor=staff_user, channel="oms_web",
                    transition_id=seeded.transition("COMPLETE_PACKAGING", 100, 500).pk)

    page = staff_client.post(CHANGELIST, choose("command_ship", waiting))
    inputs = {"cargo_company": str(cargo.pk)} | {f"tracking_number__{p.pk}": f"YK-{n}"
                                                 for n, p in enumerate(waiting)}
    response = staff_client.post(CHANGELIST, confirm("command_ship", waiting, **inputs))

    assert [f.name for f in page.context["shared_fields"]] == ["cargo_company"]
    assert [[f.name for f in row["fields"]] for row in page.context["rows"]] == [
        [f"tracking_number__{p.pk}"] for p in waiting]
    assert states(waiting) == ["Shipped"] * 3
    shipments = Shipment.objects.filter(package__in=waiting).values_list("tracking_number", "cargo_company")
    assert sorted(shipments) == [("YK-0", cargo.pk), ("YK-1", cargo.pk), ("YK-2", cargo.pk)]
    assert messages_of(response) == [("success", "3 shipped")]


def test_bulk_ship_with_a_tracking_number_missing_runs_nothing(seeded, waiting, staff_client, staff_user):
    cargo = CargoCompanyFactory(code="yurtici")
    for package in waiting:
        command_run(object_type="package", object_id=package.pk, actor=staff_user, channel="oms_web",
                    transition_id=seeded.transition("COMPLETE_PACKAGING", 100, 500).pk)
    logs = StateTransitionLog.objects.count()

    response = staff_client.post(CHANGELIST, confirm("command_ship", waiting, cargo_company=str(cargo.pk),
                                                     **{f"tracking_number__{waiting[0].pk}": "YK-0"}))

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {f"tracking_number__{p.pk}" for p in waiting[1:]}
    assert states(waiting) == ["Packed"] * 3
    assert StateTransitionLog.objects.count() == logs


def test_bulk_block_asks_the_reason_once(seeded, waiting, staff_client):
    response = staff_client.post(CHANGELIST, confirm("command_block", waiting, reason="Inventory count"))

    assert states(waiting) == ["Blocked"] * 3
    reasons = {log.attributes["input_parameters"]["reason"]
               for log in StateTransitionLog.objects.filter(object_id__in=[p.pk for p in waiting])}
    assert reasons == {"Inventory count"}
    assert messages_of(response) == [("success", "3 blocked")]


def test_a_user_who_may_only_view_packages_gets_no_command_actions(seeded, waiting):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_package"))
    client = Client()
    client.force_login(viewer)

    page = client.get(CHANGELIST)
    client.post(CHANGELIST, confirm("command_pack", waiting))

    assert page.status_code == 200
    assert page.context["action_form"] is None  # no action at all: nothing to select rows for
    assert states(waiting) == ["Waiting"] * 3
