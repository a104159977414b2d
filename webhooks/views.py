
from oms.api.permissions import ModelPermissions
from oms.api.viewsets import OmsModelViewSet
from webhooks.models import WebhookSubscription
from webhooks.serializers import WebhookSubscriptionSerializer


class WebhookSubscriptionViewSet(OmsModelViewSet):
    """Subscriptions hold receivers' URLs and headers (maybe credentials): reading them needs the
    view permission too, not just a token."""

    permission_classes = [ModelPermissions]
    queryset = WebhookSubscription.objects.all()
    serializer_class = WebhookSubscriptionSerializer
    filterset_fields = ["event_type", "is_active"]
