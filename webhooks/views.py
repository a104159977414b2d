from rest_framework import viewsets

from webhooks.models import WebhookSubscription
from webhooks.serializers import WebhookSubscriptionSerializer


class WebhookSubscriptionViewSet(viewsets.ModelViewSet):
    queryset = WebhookSubscription.objects.all()
    serializer_class = WebhookSubscriptionSerializer
    filterset_fields = ["event_type", "is_active"]
