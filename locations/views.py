from rest_framework import viewsets

from locations.models import CargoCompany, Stock, StockLocation
from locations.serializers import CargoCompanySerializer, StockLocationSerializer, StockSerializer


class StockLocationViewSet(viewsets.ModelViewSet):
    queryset = StockLocation.objects.all()
    serializer_class = StockLocationSerializer
    filterset_fields = ["erp_code", "stock_location_type", "is_active", "is_fulfillment_center",
                        "is_transfer_center", "is_pickup_location", "city"]
    ordering_fields = ["id", "priority", "name"]


class CargoCompanyViewSet(viewsets.ModelViewSet):
    queryset = CargoCompany.objects.all()
    serializer_class = CargoCompanySerializer
    filterset_fields = ["code", "is_active"]


class StockViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Stock.objects.all()
    serializer_class = StockSerializer
    filterset_fields = ["stock_location", "sku", "stock_location__erp_code"]
