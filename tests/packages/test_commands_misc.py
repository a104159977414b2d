"""Pre-packing moves, deallocation, refund packing, invoices and not-yet-built command types
through the API (spec §4, §5)."""

import base64

import pytest

from commands.models import State, StateTransitionLog, Transition
from commands.registry import declare_command_type, registry
from orders.models import Order
from packages.models import Shipment
from tests.factories import StockLocationFactory, make_package
from tests.packages.helpers import (
    command,
    item_statuses,
    last_log,
    logged,
    quota,
    reload,
    reservations,
    seed_body,
    stocks,
    world,
)


# -- helpers of this file (shared ones: tests/packages/helpers.py) ---------------------------------
def custom_transition(command_code, source, destination):
    transition = Transition(label=f"{command_code} {source.slug} -> {destination.slug}",
                            command=command_code, source_state=source, destination_state=destination)
    transition.full_clean()
    transition.save()
    return transition


# -- PKG_STATE_TRANSITION -------------------------------------------------------------------------
@pytest.mark.parametrize(("source", "destination", "quota_before", "quota_after"), [
    (100, 400, 1, 0),
    (400, 100, 0, 1),
    (100, 200, 1, 1),
    (200, 150, 1, 1),
    (150, 400, 1, 0),
    (400, 200, 0, 1),
])
def test_state_transition_moves_the_package_and_only_quota_follows(
        seeded, api, source, destination, quota_before, quota_after):
    location = StockLocationFactory()
    package = make_package(location=location, skus={"A": 2}, status=source)
    transition = seeded.transition("PKG_STATE_TRANSITION", source, destination)
    assert quota(location) == quota_before

    response = command(api, package, transition)

    assert response.status_code == 200
    package = reload(package)
    assert response.json() == seed_body(package)
    assert (package.status, package.state_id) == (destination, seeded.state(destination).pk)
    assert package.state.status == package.status
    assert quota(location) == quota_after
    assert stocks(location) == {"A": (10, 2)}
    assert reservations(package) == [("A", 2)]
    assert item_statuses(package) == [package.state.slug.replace("-", "_")]
    assert Shipment.objects.count() == 0
    assert Order.objects.get(pk=package.order_id).status == 400
    assert last_log(package) == logged(api, transition, seeded.state(source), seeded.state(destination))


def test_state_transition_into_a_second_state_of_the_same_status(seeded, api):
    # given: an operator-made "Waiting – Marketplace" state (status 100) and a move into it
    marketplace = State.objects.create(name="Waiting – Marketplace", slug="waiting-marketplace",
                                       enum_class="PackageStatus", enum_value="100")
    into = custom_transition("PKG_STATE_TRANSITION", seeded.state(100), marketplace)
    location = StockLocationFactory()
    package = make_package(location=location, skus={"A": 1})
    logs_before = StateTransitionLog.objects.count()

    # when
    response = command(api, package, into)

    # then: the state changes, the status (and so quota, items, order) does not
    assert response.status_code == 200
    package = reload(package)
    assert response.json() == seed_body(package)
    assert (package.status, package.state_id) == (100, marketplace.pk)
    assert package.state.status == package.status
    assert quota(location) == 1
    assert reservations(package) == [("A", 1)]
    assert item_statuses(package) == ["waiting"]
    assert StateTransitionLog.objects.count() == logs_before + 1
    assert last_log(package) == logged(api, into, seeded.state(100), marketplace)
    detail = api.get(f"/api/v1/oms/packages/{package.pk}/").json()
    assert (detail["status"], detail["state"]["id"], detail["commands"]) == (100, marketplace.pk, [])

    # and the seeded transitions from plain Waiting no longer apply to it
    before = world()
    response = command(api, package, seeded.transition("COMPLETE_PACKAGING", 100, 500))
    assert response.status_code == 406
    assert response.json()["error"]["error_code"] == "commands_100_1"
    assert world() == before

    # and leaving the custom state for Ready for Packaging releases the quota
    out = custom_transition("PKG_STATE_TRANSITION", marketplace, seeded.state(400))
    assert command(api, package, out).status_code == 200
    package = reload(package)
    assert (package.status, package.state_id) == (400, seeded.state(400).pk)
    assert quota(location) == 0
    assert last_log(package) == logged(api, out, marketplace, seeded.state(400))


# -- PKG_DEALLOCATE_RESERVATIONS ------------------------------------------------------------------
def test_deallocate_releases_the_packages_reservations_only(seeded, api):
    location = StockLocationFactory()
    package = make_package(location=location, skus={"A": 2, "B": 1})
    other = make_package(location=location, skus={"A": 3})
    assert stocks(location) == {"A": (10, 5), "B": (10, 1)}
    transition = seeded.transition("PKG_DEALLOCATE_RESERVATIONS", 100, 200)

    response = command(api, package, transition)

    assert response.status_code == 200
    package = reload(package)
    assert response.json() == seed_body(package)
    assert (package.status, package.state_id) == (200, seeded.state(200).pk)
    assert package.state.status == package.status
    assert stocks(location) == {"A": (10, 3), "B": (10, 0)}
    assert reservations(package) == []
    assert reservations(other) == [("A", 3)]
    assert quota(location) == 2
    assert item_statuses(package) == ["preparing", "preparing"]
    assert Order.objects.get(pk=package.order_id).status == 400
    assert last_log(package) == logged(api, transition, seeded.state(100), seeded.state(200))


# -- PACKED_FOR_REFUND ----------------------------------------------------------------------------
def test_packed_for_refund_from_waiting_releases_reservations_and_quota(seeded, api):
    location = StockLocationFactory()
    package = make_package(location=location, skus={"A": 2})
    transition = seeded.transition("PACKED_FOR_REFUND", 100, 1100)

    response = command(api, package, transition)

    assert response.status_code == 200
    package = reload(package)
    assert response.json() == seed_body(package)
    assert (package.status, package.state_id) == (1100, seeded.state(1100).pk)
    assert package.state.status == package.status
    assert stocks(location) == {"A": (10, 0)}
    assert reservations(package) == []
    assert quota(location) == 0
    assert Shipment.objects.count() == 0
    assert item_statuses(package) == ["packed_for_refund"]
    assert Order.objects.get(pk=package.order_id).status == 450
    assert last_log(package) == logged(api, transition, seeded.state(100), seeded.state(1100))


# -- UPDATE_INVOICE -------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [500, 550, 600])
def test_update_invoice_stores_the_invoice_and_keeps_the_state(seeded, api, status):
    package = make_package(skus={"A": 1})
    for code, source, destination in [("COMPLETE_PACKAGING", 100, 500), ("SHIP_THE_PACKAGE", 500, 550),
                                      ("UPDATE_PACKAGE_SHIPMENT_STATUS", 550, 600)]:
        if source < status:
            assert command(api, package, seeded.transition(code, source, destination)).status_code == 200
    document = base64.b64encode(b"%PDF-1.4 invoice").decode()
    params = {"invoice_number": "INV-2024-0001", "invoice_date": "2024-05-01T10:30:00Z",
              "document_type": "pdf", "document": document}
    transition = seeded.transition("UPDATE_INVOICE", status, status)
    order_status = Order.objects.get(pk=package.order_id).status

    response = command(api, package, transition, params)

    assert response.status_code == 200
    package = reload(package)
    assert response.json() == seed_body(package)
    assert (package.status, package.state_id) == (status, seeded.state(status).pk)
    assert (package.invoice_number, package.invoice_date.isoformat(), package.invoice_document_type,
            package.invoice_document) == ("INV-2024-0001", "2024-05-01T10:30:00+00:00", "pdf", document)
    assert Order.objects.get(pk=package.order_id).status == order_status
    assert last_log(package) == logged(api, transition, seeded.state(status), seeded.state(status),
                                       params)
    detail = api.get(f"/api/v1/oms/packages/{package.pk}/").json()
    assert (detail["invoice_number"], detail["invoice_date"], detail["invoice_document_type"]) == (
        "INV-2024-0001", "2024-05-01T10:30:00.000000Z", "pdf")


@pytest.mark.parametrize(("params", "errors"), [
    ({"invoice_number": "INV-1", "document": "not base64!"}, {"document": ["Must be base64-encoded."]}),
    ({"document": base64.b64encode(b"x").decode()}, {"invoice_number": ["This field is required."]}),
    ({"invoice_number": "INV-1", "invoice_date": "yesterday"},
     {"invoice_date": ["Datetime has wrong format. Use one of these formats instead: "
                       "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."]}),
], ids=["bad-base64", "no-number", "bad-date"])
def test_update_invoice_with_invalid_input_is_refused_and_changes_nothing(seeded, api, params, errors):
    package = make_package(skus={"A": 1})
    assert command(api, package, seeded.transition("COMPLETE_PACKAGING", 100, 500)).status_code == 200
    before = world()

    response = command(api, package, seeded.transition("UPDATE_INVOICE", 500, 500), params)

    assert response.status_code == 400
    assert response.json() == {"error": {**errors, "error_code": "commands_100_4"}, "status_code": 400}
    assert world() == before
    assert reload(package).invoice_document == ""


# -- declared command types whose behaviour is not built ------------------------------------------
@pytest.fixture
def unbuilt_command_type(seeded):
    """A command type declared (lifecycle known, configurable) but with no behaviour, as the OMS
    declares types before building them. Made here so the test does not depend on which real
    types are still unbuilt."""
    declared = declare_command_type("TEST_NOT_BUILT_YET", object_type="package", fsm_method="move")
    yield declared
    del registry.command_types[declared.code]


def test_a_declared_but_unbuilt_command_type_is_refused_and_changes_nothing(
        seeded, api, unbuilt_command_type):
    transition = custom_transition(unbuilt_command_type.code, seeded.state(100), seeded.state(400))
    location = StockLocationFactory()
    package = make_package(location=location, skus={"A": 1})
    before = world()

    response = command(api, package, transition)

    assert response.status_code == 406
    assert response.json() == {"error": {
        "non_field_errors": "Command type TEST_NOT_BUILT_YET is not available in this version of "
                            "the OMS.",
        "error_code": "commands_100_7"}, "status_code": 406}
    assert world() == before
    assert quota(location) == 1


def test_every_still_unbuilt_package_command_type_is_refused_and_changes_nothing(
        seeded, api, unbuilt_command_type):
    unbuilt = [c for c in registry.for_object_type("package") if not c.is_implemented]
    assert unbuilt_command_type in unbuilt
    for command_type in unbuilt:
        source, destination = min((s, d) for s, d in command_type.pairs if d is not None)
        transition = (Transition.objects.filter(
            command=command_type.code, source_state=seeded.state(source),
            destination_state=seeded.state(destination)).first()
            or custom_transition(command_type.code, seeded.state(source), seeded.state(destination)))
        package = make_package(skus={"A": 1}, status=source)
        before = world()

        response = command(api, package, transition)

        assert (response.status_code, response.json()["error"]["error_code"]) == (
            406, "commands_100_7"), command_type.code
        assert world() == before, command_type.code
