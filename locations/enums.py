from django.db import models


class StockLocationType(models.TextChoices):
    STORE = "store", "Store"
    WAREHOUSE = "warehouse", "Warehouse"
