from django.db import transaction
from django_tasks import task

from webhooks.delivery import deliveries_run

# Wake-ups a run absorbs at most (the rest run, and absorb more).
ABSORB_BATCH = 10_000


@task()
def deliver_pending() -> int:
    """Deliver what is due (run by `manage.py db_worker`)."""
    absorbed = wake_ups_absorb()
    try:
        return deliveries_run()
    except BaseException:
        if absorbed:  # the wake-ups this run took over are not lost with it
            deliver_pending.enqueue()
        raise


def wake_ups_absorb() -> int:
    """Delete the wake-ups waiting behind this run in the database task queue: every command that
    writes events enqueues one, and under load a run found nothing left to send for most of them
    (3.7 ms of the worker's CPU each). A task row the delete sees belongs to a committed command, so
    the run, whose reads all come after it, sees that command's deliveries (or the run holding the
    subscription's lease reads them after releasing it: ``deliveries_run``). A wake-up enqueued
    later stays, and runs. Delayed runs (retries) and rows another worker holds are left alone;
    on another backend nothing is done. Returns how many were deleted."""
    from django_tasks_db.backend import DatabaseBackend  # noqa: PLC0415
    from django_tasks_db.models import DBTaskResult, TaskResultStatus, get_date_max  # noqa: PLC0415

    backend = deliver_pending.get_backend()
    if not isinstance(backend, DatabaseBackend):
        return 0
    waiting = DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=deliver_pending.module_path,
        backend_name=backend.alias, queue_name=deliver_pending.queue_name, run_after=get_date_max())
    with transaction.atomic():
        ids = list(waiting.select_for_update(skip_locked=True).values_list("pk", flat=True)[:ABSORB_BATCH])
        if ids:
            DBTaskResult.objects.filter(pk__in=ids).delete()
    return len(ids)
