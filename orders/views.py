from django.db.models import Prefetch

from oms.api.viewsets import OmsModelViewSet, OmsReadOnlyModelViewSet
from orders.models import Channel, Order, OrderItem
from orders.serializers import ChannelSerializer, OrderSerializer


class ChannelViewSet(OmsModelViewSet):
    queryset = Channel.objects.all()
    serializer_class = ChannelSerializer
    filterset_fields = ["code", "channel_type"]


class OrderViewSet(OmsReadOnlyModelViewSet):
    """Orders. A store user sees an order only when one of its packages is at the store, and
    then only that part of it (the items and packages of its own locations)."""

    queryset = Order.objects.all()
    serializer_class = OrderSerializer
    filterset_fields = ["number", "channel", "status", "channel__code"]
    ordering_fields = ["id", "date_placed"]

    def get_queryset(self):
        return Order.objects.select_related("channel").prefetch_related(
            Prefetch("orderitem_set", queryset=self.scope(OrderItem.objects.order_by("id"))))
