from django.db.models import Prefetch, QuerySet

from accounts.scoping import scope_queryset
from packages.models import Package, PackageItem


def packages_visible_to(user, queryset: QuerySet | None = None) -> QuerySet:
    """The packages ``user`` may see (``None``: the OMS itself, all of them)."""
    return scope_queryset(queryset if queryset is not None else Package.objects.all(), user)


def package_list_queryset(user=None) -> QuerySet:
    """Packages with what the list serializer shows, narrowed to ``user``'s locations."""
    return packages_visible_to(user).select_related("state", "stock_location", "order")


def package_detail_queryset(user=None) -> QuerySet:
    return package_list_queryset(user).select_related("shipment").prefetch_related(
        Prefetch("packageitem_set", queryset=PackageItem.objects.order_by("id")))
