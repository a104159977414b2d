"""Issue 9 item 2: a transfer has two sides. The source performs ready-for-dispatch, the advanced
variant, dispatch, product-not-found and out-of-stock; the destination performs delivered. A store
user on the other side is refused with 403 ``accounts_600_1`` and nothing changes — the exploit
this closes: a receiving store ran TRANSFER_PRODUCT_NOT_FOUND and wrote the warehouse's stock to 0."""

import pytest
from django.contrib.auth.models import Permission

from accounts.models import Profile
from tests.conftest import api_client_for
from tests.factories import UserFactory
from tests.transfers.test_transfer_commands import (  # noqa: F401 - the net fixture
    API,
    intake,
    net,
    reload,
    run,
    stock,
    world,
)
from transfers.models import TransferItem, TransferOrder

TS = "TransferStatus"
SIDE_REFUSAL = "accounts_600_1"


def store_user(*locations):
    """A store user as the admin's "Store staff" role makes one: instore, may run commands."""
    user = UserFactory()
    user.user_permissions.add(*Permission.objects.filter(
        codename__in=["change_transferorder", "change_package", "view_transferorder"]))
    Profile.objects.create(user=user, channel="instore").stock_locations.set(locations)
    return api_client_for(user)


def open_transfer(net, api, number="1001") -> TransferOrder:  # noqa: F811
    intake(api, number, {"A": 2, "B": 1})
    return TransferOrder.objects.get(order__number=number)


def _transition(seeded, command, source, destination):
    from commands.models import Transition
    return Transition.objects.get(command=command, source_state__enum_class=TS,
                                  source_state__enum_value=source,
                                  destination_state__enum_value=destination)


SOURCE_COMMANDS = [
    ("TRANSFER_READY_FOR_DISPATCH", "waiting", "ready_to_shipment", {}),
    ("TRANSFER_ORDER_ADVANCED", "waiting", "ready_to_shipment",
     {"cargo_company": "yurtici", "tracking_number": "TR-1"}),
    ("TRANSFER_DISPATCH", "waiting", "in_transit", {}),
    ("TRANSFER_PRODUCT_NOT_FOUND", "waiting", "not_found", {}),
    ("TRANSFER_OUT_OF_STOCK", "waiting", "out_of_stock", None),  # None: the transfer's items
]


def _params(transfer, params):
    if params is None:
        return {"transfer_items": list(TransferItem.objects.filter(transfer=transfer)
                                       .values_list("pk", flat=True))}
    return params


@pytest.mark.parametrize(("command", "source", "destination", "params"), SOURCE_COMMANDS)
def test_the_receiving_store_cannot_run_the_senders_commands(net, api, seeded, command, source,  # noqa: F811
                                                             destination, params):
    transfer = open_transfer(net, api)
    transition = _transition(seeded, command, source, destination)
    receiver = store_user(net.store)
    before = world()
    warehouse_stock = stock(net.wh1, "A")

    response = run(receiver, transfer, transition, _params(transfer, params))

    assert response.status_code == 403, response.content
    assert response.json() == {"error": {
        "non_field_errors": f"{command} needs stock location WH1, which is not one of yours.",
        "error_code": SIDE_REFUSAL}, "status_code": 403}
    assert world() == before
    assert stock(net.wh1, "A") == warehouse_stock == (5, 2)


@pytest.mark.parametrize(("command", "source", "destination", "params"), SOURCE_COMMANDS)
def test_the_sending_location_runs_its_commands(net, api, seeded, command, source, destination,  # noqa: F811
                                                params):
    transfer = open_transfer(net, api)
    transition = _transition(seeded, command, source, destination)
    sender = store_user(net.wh1)

    response = run(sender, transfer, transition, _params(transfer, params))

    assert response.status_code == 200, response.content
    assert reload(transfer).status == destination


def test_only_the_destination_receives(net, api, seeded):  # noqa: F811
    transfer = open_transfer(net, api)
    dispatch = _transition(seeded, "TRANSFER_DISPATCH", "waiting", "in_transit")
    delivered = _transition(seeded, "TRANSFER_DELIVERED", "in_transit", "transferred")
    assert run(store_user(net.wh1), transfer, dispatch).status_code == 200
    before = world()

    refused = run(store_user(net.wh1), transfer, delivered)

    assert refused.status_code == 403
    assert refused.json()["error"] == {
        "non_field_errors": "TRANSFER_DELIVERED needs stock location ST1, which is not one of yours.",
        "error_code": SIDE_REFUSAL}
    assert world() == before
    assert stock(net.store, "A") is None

    received = run(store_user(net.store), transfer, delivered)

    assert received.status_code == 200, received.content
    assert reload(transfer).status == "transferred"
    assert stock(net.store, "A") == (2, 2)


def test_a_store_is_offered_only_the_commands_of_its_side(net, api, seeded):  # noqa: F811
    transfer = open_transfer(net, api)
    dispatch = _transition(seeded, "TRANSFER_DISPATCH", "waiting", "in_transit")

    as_receiver = {c["command"] for c in store_user(net.store).get(
        f"{API}transfer_orders/{transfer.pk}/").json()["commands"]}
    as_sender = {c["command"] for c in store_user(net.wh1).get(
        f"{API}transfer_orders/{transfer.pk}/").json()["commands"]}
    assert as_receiver == set()
    assert {"TRANSFER_READY_FOR_DISPATCH", "TRANSFER_DISPATCH"} <= as_sender

    run(api, transfer, dispatch)
    as_receiver = {c["command"] for c in store_user(net.store).get(
        f"{API}transfer_orders/{transfer.pk}/").json()["commands"]}
    assert as_receiver == {"TRANSFER_DELIVERED"}


def test_a_store_of_neither_side_does_not_find_the_transfer(net, api, seeded):  # noqa: F811
    from tests.factories import StockLocationFactory

    transfer = open_transfer(net, api)
    other = store_user(StockLocationFactory(erp_code="ST9"))
    before = world()

    detail = other.get(f"{API}transfer_orders/{transfer.pk}/")
    command = run(other, transfer, _transition(seeded, "TRANSFER_DISPATCH", "waiting", "in_transit"))

    assert (detail.status_code, command.status_code) == (404, 404)
    assert world() == before
