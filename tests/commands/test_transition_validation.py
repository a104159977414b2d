"""A transition (command definition) may only configure a move its command type can make (spec §2)."""

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError

from commands.models import State, Transition
from tests.conftest import api_client_for
from tests.factories import UserFactory

NOT_ALLOWED = ("Command definition is not allowed! Check source & destination states of command "
               "to be created")
NOT_ALLOWED_BODY = {"error": {"non_field_errors": NOT_ALLOWED, "error_code": "commands_100_1"},
                    "status_code": 406}
URL = "/api/v1/oms/state_transitions/"


def custom_state(*, name: str, slug: str, status, enum_class: str = "PackageStatus") -> State:
    return State.objects.create(name=name, slug=slug, enum_class=enum_class, enum_value=str(status))


# -- model validation (admin forms use full_clean) ---------------------------------------------------
def test_full_clean_refuses_a_pair_the_command_type_cannot_move(seeded):
    # given COMPLETE_PACKAGING from Shipped to Packed
    transition = Transition(label="x", command="COMPLETE_PACKAGING", source_state=seeded.state(550),
                            destination_state=seeded.state(500))
    # when / then
    with pytest.raises(ValidationError) as error:
        transition.full_clean()
    assert error.value.messages == [NOT_ALLOWED]


def test_full_clean_refuses_a_package_command_between_transfer_states(seeded):
    # given a package command type configured on transfer states
    transition = Transition(label="x", command="COMPLETE_PACKAGING",
                            source_state=seeded.state("waiting", "TransferStatus"),
                            destination_state=seeded.state("in_transit", "TransferStatus"))
    # when / then
    with pytest.raises(ValidationError) as error:
        transition.full_clean()
    assert error.value.messages == [NOT_ALLOWED]


def test_full_clean_refuses_a_transfer_command_between_package_states(seeded):
    transition = Transition(label="x", command="TRANSFER_DISPATCH", source_state=seeded.state(100),
                            destination_state=seeded.state(500))
    with pytest.raises(ValidationError) as error:
        transition.full_clean()
    assert error.value.messages == [NOT_ALLOWED]


def test_full_clean_refuses_unblock_with_a_destination(seeded):
    # given UNBLOCK_THE_PACKAGE, which returns to the state before, with a destination
    transition = Transition(label="x", command="UNBLOCK_THE_PACKAGE", source_state=seeded.state(350),
                            destination_state=seeded.state(100))
    # when / then
    with pytest.raises(ValidationError) as error:
        transition.full_clean()
    assert list(error.value.message_dict) == ["destination_state"]
    assert len(error.value.messages) == 1
    assert error.value.messages[0].startswith(NOT_ALLOWED)


def test_full_clean_refuses_a_non_restoring_command_without_destination(seeded):
    transition = Transition(label="x", command="COMPLETE_PACKAGING", source_state=seeded.state(100))
    with pytest.raises(ValidationError) as error:
        transition.full_clean()
    assert error.value.messages == [NOT_ALLOWED]


def test_full_clean_accepts_a_spec_pair_between_custom_states(seeded):
    # given two operator states of the same status (spec: several states may share a status)
    marketplace = custom_state(name="Waiting – Marketplace", slug="waiting-marketplace", status=100)
    transition = Transition(label="Move", command="PKG_STATE_TRANSITION", slug="move-to-marketplace",
                            source_state=seeded.state(100), destination_state=marketplace)
    # when
    transition.full_clean()
    transition.save()
    # then
    assert Transition.objects.filter(slug="move-to-marketplace").count() == 1


def test_full_clean_accepts_unblock_without_destination(seeded):
    blocked_hold = custom_state(name="Blocked – Hold", slug="blocked-hold", status=350)
    transition = Transition(label="Unblock", command="UNBLOCK_THE_PACKAGE", source_state=blocked_hold)
    transition.full_clean()
    transition.save()
    assert transition.slug == "package__unblock_the_package__blocked-hold__previous"


# -- API -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("command", "source", "destination"), [
    ("COMPLETE_PACKAGING", (550, "PackageStatus"), (500, "PackageStatus")),
    ("SHIP_THE_PACKAGE", (500, "PackageStatus"), (600, "PackageStatus")),
    ("UPDATE_INVOICE", (500, "PackageStatus"), (550, "PackageStatus")),
    ("TRANSFER_DISPATCH", ("in_transit", "TransferStatus"), ("waiting", "TransferStatus")),
    # field-keyed refusals (source_state / destination_state) answer the same envelope
    ("COMPLETE_PACKAGING", ("waiting", "TransferStatus"), ("in_transit", "TransferStatus")),
    ("UNBLOCK_THE_PACKAGE", (350, "PackageStatus"), (100, "PackageStatus")),
    ("COMPLETE_PACKAGING", (100, "PackageStatus"), None),
])
def test_api_refuses_an_impossible_transition_with_406(seeded, api, command, source, destination):
    # given
    count = Transition.objects.count()
    # when
    response = api.post(URL, {"label": "Bad", "command": command,
                              "source_state": seeded.state(*source).pk,
                              "destination_state": seeded.state(*destination).pk if destination else None},
                        format="json")
    # then
    assert response.status_code == 406
    assert response.json() == NOT_ALLOWED_BODY
    assert Transition.objects.count() == count


def test_api_creates_a_valid_transition_with_the_default_slug(seeded, api):
    # given an operator state "Waiting – Marketplace" (status 100)
    marketplace = custom_state(name="Waiting – Marketplace", slug="waiting-marketplace", status=100)
    # when a transition is posted without a slug
    response = api.post(URL, {"label": "Pack marketplace", "command": "COMPLETE_PACKAGING",
                              "source_state": marketplace.pk,
                              "destination_state": seeded.state(500).pk}, format="json")
    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["slug"] == "package__complete_packaging__waiting-marketplace__packed"
    created = Transition.objects.get(pk=body["id"])
    assert (created.command, created.source_state_id, created.destination_state_id, created.label) == (
        "COMPLETE_PACKAGING", marketplace.pk, seeded.state(500).pk, "Pack marketplace")
    assert sorted(created.ui_visibility) == ["instore", "oms_web", "third_party"]
    assert created.is_active is True


def test_api_keeps_a_given_slug(seeded, api):
    marketplace = custom_state(name="Waiting – Marketplace", slug="waiting-marketplace", status=100)
    response = api.post(URL, {"label": "Pack", "command": "COMPLETE_PACKAGING", "slug": "pack-mp",
                              "source_state": marketplace.pk,
                              "destination_state": seeded.state(500).pk}, format="json")
    assert response.status_code == 201
    assert Transition.objects.get(pk=response.json()["id"]).slug == "pack-mp"


def test_api_refuses_changing_a_transition_into_an_impossible_one(seeded, api):
    # given a seeded Waiting -> Packed transition
    transition = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    # when its source is moved to Shipped
    response = api.patch(f"{URL}{transition.pk}/", {"source_state": seeded.state(550).pk},
                         format="json")
    # then
    assert response.status_code == 406
    assert response.json() == NOT_ALLOWED_BODY
    transition.refresh_from_db()
    assert transition.source_state_id == seeded.state(100).pk


def test_user_without_model_permissions_cannot_post_but_can_read(seeded):
    # given a non-staff user with no permissions
    client = api_client_for(UserFactory())
    count = Transition.objects.count()
    # when
    post = client.post(URL, {"label": "Pack", "command": "COMPLETE_PACKAGING",
                             "source_state": seeded.state(100).pk,
                             "destination_state": seeded.state(500).pk}, format="json")
    get = client.get(URL)
    # then
    assert post.status_code == 403
    assert post.json() == {"error": {"detail": "You do not have permission to perform this action."},
                           "status_code": 403}
    assert Transition.objects.count() == count
    assert get.status_code == 200
    assert get.json()["count"] == count


def test_user_with_add_permission_can_post(seeded):
    # given a non-staff user granted commands.add_transition
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="add_transition"))
    client = api_client_for(user)
    marketplace = custom_state(name="Waiting – Marketplace", slug="waiting-marketplace", status=100)
    # when
    response = client.post(URL, {"label": "Pack", "command": "COMPLETE_PACKAGING",
                                 "source_state": marketplace.pk,
                                 "destination_state": seeded.state(500).pk}, format="json")
    # then
    assert response.status_code == 201


@pytest.mark.django_db(transaction=True)
def test_api_refuses_a_duplicate_slug_with_a_field_error(seeded, api):
    # given the seeded Waiting -> Packed transition and an operator state of status 100
    existing = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    marketplace = custom_state(name="Waiting – Marketplace", slug="waiting-marketplace", status=100)
    count = Transition.objects.count()
    # when another transition is posted with the same slug
    response = api.post(URL, {"label": "Pack", "command": "COMPLETE_PACKAGING", "slug": existing.slug,
                              "source_state": marketplace.pk,
                              "destination_state": seeded.state(500).pk}, format="json")
    # then
    assert response.status_code == 400
    assert list(response.json()["error"]) == ["slug"]
    assert Transition.objects.count() == count


@pytest.mark.django_db(transaction=True)
def test_api_refuses_a_duplicate_default_slug_with_a_field_error(seeded, api):
    # given the seeded Waiting -> Packed transition
    existing = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    count = Transition.objects.count()
    # when the same move is posted again without a slug (its default slug is taken)
    response = api.post(URL, {"label": "Pack again", "command": "COMPLETE_PACKAGING",
                              "source_state": existing.source_state_id,
                              "destination_state": existing.destination_state_id}, format="json")
    # then
    assert response.status_code == 400
    assert list(response.json()["error"]) == ["slug"]
    assert Transition.objects.count() == count
