from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action

from commands.views import CommandViewMixin
from oms.api.viewsets import OmsModelViewSet, OmsReadOnlyModelViewSet
from packages.filters import PackageFilter, PackageItemFilter
from packages.models import Package, PackageDenialReason, PackageItem
from packages.selectors import package_detail_queryset, package_list_queryset
from packages.serializers import (
    PackageDenialReasonSerializer,
    PackageDetailSerializer,
    PackageItemSerializer,
    PackageListSerializer,
    PackageShortSerializer,
)


class PackageViewSet(CommandViewMixin, OmsReadOnlyModelViewSet):
    """Packages; ``GET {id}/`` lists the commands allowed now, ``POST {id}/command/`` runs one."""

    queryset = Package.objects.all()
    filterset_class = PackageFilter
    ordering_fields = ["id", "created_date", "modified_date", "status"]
    command_object_type = "package"

    def get_queryset(self):
        if self.action == "retrieve":
            return package_detail_queryset()
        if self.action == "short":
            return Package.objects.all()
        return package_list_queryset()

    def get_serializer_class(self):
        return {"retrieve": PackageDetailSerializer,
                "short": PackageShortSerializer}.get(self.action, PackageListSerializer)

    @extend_schema(responses=PackageShortSerializer(many=True))  # paginated and filtered like list
    @action(detail=False, methods=["get"])
    def short(self, request):
        """A light list (ids, numbers, state) for integrations polling for changes."""
        return self.list(request)


class PackageItemViewSet(OmsReadOnlyModelViewSet):
    serializer_class = PackageItemSerializer
    filterset_class = PackageItemFilter
    queryset = PackageItem.objects.all()

    def get_queryset(self):
        return PackageItem.objects.order_by("id")


class PackageDenialReasonViewSet(OmsModelViewSet):
    queryset = PackageDenialReason.objects.all()
    serializer_class = PackageDenialReasonSerializer
    filterset_fields = ["is_active"]
