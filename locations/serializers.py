from rest_framework import serializers

from locations.models import CargoCompany, Stock, StockLocation


class CargoCompanySerializer(serializers.ModelSerializer):
    class Meta:
        model = CargoCompany
        fields = ["id", "name", "code", "is_active", "created_date", "modified_date"]


class StockLocationSerializer(serializers.ModelSerializer):
    quota = serializers.IntegerField(read_only=True)
    available_quota = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = StockLocation
        fields = ["id", "name", "erp_code", "stock_location_type", "is_active", "priority",
                  "is_fulfillment_center", "is_transfer_center", "is_pickup_location", "city",
                  "country", "latitude", "longitude", "max_quota", "quota", "available_quota",
                  "default_cargo_company", "created_date", "modified_date"]


class StockLocationShortSerializer(serializers.ModelSerializer):
    class Meta:
        model = StockLocation
        fields = ["id", "name", "erp_code", "stock_location_type"]


class StockSerializer(serializers.ModelSerializer):
    reserved = serializers.IntegerField(read_only=True)

    class Meta:
        model = Stock
        fields = ["id", "stock_location", "sku", "quantity", "reserved", "created_date",
                  "modified_date"]


class StockUpsertRowSerializer(serializers.Serializer):
    # The erp code; the view resolves all of a batch's codes in one query.
    stock_location = serializers.CharField(max_length=64)
    sku = serializers.CharField(max_length=128)
    quantity = serializers.IntegerField(min_value=0)


class StockUpsertSerializer(serializers.ListSerializer):
    child = StockUpsertRowSerializer()
