from rest_framework import viewsets

from orders.models import Channel, Order
from orders.serializers import ChannelSerializer, OrderSerializer


class ChannelViewSet(viewsets.ModelViewSet):
    queryset = Channel.objects.all()
    serializer_class = ChannelSerializer
    filterset_fields = ["code", "channel_type"]


class OrderViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Order.objects.select_related("channel").prefetch_related("orderitem_set")
    serializer_class = OrderSerializer
    filterset_fields = ["number", "channel", "status", "channel__code"]
    ordering_fields = ["id", "date_placed"]
