"""Spec §3.3: Idempotency-Key replays the first response per (user, key)."""

from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from commands.models import IdempotencyRecord, StateTransitionLog
from packages.models import Package
from tests.conftest import api_client_for
from tests.factories import UserFactory, make_package
from tests.snapshots import db_snapshot


def post(client, package, body, key):
    return client.post(f"/api/v1/oms/packages/{package.pk}/command/", body, format="json",
                       HTTP_IDEMPOTENCY_KEY=key)


def test_repeat_with_same_key_and_body_replays_without_running_again(api, seeded):
    package = make_package()
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    first = post(api, package, {"transition": pack.pk}, "key-1")
    after_first = db_snapshot()

    second = post(api, package, {"transition": pack.pk}, "key-1")

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert db_snapshot() == after_first
    assert StateTransitionLog.objects.get().attributes["idempotency_key"] == "key-1"


def test_same_key_with_different_body_is_422(api, seeded):
    package = make_package()
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    block = seeded.transition("BLOCK_THE_PACKAGE", 100, 350)
    post(api, package, {"transition": pack.pk}, "key-2")
    before = db_snapshot()

    response = post(api, package, {"transition": block.pk}, "key-2")

    assert response.status_code == 422
    assert response.json() == {"error": {"non_field_errors": "Idempotency key reused with a different "
                                                             "request", "error_code": "commands_100_6"},
                               "status_code": 422}
    assert db_snapshot() == before


def test_keys_are_per_user(api, seeded, staff_user):
    first_package, second_package = make_package(), make_package()
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    other = api_client_for(UserFactory(is_staff=True, is_superuser=True))

    assert post(api, first_package, {"transition": pack.pk}, "shared").status_code == 200
    response = post(other, second_package, {"transition": pack.pk}, "shared")

    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response
    assert set(Package.objects.values_list("status", flat=True)) == {500}


def test_a_refusal_is_stored_and_replayed(api, seeded):
    package = make_package(status=500)
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    first = post(api, package, {"transition": pack.pk}, "key-3")

    second = post(api, package, {"transition": pack.pk}, "key-3")

    assert first.status_code == second.status_code == 406
    assert second.json() == first.json()
    assert first.json()["error"]["error_code"] == "commands_100_1"
    assert second["Idempotent-Replayed"] == "true"


def test_without_a_key_nothing_is_stored(api, seeded):
    package = make_package()
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)

    api.post(f"/api/v1/oms/packages/{package.pk}/command/", {"transition": pack.pk}, format="json")

    assert IdempotencyRecord.objects.count() == 0


def test_key_longer_than_255_is_400(api, seeded):
    package = make_package()
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    before = db_snapshot()

    response = post(api, package, {"transition": pack.pk}, "k" * 256)

    assert response.status_code == 400
    assert response.json()["error"]["error_code"] == "commands_100_4"
    assert db_snapshot() == before


def test_purge_deletes_only_records_older_than_the_age(api, seeded):
    package = make_package()
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    post(api, package, {"transition": pack.pk}, "old")
    post(api, package, {"transition": pack.pk}, "new")
    IdempotencyRecord.objects.filter(key="old").update(created_date=timezone.now() - timedelta(hours=30))
    out = StringIO()

    call_command("purge_idempotency_keys", "--hours", "24", stdout=out)

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    assert "Purged 1; 1 kept." in out.getvalue()
