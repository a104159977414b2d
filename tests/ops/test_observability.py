"""Request ids, logs and metrics, as an operator reads them: the X-Request-ID of a request on every
line it logs (text or JSON), one line per command, Prometheus counters that move by exactly what
happened, the backlog read from the database, /metrics closed to the outside, and gunicorn's workers
adding up."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY
from rest_framework.test import APIClient

from oms.logging import JsonFormatter, RequestIdFilter
from tests.factories import ChannelFactory, StockFactory, StockLocationFactory, make_package
from tests.ops.conftest import VIA_BALANCER
from tests.planning.helpers import ORDERS_URL, order_body, scenario_with_rules
from webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription

HEALTH = "/api/v1/oms/health/"
HEX32 = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def log_lines():
    """Everything logged while the test runs, as the JSON lines LOG_FORMAT=json writes."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# -- X-Request-ID --------------------------------------------------------------------------------------
def test_a_request_without_an_id_gets_a_fresh_one_in_the_response(db):
    first = APIClient().get(HEALTH)
    second = APIClient().get(HEALTH)

    assert HEX32.fullmatch(first["X-Request-ID"]) and HEX32.fullmatch(second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_sane_incoming_id_is_kept_and_echoed(db):
    response = APIClient().get(HEALTH, HTTP_X_REQUEST_ID="lb-7f3a.2024:11/req=42")

    assert response["X-Request-ID"] == "lb-7f3a.2024:11/req=42"


@pytest.mark.parametrize("incoming", ["two words", "forged\nline", "x" * 129, "", "-leading-dash", "é"])
def test_an_unusable_incoming_id_is_replaced(db, incoming):
    response = APIClient().get(HEALTH, HTTP_X_REQUEST_ID=incoming)

    assert HEX32.fullmatch(response["X-Request-ID"])


def test_every_line_a_request_logs_carries_its_id_and_lines_after_it_none(db, log_lines):
    APIClient().get("/api/v1/oms/no-such-endpoint/", HTTP_X_REQUEST_ID="req-404")
    logging.getLogger("tests.ops").warning("after the request")

    lines = log_lines()
    assert [(line["logger"], line["level"], line["message"], line["request_id"]) for line in lines] == [
        ("django.request", "WARNING", "Not Found: /api/v1/oms/no-such-endpoint/", "req-404"),
        ("tests.ops", "WARNING", "after the request", "-"),
    ]


def test_json_lines_have_a_timestamp_and_the_exception(log_lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("tests.ops").exception("it failed")

    [line] = log_lines()
    assert (line["message"], line["level"], line["request_id"]) == ("it failed", "ERROR", "-")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", line["timestamp"])
    assert "ValueError: boom" in line["exc_info"]


# -- the command's log line and metrics ----------------------------------------------------------------
@pytest.fixture
def package(seeded):
    return make_package(items=1)


def pack(api, package, seeded, request_id: str):
    transition = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    return api.post(f"/api/v1/oms/packages/{package.pk}/command/", {"slug": transition.slug},
                    format="json", HTTP_X_REQUEST_ID=request_id)


def test_a_command_logs_one_line_with_its_package_type_transition_outcome_and_duration(
        api, seeded, package, log_lines):
    response = pack(api, package, seeded, "cmd-1")

    assert response.status_code == 200
    [line] = [line for line in log_lines() if line["logger"] == "oms.commands"]
    assert line["duration_ms"] > 0
    del line["duration_ms"], line["timestamp"]
    slug = seeded.transition("COMPLETE_PACKAGING", 100, 500).slug
    assert line == {
        "level": "INFO", "logger": "oms.commands", "request_id": "cmd-1",
        "message": f"command COMPLETE_PACKAGING on package {package.number} ({slug}): ok 200 in "
                   f"{line_ms(line)} ms",
        "object_type": "package", "object": package.number, "command": "COMPLETE_PACKAGING",
        "transition": slug, "outcome": "ok", "status_code": 200, "error_code": ""}


def line_ms(line: dict) -> str:
    return re.search(r"in ([\d.]+) ms$", line["message"]).group(1)


def test_a_refused_command_logs_its_error_code(api, seeded, package, log_lines):
    assert pack(api, package, seeded, "cmd-2").status_code == 200

    response = pack(api, package, seeded, "cmd-3")

    assert response.status_code == 406
    lines = [line for line in log_lines() if line["logger"] == "oms.commands"]
    assert [(line["request_id"], line["outcome"], line["status_code"], line["error_code"], line["object"],
             line["command"]) for line in lines] == [
        ("cmd-2", "ok", 200, "", package.number, "COMPLETE_PACKAGING"),
        ("cmd-3", "refused", 406, "commands_100_1", package.number, "COMPLETE_PACKAGING")]


def test_commands_are_counted_by_type_and_outcome_and_timed(api, seeded, package):
    labels = {"object_type": "package", "command": "COMPLETE_PACKAGING"}
    ok_before = sample("oms_commands_total", **labels, outcome="ok", code="")
    refused_before = sample("oms_commands_total", **labels, outcome="refused", code="commands_100_1")
    timed_before = sample("oms_command_duration_seconds_count", **labels)

    pack(api, package, seeded, "m-1")
    pack(api, package, seeded, "m-2")
    pack(api, package, seeded, "m-3")

    assert sample("oms_commands_total", **labels, outcome="ok", code="") - ok_before == 1
    refused = sample("oms_commands_total", **labels, outcome="refused", code="commands_100_1")
    assert refused - refused_before == 2
    assert sample("oms_command_duration_seconds_count", **labels) - timed_before == 3


def test_order_intake_is_counted_by_outcome_and_timed(api, seeded):
    ChannelFactory(code="web")
    store = StockLocationFactory(erp_code="ST-OBS")
    StockFactory(stock_location=store, sku="A", quantity=5)
    scenario_with_rules(store, {})
    before = {outcome: sample("oms_orders_total", outcome=outcome) for outcome in ("created", "existing",
                                                                                  "refused")}
    timed_before = sample("oms_order_intake_duration_seconds_count")

    assert api.post(ORDERS_URL, order_body("OBS-1"), format="json").status_code == 201
    assert api.post(ORDERS_URL, order_body("OBS-1"), format="json").status_code == 200
    assert api.post(ORDERS_URL, order_body("OBS-2", channel="nope"), format="json").status_code == 400

    after = {outcome: sample("oms_orders_total", outcome=outcome) for outcome in before}
    assert {outcome: after[outcome] - before[outcome] for outcome in before} == {
        "created": 1, "existing": 1, "refused": 1}
    assert sample("oms_order_intake_duration_seconds_count") - timed_before == 3


# -- /metrics ------------------------------------------------------------------------------------------
def test_metrics_answer_a_loopback_client(client, db):
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPE_LATEST
    text = response.content.decode()
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    assert {name: types.get(name) for name in (
        "oms_commands_total", "oms_command_duration_seconds", "oms_orders_total",
        "oms_order_intake_duration_seconds", "oms_webhook_deliveries_total", "oms_http_requests_total",
        "oms_http_request_duration_seconds", "oms_webhook_pending_deliveries",
        "oms_webhook_oldest_pending_age_seconds", "oms_tasks_queued", "oms_tasks_oldest_queued_age_seconds",
        "oms_database_up")} == {
        "oms_commands_total": "counter", "oms_command_duration_seconds": "histogram",
        "oms_orders_total": "counter", "oms_order_intake_duration_seconds": "histogram",
        "oms_webhook_deliveries_total": "counter", "oms_http_requests_total": "counter",
        "oms_http_request_duration_seconds": "histogram", "oms_webhook_pending_deliveries": "gauge",
        "oms_webhook_oldest_pending_age_seconds": "gauge", "oms_tasks_queued": "gauge",
        "oms_tasks_oldest_queued_age_seconds": "gauge", "oms_database_up": "gauge"}
    assert not [name for name in types if name.endswith("_created")]


@pytest.mark.parametrize("meta", [
    {"REMOTE_ADDR": "10.1.2.3"},
    {"REMOTE_ADDR": "203.0.113.9"},
    {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"},  # a proxy on the same host
    {"REMOTE_ADDR": "::1", "HTTP_FORWARDED": "for=203.0.113.9"},
])
def test_metrics_refuse_other_clients_and_proxied_requests(client, db, meta):
    response = client.get("/metrics", **meta)

    assert (response.status_code, response.content) == (
        403, b"Metrics are served to loopback clients only (or set METRICS_TOKEN).\n")


@pytest.mark.parametrize(("authorization", "status"), [
    (None, 401), ("Bearer wrong-token", 401), ("Token s3cret-metrics-token", 401),
    ("Bearer s3cret-metrics-token", 200), ("bearer s3cret-metrics-token", 200),
])
def test_with_a_metrics_token_only_its_bearer_gets_them_from_anywhere(client, db, settings, authorization,
                                                                     status):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9", **headers)

    assert response.status_code == status
    if status == 401:
        assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'


def test_the_webhook_backlog_is_read_from_the_database_at_scrape_time(client, seeded, package):
    active = WebhookSubscription.objects.create(event_type="*", target_url="https://hooks.example.com/a")
    inactive = WebhookSubscription.objects.create(event_type="*", target_url="https://hooks.example.com/b",
                                                  is_active=False)
    events = [WebhookEvent.objects.create(event_type="package.created", payload={}) for _ in range(3)]
    old = WebhookDelivery.objects.create(event=events[0], subscription=active)
    WebhookDelivery.objects.filter(pk=old.pk).update(created_date=timezone.now() - timedelta(hours=1))
    WebhookDelivery.objects.create(event=events[1], subscription=active)
    WebhookDelivery.objects.create(event=events[2], subscription=active, status="delivered")
    WebhookDelivery.objects.create(event=events[2], subscription=inactive)  # never sent: not backlog

    text = client.get("/metrics").content.decode()

    assert "\noms_webhook_pending_deliveries 2.0\n" in text
    age = float(re.search(r"\noms_webhook_oldest_pending_age_seconds (\S+)\n", text).group(1))
    assert 3600 <= age < 3660
    assert "\noms_database_up 1.0\n" in text


# -- under gunicorn ----------------------------------------------------------------------------------
def scrape(server) -> str:
    return httpx.get(f"{server.url}/metrics", headers={"Host": "oms.example.com"}).text


def counted_static_requests(text: str) -> float:
    found = re.search(r'\noms_http_requests_total\{method="GET",status="200",view="-"\} (\S+)\n', text)
    return float(found.group(1)) if found else 0.0


def test_every_gunicorn_worker_counts_into_one_scrape(production_server):
    before = counted_static_requests(scrape(production_server))

    def fetch(_):
        with httpx.Client() as http:  # a connection per request: spread over both workers
            return http.get(f"{production_server.url}/static/admin/css/base.css", headers=VIA_BALANCER)

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = [r.status_code for r in pool.map(fetch, range(40))]

    assert statuses == [200] * 40
    assert counted_static_requests(scrape(production_server)) - before == 40


def test_gunicorn_and_the_app_log_json_lines_with_the_request_id(production_server):
    response = httpx.get(f"{production_server.url}/api/v1/oms/no-such-endpoint/",
                         headers={**VIA_BALANCER, "X-Request-ID": "json-lines-1"})
    assert (response.status_code, response.headers["x-request-id"]) == (404, "json-lines-1")

    deadline = time.monotonic() + 10
    while "request_id=json-lines-1" not in production_server.output and time.monotonic() < deadline:
        time.sleep(0.05)

    lines = [json.loads(line) for line in production_server.output.splitlines() if line.strip()]
    app = [line for line in lines if line.get("request_id") == "json-lines-1"]
    access = [line for line in lines if line["logger"] == "gunicorn.access"
              and "request_id=json-lines-1" in line["message"]]
    assert [(line["logger"], line["level"], line["message"]) for line in app] == [
        ("django.request", "WARNING", "Not Found: /api/v1/oms/no-such-endpoint/")]
    [line] = access
    assert '"GET /api/v1/oms/no-such-endpoint/ HTTP/1.1" 404' in line["message"]
