from django.db import models


class SortKey(models.TextChoices):
    PRIORITY = "priority", "Location priority (higher first)"
    STOCK = "stock", "Stock of the remaining items (more first)"
    AVAILABLE_QUOTA = "available_quota", "Available quota (more first)"
    DISTANCE = "distance", "Distance to the customer (nearer first)"


class StockLocationTypeFilter(models.TextChoices):
    ANY = "", "Any"
    STORE = "store", "Store"
    WAREHOUSE = "warehouse", "Warehouse"
