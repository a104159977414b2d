"""Every API error answers ``{"error": {...}, "status_code": N}`` (spec §3.2, §9)."""

from rest_framework.test import APIClient

from locations.models import StockLocation
from packages.models import Package
from tests.conftest import api_client_for
from tests.factories import StockLocationFactory, UserFactory, make_package

API = "/api/v1/oms/"


def test_401_without_credentials(db):
    # when
    response = APIClient().get(f"{API}packages/")
    # then
    assert response.status_code == 401
    assert response.json() == {"error": {"detail": "Authentication credentials were not provided."},
                               "status_code": 401}


def test_401_on_command_without_credentials(seeded):
    package = make_package()
    response = APIClient().post(f"{API}packages/{package.pk}/command/", {"slug": "x"}, format="json")
    assert response.status_code == 401
    assert response.json() == {"error": {"detail": "Authentication credentials were not provided."},
                               "status_code": 401}
    assert Package.objects.get(pk=package.pk).status == 100


def test_401_with_a_bad_token(db):
    # given
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    # when
    response = client.get(f"{API}packages/")
    # then
    assert response.status_code == 401
    assert response.json() == {"error": {"detail": "Invalid token."}, "status_code": 401}


def test_401_for_an_inactive_users_token(db):
    user = UserFactory(is_active=False)
    response = api_client_for(user).get(f"{API}packages/")
    assert response.status_code == 401
    assert response.json() == {"error": {"detail": "User inactive or deleted."}, "status_code": 401}


def test_403_without_model_permission(db):
    # given a user without stocklocation permissions
    client = api_client_for(UserFactory())
    # when
    response = client.post(f"{API}stock_locations/", {"name": "Depot", "erp_code": "D-1"},
                           format="json")
    # then
    assert response.status_code == 403
    assert response.json() == {"error": {"detail": "You do not have permission to perform this action."},
                               "status_code": 403}
    assert StockLocation.objects.count() == 0


def test_404_for_an_unknown_package_id(db, api):
    response = api.get(f"{API}packages/999999/")
    assert response.status_code == 404
    assert response.json() == {"error": {"detail": "Not found."}, "status_code": 404}


def test_404_for_a_non_numeric_package_id(db, api):
    response = api.get(f"{API}packages/abc/")
    assert response.status_code == 404
    assert response.json() == {"error": {"detail": "Not found."}, "status_code": 404}


def test_404_for_a_command_on_an_unknown_package(seeded, api):
    response = api.post(f"{API}packages/999999/command/",
                        {"slug": "package__complete_packaging__waiting__packed"}, format="json")
    assert response.status_code == 404
    assert response.json() == {"error": {"detail": "Not found."}, "status_code": 404}


def test_404_for_unknown_ids_on_other_endpoints(db, api):
    for path in ["stock_locations/999999/", "transfer_orders/999999/", "orders/abc/",
                 "states/999999/", "state_transitions/999999/"]:
        response = api.get(f"{API}{path}")
        assert (path, response.status_code, response.json()) == (
            path, 404, {"error": {"detail": "Not found."}, "status_code": 404})


def test_405_delete_on_a_package(seeded, api):
    # given
    package = make_package()
    # when
    response = api.delete(f"{API}packages/{package.pk}/")
    # then
    assert response.status_code == 405
    assert response.json() == {"error": {"detail": 'Method "DELETE" not allowed.'}, "status_code": 405}
    assert Package.objects.filter(pk=package.pk).exists()


def test_405_get_on_the_command_endpoint(seeded, api):
    package = make_package()
    response = api.get(f"{API}packages/{package.pk}/command/")
    assert response.status_code == 405
    assert response.json() == {"error": {"detail": 'Method "GET" not allowed.'}, "status_code": 405}


def test_400_field_errors_for_a_duplicate_erp_code(db, api):
    # given
    StockLocationFactory(erp_code="D-1")
    # when
    response = api.post(f"{API}stock_locations/", {"name": "Depot", "erp_code": "D-1"}, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {
        "error": {"erp_code": ["stock location with this erp code already exists."]},
        "status_code": 400}
    assert StockLocation.objects.filter(erp_code="D-1").count() == 1


def test_400_field_errors_for_missing_and_invalid_fields(db, api):
    response = api.post(f"{API}stock_locations/", {"stock_location_type": "castle", "max_quota": -1},
                        format="json")
    assert response.status_code == 400
    assert response.json() == {"error": {
        "name": ["This field is required."],
        "erp_code": ["This field is required."],
        "stock_location_type": ['"castle" is not a valid choice.'],
        "max_quota": ["Ensure this value is greater than or equal to 0."],
    }, "status_code": 400}


def test_400_for_a_malformed_json_body(db, api):
    response = api.generic("POST", f"{API}stock_locations/", "{not json",
                           content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) == {"error", "status_code"}
    assert response.json()["status_code"] == 400
    assert response.json()["error"]["detail"].startswith("JSON parse error")


def test_400_for_a_bad_filter_value(db, api):
    response = api.get(f"{API}packages/", {"id__gt": "abc"})
    assert response.status_code == 400
    assert response.json() == {"error": {"id__gt": ["Enter a whole number."]}, "status_code": 400}
