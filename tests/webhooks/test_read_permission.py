"""Subscriptions may carry credentials in their headers: reading them needs the view permission."""

from django.contrib.auth.models import Permission

from tests.conftest import api_client_for
from tests.factories import UserFactory
from webhooks.models import WebhookSubscription


def test_a_token_without_the_view_permission_cannot_read_subscriptions(db):
    WebhookSubscription.objects.create(event_type="*", target_url="http://127.0.0.1:9/hook",
                                       additional_headers={"Authorization": "Bearer secret"})

    response = api_client_for(UserFactory()).get("/api/v1/oms/webhooks/")

    assert response.status_code == 403
    assert response.json() == {"error": {"detail": "You do not have permission to perform this action."},
                               "status_code": 403}


def test_the_view_permission_allows_reading_but_never_shows_the_secret(db):
    WebhookSubscription.objects.create(event_type="*", target_url="http://127.0.0.1:9/hook",
                                       secret_key="s3cret")
    reader = UserFactory()
    reader.user_permissions.add(Permission.objects.get(codename="view_webhooksubscription"))

    response = api_client_for(reader).get("/api/v1/oms/webhooks/")

    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["has_secret_key"] is True and "secret_key" not in row
