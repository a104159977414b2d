import io
import os

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import TransitionBook, UserFactory

_skipped: list[str] = []


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason=f"needs PostgreSQL row locks and concurrent connections; "
                                   f"this run uses {connection.vendor} (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, "wasxfail"):  # an xfail is not a skip
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    # CI runs on PostgreSQL and sets OMS_FORBID_SKIPS=1: a skipped test there is a failure.
    if os.environ.get("OMS_FORBID_SKIPS") == "1" and _skipped:
        print(f"\nOMS_FORBID_SKIPS=1 but {len(_skipped)} test(s) were skipped:")
        for nodeid in _skipped:
            print(f"  {nodeid}")
        session.exitstatus = 1


@pytest.fixture
def seeded(db):
    """States and transitions as seed_transitions creates them."""
    call_command("seed_transitions", stdout=io.StringIO())
    return TransitionBook()


@pytest.fixture
def staff_user(db):
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def api(staff_user):
    """An API client authenticated with a staff user's token (channel oms_web)."""
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=staff_user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    client.user = staff_user
    return client


def api_client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    client.user = user
    return client


@pytest.fixture(autouse=True)
def empty_rq_queue():
    """On the RQ backend (make test-rq) every test starts with an empty Redis database: the one of
    REDIS_URL, flushed only when OMS_TEST_FLUSH_REDIS=1 says it is a scratch database."""
    from django.conf import settings  # noqa: PLC0415

    if getattr(settings, "RQ_ENABLED", False):
        if os.environ.get("OMS_TEST_FLUSH_REDIS") != "1":
            pytest.fail("The tests on the RQ backend empty REDIS_URL's database before each test: run "
                        "them with `make test-rq` (TEST_REDIS_URL) or set OMS_TEST_FLUSH_REDIS=1.")
        import django_rq  # noqa: PLC0415

        django_rq.get_connection("default").flushdb()


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Real hashing costs ~0.3 s per user; tests only need passwords to check."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
