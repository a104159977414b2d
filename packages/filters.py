import django_filters

from oms.api.filters import FilterSet, IntegerFilter
from oms.api.serializers import BIGINT_MAX
from packages.models import Package, PackageItem


class PackageFilter(FilterSet):
    state__enum_value = django_filters.CharFilter(field_name="state__enum_value", max_length=32)
    stock_location__erp_code = django_filters.CharFilter(field_name="stock_location__erp_code",
                                                         max_length=64)
    order__number = django_filters.CharFilter(field_name="order__number", max_length=64)
    order__channel = IntegerFilter(field_name="order__channel", min_value=1, max_value=BIGINT_MAX)
    created_date__gte = django_filters.IsoDateTimeFilter(field_name="created_date", lookup_expr="gte")
    created_date__lte = django_filters.IsoDateTimeFilter(field_name="created_date", lookup_expr="lte")
    id__gt = IntegerFilter(field_name="id", lookup_expr="gt", min_value=0, max_value=BIGINT_MAX)
    id__lt = IntegerFilter(field_name="id", lookup_expr="lt", min_value=0, max_value=BIGINT_MAX)
    sku = django_filters.CharFilter(method="filter_sku", help_text="Packages holding this SKU.",
                                    max_length=128)

    class Meta:
        model = Package
        fields = ["state", "status", "stock_location", "order"]

    def filter_sku(self, queryset, name, value):
        return queryset.filter(pk__in=PackageItem.objects.filter(sku=value).values("package_id"))


class PackageItemFilter(FilterSet):
    class Meta:
        model = PackageItem
        fields = ["package", "sku", "status", "order_item"]
