"""Roles as data: seed_roles (run by seed_transitions) creates three groups with exactly the
permissions each needs; re-running never overwrites an operator's edit."""

import io

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command

from commands.management.commands.seed_roles import role_permissions


def perms(group_name: str) -> set[str]:
    return {f"{app}.{codename}" for app, codename in Group.objects.get(name=group_name)
            .permissions.values_list("content_type__app_label", "codename")}


def seed_roles(*args) -> str:
    out = io.StringIO()
    call_command("seed_roles", *args, stdout=out)
    return out.getvalue()


STORE_STAFF = {
    "packages.view_package", "packages.view_packageitem", "packages.view_shipment",
    "orders.view_order", "orders.view_orderitem", "transfers.view_transferorder",
    "transfers.view_transferitem", "locations.view_stock", "locations.view_reservation",
    "commands.view_statetransitionlog", "packages.change_package", "transfers.change_transferorder",
}

CONFIG_MODELS = [
    ("commands", "state"), ("commands", "transition"), ("locations", "stocklocation"),
    ("locations", "cargocompany"), ("orders", "channel"), ("packages", "packagedenialreason"),
    ("planning", "scenario"), ("planning", "rule"), ("webhooks", "webhooksubscription"),
]
OPERATIONS = {
    *(f"{app}.{action}_{model}" for app, model in CONFIG_MODELS
      for action in ("add", "change", "delete", "view")),
    "packages.view_package", "packages.view_packageitem", "packages.view_shipment",
    "orders.view_order", "orders.view_orderitem", "transfers.view_transferorder",
    "transfers.view_transferitem", "locations.view_stock", "locations.view_reservation",
    "commands.view_statetransitionlog", "packages.change_package", "transfers.change_transferorder",
    "locations.change_stock", "webhooks.view_webhookevent", "webhooks.view_webhookattempt",
    "webhooks.view_webhookdelivery", "webhooks.change_webhookdelivery",
}
INTEGRATION = {
    "orders.add_order", "packages.change_package", "transfers.change_transferorder",
    "locations.add_stock", "locations.change_stock",
    "packages.view_package", "packages.view_packageitem", "packages.view_shipment",
    "orders.view_order", "orders.view_orderitem", "transfers.view_transferorder",
    "transfers.view_transferitem", "locations.view_stock", "locations.view_reservation",
    "commands.view_statetransitionlog", "locations.view_stocklocation", "locations.view_cargocompany",
    "orders.view_channel", "packages.view_packagedenialreason", "commands.view_state",
    "commands.view_transition",
}


def test_seed_transitions_creates_the_three_roles_with_exactly_their_permissions(db):
    # when
    call_command("seed_transitions", stdout=io.StringIO())
    # then
    assert sorted(Group.objects.values_list("name", flat=True)) == [
        "Integration", "Operations", "Store staff"]
    assert perms("Store staff") == STORE_STAFF
    assert perms("Operations") == OPERATIONS
    assert perms("Integration") == INTEGRATION
    assert (len(STORE_STAFF), len(OPERATIONS), len(INTEGRATION)) == (12, 53, 21)


def test_no_role_may_manage_users_tokens_or_groups(db):
    # when
    seed_roles()
    # then user management stays with superusers
    for name in ("Store staff", "Operations", "Integration"):
        assert not {p for p in perms(name) if p.split(".")[0] in {"auth", "authtoken", "accounts"}}


def test_seed_roles_twice_changes_nothing(db):
    # given
    seed_roles()
    before = {name: perms(name) for name in ("Store staff", "Operations", "Integration")}
    ids = sorted(Group.objects.values_list("id", flat=True))
    # when
    out = seed_roles()
    # then
    assert {name: perms(name) for name in before} == before
    assert sorted(Group.objects.values_list("id", flat=True)) == ids
    assert out.splitlines() == [
        "Role 'Store staff': already there, nothing missing.",
        "Role 'Operations': already there, nothing missing.",
        "Role 'Integration': already there, nothing missing."]


def test_an_operators_edits_to_a_group_survive_a_reseed(db):
    # given an operator took "change package" away from stores and gave them "view stock location"
    seed_roles()
    group = Group.objects.get(name="Store staff")
    group.permissions.remove(Permission.objects.get(codename="change_package"))
    group.permissions.add(Permission.objects.get(codename="view_stocklocation"))
    # when
    out = seed_roles()
    # then both edits stand
    assert perms("Store staff") == (STORE_STAFF - {"packages.change_package"}) | {
        "locations.view_stocklocation"}
    assert ("Role 'Store staff': already there, left as is (1 of the role's permissions missing; "
            "--add-missing adds them).") in out.splitlines()


def test_add_missing_adds_but_never_removes(db):
    # given the same edits
    seed_roles()
    group = Group.objects.get(name="Store staff")
    group.permissions.remove(Permission.objects.get(codename="change_package"))
    group.permissions.add(Permission.objects.get(codename="view_stocklocation"))
    # when
    out = seed_roles("--add-missing")
    # then the missing permission is back and the operator's addition stays
    assert perms("Store staff") == STORE_STAFF | {"locations.view_stocklocation"}
    assert "Role 'Store staff': added 1 missing permissions." in out.splitlines()


def test_an_existing_group_of_the_same_name_is_not_overwritten(db):
    # given an install that already had an empty "Integration" group
    Group.objects.create(name="Integration")
    # when
    seed_roles()
    # then it stays empty; the others are created
    assert perms("Integration") == set()
    assert perms("Store staff") == STORE_STAFF


def test_a_permission_that_does_not_exist_is_named(db):
    # given a database where one permission is missing (e.g. migrations not run)
    Permission.objects.filter(codename="view_reservation").delete()
    # when / then
    with pytest.raises(CommandError, match=r"Role 'Store staff': permissions "
                                           r"locations.view_reservation do not exist"):
        role_permissions("Store staff")
    assert not Group.objects.exists()
