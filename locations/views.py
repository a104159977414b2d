from collections import Counter

from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.errors import LocationNotAllowed
from accounts.scoping import user_scope
from locations.models import CargoCompany, Stock, StockLocation
from locations.serializers import (
    CargoCompanySerializer,
    StockAvailabilityQuerySerializer,
    StockLocationSerializer,
    StockSerializer,
    StockUpsertRowSerializer,
)
from locations.services import stock_location_save, stocks_upsert
from oms.api.viewsets import OmsModelViewSet, OmsReadOnlyModelViewSet

MAX_UPSERT_ROWS = 10_000


class StockLocationViewSet(OmsModelViewSet):
    queryset = StockLocation.objects.all()
    serializer_class = StockLocationSerializer
    filterset_fields = ["erp_code", "stock_location_type", "is_active", "is_fulfillment_center",
                        "is_transfer_center", "is_pickup_location", "city"]
    ordering_fields = ["id", "priority", "name"]

    def perform_create(self, serializer):
        serializer.instance = stock_location_save(location=StockLocation(**serializer.validated_data))

    def perform_update(self, serializer):
        location = serializer.instance
        for field, value in serializer.validated_data.items():
            setattr(location, field, value)
        serializer.instance = stock_location_save(location=location)


class CargoCompanyViewSet(OmsModelViewSet):
    queryset = CargoCompany.objects.all()
    serializer_class = CargoCompanySerializer
    filterset_fields = ["code", "is_active"]


class StockViewSet(OmsReadOnlyModelViewSet):
    """On-hand stock per location and SKU; ``reserved`` is maintained by planning and packing."""

    queryset = Stock.objects.select_related("stock_location")
    # Store users may count their own stock; rows at other locations are refused below.
    store_write_actions = frozenset({"bulk_upsert"})
    serializer_class = StockSerializer
    filterset_fields = ["stock_location", "sku", "stock_location__erp_code"]

    @extend_schema(request=StockUpsertRowSerializer(many=True),
                   responses=inline_serializer("StockUpsertResult", {
                       "created": serializers.IntegerField(), "updated": serializers.IntegerField()}))
    @action(detail=False, methods=["post"], url_path="bulk_upsert")
    def bulk_upsert(self, request):
        """Set quantities for many (location, SKU) rows at once; one bad row refuses the batch."""
        if not request.user.has_perm("locations.change_stock"):
            self.permission_denied(request)
        if not isinstance(request.data, list) or not request.data:
            raise ValidationError({"non_field_errors": ["Send a non-empty list of rows."]})
        if len(request.data) > MAX_UPSERT_ROWS:
            raise ValidationError({"non_field_errors": [f"At most {MAX_UPSERT_ROWS} rows per request."]})
        rows = StockUpsertRowSerializer(data=request.data, many=True)
        if not rows.is_valid():
            errors = rows.errors  # {index: errors} (DRF >= 3.16) or a list with {} for good rows
            pairs = errors.items() if isinstance(errors, dict) else enumerate(errors)
            raise ValidationError({"rows": {str(i): e for i, e in pairs if e}})
        codes = {r["stock_location"] for r in rows.validated_data}
        locations = {loc.erp_code: loc for loc in StockLocation.objects.filter(erp_code__in=codes)}
        unknown = {str(i): {"stock_location": [f"Unknown stock location '{r['stock_location']}'."]}
                   for i, r in enumerate(rows.validated_data) if r["stock_location"] not in locations}
        if unknown:
            raise ValidationError({"rows": unknown})
        scope = user_scope(request.user)
        foreign = sorted({r["stock_location"] for r in rows.validated_data
                          if not scope.allows(locations[r["stock_location"]].pk)})
        if foreign:
            raise LocationNotAllowed(f"Stock location {', '.join(foreign)} is not one of yours.")
        for row in rows.validated_data:
            row["stock_location"] = locations[row["stock_location"]]
        seen = Counter((r["stock_location"].pk, r["sku"]) for r in rows.validated_data)
        duplicates = {str(i): {"sku": ["The same location and SKU appear more than once."]}
                      for i, r in enumerate(rows.validated_data)
                      if seen[(r["stock_location"].pk, r["sku"])] > 1}
        if duplicates:
            raise ValidationError({"rows": duplicates})
        with transaction.atomic():
            result = stocks_upsert(rows=rows.validated_data)
        return Response(result)

    @extend_schema(parameters=[StockAvailabilityQuerySerializer],
                   responses={200: {"type": "object", "additionalProperties": {"type": "boolean"}}})
    @action(detail=False, methods=["get"], url_path="query-stock-availability")
    def query_stock_availability(self, request):
        """``?sku=A&sku=A&erp_code=WH1`` → ``{"WH1": true}`` when WH1 has 2 of A available."""
        query = StockAvailabilityQuerySerializer(data={"sku": request.query_params.getlist("sku"),
                                                       "erp_code": request.query_params.getlist("erp_code")})
        query.is_valid(raise_exception=True)
        skus = Counter(query.validated_data["sku"])
        codes = query.validated_data["erp_code"]
        if not skus or not codes:
            raise ValidationError({"non_field_errors": ["Give at least one sku and one erp_code."]})
        # A store user asks about its own locations only; others read as unknown.
        scope = user_scope(request.user)
        known = {code: pk for code, pk in StockLocation.objects.filter(erp_code__in=codes)
                 .values_list("erp_code", "pk") if scope.allows(pk)}
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise ValidationError({"erp_code": [f"Unknown stock location '{c}'." for c in unknown]})
        available = {(s.stock_location_id, s.sku): s.available
                     for s in Stock.objects.filter(stock_location_id__in=known.values(), sku__in=skus)}
        return Response({code: all(available.get((known[code], sku), 0) >= n for sku, n in skus.items())
                         for code in codes})
