"""The reused connection's health check (oms/postgresql/base.py): no round trip while nothing has
arrived on an idle connection; a connection the server ended is found unusable."""

import time

import pytest
from django.db import connections
from django.db.backends.postgresql import base as django_base

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def wrapper():
    db = connections.create_connection("default")
    db.ensure_connection()
    yield db
    db.close()


def test_an_idle_connection_is_usable_without_asking_the_server(wrapper, monkeypatch):
    def round_trip(self):
        raise AssertionError("SELECT 1 sent")

    monkeypatch.setattr(django_base.DatabaseWrapper, "is_usable", round_trip)
    assert wrapper.is_usable() is True


def test_a_connection_the_server_ended_is_unusable(wrapper):
    pid = wrapper.connection.info.backend_pid
    other = connections.create_connection("default")
    try:
        with other.cursor() as killer:
            killer.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert killer.fetchone() == (True,)
    finally:
        other.close()
    deadline = time.monotonic() + 5
    while wrapper.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert wrapper.is_usable() is False


def test_the_production_settings_use_this_backend():
    assert connections["default"].settings_dict["ENGINE"] == "oms.postgresql"
