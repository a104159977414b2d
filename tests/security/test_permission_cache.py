"""API users' permissions are cached per process (accounts/permissions.py), never past a change:
granting or revoking a permission, a group or a membership, or deactivating the user, is seen by
the very next request — whoever makes the change (ORM, admin, raw SQL) — and a command of a user
with the permission runs no permission query."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import permissions
from accounts.models import Profile
from packages.models import Package
from tests.conftest import api_client_for
from tests.factories import UserFactory, make_package

PACK = "package__complete_packaging__waiting__packed"


@pytest.fixture(autouse=True)
def fresh():
    permissions.forget()
    yield
    permissions.forget()


@pytest.fixture
def integration(seeded):
    user = UserFactory()
    Profile.objects.create(user=user, channel="third_party")
    return user


def pack(user):
    package = make_package()
    response = api_client_for(user).post(f"/api/v1/oms/packages/{package.pk}/command/", {"slug": PACK},
                                         format="json")
    return response.status_code, Package.objects.get(pk=package.pk).status


CHANGE_PACKAGE = {"codename": "change_package", "content_type__app_label": "packages"}


def test_a_granted_then_revoked_permission_is_seen_by_the_next_request(integration):
    assert pack(integration) == (403, 100)
    perm = Permission.objects.get(**CHANGE_PACKAGE)
    integration.user_permissions.add(perm)
    assert pack(integration) == (200, 500)
    integration.user_permissions.remove(perm)
    assert pack(integration) == (403, 100)


def test_group_permissions_and_membership_changes_are_seen_by_the_next_request(integration):
    group = Group.objects.create(name="integrations")
    integration.groups.add(group)
    assert pack(integration) == (403, 100)
    perm = Permission.objects.get(**CHANGE_PACKAGE)
    group.permissions.add(perm)
    assert pack(integration) == (200, 500)
    integration.groups.remove(group)
    assert pack(integration) == (403, 100)
    integration.groups.add(group)
    assert pack(integration) == (200, 500)
    group.permissions.clear()
    assert pack(integration) == (403, 100)


def test_a_revocation_by_raw_sql_is_seen_too(integration):
    perm = Permission.objects.get(**CHANGE_PACKAGE)
    integration.user_permissions.add(perm)
    assert pack(integration) == (200, 500)
    through = integration.user_permissions.through._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {through} WHERE user_id = %s", [integration.pk])
    assert pack(integration) == (403, 100)


def test_a_superuser_demoted_loses_what_only_superusers_have(integration):
    integration.is_superuser = True
    integration.save(update_fields=["is_superuser"])
    assert pack(integration) == (200, 500)
    integration.is_superuser = False
    integration.save(update_fields=["is_superuser"])
    assert pack(integration) == (403, 100)


def test_a_permitted_integration_runs_its_command_without_permission_queries(integration):
    integration.user_permissions.add(Permission.objects.get(**CHANGE_PACKAGE))
    assert pack(integration) == (200, 500)  # fills the cache
    package = make_package()
    client = api_client_for(integration)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"/api/v1/oms/packages/{package.pk}/command/", {"slug": PACK}, format="json")
    assert response.status_code == 200
    assert [q["sql"] for q in queries.captured_queries if "auth_permission" in q["sql"]] == []
