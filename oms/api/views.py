from django.db import DatabaseError, connection
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from oms.metrics import outbox_backlog, worker_status


class WorkerHealthSerializer(serializers.Serializer):
    backend = serializers.ChoiceField(choices=["database", "rq"])
    queued = serializers.IntegerField(help_text="Tasks due now and not picked up by a worker yet.")
    oldest_queued_seconds = serializers.FloatField(help_text="How long the oldest of them has waited.")
    workers = serializers.IntegerField(allow_null=True, help_text="RQ workers registered in Redis "
                                                                  "(null on the database backend).")
    last_heartbeat_seconds = serializers.FloatField(
        allow_null=True, help_text="RQ: seconds since the freshest worker heartbeat; database: since "
                                   "a worker last finished a task.")
    stalled = serializers.BooleanField(help_text="A due task waited longer than WORKER_STALL_SECONDS, or "
                                                 "no RQ worker is registered.")
    error = serializers.CharField(allow_blank=True)


class WebhookBacklogSerializer(serializers.Serializer):
    pending = serializers.IntegerField(help_text="Deliveries of active subscriptions not delivered yet.")
    oldest_pending_seconds = serializers.FloatField()


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "degraded", "unavailable"])
    database = serializers.ChoiceField(choices=["ok", "unavailable"])
    worker = WorkerHealthSerializer(required=False)
    webhooks = WebhookBacklogSerializer(required=False)


@extend_schema(responses={200: HealthSerializer, 503: HealthSerializer})
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def health(request):
    """Readiness for load balancers (no authentication): 503 when this node cannot reach the database.
    The background worker's state and the webhook backlog are reported too; a stalled worker makes
    the status "degraded" but keeps 200 — the node still serves, and taking every node out of the
    balancer because a worker lags would turn a delay into an outage."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        worker = worker_status()
        backlog = outbox_backlog()
    except DatabaseError:
        return Response({"status": "unavailable", "database": "unavailable"}, status=503)
    return Response({"status": "degraded" if worker.stalled else "ok", "database": "ok",
                     "worker": worker.as_dict(),
                     "webhooks": {"pending": backlog.pending,
                                  "oldest_pending_seconds": backlog.oldest_pending_seconds}})
