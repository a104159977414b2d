"""Helpers of the webhook tests: API calls as an integration makes them, and readable rows."""

from __future__ import annotations

from packages.models import Package
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent

WEBHOOKS_URL = "/api/v1/oms/webhooks/"

PACK_EVENTS = ["package.status.transitioned", "package.status.packed", "shipment.created"]
SHIP_EVENTS = ["package.status.transitioned", "package.status.shipped", "shipment.status.updated"]


def subscribe(api, target_url: str, event_type: str = "*", **fields) -> dict:
    """POST a subscription as ``curl -X POST .../webhooks/ -d '{...}'`` would; returns the body."""
    response = api.post(WEBHOOKS_URL, {"event_type": event_type, "target_url": target_url, **fields},
                        format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def command(api, package: Package, transition, input_parameters: dict | None = None):
    return api.post(f"/api/v1/oms/packages/{package.pk}/command/",
                    {"transition": transition.pk, "input_parameters": input_parameters or {}},
                    format="json")


def run(api, package: Package, transition) -> None:
    response = command(api, package, transition)
    assert response.status_code == 200, response.json()


def pack(api, seeded, package: Package) -> None:
    run(api, package, seeded.transition("COMPLETE_PACKAGING", 100, 500))


def ship(api, seeded, package: Package) -> None:
    run(api, package, seeded.transition("SHIP_THE_PACKAGE", 500, 550))


def events_after(event_id: int) -> list[WebhookEvent]:
    return list(WebhookEvent.objects.filter(id__gt=event_id).order_by("id"))


def last_event_id() -> int:
    return WebhookEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def deliveries(subscription_id: int | None = None) -> list[tuple[str, str, int]]:
    """(event type, status, attempts) of the deliveries, in event order."""
    qs = WebhookDelivery.objects.order_by("event_id")
    if subscription_id is not None:
        qs = qs.filter(subscription_id=subscription_id)
    return list(qs.values_list("event__event_type", "status", "attempts"))


def attempts(delivery: WebhookDelivery) -> list[tuple[int, int | None, str]]:
    """(number, status code, response excerpt) of a delivery's attempts."""
    return list(WebhookAttempt.objects.filter(delivery=delivery).order_by("id")
                .values_list("number", "status_code", "response_excerpt"))
