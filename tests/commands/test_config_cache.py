"""Configuration read once per process (commands/cache.py), invalidated by every write."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from django.db import connection, transaction
from django.urls import reverse

from commands import cache
from commands.models import State, Transition
from locations.models import StockLocation
from tests.factories import StockLocationFactory, UserFactory
from webhooks.models import WebhookSubscription

PACK = "package__complete_packaging__waiting__packed"


def pack_transition() -> Transition:
    return Transition.objects.get(slug=PACK)


def transition_form(transition: Transition, **overrides) -> dict:
    """The admin change form of a transition, as the page submits it."""
    data = {"label": transition.label, "slug": transition.slug, "command": transition.command,
            "source_state": transition.source_state_id,
            "destination_state": transition.destination_state_id or "",
            "ui_visibility": transition.ui_visibility, "is_active": "on",
            "input_defaults": json.dumps(transition.input_defaults),
            "translations": json.dumps(transition.translations)}
    return {**data, **overrides}


# -- in this process ---------------------------------------------------------------------------------
def test_a_scope_checks_the_version_once_and_reads_the_configuration_once(seeded,
                                                                          django_assert_num_queries):
    cache.forget()
    with django_assert_num_queries(3), cache.config_scope():  # versions, states, transitions
        first = cache.commands_config().by_slug[PACK]
        again = cache.commands_config().by_slug[PACK]
    with django_assert_num_queries(1), cache.config_scope():  # versions only
        third = cache.commands_config().by_slug[PACK]

    assert first is again is third
    assert (first.source_state.slug, first.destination_state.slug) == ("waiting", "packed")


def test_a_transition_deactivated_in_the_admin_is_inactive_in_the_cache_right_after(seeded, client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    transition = pack_transition()
    assert cache.commands_config().by_slug[PACK].is_active is True

    response = client.post(reverse("admin:commands_transition_change", args=[transition.pk]),
                           transition_form(transition, is_active=""))

    assert response.status_code == 302
    config = cache.commands_config()
    assert config.by_slug[PACK].is_active is False
    assert config.transitions[transition.pk].is_active is False
    assert transition.pk not in {t.pk for t in config.outgoing[transition.source_state_id]}


@pytest.mark.parametrize("write", ["update", "delete", "raw_sql"])
def test_every_kind_of_write_changes_the_version(seeded, write):
    before = cache.versions()
    transition = pack_transition()
    if write == "update":
        Transition.objects.filter(pk=transition.pk).update(label="Packed!")
    elif write == "delete":
        Transition.objects.filter(pk=transition.pk).delete()
    else:
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {Transition._meta.db_table} SET label = %s WHERE id = %s",
                           ["Packed!", transition.pk])

    after = cache.versions()
    assert after["commands"] != before["commands"]
    assert {k: v for k, v in after.items() if k != "commands"} == \
        {k: v for k, v in before.items() if k != "commands"}
    found = cache.commands_config().by_slug.get(PACK)
    assert (found.label if found else None) == (None if write == "delete" else "Packed!")


def test_a_rolled_back_change_leaves_no_stale_copy(seeded):
    transition = pack_transition()
    with pytest.raises(RuntimeError), transaction.atomic():
        Transition.objects.filter(pk=transition.pk).update(is_active=False)
        assert cache.commands_config().by_slug[PACK].is_active is False  # read inside: cached
        raise RuntimeError("roll back")

    assert cache.commands_config().by_slug[PACK].is_active is True


def test_moving_quota_does_not_change_the_planning_version_but_editing_a_location_does(db):
    location = StockLocationFactory()
    before = cache.versions()["planning"]

    StockLocation.objects.filter(pk=location.pk).update(quota=5)
    unchanged = cache.versions()["planning"]
    location.max_quota = 10
    location.save(update_fields=["max_quota"])

    assert unchanged == before
    assert cache.versions()["planning"] != before


def test_a_subscription_lease_does_not_change_the_webhooks_version_but_deactivating_does(db):
    subscription = WebhookSubscription.objects.create(event_type="package.status.*",
                                                      target_url="https://hooks.example.com/oms")
    index = cache.subscription_index()
    before = cache.versions()["webhooks"]

    WebhookSubscription.objects.filter(pk=subscription.pk).update(consecutive_failures=3)
    unchanged = cache.versions()["webhooks"]
    WebhookSubscription.objects.filter(pk=subscription.pk).update(is_active=False)

    assert index.matching("package.status.packed") == (subscription.pk,)
    assert index.matching("shipment.created") == ()
    assert unchanged == before
    assert cache.subscription_index().matching("package.status.packed") == ()


def test_a_users_locations_follow_their_profile(db):
    from accounts.models import Profile

    store, other = StockLocationFactory(), StockLocationFactory()
    user = UserFactory()
    assert cache.user_location_ids(user.pk) is None
    profile = Profile.objects.create(user=user, channel="instore")
    profile.stock_locations.set([store])
    assert cache.user_location_ids(user.pk) == frozenset({store.pk})

    profile.stock_locations.add(other)

    assert cache.user_location_ids(user.pk) == frozenset({store.pk, other.pk})


def test_states_are_found_by_class_and_slug(seeded):
    config = cache.commands_config()

    assert config.state("PackageStatus", "packed") == State.objects.get(enum_class="PackageStatus",
                                                                        slug="packed")
    with pytest.raises(State.DoesNotExist):
        config.state("PackageStatus", "no-such-state")


# -- another process ---------------------------------------------------------------------------------
CHILD = textwrap.dedent("""
    import json, sys
    import django
    django.setup()
    from commands import cache
    from commands.dispatcher import command_run
    from oms.errors import DomainError

    def attempt(package_id):
        try:
            command_run(object_type="package", object_id=package_id, slug=sys.argv[1])
            outcome = "ran"
        except DomainError as error:
            outcome = error.error_code
        return {"outcome": outcome, "cached_active": cache.commands_config().by_slug[sys.argv[1]].is_active}

    print(json.dumps(attempt(int(sys.argv[2]))), flush=True)
    sys.stdin.readline()  # the test deactivates the transition meanwhile
    print(json.dumps(attempt(int(sys.argv[3]))), flush=True)
""")


def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_transition_deactivated_in_the_admin_is_refused_by_another_process_right_after(seeded, client):
    from tests.factories import make_package

    first, second = make_package(), make_package()
    transition = pack_transition()
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "oms.settings_test"}
    child = subprocess.Popen([sys.executable, "-c", CHILD, PACK, str(first.pk), str(second.pk)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env, cwd=os.getcwd())
    try:
        before = json.loads(child.stdout.readline() or "null")  # the child's cache holds the transition
        client.force_login(UserFactory(is_staff=True, is_superuser=True))
        response = client.post(reverse("admin:commands_transition_change", args=[transition.pk]),
                               transition_form(transition, is_active=""))
        child.stdin.write("go\n")
        child.stdin.flush()
        after = json.loads(child.stdout.readline() or "null")
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, child.stderr.read()

    assert response.status_code == 302
    assert before == {"outcome": "ran", "cached_active": True}
    assert after == {"outcome": "commands_100_2", "cached_active": False}
    second.refresh_from_db()
    assert second.status == 100
