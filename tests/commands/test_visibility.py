"""Spec §9: channels decide which transitions a caller sees and runs; instore users act on their
own locations only."""

from django.contrib.auth.models import Permission

from accounts.models import Profile
from commands.models import Transition
from tests.conftest import api_client_for
from tests.factories import StockLocationFactory, UserFactory, make_package
from tests.snapshots import db_snapshot


def instore_user(*locations):
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="change_package"))
    profile = Profile.objects.create(user=user, channel="instore")
    profile.stock_locations.set(locations)
    return user


def test_instore_user_runs_commands_on_own_location(seeded):
    store = StockLocationFactory()
    package = make_package(location=store)
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)

    response = api_client_for(instore_user(store)).post(
        f"/api/v1/oms/packages/{package.pk}/command/", {"transition": pack.pk}, format="json")

    assert response.status_code == 200
    package.refresh_from_db()
    assert package.status == 500


def test_instore_user_gets_404_for_another_locations_package(seeded):
    own, other = StockLocationFactory(), StockLocationFactory()
    package = make_package(location=other)
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    client = api_client_for(instore_user(own))
    before = db_snapshot()

    command = client.post(f"/api/v1/oms/packages/{package.pk}/command/", {"transition": pack.pk},
                          format="json")
    detail = client.get(f"/api/v1/oms/packages/{package.pk}/")

    assert command.status_code == detail.status_code == 404
    assert command.json() == {"error": {"detail": "Not found."}, "status_code": 404}
    assert db_snapshot() == before


def test_commands_list_and_endpoint_follow_ui_visibility(seeded):
    store = StockLocationFactory()
    package = make_package(location=store)
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    block = seeded.transition("BLOCK_THE_PACKAGE", 100, 350)
    Transition.objects.filter(pk=pack.pk).update(ui_visibility=["oms_web", "third_party"])
    Transition.objects.filter(pk=block.pk).update(ui_visibility=["instore"])  # not a store's by default
    client = api_client_for(instore_user(store))

    listed = {c["id"] for c in client.get(f"/api/v1/oms/packages/{package.pk}/").json()["commands"]}
    refused = client.post(f"/api/v1/oms/packages/{package.pk}/command/", {"transition": pack.pk},
                          format="json")
    allowed = client.post(f"/api/v1/oms/packages/{package.pk}/command/", {"transition": block.pk},
                          format="json")

    assert pack.pk not in listed and block.pk in listed
    assert refused.status_code == 403
    assert refused.json()["error"]["error_code"] == "commands_100_3"
    assert allowed.status_code == 200


def test_staff_without_profile_acts_as_oms_web(api, seeded):
    package = make_package()
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    Transition.objects.filter(pk=pack.pk).update(ui_visibility=["instore"])

    response = api.post(f"/api/v1/oms/packages/{package.pk}/command/", {"transition": pack.pk},
                        format="json")

    assert response.status_code == 403
    assert response.json()["error"]["error_code"] == "commands_100_3"
