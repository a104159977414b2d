import django_filters

from commands.views import CommandViewMixin
from oms.api.viewsets import OmsReadOnlyModelViewSet
from transfers.models import TransferOrder
from transfers.serializers import TransferOrderDetailSerializer, TransferOrderSerializer


class TransferOrderFilter(django_filters.FilterSet):
    state__enum_value = django_filters.CharFilter(field_name="state__enum_value")
    source__erp_code = django_filters.CharFilter(field_name="source__erp_code")
    destination__erp_code = django_filters.CharFilter(field_name="destination__erp_code")
    order__number = django_filters.CharFilter(field_name="order__number")

    class Meta:
        model = TransferOrder
        fields = ["state", "status", "package", "source", "destination"]


class TransferOrderViewSet(CommandViewMixin, OmsReadOnlyModelViewSet):
    queryset = TransferOrder.objects.all()
    filterset_class = TransferOrderFilter
    command_object_type = "transfer"

    def get_queryset(self):
        return (TransferOrder.objects.select_related("state", "source", "destination", "shipment")
                .prefetch_related("transferitem_set"))

    def get_serializer_class(self):
        return TransferOrderDetailSerializer if self.action == "retrieve" else TransferOrderSerializer
