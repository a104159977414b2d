"""A delivery run absorbs the wake-ups queued behind it (webhooks/tasks.py: wake_ups_absorb), on
the database task backend: every command that writes events enqueues one, and one run sends what
all of them were woken for. None is lost: a wake-up enqueued during a run stays and runs, delayed
runs (retries) are left, and a run that fails puts one back."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.factories import make_package
from tests.webhooks.helpers import PACK_EVENTS, deliveries, pack, subscribe
from tests.webhooks.workers import TASK_PATH, worker
from webhooks import tasks
from webhooks.tasks import deliver_pending

# The worker manages its own connection (close_old_connections between tasks): these tests commit.
pytestmark = pytest.mark.django_db(transaction=True)


def queue() -> list[tuple[str, int | None]]:
    """(status, return value) of every delivery task row, oldest first."""
    return list(DBTaskResult.objects.filter(task_path=TASK_PATH).order_by("enqueued_at")
                .values_list("status", "return_value"))


def test_one_run_sends_what_every_queued_wake_up_was_for(api, seeded, receiver):
    packages = [make_package(items=1) for _ in range(3)]
    hook = subscribe(api, receiver.url, "*")
    for package in packages:
        pack(api, seeded, package)
    assert queue() == [("READY", None)] * 3

    worker()

    assert queue() == [("SUCCESSFUL", 9)]  # the other two were absorbed by the first run
    assert deliveries(hook["id"]) == [(t, "delivered", 1) for t in PACK_EVENTS * 3]
    assert receiver.event_types == PACK_EVENTS * 3


def test_a_wake_up_enqueued_during_a_run_stays_and_runs(api, seeded, receiver, monkeypatch):
    first, second = make_package(items=1), make_package(items=1)
    hook = subscribe(api, receiver.url, "*")
    pack(api, seeded, first)
    real_run, commands = tasks.deliveries_run, [second]

    def run_after_a_command(**kwargs):
        if commands:  # a command commits after this run absorbed the queue
            pack(api, seeded, commands.pop())
        return real_run(**kwargs)

    monkeypatch.setattr(tasks, "deliveries_run", run_after_a_command)

    worker()

    assert queue() == [("SUCCESSFUL", 6), ("SUCCESSFUL", 0)]  # the later wake-up was not absorbed
    assert deliveries(hook["id"]) == [(t, "delivered", 1) for t in PACK_EVENTS * 2]


def test_a_delayed_run_is_not_absorbed(api, seeded, receiver):
    package = make_package(items=1)
    hook = subscribe(api, receiver.url, "*")
    later = timezone.now() + timedelta(hours=1)
    deliver_pending.using(run_after=later).enqueue()
    pack(api, seeded, package)

    worker()

    waiting = DBTaskResult.objects.filter(task_path=TASK_PATH, status="READY")
    assert list(waiting.values_list("run_after", flat=True)) == [later]
    assert deliveries(hook["id"]) == [(t, "delivered", 1) for t in PACK_EVENTS]


def test_a_run_that_fails_puts_one_wake_up_back(api, seeded, receiver, monkeypatch):
    packages = [make_package(items=1) for _ in range(2)]
    hook = subscribe(api, receiver.url, "*")
    for package in packages:
        pack(api, seeded, package)

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    real_run = tasks.deliveries_run
    monkeypatch.setattr(tasks, "deliveries_run", broken)
    with pytest.raises(RuntimeError, match="went away"):
        deliver_pending.call()
    assert queue() == [("READY", None)]  # both absorbed, one put back
    assert [status for _, status, _ in deliveries(hook["id"])] == ["pending"] * 6

    monkeypatch.setattr(tasks, "deliveries_run", real_run)
    worker()

    assert queue() == [("SUCCESSFUL", 6)]
    assert deliveries(hook["id"]) == [(t, "delivered", 1) for t in PACK_EVENTS * 2]
