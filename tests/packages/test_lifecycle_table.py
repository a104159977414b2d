"""The full lifecycle table of spec §5 (packages) and §6 (transfers), written out here from the
spec, checked against the django-fsm transition methods and the command registry."""

import pytest
from django_fsm import InvalidResultState, TransitionNotAllowed

from commands.models import State
from commands.registry import registry
from packages.enums import PackageStatus, holds_quota
from packages.models import Package
from tests.factories import make_package
from transfers.enums import TransferStatus
from transfers.models import TransferOrder

SAME = "same status"          # To = the source status (the command does not move the status)
RESTORE = "remembered state"  # To = the state remembered when blocking / requesting cancellation

# Spec §1.1, every PackageStatus value; §1.2, every TransferStatus key.
PACKAGE_STATUSES = [50, 100, 150, 200, 300, 350, 400, 500, 520, 550, 560, 570, 600, 900, 920, 950, 1100]
TRANSFER_STATUSES = ["waiting", "ready_to_shipment", "in_transit", "transferred", "not_found",
                     "out_of_stock", "cancelled"]

AFTER_PACKING = {500, 520, 550, 560, 570, 600}  # "500 and later" (UPDATE_INVOICE)

# Spec §5: command type -> (From, To).
PACKAGE_TABLE = {
    "PKG_STATE_TRANSITION": ({100, 150, 200, 400}, {100, 150, 200, 400}),
    "PKG_DEALLOCATE_RESERVATIONS": ({100}, {200}),
    "COMPLETE_PACKAGING": ({100, 200, 400}, {500}),
    "COMPLETE_PACKAGING_WITHOUT_SHIPMENT": ({100, 200, 400}, {500}),
    "CHANNEL_BASED_COMPLETE_PACKAGING": ({100, 200, 400}, {500}),
    "SHIP_THE_PACKAGE": ({500}, {550}),
    "SHIP_THE_PACKAGE_ADVANCED": ({500}, {550}),
    "SHIP_THE_PACKAGE_BASIC": ({500}, {550}),
    "UPDATE_PACKAGE_SHIPMENT_STATUS": ({550, 560, 570}, {560, 570, 600}),
    "UPDATE_SHIPMENT_INFO": ({500, 550, 560, 600}, SAME),
    "DETECTED_OUT_OF_STOCK_ITEM": ({100, 200}, {920}),
    "DETECTED_OUT_OF_STOCK_ITEM_ADVANCED": ({100, 200}, {920}),
    "REPACK": ({900, 920}, {100}),
    "PACKAGE_REFUSE": ({100, 150, 200}, {900}),
    "PACKED_FOR_REFUND": ({100, 920}, {1100}),
    "BLOCK_THE_PACKAGE": ({100, 150, 200, 400}, {350}),
    "UNBLOCK_THE_PACKAGE": ({350}, RESTORE),
    "UPDATE_INVOICE": (AFTER_PACKING, SAME),
    "ASSIGN_PACKAGE_ITEMS_MANUALLY": ({100, 200}, {950}),
    "REQUEST_CANCELLATION": ({100, 150, 200, 300, 350, 400}, {50}),
    "REJECT_CANCELLATION": ({50}, RESTORE),
    "CANCEL_PACKAGE": ({50, 100, 150, 200, 300, 350, 400}, {950}),
    "READY_FOR_PICKUP": ({500}, {520}),
    "SELF_SERVICE_DELIVERY": ({520}, {600}),
}

# Spec §6.
TRANSFER_TABLE = {
    "TRANSFER_READY_FOR_DISPATCH": ({"waiting"}, {"ready_to_shipment"}),
    "TRANSFER_ORDER_ADVANCED": ({"waiting"}, {"ready_to_shipment"}),
    "TRANSFER_DISPATCH": ({"waiting", "ready_to_shipment"}, {"in_transit"}),
    "TRANSFER_DELIVERED": ({"in_transit"}, {"transferred"}),
    "TRANSFER_PRODUCT_NOT_FOUND": ({"waiting"}, {"not_found"}),
    "TRANSFER_OUT_OF_STOCK": ({"waiting"}, {"out_of_stock"}),
}

# The state a restoring command type may return to: where its remembering command started.
REMEMBERED = {
    "UNBLOCK_THE_PACKAGE": PACKAGE_TABLE["BLOCK_THE_PACKAGE"][0],
    "REJECT_CANCELLATION": PACKAGE_TABLE["REQUEST_CANCELLATION"][0],
}

SPEC_TABLE = {**PACKAGE_TABLE, **TRANSFER_TABLE}


def spec_pairs(code: str) -> set[tuple]:
    """(source, destination) pairs of the spec table; destination None = restore."""
    sources, targets = SPEC_TABLE[code]
    if targets == SAME:
        return {(s, s) for s in sources}
    if targets == RESTORE:
        return {(s, None) for s in sources}
    return {(s, t) for s in sources for t in targets}


SINGLE_TARGET = [c for c, (_, to) in PACKAGE_TABLE.items()
                 if to == SAME or (isinstance(to, set) and len(to) == 1)]
MULTI_TARGET = [c for c, (_, to) in PACKAGE_TABLE.items() if isinstance(to, set) and len(to) > 1]
RESTORING = [c for c, (_, to) in PACKAGE_TABLE.items() if to == RESTORE]


def expected_single_target(code: str, source: int) -> int | None:
    sources, targets = PACKAGE_TABLE[code]
    if source not in sources:
        return None
    return source if targets == SAME else next(iter(targets))


def fsm_call(obj, code: str, *args):
    return getattr(obj, registry.get(code).fsm_method)(*args)


# -- the registry is the spec's list ---------------------------------------------------------------
def test_registered_command_types_are_exactly_the_spec_list():
    assert set(registry.command_types) == set(SPEC_TABLE)
    assert len(SPEC_TABLE) == 30


@pytest.mark.parametrize("code", sorted(SPEC_TABLE))
def test_registry_pairs_equal_the_spec_table(code):
    # given the command type as registered
    command_type = registry.get(code)
    # then its object type and allowed (source, destination) pairs are the spec's
    assert command_type.object_type == ("package" if code in PACKAGE_TABLE else "transfer")
    assert set(command_type.pairs) == spec_pairs(code)


@pytest.mark.parametrize("code", sorted(PACKAGE_TABLE))
def test_only_multi_target_types_are_told_their_destination(code):
    assert registry.get(code).takes_target is (code in MULTI_TARGET)


def test_spec_enums_match_the_code_enums():
    assert [s.value for s in PackageStatus] == PACKAGE_STATUSES
    assert [s.value for s in TransferStatus] == TRANSFER_STATUSES


# Spec §1.1 "holds quota" column.
HOLDS_QUOTA = {50, 100, 150, 200, 300, 350}


@pytest.mark.parametrize("status", PACKAGE_STATUSES)
def test_holds_quota_column_of_the_spec(status):
    assert holds_quota(status) is (status in HOLDS_QUOTA)


# -- every (command type, status) pair against the FSM ---------------------------------------------
@pytest.mark.parametrize("source", PACKAGE_STATUSES)
@pytest.mark.parametrize("code", SINGLE_TARGET)
def test_package_single_target_command_from_every_status(code, source):
    # given a package in `source`
    package = Package(status=source)
    expected = expected_single_target(code, source)
    if expected is None:
        # when the command type's FSM method runs, then it is refused and nothing moved
        with pytest.raises(TransitionNotAllowed):
            fsm_call(package, code)
        assert package.status == source
    else:
        fsm_call(package, code)
        assert package.status == expected


@pytest.mark.parametrize("target", PACKAGE_STATUSES)
@pytest.mark.parametrize("source", PACKAGE_STATUSES)
@pytest.mark.parametrize("code", MULTI_TARGET)
def test_package_multi_target_command_every_pair(code, source, target):
    # given a package in `source`
    package = Package(status=source)
    sources, _ = PACKAGE_TABLE[code]
    if (source, target) in spec_pairs(code):
        # when asked to move to `target`, then it is there
        fsm_call(package, code, target)
        assert package.status == target
    elif source not in sources:
        with pytest.raises(TransitionNotAllowed):
            fsm_call(package, code, target)
        assert package.status == source
    else:
        # an accepted source but a destination outside the table
        with pytest.raises(InvalidResultState):
            fsm_call(package, code, target)
        assert package.status == source


def _state(status) -> State:
    enum_class = "PackageStatus" if isinstance(status, int) else "TransferStatus"
    state, _ = State.objects.get_or_create(slug=f"s-{status}", enum_class=enum_class,
                                           defaults={"name": f"S{status}", "enum_value": str(status)})
    return state


@pytest.mark.parametrize(("code", "source"), [(c, s) for c in RESTORING for s in PACKAGE_STATUSES
                                               if s not in PACKAGE_TABLE[c][0]])
def test_package_restoring_command_refused_outside_its_source(code, source, db):
    # given a package in `source` that remembers Waiting
    package = Package(status=source, state=_state(source), previous_state=_state(100))
    # when / then
    with pytest.raises(TransitionNotAllowed):
        fsm_call(package, code)
    assert package.status == source
    assert package.previous_state.status == 100


@pytest.mark.parametrize(("code", "remembered"),
                         [(c, r) for c in RESTORING for r in sorted(REMEMBERED[c])])
def test_package_restoring_command_returns_to_remembered(code, remembered, db):
    # given a package in the restoring command's source, remembering a state of `remembered`
    (source,) = PACKAGE_TABLE[code][0]
    remembered_state = _state(remembered)
    package = Package(status=source, state=_state(source), previous_state=remembered_state)
    # when
    fsm_call(package, code)
    # then it is back in exactly that state and remembers nothing
    assert package.status == remembered
    assert package.state_id == remembered_state.pk
    assert package.previous_state_id is None


@pytest.mark.parametrize("source", PACKAGE_STATUSES)
@pytest.mark.parametrize("code", ["BLOCK_THE_PACKAGE", "REQUEST_CANCELLATION"])
def test_remembering_command_remembers_the_state_it_left(code, source, db):
    # given a package in `source`
    state = _state(source)
    package = Package(status=source, state=state)
    if source not in PACKAGE_TABLE[code][0]:
        with pytest.raises(TransitionNotAllowed):
            fsm_call(package, code)
        assert package.previous_state_id is None
        return
    # when
    fsm_call(package, code)
    # then the state before is remembered for the restoring command
    assert package.status == next(iter(PACKAGE_TABLE[code][1]))
    assert package.previous_state_id == state.pk


@pytest.mark.parametrize("source", TRANSFER_STATUSES)
@pytest.mark.parametrize("code", sorted(TRANSFER_TABLE))
def test_transfer_command_from_every_status(code, source):
    # given a transfer in `source`
    transfer = TransferOrder(status=source)
    sources, targets = TRANSFER_TABLE[code]
    if source in sources:
        fsm_call(transfer, code)
        assert transfer.status == next(iter(targets))
    else:
        with pytest.raises(TransitionNotAllowed):
            fsm_call(transfer, code)
        assert transfer.status == source


# -- the status field is protected -----------------------------------------------------------------
def test_status_of_a_loaded_package_cannot_be_assigned(seeded):
    # given a package loaded from the database
    package = Package.objects.get(pk=make_package().pk)
    # when / then
    with pytest.raises(AttributeError):
        package.status = 500
    assert package.status == 100
    assert Package.objects.get(pk=package.pk).status == 100


def test_status_of_a_loaded_transfer_cannot_be_assigned(seeded):
    # given a transfer loaded from the database
    package = make_package()
    transfer = TransferOrder.objects.create(
        number=f"{package.number}T1", order=package.order, package=package,
        source=package.stock_location, destination=package.stock_location,
        state=seeded.state("waiting", "TransferStatus"))
    transfer = TransferOrder.objects.get(pk=transfer.pk)
    # when / then
    with pytest.raises(AttributeError):
        transfer.status = "transferred"
    assert TransferOrder.objects.get(pk=transfer.pk).status == "waiting"
