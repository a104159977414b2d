"""The receiver side, as the README shows it: verify a real delivery's signature with nothing but
the standard library, reject tampering, stale timestamps and unsigned requests, drop duplicates."""

import hmac
import time
from hashlib import sha256
from types import SimpleNamespace

import httpx
import pytest

from tests.factories import make_package
from tests.webhooks.helpers import pack, subscribe
from webhooks.delivery import deliveries_run

# -- the README snippet (with its imports: hmac, time, hashlib.sha256) -------------------------------

def verify_oms_webhook(secret: bytes, headers, body: bytes, tolerance: int = 300) -> bool:
    """True if the request comes from the OMS. ``body``: the raw request bytes, before parsing."""
    signature = headers.get("X-OMS-Signature", "")
    ts = headers.get("X-OMS-Timestamp", "")
    if not ts.isdigit() or abs(time.time() - int(ts)) > tolerance:
        return False  # missing or stale timestamp: maybe a replay
    return hmac.compare_digest(signature, "sha256=" + hmac.new(secret, f"{ts}.".encode() + body,
                                                                sha256).hexdigest())
# Delivery is at least once: skip an X-OMS-Delivery id you have already processed.
# -------------------------------------------------------------------------------------------------------

SECRET = "whsec_readme"


def as_received(request):
    """Headers as a web framework hands them to a view: case-insensitive."""
    return httpx.Headers(list(request.raw_headers)), request.body


@pytest.fixture
def delivered(api, seeded, receiver):
    """One real signed delivery (shipment.created) received by the test receiver."""
    subscribe(api, receiver.url, "shipment.created", secret_key=SECRET)
    pack(api, seeded, make_package())
    assert deliveries_run() == 1
    [request] = receiver.requests
    return request


def test_a_real_delivery_verifies(delivered):
    headers, body = as_received(delivered)

    assert verify_oms_webhook(SECRET.encode(), headers, body) is True


def test_a_tampered_body_another_secret_or_another_timestamp_do_not_verify(delivered):
    headers, body = as_received(delivered)
    later = httpx.Headers({**headers, "X-OMS-Timestamp": str(int(headers["X-OMS-Timestamp"]) + 1)})

    assert verify_oms_webhook(SECRET.encode(), headers, body.replace(b"created", b"shipped")) is False
    assert verify_oms_webhook(b"another secret", headers, body) is False
    assert verify_oms_webhook(SECRET.encode(), later, body) is False


def test_a_stale_delivery_is_refused(delivered, monkeypatch):
    headers, body = as_received(delivered)
    sent_at = int(headers["X-OMS-Timestamp"])

    monkeypatch.setattr(f"{__name__}.time", SimpleNamespace(time=lambda: sent_at + 301))
    assert verify_oms_webhook(SECRET.encode(), headers, body) is False
    monkeypatch.setattr(f"{__name__}.time", SimpleNamespace(time=lambda: sent_at + 299))
    assert verify_oms_webhook(SECRET.encode(), headers, body) is True


def test_an_unsigned_delivery_does_not_verify(api, seeded, receiver):
    subscribe(api, receiver.url, "shipment.created")  # no secret_key: no X-OMS-Signature
    pack(api, seeded, make_package())
    deliveries_run()

    [request] = receiver.requests
    headers, body = as_received(request)

    assert "X-OMS-Signature" not in headers
    assert verify_oms_webhook(SECRET.encode(), headers, body) is False


def test_a_retried_delivery_verifies_again_and_is_processed_once(api, seeded, receiver):
    subscribe(api, receiver.url, "shipment.created", secret_key=SECRET,
              retry_countdown_config={"strategy": "fixed", "countdown": 0, "max_retries": 1})
    receiver.answer(500)
    pack(api, seeded, make_package())
    deliveries_run()
    deliveries_run()
    processed, seen = [], set()

    for request in receiver.requests:
        headers, body = as_received(request)
        assert verify_oms_webhook(SECRET.encode(), headers, body) is True
        if headers["X-OMS-Delivery"] not in seen:
            seen.add(headers["X-OMS-Delivery"])
            processed.append(request.json()["event"]["uuid"])

    assert len(receiver.requests) == 2
    assert len(processed) == 1
