"""The last resort: an exception nobody expected answers JSON in the envelope with an error id
that is also in the log next to the traceback — under /api/ never an HTML page, whatever raised
it (a DRF view, a plain Django view, the URL resolver). Other paths keep Django's pages."""

import logging
import re
import uuid

import pytest
from django.db import DataError
from django.test import Client

from commands.views import StateViewSet
from orders.models import Channel

API = "/api/v1/oms/"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def boom(*args, **kwargs):
    raise RuntimeError("secret detail of the crash")


def error_records(caplog, error_id):
    return [r for r in caplog.records if r.levelno == logging.ERROR and error_id in r.getMessage()]


def test_an_unexpected_exception_in_a_view_answers_the_envelope_with_a_logged_error_id(
        db, api, monkeypatch, caplog):
    # given a list view that crashes
    monkeypatch.setattr(StateViewSet, "list", boom)
    # when
    with caplog.at_level(logging.ERROR):
        response = api.get(f"{API}states/")
    # then: JSON, the envelope, a uuid and nothing of the exception
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "status_code"}
    assert body["status_code"] == 500
    assert body["error"]["detail"] == "Internal error"
    error_id = body["error"]["error_id"]
    assert UUID.fullmatch(error_id)
    assert "secret detail" not in response.content.decode()
    # and the log has one error line with the same id, the request and the traceback
    [record] = error_records(caplog, error_id)
    assert record.getMessage() == f"Internal error {error_id} on GET {API}states/"
    assert record.exc_info[0] is RuntimeError
    assert str(record.exc_info[1]) == "secret detail of the crash"


def test_each_internal_error_gets_its_own_id(db, api, monkeypatch):
    monkeypatch.setattr(StateViewSet, "list", boom)
    first = api.get(f"{API}states/").json()["error"]["error_id"]
    second = api.get(f"{API}states/").json()["error"]["error_id"]
    assert first != second
    assert uuid.UUID(first).version == 4


def test_a_data_error_answers_400_not_500(db, api, monkeypatch):
    def out_of_range(*args, **kwargs):
        raise DataError("integer out of range")

    monkeypatch.setattr(StateViewSet, "list", out_of_range)
    response = api.get(f"{API}states/")
    assert response.status_code == 400
    assert response.json() == {"error": {"non_field_errors": [
        "A value is out of range or cannot be stored."]}, "status_code": 400}


@pytest.mark.urls("tests.api.error_urls")
def test_a_crash_outside_drf_under_api_answers_json(db, caplog):
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR):
        response = client.get(f"{API}crash/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status_code"] == 500
    assert body["error"]["detail"] == "Internal error"
    [record] = error_records(caplog, body["error"]["error_id"])
    assert record.exc_info[0] is RuntimeError
    assert str(record.exc_info[1]) == "a plain view blew up"


@pytest.mark.urls("tests.api.error_urls")
def test_a_crash_outside_the_api_keeps_djangos_page(db):
    response = Client(raise_request_exception=False).get("/not-api/crash/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_an_unknown_api_path_answers_404_in_the_envelope(db, api):
    response = api.get(f"{API}no-such-endpoint/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"detail": "Not found."}, "status_code": 404}


def test_an_unknown_path_outside_the_api_keeps_djangos_404_page(db):
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_body_nested_too_deeply_answers_400(db, api):
    body = "[" * 5000 + "]" * 5000
    response = api.post(f"{API}channels/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": {"detail": "JSON parse error - nested deeper than 40 levels."},
                               "status_code": 400}
    assert Channel.objects.count() == 0


def test_a_body_over_the_upload_limit_answers_413(db, api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post(f"{API}channels/", {"name": "x" * 2000, "code": "big", "channel_type": "web"},
                        format="json")
    assert response.status_code == 413
    assert response.json() == {"error": {"detail": "The request body is too large."}, "status_code": 413}
    assert Channel.objects.count() == 0


def test_a_request_refused_by_django_before_drf_answers_json_under_api(db):
    # given a Host header that is not allowed: Django refuses it in the middleware, before any view
    response = Client().get(f"{API}health/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"detail": "Bad request."}, "status_code": 400}
