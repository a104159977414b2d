"""seed_transitions (spec §1, §2): a State per status, a Transition per allowed move, idempotent."""

import io
import re

from django.core.management import call_command

from commands.models import State, Transition
from tests.packages.test_lifecycle_table import (
    PACKAGE_TABLE,
    TRANSFER_TABLE,
    spec_pairs,
)

# Spec §1.1 names.
PACKAGE_NAMES = {
    50: "Cancellation Waiting", 100: "Waiting", 150: "Waiting Remote Action", 200: "Preparing",
    300: "Waiting for Transfer", 350: "Blocked", 400: "Ready for Packaging", 500: "Packed",
    520: "Ready for Pickup", 550: "Shipped", 560: "Attempted Delivery", 570: "Delivery Failed",
    600: "Delivered", 900: "Needs Rescheduling", 920: "Contains out of stock products",
    950: "Cancelled", 1100: "Packed for Refund",
}
TRANSFER_KEYS = ["waiting", "ready_to_shipment", "in_transit", "transferred", "not_found",
                 "out_of_stock", "cancelled"]
SPEC_PAIR_COUNT = sum(len(spec_pairs(c)) for c in [*PACKAGE_TABLE, *TRANSFER_TABLE])


def seed() -> str:
    out = io.StringIO()
    call_command("seed_transitions", stdout=out)
    return out.getvalue()


def created_counts(output: str) -> tuple[int, int]:
    match = re.search(r"States: (\d+) created.*Transitions: (\d+) created", output)
    assert match, output
    return int(match[1]), int(match[2])


def snapshot() -> tuple[list, list]:
    states = list(State.objects.order_by("id").values_list("id", "enum_class", "slug", "name",
                                                            "enum_value", "translations"))
    transitions = list(Transition.objects.order_by("id").values_list(
        "id", "slug", "label", "command", "source_state", "destination_state", "ui_visibility",
        "is_active"))
    return states, transitions


def test_seed_creates_a_state_for_every_package_status(db):
    # when
    seed()
    # then every PackageStatus has a state with the spec's name, enum_value and translations
    states = State.objects.filter(enum_class="PackageStatus")
    assert sorted((s.enum_value, s.name) for s in states) == sorted(
        (str(v), name) for v, name in PACKAGE_NAMES.items())
    for state in states:
        assert set(state.translations) == {"en-us", "tr-tr"}
        assert state.translations["en-us"] == {"name": PACKAGE_NAMES[int(state.enum_value)]}
        assert list(state.translations["tr-tr"]) == ["name"]
        assert state.translations["tr-tr"]["name"].strip() != ""
        assert state.config == {}
        assert state.is_active is True


def test_seed_creates_a_state_for_every_transfer_status(db):
    # when
    seed()
    # then every TransferStatus key is a state's enum_value, translated
    states = State.objects.filter(enum_class="TransferStatus")
    assert sorted(s.enum_value for s in states) == sorted(TRANSFER_KEYS)
    for state in states:
        assert state.name.strip() != ""
        assert state.translations["en-us"] == {"name": state.name}
        assert set(state.translations) == {"en-us", "tr-tr"}
        assert state.translations["tr-tr"]["name"].strip() != ""


def test_seed_creates_a_transition_for_every_allowed_pair_of_the_spec(db):
    # when
    seed()
    # then the transitions are exactly the spec table's pairs, one each
    seeded = [
        (t.command, t.source_state.status, t.destination_state.status if t.destination_state else None)
        for t in Transition.objects.select_related("source_state", "destination_state")
    ]
    expected = [(code, source, dest) for code in [*PACKAGE_TABLE, *TRANSFER_TABLE]
                for source, dest in spec_pairs(code)]
    assert sorted(seeded, key=str) == sorted(expected, key=str)
    assert len(seeded) == SPEC_PAIR_COUNT


def test_seeded_transitions_have_default_slug(db):
    # when
    seed()
    # then each transition has the default slug (its channels: tests/console/test_visibility_defaults.py)
    for t in Transition.objects.select_related("source_state", "destination_state"):
        object_name = "package" if t.source_state.enum_class == "PackageStatus" else "transfer"
        prefix = f"{object_name}__{t.command.lower()}__{t.source_state.slug}__"
        assert t.slug.startswith(prefix)
        if t.destination_state is not None:
            assert t.slug == prefix + t.destination_state.slug
        assert t.is_active is True
        assert t.label.strip() != ""
        assert t.source_state.enum_class == (t.destination_state or t.source_state).enum_class


def test_seed_slug_example_of_the_spec(db):
    # when
    seed()
    # then the spec's example slug names Waiting -> Packed by COMPLETE_PACKAGING
    transition = Transition.objects.get(slug="package__complete_packaging__waiting__packed")
    assert (transition.command, transition.source_state.status,
            transition.destination_state.status) == ("COMPLETE_PACKAGING", 100, 500)


def test_restoring_transitions_have_no_destination(db):
    # when
    seed()
    # then unblock / reject cancellation mean "the state before"
    rows = Transition.objects.filter(command__in=["UNBLOCK_THE_PACKAGE", "REJECT_CANCELLATION"])
    assert sorted((t.command, t.source_state.status, t.destination_state_id) for t in rows) == [
        ("REJECT_CANCELLATION", 50, None), ("UNBLOCK_THE_PACKAGE", 350, None)]


def test_seed_output_counts_what_it_created(db):
    # when
    output = seed()
    # then
    assert created_counts(output) == (len(PACKAGE_NAMES) + len(TRANSFER_KEYS), SPEC_PAIR_COUNT)


def test_seed_twice_creates_nothing_the_second_time(db):
    # given a seeded database
    seed()
    before = snapshot()
    # when seeding again
    output = seed()
    # then nothing was created and every row (ids included) is unchanged
    assert created_counts(output) == (0, 0)
    assert snapshot() == before
    assert State.objects.count() == len(PACKAGE_NAMES) + len(TRANSFER_KEYS)
    assert Transition.objects.count() == SPEC_PAIR_COUNT


def test_operator_edits_to_a_transition_survive_a_reseed(db):
    # given a seeded transition an operator relabelled, restricted and deactivated
    seed()
    transition = Transition.objects.get(slug="package__complete_packaging__waiting__packed")
    transition.label = "Paketle"
    transition.ui_visibility = ["oms_web"]
    transition.is_active = False
    transition.save()
    before = snapshot()
    # when
    output = seed()
    # then the edits stand and no replacement was created
    transition.refresh_from_db()
    assert (transition.label, transition.ui_visibility, transition.is_active) == (
        "Paketle", ["oms_web"], False)
    assert created_counts(output) == (0, 0)
    assert snapshot() == before


def test_operator_edits_to_a_state_survive_a_reseed(db):
    # given a seeded state an operator renamed
    seed()
    state = State.objects.get(enum_class="PackageStatus", enum_value="100")
    state.name = "Bekleyen"
    state.translations = {"en-us": {"name": "Pending"}, "tr-tr": {"name": "Bekleyen"}}
    state.save()
    before = snapshot()
    # when
    output = seed()
    # then
    state.refresh_from_db()
    assert (state.name, state.translations) == (
        "Bekleyen", {"en-us": {"name": "Pending"}, "tr-tr": {"name": "Bekleyen"}})
    assert created_counts(output) == (0, 0)
    assert snapshot() == before


def test_reseed_recreates_only_a_deleted_transition(db):
    # given a seeded database where an operator deleted one transition
    seed()
    Transition.objects.get(slug="package__complete_packaging__waiting__packed").delete()
    kept_ids = set(Transition.objects.values_list("id", flat=True))
    # when
    output = seed()
    # then exactly that one comes back and the others keep their ids
    assert created_counts(output) == (0, 1)
    recreated = Transition.objects.exclude(id__in=kept_ids).get()
    assert recreated.slug == "package__complete_packaging__waiting__packed"
    assert Transition.objects.count() == SPEC_PAIR_COUNT
