from django.db.models import QuerySet

from commands.enums import UiVisibility
from locations.models import StockLocation


def restricted_locations(user) -> QuerySet | None:
    """For instore users, the locations they may see (a subquery); None means unrestricted."""
    profile = getattr(user, "oms_profile", None)
    if profile is None or profile.channel != UiVisibility.INSTORE:
        return None
    return StockLocation.objects.filter(pk__in=profile.stock_locations.values("pk")).values("pk")
