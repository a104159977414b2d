import django_filters

from oms.api.filters import FilterSet
from transfers.models import TransferOrder


class TransferOrderFilter(FilterSet):
    state__enum_value = django_filters.CharFilter(field_name="state__enum_value", max_length=32)
    source__erp_code = django_filters.CharFilter(field_name="source__erp_code", max_length=64)
    destination__erp_code = django_filters.CharFilter(field_name="destination__erp_code", max_length=64)
    order__number = django_filters.CharFilter(field_name="order__number", max_length=64)

    class Meta:
        model = TransferOrder
        fields = ["state", "status", "package", "source", "destination"]
