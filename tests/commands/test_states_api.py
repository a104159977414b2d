"""States are configuration: their status is fixed once created (packages carry it)."""

from commands.models import State
from tests.factories import make_package


def test_changing_the_status_of_an_existing_state_is_refused(api, seeded):
    waiting = seeded.state(100)
    package = make_package()

    response = api.patch(f"/api/v1/oms/states/{waiting.pk}/", {"enum_value": "500"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"error": {"enum_value": [
        "The status of an existing state cannot change; create a new state."]}, "status_code": 400}
    waiting.refresh_from_db()
    package.refresh_from_db()
    assert (waiting.enum_value, package.state.status) == ("100", package.status)


def test_renaming_a_state_is_allowed(api, seeded):
    waiting = seeded.state(100)

    response = api.patch(f"/api/v1/oms/states/{waiting.pk}/", {"name": "Awaiting picking"}, format="json")

    assert response.status_code == 200
    assert State.objects.get(pk=waiting.pk).name == "Awaiting picking"


def test_creating_a_state_with_an_unknown_status_is_refused(api, seeded):
    response = api.post("/api/v1/oms/states/", {"name": "Odd", "slug": "odd", "enum_class": "PackageStatus",
                                                "enum_value": "123"}, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]) == ["enum_value"]
    assert not State.objects.filter(slug="odd").exists()
