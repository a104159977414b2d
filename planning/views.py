from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from accounts.scoping import user_scope
from oms.api.viewsets import OmsModelViewSet
from oms.metrics import observed_order_intake
from orders.serializers import OrderIntakeSerializer
from orders.views import OrderViewSet
from packages.models import Package
from planning.models import Rule, Scenario
from planning.serializers import OrderWithPackagesSerializer, ScenarioSerializer, intake_response_data
from planning.services import IntakeItem, order_intake_written


class OrderIntakeViewSet(OrderViewSet):
    """Orders. ``POST`` creates an order and plans it into packages in one transaction; posting a
    known ``number`` again answers 200 with the existing order."""

    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        return super().get_queryset().prefetch_related(
            Prefetch("packages", queryset=self.scope(Package.objects.order_by("id"))))

    def get_serializer_class(self):
        return OrderIntakeSerializer if self.action == "create" else OrderWithPackagesSerializer

    @extend_schema(request=OrderIntakeSerializer, responses={201: OrderWithPackagesSerializer,
                                                             200: OrderWithPackagesSerializer})
    @observed_order_intake
    def create(self, request, *args, **kwargs):
        body = OrderIntakeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        items = [IntakeItem(**item) for item in data.pop("items")]
        data.setdefault("date_placed", timezone.now())
        intake = order_intake_written(fields=data, items=items)
        if intake.created and not user_scope(request.user).is_restricted:
            # What the transaction wrote is the order as it stands: no read back.
            return Response(intake_response_data(intake.order, intake.items, intake.packages),
                            status=status.HTTP_201_CREATED)
        order = self.get_queryset().get(pk=intake.order.pk)
        return Response(OrderWithPackagesSerializer(order).data,
                        status=status.HTTP_201_CREATED if intake.created else status.HTTP_200_OK)


class ScenarioViewSet(OmsModelViewSet):
    queryset = Scenario.objects.prefetch_related(
        "channels", "cargo_companies",
        Prefetch("rules", queryset=Rule.objects.prefetch_related("stock_locations",
                                                                  "except_stock_locations")))
    serializer_class = ScenarioSerializer
    filterset_fields = ["is_active", "default_stock_location"]

