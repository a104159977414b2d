"""Spec §3.2: every refusal of the command endpoint, in order, with its exact body — and a
refused command changes nothing."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Profile
from commands import cache
from commands.models import StateTransitionLog, Transition
from packages.models import Package
from tests.conftest import api_client_for
from tests.factories import StockLocationFactory, UserFactory, make_package
from tests.snapshots import db_snapshot

NOT_ALLOWED = {"error": {"non_field_errors": "Command definition is not allowed! Check source & "
                                            "destination states of command to be created",
                         "error_code": "commands_100_1"}, "status_code": 406}


def operator(channel: str):
    """A non-staff API user allowed to run package commands, on ``channel``."""
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="change_package"))
    Profile.objects.create(user=user, channel=channel)
    return user


def url(package) -> str:
    return f"/api/v1/oms/packages/{package.pk}/command/"


def test_neither_transition_nor_slug_is_400(api, seeded):
    package = make_package()
    before = db_snapshot()

    response = api.post(url(package), {"input_parameters": {}}, format="json")

    assert response.status_code == 400
    assert response.json() == {"error": {"non_field_errors": "transition or slug required"},
                               "status_code": 400}
    assert db_snapshot() == before


def test_id_and_slug_naming_different_transitions_is_mismatch(api, seeded):
    package = make_package()
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    block = seeded.transition("BLOCK_THE_PACKAGE", 100, 350)
    before = db_snapshot()

    response = api.post(url(package), {"transition": pack.pk, "slug": block.slug}, format="json")

    assert response.status_code == 406
    assert response.json() == {"error": {"non_field_errors": "Command id and slug mismatch",
                                         "error_code": "commands_100_5"}, "status_code": 406}
    assert db_snapshot() == before


def test_id_existing_with_unknown_slug_is_mismatch(api, seeded):
    package = make_package()
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)

    response = api.post(url(package), {"transition": pack.pk, "slug": "no-such-slug"}, format="json")

    assert response.status_code == 406
    assert response.json()["error"]["error_code"] == "commands_100_5"
    assert Package.objects.get().status == 100


NOT_FOUND = {"error": {"non_field_errors": "Command definition not found",
                       "error_code": "commands_100_2"}, "status_code": 406}


@pytest.mark.parametrize("body", [{"transition": 999999}, {"slug": "no-such-slug"},
                                  {"transition": 999999, "slug": "no-such-slug"}])
def test_unknown_transition_is_not_found(api, seeded, body):
    package = make_package()
    before = db_snapshot()

    response = api.post(url(package), body, format="json")

    assert response.status_code == 406
    assert response.json() == NOT_FOUND
    assert db_snapshot() == before


def test_inactive_transition_is_not_found(api, seeded):
    package = make_package()
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    Transition.objects.filter(pk=pack.pk).update(is_active=False)
    before = db_snapshot()

    response = api.post(url(package), {"transition": pack.pk}, format="json")

    assert response.status_code == 406
    assert response.json() == NOT_FOUND
    assert db_snapshot() == before


def test_transfer_transition_on_a_package_is_not_found(api, seeded):
    package = make_package()
    dispatch = Transition.objects.filter(command="TRANSFER_DISPATCH").first()

    response = api.post(url(package), {"slug": dispatch.slug}, format="json")

    assert response.status_code == 406
    assert response.json() == NOT_FOUND


def test_transition_hidden_from_callers_channel_is_403(seeded):
    package = make_package()
    user = operator("third_party")
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    Transition.objects.filter(pk=pack.pk).update(ui_visibility=["oms_web"])
    before = db_snapshot()

    response = api_client_for(user).post(url(package), {"transition": pack.pk}, format="json")

    assert response.status_code == 403
    assert response.json() == {"error": {"non_field_errors": "Command definition is not available "
                                                             "for your channel",
                                         "error_code": "commands_100_3"}, "status_code": 403}
    assert db_snapshot() == before


def test_wrong_source_state_is_not_allowed(api, seeded):
    package = make_package()
    ship = seeded.transition("SHIP_THE_PACKAGE", 500, 550)
    before = db_snapshot()

    response = api.post(url(package), {"transition": ship.pk, "slug": ship.slug}, format="json")

    assert response.status_code == 406
    assert response.json() == NOT_ALLOWED
    assert db_snapshot() == before


def test_same_status_other_state_is_not_allowed(api, seeded):
    """The check is on the state row, not only the status: two states may share a status."""
    package = make_package(status=100)
    custom = seeded.state(100)
    custom.pk = None
    custom.slug, custom.name = "waiting-marketplace", "Waiting – Marketplace"
    custom.save()
    pack_from_custom = Transition.objects.create(
        label="Pack", command="COMPLETE_PACKAGING", source_state=custom,
        destination_state=seeded.state(500))

    response = api.post(url(package), {"transition": pack_from_custom.pk}, format="json")

    assert response.status_code == 406
    assert response.json() == NOT_ALLOWED


def test_invalid_input_parameters_is_400_with_field_errors(api, seeded):
    package = make_package(status=500)
    ship = seeded.transition("SHIP_THE_PACKAGE_ADVANCED", 500, 550)
    before = db_snapshot()

    response = api.post(url(package), {"transition": ship.pk,
                                       "input_parameters": {"cargo_company": "no-such-carrier"}},
                        format="json")

    assert response.status_code == 400
    assert response.json() == {"error": {"tracking_number": ["This field is required."],
                                         "cargo_company": ["Unknown cargo company 'no-such-carrier'."],
                                         "error_code": "commands_100_4"}, "status_code": 400}
    assert db_snapshot() == before


def test_input_parameters_not_an_object_is_400(api, seeded):
    package = make_package()
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)

    response = api.post(url(package), {"transition": pack.pk, "input_parameters": [1, 2]}, format="json")

    assert response.status_code == 400
    assert response.json()["status_code"] == 400
    assert "input_parameters" in response.json()["error"]
    assert Package.objects.get().status == 100


def test_business_rule_refusal_uses_the_apps_error_code(api, seeded):
    package = make_package(status=500)
    other = make_package(status=500)
    foreign_item = other.packageitem_set.get()
    ship = seeded.transition("SHIP_THE_PACKAGE", 500, 550)
    before = db_snapshot()

    response = api.post(url(package), {"transition": ship.pk,
                                       "input_parameters": {"package_items": [foreign_item.pk]}},
                        format="json")

    assert response.status_code == 406
    assert response.json() == {"error": {
        "non_field_errors": f"Package item(s) {foreign_item.pk} do not belong to package {package.number}.",
        "error_code": "packages_200_1"}, "status_code": 406}
    assert db_snapshot() == before


@pytest.mark.parametrize("package_id", ["999999", "abc"])
def test_unknown_package_is_404(api, seeded, package_id):
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)

    response = api.post(f"/api/v1/oms/packages/{package_id}/command/", {"transition": pack.pk},
                        format="json")

    assert response.status_code == 404
    assert response.json() == {"error": {"detail": "Not found."}, "status_code": 404}


def test_transition_id_must_be_an_integer(api, seeded):
    package = make_package()

    response = api.post(url(package), {"transition": "three"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"error": {"transition": ["A valid integer is required."]},
                               "status_code": 400}


def test_success_by_slug_alone_moves_state_and_logs(api, seeded):
    package = make_package()
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)

    response = api.post(url(package), {"slug": pack.slug}, format="json")

    assert response.status_code == 200
    package.refresh_from_db()
    assert (package.status, package.state_id) == (500, pack.destination_state_id)
    log = StateTransitionLog.objects.get()
    assert (log.object_id, log.old_state_id, log.new_state_id, log.user_id) == (
        package.pk, pack.source_state_id, pack.destination_state_id, api.user.pk)
    assert log.content_type.model == "package"
    assert log.attributes == {"command": {"slug": pack.slug, "transition_id": pack.pk,
                                          "command": "COMPLETE_PACKAGING"},
                              "input_parameters": {}, "idempotency_key": None}


def test_input_defaults_are_merged_under_the_callers_values(api, seeded):
    package = make_package(status=500)
    ship = seeded.transition("SHIP_THE_PACKAGE_ADVANCED", 500, 550)
    from tests.factories import CargoCompanyFactory

    CargoCompanyFactory(code="aras", name="Aras")
    Transition.objects.filter(pk=ship.pk).update(
        input_defaults={"cargo_company": "aras", "tracking_number": "DEFAULT"})

    response = api.post(url(package), {"transition": ship.pk,
                                       "input_parameters": {"tracking_number": "TRK-1"}}, format="json")

    assert response.status_code == 200
    package.refresh_from_db()
    assert (package.shipment.tracking_number, package.shipment.cargo_company.code) == ("TRK-1", "aras")
    assert StateTransitionLog.objects.get().attributes["input_parameters"] == {
        "cargo_company": "aras", "tracking_number": "TRK-1"}


def test_command_endpoint_query_count_does_not_grow_with_items(api, seeded, django_assert_num_queries):
    location = StockLocationFactory()
    small = make_package(location=location, items=1)
    large = make_package(location=location, items=25)
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    # per-process caches, warm in a running server
    cache.commands_config(), cache.subscription_index(), ContentType.objects.get_for_model(Package)

    with CaptureQueriesContext(connection) as small_queries:
        assert api.post(url(small), {"transition": pack.pk}, format="json").status_code == 200
    with django_assert_num_queries(len(small_queries)):
        assert api.post(url(large), {"transition": pack.pk}, format="json").status_code == 200
    assert len(small_queries) == PACK_QUERIES


# Pinned: token+user+profile, savepoint, package lock (with the configuration's version and the
# order locked), package read with its relations (shipment, the order's other packages' statuses,
# its items with their reservations), stock moved + reservations deleted + shipment inserted (one
# statement), the package's row + its items' statuses + the order's status + the log row + the
# quota (one statement), savepoint release: 7 on PostgreSQL.
# SQLite reads the items on its own and writes reservations delete, shipment, package row, order
# status and quota as statements of their own (+7).
# No subscription wants the events: none is built or written (tests/packages/test_query_counts.py
# pins pack and ship with subscriptions).
PACK_QUERIES = 7 if connection.vendor == "postgresql" else 14


def test_user_without_change_permission_cannot_run_commands(seeded):
    package = make_package()
    reader = UserFactory()
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    before = db_snapshot()

    response = api_client_for(reader).post(url(package), {"transition": pack.pk}, format="json")

    assert response.status_code == 403
    assert response.json() == {"error": {"detail": "You do not have permission to perform this action."},
                               "status_code": 403}
    assert db_snapshot() == before
