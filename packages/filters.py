import django_filters

from packages.models import Package, PackageItem


class PackageFilter(django_filters.FilterSet):
    state__enum_value = django_filters.CharFilter(field_name="state__enum_value")
    stock_location__erp_code = django_filters.CharFilter(field_name="stock_location__erp_code")
    order__number = django_filters.CharFilter(field_name="order__number")
    order__channel = django_filters.NumberFilter(field_name="order__channel")
    created_date__gte = django_filters.IsoDateTimeFilter(field_name="created_date", lookup_expr="gte")
    created_date__lte = django_filters.IsoDateTimeFilter(field_name="created_date", lookup_expr="lte")
    id__gt = django_filters.NumberFilter(field_name="id", lookup_expr="gt")
    id__lt = django_filters.NumberFilter(field_name="id", lookup_expr="lt")
    sku = django_filters.CharFilter(method="filter_sku", help_text="Packages holding this SKU.")

    class Meta:
        model = Package
        fields = ["state", "status", "stock_location", "order"]

    def filter_sku(self, queryset, name, value):
        return queryset.filter(pk__in=PackageItem.objects.filter(sku=value).values("package_id"))


class PackageItemFilter(django_filters.FilterSet):
    class Meta:
        model = PackageItem
        fields = ["package", "sku", "status", "order_item"]
