"""Dates are read by psycopg's compiled loader (oms/postgresql/base.py): the same values as Django's
own loader, which parses in Python, for any date PostgreSQL holds."""

import datetime

import pytest
from django.db import connection, connections
from django.db.backends.postgresql.psycopg_any import BaseTzLoader, register_tzloader
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oms.postgresql.base import TimestamptzLoader
from packages.models import Package
from tests.factories import make_package

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

UTC = datetime.UTC
OFFSETS = st.sampled_from([UTC, datetime.timezone(datetime.timedelta(hours=3)),
                           datetime.timezone(datetime.timedelta(hours=-3, minutes=-30)),
                           datetime.timezone(datetime.timedelta(hours=14))])


def read(cursor, value: datetime.datetime) -> datetime.datetime:
    cursor.execute("SELECT %s::timestamptz", [value])
    return cursor.fetchone()[0]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.datetimes(min_value=datetime.datetime(1, 1, 2), max_value=datetime.datetime(9999, 12, 30),
                          timezones=OFFSETS))
def test_a_date_reads_as_djangos_loader_reads_it(value):
    with connection.cursor() as fast:
        ours = read(fast, value)
    with connection.cursor() as django_cursor:
        register_tzloader(connection.timezone, django_cursor.cursor)  # Django's loader, on this cursor
        assert issubclass(django_cursor.cursor.adapters.get_loader(1184, 0), BaseTzLoader)
        theirs = read(django_cursor, value)
    assert ours == theirs == value
    assert ours.tzinfo is theirs.tzinfo is UTC
    assert ours.isoformat() == theirs.isoformat()


def test_the_orm_reads_dates_with_the_compiled_loader(seeded):
    package = make_package()
    connection.ensure_connection()
    assert connection.connection.adapters.get_loader(1184, 0) is TimestamptzLoader
    with connection.cursor() as cursor:
        # Django's create_cursor kept it: it registers its own only when the time zones differ
        assert cursor.cursor.adapters.get_loader(1184, 0) is TimestamptzLoader
    read_back = Package.objects.get(pk=package.pk).created_date
    assert read_back == package.created_date
    assert read_back.tzinfo is UTC


def test_a_database_with_a_time_zone_of_its_own_keeps_djangos_loader():
    db = connections.create_connection("default")
    db.settings_dict = {**db.settings_dict, "TIME_ZONE": "Europe/Istanbul"}
    try:
        db.ensure_connection()
        assert issubclass(db.connection.adapters.get_loader(1184, 0), BaseTzLoader)
        with db.cursor() as cursor:
            value = read(cursor, datetime.datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
        assert value == datetime.datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
        assert value.utcoffset() == datetime.timedelta(hours=3)
    finally:
        db.close()
