"""Start the background worker of the configured task backend (TASKS_BACKEND): django-tasks-db's
``db_worker`` (the default, no broker) or an RQ worker on Redis (``django_tasks_rq.RQBackend``).
Either one delivers webhooks; run as many as you like (a subscription is leased to one at a time)."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django_tasks.signals import task_finished, task_started
from prometheus_client import start_http_server

DB_BACKEND = "django_tasks_db.DatabaseBackend"
RQ_BACKEND = "django_tasks_rq.RQBackend"


class Command(BaseCommand):
    help = ("Run the worker for the configured TASKS_BACKEND: db_worker (database) or rqworker (Redis). "
            "SIGTERM stops it after the task in progress.")

    def add_arguments(self, parser):
        parser.add_argument("--burst", action="store_true",
                            help="Run what is due now, then exit (tests, cron, a one-off catch-up).")
        parser.add_argument("--name", default=None, help="Worker name (default: generated).")
        parser.add_argument("--metrics-port", type=int, default=settings.WORKER_METRICS_PORT,
                            help="Serve this worker's Prometheus metrics on WORKER_METRICS_HOST:PORT "
                                 "(default: $WORKER_METRICS_PORT; 0: off).")

    def handle(self, *args, burst: bool, name: str | None, metrics_port: int, verbosity: int, **options):
        backend = settings.TASKS["default"]["BACKEND"]
        if metrics_port:
            start_http_server(metrics_port, addr=settings.WORKER_METRICS_HOST)
            self.stderr.write(f"Metrics on http://{settings.WORKER_METRICS_HOST}:{metrics_port}/metrics")
        queues = settings.TASKS["default"].get("QUEUES") or ["default"]
        if backend == DB_BACKEND:
            self.stderr.write(f"Starting db_worker (database queue {','.join(queues)})")
            kwargs = {"queue_name": ",".join(queues), "reload": False, "verbosity": verbosity}
            if name:
                kwargs["worker_id"] = name
            if burst:
                kwargs.update(batch=True, startup_delay=False)
            call_command("db_worker", **kwargs)
        elif backend == RQ_BACKEND:
            url = settings.RQ_QUEUES[queues[0]]["URL"]
            self.stderr.write(f"Starting rqworker (Redis {_without_password(url)}, queue {','.join(queues)})")
            # Tasks run in this process (no fork per task): database connections are reused, and
            # checked before and after each task as Django does around a request.
            task_started.connect(_check_connections)
            task_finished.connect(_check_connections)
            try:
                # The scheduler runs delayed tasks (webhook retries); RQ lets one worker per queue
                # hold it at a time.
                call_command("rqworker", *queues, job_class="django_tasks_rq.Job",
                             worker_class="rq.worker.SimpleWorker", with_scheduler=True, burst=burst,
                             name=name, verbosity=verbosity)
            finally:
                task_started.disconnect(_check_connections)
                task_finished.disconnect(_check_connections)
        else:
            raise CommandError(f"run_worker knows {DB_BACKEND} and {RQ_BACKEND}, "
                               f"not TASKS_BACKEND={backend}.")


def _check_connections(**kwargs) -> None:
    close_old_connections()


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return f"{scheme}{sep}{rest}"
