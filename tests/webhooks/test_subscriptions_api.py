"""The subscription endpoint (spec §8, §9): ``/api/v1/oms/webhooks/`` CRUD, its validation, the
write-only secret, and permissions."""

import pytest
from django.contrib.auth.models import Permission

from tests.conftest import api_client_for
from tests.factories import UserFactory
from tests.webhooks.helpers import WEBHOOKS_URL, subscribe
from webhooks.models import WebhookSubscription

TARGET = "https://hooks.example.com/oms"


def detail_url(subscription_id: int) -> str:
    return f"{WEBHOOKS_URL}{subscription_id}/"


def rows() -> list[tuple]:
    return list(WebhookSubscription.objects.order_by("id").values_list(
        "id", "event_type", "target_url", "secret_key", "additional_headers", "retry_countdown_config",
        "is_active"))


def bad_request(field_errors: dict) -> dict:
    return {"error": field_errors, "status_code": 400}


# -- create / read / update / delete ---------------------------------------------------------------
def test_a_subscription_is_created_with_defaults_and_read_back(api):
    body = subscribe(api, TARGET, "package.status.packed", secret_key="s3cret",
                     additional_headers={"X-Tenant": "acme"})

    subscription = WebhookSubscription.objects.get()
    assert body == {
        "id": subscription.pk, "event_type": "package.status.packed", "target_url": TARGET,
        "has_secret_key": True, "additional_headers": {"X-Tenant": "acme"},
        "retry_countdown_config": {"strategy": "exponential", "countdown": 30, "max_retries": 8},
        "is_active": True, "consecutive_failures": 0, "deactivated_reason": "",
        "created_date": body["created_date"], "modified_date": body["modified_date"],
    }
    assert subscription.secret_key == "s3cret"
    assert api.get(detail_url(subscription.pk)).json() == body
    listing = api.get(WEBHOOKS_URL).json()
    assert listing == {"count": 1, "next": None, "previous": None, "results": [body]}


def test_a_subscription_is_updated_and_deleted(api):
    created = subscribe(api, TARGET, "*", secret_key="s3cret")

    response = api.patch(detail_url(created["id"]), {
        "event_type": "shipment.*", "target_url": "http://93.184.215.14:8080/in",
        "retry_countdown_config": {"strategy": "linear", "countdown": 5, "max_retries": 2}},
        format="json")

    assert response.status_code == 200, response.json()
    assert rows() == [(created["id"], "shipment.*", "http://93.184.215.14:8080/in", "s3cret", None,
                       {"strategy": "linear", "countdown": 5, "max_retries": 2}, True)]
    assert response.json()["has_secret_key"] is True  # an update without secret_key keeps it

    response = api.delete(detail_url(created["id"]))

    assert response.status_code == 204
    assert rows() == []


def test_the_secret_key_is_write_only_and_can_be_removed(api):
    created = subscribe(api, TARGET, secret_key="s3cret")
    assert "secret_key" not in created

    read = api.get(detail_url(created["id"])).json()
    removed = api.patch(detail_url(created["id"]), {"secret_key": None}, format="json")

    assert "secret_key" not in read and read["has_secret_key"] is True
    assert removed.status_code == 200
    assert "secret_key" not in removed.json() and removed.json()["has_secret_key"] is False
    assert WebhookSubscription.objects.get().secret_key is None
    assert "s3cret" not in api.get(WEBHOOKS_URL).content.decode()


def test_reactivating_a_deactivated_subscription_starts_a_new_failure_count(api):
    created = subscribe(api, TARGET)
    WebhookSubscription.objects.filter(pk=created["id"]).update(
        is_active=False, consecutive_failures=10,
        deactivated_reason="Deactivated after 10 failed deliveries in a row.")

    response = api.patch(detail_url(created["id"]), {"is_active": True}, format="json")

    assert response.status_code == 200
    assert (response.json()["is_active"], response.json()["consecutive_failures"],
            response.json()["deactivated_reason"]) == (True, 0, "")
    assert WebhookSubscription.objects.values_list(
        "is_active", "consecutive_failures", "deactivated_reason").get() == (True, 0, "")


# -- event types -------------------------------------------------------------------------------------
@pytest.mark.parametrize("event_type", [
    "package.created", "package.status.packed", "package.status.*", "transfer.status.in_transit",
    "stock_location.updated", "*"])
def test_event_types_of_the_catalogue_and_patterns_matching_it_are_accepted(api, event_type):
    body = subscribe(api, TARGET, event_type)

    assert body["event_type"] == event_type


@pytest.mark.parametrize("event_type", ["package.status.nope", "order.created", "package.*.x", ""])
def test_an_event_type_matching_nothing_in_the_catalogue_is_400(api, event_type):
    response = api.post(WEBHOOKS_URL, {"event_type": event_type, "target_url": TARGET}, format="json")

    assert response.status_code == 400
    message = ("This field may not be blank." if not event_type
               else f"'{event_type}' matches no event of the catalogue.")
    assert response.json() == bad_request({"event_type": [message]})
    assert rows() == []


# -- target url ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["ftp://hooks.example.com/oms", "ftps://hooks.example.com/oms"])
def test_a_target_url_that_is_not_http_is_400(api, url):
    response = api.post(WEBHOOKS_URL, {"event_type": "*", "target_url": url}, format="json")

    assert response.status_code == 400
    assert response.json() == bad_request({"target_url": ["Use an http or https URL."]})
    assert rows() == []


def test_a_target_url_that_is_not_a_url_is_400(api):
    response = api.post(WEBHOOKS_URL, {"event_type": "*", "target_url": "hooks"}, format="json")

    assert response.status_code == 400
    assert response.json() == bad_request({"target_url": ["Enter a valid URL."]})


# -- retry config ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("config", "errors"), [
    ({"strategy": "sometimes", "countdown": 10, "max_retries": 3},
     {"strategy": ['"sometimes" is not a valid choice.']}),
    ({"strategy": "fixed", "countdown": -1, "max_retries": 3},
     {"countdown": ["Ensure this value is greater than or equal to 0."]}),
    ({"strategy": "fixed", "countdown": 10, "max_retries": -1},
     {"max_retries": ["Ensure this value is greater than or equal to 0."]}),
    ({"strategy": "fixed", "countdown": 10, "max_retries": 51},
     {"max_retries": ["Ensure this value is less than or equal to 50."]}),
    ({"strategy": "fixed"},
     {"countdown": ["This field is required."], "max_retries": ["This field is required."]}),
    ("exponential", {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}),
])
def test_a_bad_retry_config_is_400(api, config, errors):
    response = api.post(WEBHOOKS_URL, {"event_type": "*", "target_url": TARGET,
                                       "retry_countdown_config": config}, format="json")

    assert response.status_code == 400
    assert response.json() == bad_request({"retry_countdown_config": errors})
    assert rows() == []


@pytest.mark.parametrize("strategy", ["fixed", "linear", "exponential", "random"])
def test_every_countdown_strategy_is_accepted(api, strategy):
    config = {"strategy": strategy, "countdown": 0, "max_retries": 0}

    body = subscribe(api, TARGET, retry_countdown_config=config)

    assert body["retry_countdown_config"] == config


def test_patching_part_of_the_retry_config_is_400_and_keeps_the_stored_config(api):
    created = subscribe(api, TARGET)

    response = api.patch(detail_url(created["id"]), {"retry_countdown_config": {"strategy": "fixed"}},
                         format="json")

    assert response.status_code == 400
    assert response.json() == bad_request({"retry_countdown_config": {
        "countdown": ["This field is required."], "max_retries": ["This field is required."]}})
    assert WebhookSubscription.objects.get().retry_countdown_config == {
        "strategy": "exponential", "countdown": 30, "max_retries": 8}


# -- additional headers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["Content-Type", "x-oms-event", "X-OMS-Delivery", "X-Oms-Timestamp",
                                  "X-OMS-SIGNATURE", "Accept-Encoding"])
def test_headers_the_oms_sets_cannot_be_additional_headers(api, name):
    response = api.post(WEBHOOKS_URL, {"event_type": "*", "target_url": TARGET,
                                       "additional_headers": {"X-Tenant": "acme", name: "spoofed"}},
                        format="json")

    assert response.status_code == 400
    assert response.json() == bad_request({"additional_headers": [
        f"These headers are set by the OMS: {name}."]})
    assert rows() == []


def test_additional_headers_must_be_an_object_of_strings(api):
    response = api.post(WEBHOOKS_URL, {"event_type": "*", "target_url": TARGET,
                                       "additional_headers": ["X-Tenant: acme"]}, format="json")

    assert response.status_code == 400
    assert response.json() == bad_request({"additional_headers": [
        'Expected a dictionary of items but got type "list".']})


def test_an_additional_header_value_http_cannot_carry_is_400(api):
    response = api.post(WEBHOOKS_URL, {"event_type": "*", "target_url": TARGET,
                                       "additional_headers": {"X-Customer": "Ayşe"}}, format="json")

    assert response.status_code == 400
    assert rows() == []


# -- permissions ------------------------------------------------------------------------------------------
FORBIDDEN = {"error": {"detail": "You do not have permission to perform this action."}, "status_code": 403}


def test_a_user_without_the_model_permissions_cannot_write_subscriptions(api):
    created = subscribe(api, TARGET, secret_key="s3cret")
    reader = api_client_for(UserFactory())
    before = rows()

    responses = [
        reader.post(WEBHOOKS_URL, {"event_type": "*", "target_url": TARGET}, format="json"),
        reader.patch(detail_url(created["id"]), {"target_url": "https://evil.example.com/"}, format="json"),
        reader.put(detail_url(created["id"]), {"event_type": "*", "target_url": TARGET}, format="json"),
        reader.delete(detail_url(created["id"])),
    ]

    assert [(r.status_code, r.json()) for r in responses] == [(403, FORBIDDEN)] * 4
    assert rows() == before


def test_a_user_with_the_add_permission_may_create_a_subscription(db):
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="add_webhooksubscription"))

    response = api_client_for(user).post(WEBHOOKS_URL, {"event_type": "*", "target_url": TARGET},
                                         format="json")

    assert response.status_code == 201
    assert [r[1:3] for r in rows()] == [("*", TARGET)]


def test_anonymous_requests_are_401(client, db):
    response = client.get(WEBHOOKS_URL)

    assert response.status_code == 401
    assert response.json() == {"error": {"detail": "Authentication credentials were not provided."},
                               "status_code": 401}
