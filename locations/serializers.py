from rest_framework import serializers

from locations.models import CargoCompany, Stock, StockLocation
from oms.api.serializers import INT_MAX, BoundedModelSerializer, JsonSerializer


class CargoCompanySerializer(BoundedModelSerializer):
    class Meta:
        model = CargoCompany
        fields = ["id", "name", "code", "is_active", "created_date", "modified_date"]


class StockLocationSerializer(BoundedModelSerializer):
    quota = serializers.IntegerField(read_only=True)
    available_quota = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = StockLocation
        fields = ["id", "name", "erp_code", "stock_location_type", "is_active", "priority",
                  "is_fulfillment_center", "is_transfer_center", "is_pickup_location", "city",
                  "country", "latitude", "longitude", "max_quota", "quota", "available_quota",
                  "default_cargo_company", "created_date", "modified_date"]
        extra_kwargs = {"latitude": {"min_value": -90, "max_value": 90},
                        "longitude": {"min_value": -180, "max_value": 180}}


class StockLocationShortSerializer(BoundedModelSerializer):
    class Meta:
        model = StockLocation
        fields = ["id", "name", "erp_code", "stock_location_type"]


class StockSerializer(BoundedModelSerializer):
    reserved = serializers.IntegerField(read_only=True)

    class Meta:
        model = Stock
        fields = ["id", "stock_location", "sku", "quantity", "reserved", "created_date",
                  "modified_date"]


class StockUpsertRowSerializer(JsonSerializer):
    # The erp code; the view resolves all of a batch's codes in one query.
    stock_location = serializers.CharField(max_length=64)
    sku = serializers.CharField(max_length=128)
    quantity = serializers.IntegerField(min_value=0, max_value=INT_MAX)


class StockAvailabilityQuerySerializer(serializers.Serializer):
    """``GET stocks/query-stock-availability/?sku=A&sku=A&erp_code=WH1``."""

    # A GET: the whole query must fit a request line (gunicorn takes 4094 bytes).
    sku = serializers.ListField(child=serializers.CharField(max_length=128), max_length=100,
                                help_text="Repeat a SKU to ask for that many units.")
    erp_code = serializers.ListField(child=serializers.CharField(max_length=64), max_length=20,
                                     help_text="Locations to answer for.")


class StockUpsertSerializer(serializers.ListSerializer):
    child = StockUpsertRowSerializer()
