"""Webhook admin (issue 9 item 7): the secret is write-only for everyone — never rendered, not even
masked — and re-sending deliveries needs the change permission."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory
from webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription

SECRET = "whsec-Zq81-super-secret-value"
RETRY = '{"strategy": "fixed", "countdown": 30, "max_retries": 3}'


@pytest.fixture
def subscription(db):
    return WebhookSubscription.objects.create(event_type="package.status.*",
                                              target_url="https://hooks.example.com/oms", secret_key=SECRET)


def change_url(subscription):
    return reverse("admin:webhooks_webhooksubscription_change", args=[subscription.pk])


def client_with(*codenames):
    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def form_data(subscription, **overrides):
    return {"event_type": subscription.event_type, "target_url": subscription.target_url,
            "additional_headers": "null", "retry_countdown_config": RETRY,
            "is_active": "on", "new_secret_key": "", **overrides}


# -- the secret ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["superuser", "viewer"])
def test_the_secret_is_never_rendered(subscription, staff_client, who):
    client = staff_client if who == "superuser" else client_with("view_webhooksubscription")

    page = client.get(change_url(subscription))
    listing = client.get(reverse("admin:webhooks_webhooksubscription_changelist"))

    assert page.status_code == listing.status_code == 200
    for response in (page, listing):
        content = response.content.decode()
        assert SECRET not in content
        assert SECRET[:6] not in content and SECRET[-6:] not in content
    assert "Set (not shown)" in page.content.decode()
    assert "secret_key" not in page.context["adminform"].form.fields


def test_the_secret_input_is_empty_and_never_echoed(subscription, staff_client):
    page = staff_client.get(change_url(subscription))

    field = page.context["adminform"].form["new_secret_key"]
    assert field.value() in (None, "")
    assert 'type="password"' in str(field)
    assert 'value="' not in str(field)


def test_a_new_secret_replaces_the_old_one(subscription, staff_client):
    data = form_data(subscription, new_secret_key="whsec-new")

    response = staff_client.post(change_url(subscription), data)

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.secret_key == "whsec-new"


def test_an_empty_secret_input_keeps_the_secret(subscription, staff_client):
    response = staff_client.post(change_url(subscription), form_data(subscription, event_type="package.*"))

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.event_type, subscription.secret_key) == ("package.*", SECRET)


def test_the_secret_can_be_removed(subscription, staff_client):
    response = staff_client.post(change_url(subscription), form_data(subscription, remove_secret_key="on"))

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.secret_key is None


def test_setting_and_removing_the_secret_at_once_is_refused(subscription, staff_client):
    response = staff_client.post(change_url(subscription), form_data(subscription, new_secret_key="x",
                                                                     remove_secret_key="on"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "remove_secret_key": ["Either set a new secret or remove it, not both."]}
    subscription.refresh_from_db()
    assert subscription.secret_key == SECRET


def test_a_viewer_cannot_post_a_secret(subscription):
    client = client_with("view_webhooksubscription")

    response = client.post(change_url(subscription), form_data(subscription, new_secret_key="stolen"))

    assert response.status_code == 403
    subscription.refresh_from_db()
    assert subscription.secret_key == SECRET


def test_a_subscription_added_here_gets_its_secret(staff_client):
    response = staff_client.post(reverse("admin:webhooks_webhooksubscription_add"), {
        "event_type": "package.*", "target_url": "https://hooks.example.com/new",
        "additional_headers": "null", "retry_countdown_config": RETRY, "is_active": "on",
        "new_secret_key": "whsec-first"})

    assert response.status_code == 302
    added = WebhookSubscription.objects.get(target_url="https://hooks.example.com/new")
    assert added.secret_key == "whsec-first"


# -- re-send -----------------------------------------------------------------------------------------------
@pytest.fixture
def failed_delivery(subscription):
    event = WebhookEvent.objects.create(event_type="package.status.packed", payload={"id": 1})
    return WebhookDelivery.objects.create(event=event, subscription=subscription, status="failed", attempts=3)


def resend(client, delivery):
    return client.post(reverse("admin:webhooks_webhookdelivery_changelist"),
                       {"action": "resend", "index": "0", "_selected_action": [str(delivery.pk)]})


def test_a_viewer_is_not_offered_re_send_and_cannot_post_it(failed_delivery):
    client = client_with("view_webhookdelivery")

    page = client.get(reverse("admin:webhooks_webhookdelivery_changelist"))
    response = resend(client, failed_delivery)

    assert page.status_code == 200
    assert page.context["action_form"] is None  # no action at all for a viewer
    assert response.status_code in (200, 302, 403)
    failed_delivery.refresh_from_db()
    assert (failed_delivery.status, failed_delivery.attempts) == ("failed", 3)


def test_a_user_with_the_change_permission_re_sends(failed_delivery):
    client = client_with("view_webhookdelivery", "change_webhookdelivery")

    page = client.get(reverse("admin:webhooks_webhookdelivery_changelist"))
    response = resend(client, failed_delivery)

    assert "resend" in dict(page.context["action_form"].fields["action"].choices)
    assert response.status_code == 302
    failed_delivery.refresh_from_db()
    assert (failed_delivery.status, failed_delivery.next_attempt_at) == ("pending", None)
