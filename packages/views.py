from rest_framework import viewsets
from rest_framework.decorators import action

from commands.views import CommandViewMixin
from packages.filters import PackageFilter, PackageItemFilter
from packages.models import Package, PackageDenialReason, PackageItem
from packages.selectors import package_detail_queryset, package_list_queryset, packages_visible_to
from packages.serializers import (
    PackageDenialReasonSerializer,
    PackageDetailSerializer,
    PackageItemSerializer,
    PackageListSerializer,
    PackageShortSerializer,
)


class PackageViewSet(CommandViewMixin, viewsets.ReadOnlyModelViewSet):
    """Packages; ``GET {id}/`` lists the commands allowed now, ``POST {id}/command/`` runs one."""

    queryset = Package.objects.all()
    filterset_class = PackageFilter
    ordering_fields = ["id", "created_date", "modified_date", "status"]
    command_object_type = "package"

    def get_queryset(self):
        if self.action == "retrieve":
            return package_detail_queryset(self.request.user)
        if self.action == "short":
            return packages_visible_to(self.request.user)
        return package_list_queryset(self.request.user)

    def get_serializer_class(self):
        return {"retrieve": PackageDetailSerializer,
                "short": PackageShortSerializer}.get(self.action, PackageListSerializer)

    def filter_queryset_for_user(self, queryset):
        return packages_visible_to(self.request.user, queryset)

    @action(detail=False, methods=["get"])
    def short(self, request):
        """A light list (ids, numbers, state) for integrations polling for changes."""
        return self.list(request)


class PackageItemViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = PackageItemSerializer
    filterset_class = PackageItemFilter
    queryset = PackageItem.objects.all()

    def get_queryset(self):
        visible = packages_visible_to(self.request.user)
        return PackageItem.objects.filter(package__in=visible.values("pk")).order_by("id")


class PackageDenialReasonViewSet(viewsets.ModelViewSet):
    queryset = PackageDenialReason.objects.all()
    serializer_class = PackageDenialReasonSerializer
    filterset_fields = ["is_active"]
