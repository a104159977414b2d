"""Prometheus metrics. Counters and histograms are kept per process; under gunicorn
PROMETHEUS_MULTIPROC_DIR (set up by gunicorn.conf.py) lets one scrape add up every worker. The
backlog gauges are read from the database at scrape time, so any app node reports the same truth.

Web nodes answer ``GET /metrics`` (oms.views.metrics); a worker started with WORKER_METRICS_PORT
serves its own (webhook deliveries are counted where they are sent)."""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.db.models import Case, Count, F, Min, When
from django.utils import timezone
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from rest_framework.exceptions import APIException

from oms.errors import DomainError

disable_created_metrics()  # no *_created series: Prometheus does not need them

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

COMMANDS = Counter("oms_commands", "Commands run through the dispatcher, by object type, command type "
                   "and outcome (ok, replayed, refused, error); code: the refusal's error code.",
                   ["object_type", "command", "outcome", "code"])
COMMAND_SECONDS = Histogram("oms_command_duration_seconds", "Time to run a command (transaction "
                            "included), by object type and command type.", ["object_type", "command"],
                            buckets=LATENCY_BUCKETS)
ORDERS = Counter("oms_orders", "Orders posted to intake, by outcome (created, existing, refused, error).",
                 ["outcome"])
ORDER_SECONDS = Histogram("oms_order_intake_duration_seconds", "Time to take in and plan one order.",
                          buckets=LATENCY_BUCKETS)
WEBHOOK_DELIVERIES = Counter("oms_webhook_deliveries", "Webhook delivery attempts, by outcome: delivered "
                             "(2xx), retry (will be sent again), failed (retries exhausted).", ["outcome"])
HTTP_REQUESTS = Counter("oms_http_requests", "HTTP requests served, by method, view and status code.",
                        ["method", "view", "status"])
HTTP_SECONDS = Histogram("oms_http_request_duration_seconds", "Time to serve a request, by method and "
                         "view.", ["method", "view"], buckets=LATENCY_BUCKETS)


# -- commands, orders, webhook deliveries ------------------------------------------------------------
command_logger = logging.getLogger("oms.commands")
intake_logger = logging.getLogger("oms.intake")
_command_trace: ContextVar[dict | None] = ContextVar("command_trace", default=None)


def observed_command(run: Callable) -> Callable:
    """Wraps the dispatcher's ``command_run``: one log line per command (object number, command type,
    transition, outcome, duration; the request id comes with it) and the command metrics."""

    @functools.wraps(run)
    def wrapper(**kwargs):
        trace = {"object_type": kwargs.get("object_type"), "object": kwargs.get("object_id"),
                 "command": None, "transition": kwargs.get("slug") or kwargs.get("transition_id")}
        token = _command_trace.set(trace)
        started = time.perf_counter()
        outcome, code, status = "error", "", 500
        try:
            result = run(**kwargs)
            outcome, status = ("replayed" if result.replayed else "ok"), result.result.status_code
            return result
        except DomainError as exc:
            outcome = "replayed" if getattr(exc, "replayed", False) else "refused"
            code, status = exc.error_code or "", exc.http_status
            raise
        except (OperationalError, InterfaceError):
            outcome, status = "unavailable", 503
            raise
        finally:
            _command_trace.reset(token)
            _command_done(trace, outcome, code, status, time.perf_counter() - started)

    return wrapper


def command_traced(obj, transition) -> None:
    """The dispatcher names the object and transition it resolved (for the command's log line)."""
    trace = _command_trace.get()
    if trace is not None:
        trace.update(object=getattr(obj, "number", None) or obj.pk, command=transition.command,
                     transition=transition.slug)


def _command_done(trace: dict, outcome: str, code: str, status: int, seconds: float) -> None:
    object_type, command = str(trace["object_type"]), trace["command"] or "unknown"
    COMMANDS.labels(object_type, command, outcome, code).inc()
    COMMAND_SECONDS.labels(object_type, command).observe(seconds)
    duration_ms = round(seconds * 1000, 1)
    level = logging.WARNING if outcome in ("error", "unavailable") else logging.INFO
    command_logger.log(
        level, "command %s on %s %s (%s): %s %s%s in %.1f ms", command, object_type, trace["object"],
        trace["transition"], outcome, status, f" {code}" if code else "", duration_ms,
        extra={"object_type": object_type, "object": str(trace["object"]), "command": command,
               "transition": str(trace["transition"]), "outcome": outcome, "status_code": status,
               "error_code": code, "duration_ms": duration_ms})


def observed_order_intake(view: Callable) -> Callable:
    """Wraps the intake view (``POST orders/``): order count by outcome, latency, one log line."""

    @functools.wraps(view)
    def wrapper(self, request, *args, **kwargs):
        started = time.perf_counter()
        outcome, number = "error", None
        try:
            response = view(self, request, *args, **kwargs)
            outcome = "created" if response.status_code == 201 else "existing"
            number = response.data.get("number") if isinstance(response.data, dict) else None
            return response
        except (DomainError, APIException):
            outcome = "refused"
            raise
        except (OperationalError, InterfaceError):
            outcome = "unavailable"
            raise
        finally:
            seconds = time.perf_counter() - started
            ORDERS.labels(outcome).inc()
            ORDER_SECONDS.observe(seconds)
            intake_logger.info("order intake %s: %s in %.1f ms", number or "-", outcome, seconds * 1000,
                               extra={"order": number, "outcome": outcome,
                                      "duration_ms": round(seconds * 1000, 1)})

    return wrapper


def webhook_delivery_observed(status: str) -> None:
    """After an attempt is recorded: delivered, failed (for good) or pending (a retry is due)."""
    WEBHOOK_DELIVERIES.labels({"delivered": "delivered", "failed": "failed"}.get(status, "retry")).inc()


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def http_request_observed(request, status_code: int, seconds: float) -> None:
    match = getattr(request, "resolver_match", None)
    view = (match.view_name or "-") if match is not None else "-"  # "-": static files, 404s
    method = request.method if request.method in _METHODS else "other"
    HTTP_REQUESTS.labels(method, view, str(status_code)).inc()
    HTTP_SECONDS.labels(method, view).observe(seconds)


# -- read at scrape time ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Backlog:
    pending: int  # deliveries of active subscriptions not yet delivered (due or waiting for a retry)
    oldest_pending_seconds: float  # age of the oldest of them (0 when none)


def outbox_backlog(now: datetime | None = None) -> Backlog:
    from webhooks.models import DeliveryStatus, WebhookDelivery  # noqa: PLC0415 - apps load first

    now = now or timezone.now()
    row = (WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, subscription__is_active=True)
           .aggregate(pending=Count("id"), oldest=Min("created_date")))
    oldest = (now - row["oldest"]).total_seconds() if row["oldest"] else 0.0
    return Backlog(pending=row["pending"], oldest_pending_seconds=round(max(oldest, 0.0), 3))


@dataclass(frozen=True)
class WorkerStatus:
    backend: str  # "database" or "rq"
    queued: int  # tasks due now and not yet picked up
    oldest_queued_seconds: float  # how long the oldest of them has waited
    workers: int | None  # registered RQ workers (None: the database backend keeps no registry)
    last_heartbeat_seconds: float | None  # RQ: the freshest worker heartbeat; database: last finished task
    stalled: bool  # a due task waited longer than WORKER_STALL_SECONDS, or no RQ worker is registered
    error: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def worker_status(now: datetime | None = None) -> WorkerStatus:
    now = now or timezone.now()
    if getattr(settings, "RQ_ENABLED", False):
        return _rq_status(now)
    return _db_status(now)


def _db_status(now: datetime) -> WorkerStatus:
    from django_tasks_db.models import DBTaskResult, get_date_max  # noqa: PLC0415

    due = DBTaskResult.objects.ready().filter(backend_name="default")
    waiting_since = Case(When(run_after=get_date_max(), then=F("enqueued_at")), default=F("run_after"))
    row = due.aggregate(queued=Count("id"), oldest=Min(waiting_since))
    last = (DBTaskResult.objects.filter(backend_name="default", finished_at__isnull=False)
            .order_by("-finished_at").values_list("finished_at", flat=True).first())
    oldest = max((now - row["oldest"]).total_seconds(), 0.0) if row["oldest"] else 0.0
    return WorkerStatus(backend="database", queued=row["queued"], oldest_queued_seconds=round(oldest, 3),
                        workers=None, last_heartbeat_seconds=_age(now, last),
                        stalled=oldest > settings.WORKER_STALL_SECONDS)


def _rq_status(now: datetime) -> WorkerStatus:
    import django_rq  # noqa: PLC0415 - only with the RQ backend
    from redis.exceptions import RedisError  # noqa: PLC0415
    from rq import Worker  # noqa: PLC0415

    try:
        queue = django_rq.get_queue("default")
        queued = queue.count
        first = queue.get_jobs(0, 1)
        workers = Worker.all(queue=queue)
    except RedisError as exc:
        return WorkerStatus(backend="rq", queued=0, oldest_queued_seconds=0.0, workers=0,
                            last_heartbeat_seconds=None, stalled=True,
                            error=f"Redis: {type(exc).__name__}")
    oldest = (_age(now, first[0].enqueued_at) if first and first[0].enqueued_at else None) or 0.0
    beats = [_age(now, w.last_heartbeat) for w in workers if w.last_heartbeat]
    return WorkerStatus(backend="rq", queued=queued, oldest_queued_seconds=oldest, workers=len(workers),
                        last_heartbeat_seconds=min(beats) if beats else None,
                        stalled=not workers or oldest > settings.WORKER_STALL_SECONDS)


def _age(now: datetime, then: datetime | None) -> float | None:
    if then is None:
        return None
    if timezone.is_naive(then):  # an older RQ gave UTC without tzinfo
        then = then.replace(tzinfo=UTC)
    return round(max((now - then).total_seconds(), 0.0), 3)


class BacklogCollector:
    """Outbox and task-queue gauges, read when Prometheus scrapes."""

    def collect(self):
        up = GaugeMetricFamily("oms_database_up", "1 when this node reached the database at scrape time.")
        try:
            backlog = outbox_backlog()
            worker = worker_status()
        except DatabaseError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily("oms_webhook_pending_deliveries", "Webhook deliveries of active "
                                "subscriptions not delivered yet.", value=backlog.pending)
        yield GaugeMetricFamily("oms_webhook_oldest_pending_age_seconds", "Age of the oldest webhook "
                                "delivery not delivered yet (0 when none).",
                                value=backlog.oldest_pending_seconds)
        yield GaugeMetricFamily("oms_tasks_queued", "Background tasks due and not picked up by a worker.",
                                value=worker.queued)
        yield GaugeMetricFamily("oms_tasks_oldest_queued_age_seconds", "How long the oldest due task "
                                "has waited for a worker.", value=worker.oldest_queued_seconds)
        if worker.workers is not None:
            yield GaugeMetricFamily("oms_task_workers", "RQ workers registered in Redis.",
                                    value=worker.workers)


def exposition() -> bytes:
    """The text exposition: this process's metrics (or, under gunicorn, every worker's, added up)
    followed by the gauges read from the database."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        processes = generate_latest(registry)
    else:
        processes = generate_latest(REGISTRY)
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(BacklogCollector())
    return processes + generate_latest(scrape)
