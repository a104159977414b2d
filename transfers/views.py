from commands.views import CommandViewMixin
from oms.api.viewsets import OmsReadOnlyModelViewSet
from transfers.filters import TransferOrderFilter
from transfers.models import TransferOrder
from transfers.serializers import TransferOrderDetailSerializer, TransferOrderSerializer


class TransferOrderViewSet(CommandViewMixin, OmsReadOnlyModelViewSet):
    queryset = TransferOrder.objects.all()
    filterset_class = TransferOrderFilter
    command_object_type = "transfer"

    def get_queryset(self):
        return (TransferOrder.objects.select_related("state", "source", "destination", "shipment")
                .prefetch_related("transferitem_set"))

    def get_serializer_class(self):
        return TransferOrderDetailSerializer if self.action == "retrieve" else TransferOrderSerializer
