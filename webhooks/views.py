from rest_framework import viewsets

from oms.api.permissions import ModelPermissions
from webhooks.models import WebhookSubscription
from webhooks.serializers import WebhookSubscriptionSerializer


class WebhookSubscriptionViewSet(viewsets.ModelViewSet):
    """Subscriptions hold receivers' URLs and headers (maybe credentials): reading them needs the
    view permission too, not just a token."""

    permission_classes = [ModelPermissions]
    queryset = WebhookSubscription.objects.all()
    serializer_class = WebhookSubscriptionSerializer
    filterset_fields = ["event_type", "is_active"]
