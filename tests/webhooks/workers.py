"""The background worker as the webhook tests see it, whichever task backend this run uses: the
database (django-tasks-db, the default) or Redis (django-tasks-rq, `make test-rq`)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from django.conf import settings
from django.core.management import call_command

TASK_PATH = "webhooks.tasks.deliver_pending"


def on_redis() -> bool:
    return getattr(settings, "RQ_ENABLED", False)


def worker() -> None:
    """Run the worker until no task is due (``manage.py run_worker --burst``: db_worker --batch or
    an RQ worker in burst mode)."""
    call_command("run_worker", "--burst", stdout=io.StringIO(), stderr=io.StringIO())


def task_statuses() -> set[str]:
    """Statuses of every task enqueued so far (django_tasks' names: READY, RUNNING, SUCCESSFUL…)."""
    if not on_redis():
        from django_tasks_db.models import DBTaskResult  # noqa: PLC0415

        return set(DBTaskResult.objects.values_list("status", flat=True))
    queue, registries = _rq()
    statuses = {"READY"} if queue.count or registries["scheduled"].count else set()
    for status, name in (("RUNNING", "started"), ("SUCCESSFUL", "finished"), ("FAILED", "failed")):
        if registries[name].count:
            statuses.add(status)
    return statuses


def scheduled_tasks() -> list[tuple[str, datetime]]:
    """(task path, run after) of each task waiting for its time, earliest first. RQ schedules to the
    second: compare with ``at_task_precision``."""
    if not on_redis():
        from django_tasks_db.models import DBTaskResult, get_date_max  # noqa: PLC0415

        return list(DBTaskResult.objects.filter(status="READY").exclude(run_after=get_date_max())
                    .order_by("run_after").values_list("task_path", "run_after"))
    queue, registries = _rq()
    tasks = []
    for job_id, score in _scheduled_with_scores(registries["scheduled"]):
        job = queue.fetch_job(job_id)
        tasks.append((job.func_name, datetime.fromtimestamp(score, tz=UTC)))
    return sorted(tasks, key=lambda task: task[1])


def at_task_precision(moment: datetime) -> datetime:
    return moment.replace(microsecond=0) if on_redis() else moment


def make_scheduled_tasks_due(at: datetime) -> None:
    """Time passes: every task waiting for its time is due at ``at`` (in the past)."""
    if not on_redis():
        from django_tasks_db.models import DBTaskResult, get_date_max  # noqa: PLC0415

        DBTaskResult.objects.filter(status="READY").exclude(run_after=get_date_max()).update(run_after=at)
        return
    queue, registries = _rq()
    for job_id, _score in _scheduled_with_scores(registries["scheduled"]):
        registries["scheduled"].schedule(queue.fetch_job(job_id), at)


def _scheduled_with_scores(registry) -> list[tuple[str, float]]:
    rows = registry.connection.zrange(registry.key, 0, -1, withscores=True)
    return [(job_id.decode() if isinstance(job_id, bytes) else job_id, score) for job_id, score in rows]


def _rq():
    import django_rq  # noqa: PLC0415
    from rq.registry import (  # noqa: PLC0415
        FailedJobRegistry,
        FinishedJobRegistry,
        ScheduledJobRegistry,
        StartedJobRegistry,
    )

    queue = django_rq.get_queue("default")
    return queue, {"scheduled": ScheduledJobRegistry(queue=queue), "started": StartedJobRegistry(queue=queue),
                   "finished": FinishedJobRegistry(queue=queue), "failed": FailedJobRegistry(queue=queue)}
