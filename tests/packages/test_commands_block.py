"""Block / unblock and cancellation requests through the API (spec §5): the state before is
remembered and restored exactly, memories nest, reservations stay and quota follows §4."""

import pytest
from django.contrib.contenttypes.models import ContentType

from commands.models import State, StateTransitionLog, Transition
from orders.models import Order
from packages.models import Package
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
def custom_state(name, slug, status):
    return State.objects.create(name=name, slug=slug, enum_class="PackageStatus",
                                enum_value=str(status))


def custom_transition(command_code, source, destination):
    transition = Transition(label=f"{command_code} {source.slug} -> {destination.slug}",
                            command=command_code, source_state=source, destination_state=destination)
    transition.full_clean()
    transition.save()
    return transition


def memory(package):
    package = reload(package)
    return package.previous_state_id, package.state_memory


# -- BLOCK_THE_PACKAGE / UNBLOCK_THE_PACKAGE ------------------------------------------------------
def test_block_from_preparing_then_unblock_returns_to_preparing(seeded, api):
    location = StockLocationFactory()
    package = make_package(location=location, skus={"A": 2}, status=200)
    block = seeded.transition("BLOCK_THE_PACKAGE", 200, 350)
    unblock = seeded.transition("UNBLOCK_THE_PACKAGE", 350)
    assert unblock.destination_state_id is None
    assert quota(location) == 1

    response = command(api, package, block, {"reason": "Customer called"})

    assert response.status_code == 200
    package = reload(package)
    assert response.json() == seed_body(package)
    assert (package.status, package.state_id) == (350, seeded.state(350).pk)
    assert package.state.status == package.status
    assert memory(package) == (seeded.state(200).pk, [])
    assert quota(location) == 1
    assert stocks(location) == {"A": (10, 2)}
    assert reservations(package) == [("A", 2)]
    assert item_statuses(package) == ["blocked"]
    assert Order.objects.get(pk=package.order_id).status == 400
    assert last_log(package) == logged(api, block, seeded.state(200), seeded.state(350),
                                       {"reason": "Customer called"})

    response = command(api, package, unblock)

    assert response.status_code == 200
    package = reload(package)
    assert response.json() == seed_body(package)
    assert (package.status, package.state_id) == (200, seeded.state(200).pk)
    assert package.state.status == package.status
    assert memory(package) == (None, [])
    assert quota(location) == 1
    assert stocks(location) == {"A": (10, 2)}
    assert reservations(package) == [("A", 2)]
    assert item_statuses(package) == ["preparing"]
    assert last_log(package) == logged(api, unblock, seeded.state(350), seeded.state(200))


@pytest.mark.parametrize("source", [100, 150, 200, 400])
def test_block_and_unblock_from_every_pre_packing_status(seeded, api, source):
    # 350 holds quota; 400 does not, so blocking a Ready for Packaging package takes one (§4).
    location = StockLocationFactory()
    package = make_package(location=location, skus={"A": 1}, status=source)
    quota_before = 1 if source < 400 else 0

    assert command(api, package, seeded.transition("BLOCK_THE_PACKAGE", source, 350)).status_code == 200
    assert quota(location) == 1
    assert reload(package).status == 350

    assert command(api, package, seeded.transition("UNBLOCK_THE_PACKAGE", 350)).status_code == 200
    package = reload(package)
    assert (package.status, package.state_id) == (source, seeded.state(source).pk)
    assert memory(package) == (None, [])
    assert quota(location) == quota_before
    assert reservations(package) == [("A", 1)]


def test_unblock_returns_to_the_custom_state_the_package_was_blocked_from(seeded, api):
    gift_wrap = custom_state("Preparing – Gift wrap", "preparing-gift-wrap", 200)
    into_gift_wrap = custom_transition("PKG_STATE_TRANSITION", seeded.state(200), gift_wrap)
    block = custom_transition("BLOCK_THE_PACKAGE", gift_wrap, seeded.state(350))
    location = StockLocationFactory()
    package = make_package(location=location, skus={"A": 1}, status=200)
    assert command(api, package, into_gift_wrap).status_code == 200
    assert reload(package).state_id == gift_wrap.pk

    assert command(api, package, block).status_code == 200
    assert memory(package) == (gift_wrap.pk, [])
    response = command(api, package, seeded.transition("UNBLOCK_THE_PACKAGE", 350))

    assert response.status_code == 200
    package = reload(package)
    assert (package.status, package.state_id) == (200, gift_wrap.pk)
    assert package.state.status == package.status
    assert memory(package) == (None, [])
    assert quota(location) == 1
    assert last_log(package)["new_state"] == gift_wrap.pk


def test_unblock_of_a_package_that_is_not_blocked_is_refused_and_changes_nothing(seeded, api):
    package = make_package(skus={"A": 1}, status=200)
    before = world()

    response = command(api, package, seeded.transition("UNBLOCK_THE_PACKAGE", 350))

    assert response.status_code == 406
    assert response.json()["error"]["error_code"] == "commands_100_1"
    assert world() == before


def test_block_with_a_reason_that_is_not_a_string_is_refused_and_changes_nothing(seeded, api):
    package = make_package(skus={"A": 1}, status=200)
    before = world()

    response = command(api, package, seeded.transition("BLOCK_THE_PACKAGE", 200, 350),
                       {"reason": ["not", "a", "string"]})

    assert response.status_code == 400
    assert response.json() == {"error": {"reason": ["Not a valid string."],
                                         "error_code": "commands_100_4"}, "status_code": 400}
    assert world() == before


# -- REQUEST_CANCELLATION / REJECT_CANCELLATION ---------------------------------------------------
def test_request_cancellation_from_waiting_keeps_quota_and_reject_restores_waiting(seeded, api):
    location = StockLocationFactory()
    package = make_package(location=location, skus={"A": 1})
    request = seeded.transition("REQUEST_CANCELLATION", 100, 50)
    reject = seeded.transition("REJECT_CANCELLATION", 50)
    assert reject.destination_state_id is None

    response = command(api, package, request, {"reason": "Customer changed their mind"})

    assert response.status_code == 200
    package = reload(package)
    assert response.json() == seed_body(package)
    assert (package.status, package.state_id) == (50, seeded.state(50).pk)
    assert package.state.status == package.status
    assert memory(package) == (seeded.state(100).pk, [])
    assert quota(location) == 1
    assert stocks(location) == {"A": (10, 1)}
    assert reservations(package) == [("A", 1)]
    assert item_statuses(package) == ["cancellation_waiting"]
    assert Order.objects.get(pk=package.order_id).status == 50
    assert last_log(package) == logged(api, request, seeded.state(100), seeded.state(50),
                                       {"reason": "Customer changed their mind"})

    response = command(api, package, reject, {"reason": "Already on the truck"})

    assert response.status_code == 200
    package = reload(package)
    assert response.json() == seed_body(package)
    assert (package.status, package.state_id) == (100, seeded.state(100).pk)
    assert memory(package) == (None, [])
    assert quota(location) == 1
    assert reservations(package) == [("A", 1)]
    assert item_statuses(package) == ["waiting"]
    assert Order.objects.get(pk=package.order_id).status == 400
    assert last_log(package) == logged(api, reject, seeded.state(50), seeded.state(100),
                                       {"reason": "Already on the truck"})


def test_cancellation_request_while_blocked_nests_and_unwinds_to_the_original_state(seeded, api):
    location = StockLocationFactory()
    package = make_package(location=location, skus={"A": 1}, status=200)
    blocked, preparing, waiting_cancel = seeded.state(350), seeded.state(200), seeded.state(50)

    assert command(api, package, seeded.transition("BLOCK_THE_PACKAGE", 200, 350)).status_code == 200
    assert memory(package) == (preparing.pk, [])

    assert command(api, package, seeded.transition("REQUEST_CANCELLATION", 350, 50)).status_code == 200
    package = reload(package)
    assert (package.status, package.state_id) == (50, waiting_cancel.pk)
    assert memory(package) == (blocked.pk, [preparing.pk])
    assert quota(location) == 1

    assert command(api, package, seeded.transition("REJECT_CANCELLATION", 50)).status_code == 200
    package = reload(package)
    assert (package.status, package.state_id) == (350, blocked.pk)
    assert memory(package) == (preparing.pk, [])
    assert quota(location) == 1
    assert last_log(package)["new_state"] == blocked.pk

    assert command(api, package, seeded.transition("UNBLOCK_THE_PACKAGE", 350)).status_code == 200
    package = reload(package)
    assert (package.status, package.state_id) == (200, preparing.pk)
    assert package.state.status == package.status
    assert memory(package) == (None, [])
    assert quota(location) == 1
    assert reservations(package) == [("A", 1)]
    assert StateTransitionLog.objects.filter(content_type=ContentType.objects.get_for_model(Package),
                                             object_id=package.pk).count() == 4


@pytest.mark.parametrize(("source", "quota_before"), [(100, 1), (150, 1), (200, 1), (400, 0)])
def test_cancellation_request_holds_quota_whatever_the_state_it_came_from(
        seeded, api, source, quota_before):
    # 50 holds quota (§4): from 400, which holds none, the request takes one; rejecting gives it back.
    location = StockLocationFactory()
    package = make_package(location=location, skus={"A": 1}, status=source)
    assert quota(location) == quota_before

    assert command(api, package, seeded.transition("REQUEST_CANCELLATION", source, 50)).status_code == 200
    assert (reload(package).status, quota(location)) == (50, 1)

    assert command(api, package, seeded.transition("REJECT_CANCELLATION", 50)).status_code == 200
    package = reload(package)
    assert (package.status, package.state_id) == (source, seeded.state(source).pk)
    assert memory(package) == (None, [])
    assert quota(location) == quota_before
    assert reservations(package) == [("A", 1)]
