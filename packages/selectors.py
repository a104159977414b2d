from django.db.models import Prefetch, QuerySet

from accounts.selectors import restricted_locations
from packages.models import Package, PackageItem


def packages_visible_to(user, queryset: QuerySet | None = None) -> QuerySet:
    """Instore users see their own locations' packages only (``user`` None: the OMS itself)."""
    queryset = queryset if queryset is not None else Package.objects.all()
    locations = restricted_locations(user) if user is not None else None
    return queryset if locations is None else queryset.filter(stock_location__in=locations)


def package_list_queryset(user) -> QuerySet:
    return packages_visible_to(user).select_related("state", "stock_location", "order")


def package_detail_queryset(user) -> QuerySet:
    return package_list_queryset(user).select_related("shipment").prefetch_related(
        Prefetch("packageitem_set", queryset=PackageItem.objects.order_by("id")))
