from django.db.models import QuerySet

from accounts.scoping import user_scope
from locations.models import StockLocation


def restricted_locations(user) -> QuerySet | None:
    """For instore users, the locations they may see; None means unrestricted.
    Kept for callers that filter by hand; new code uses ``accounts.scoping.scope_queryset``."""
    scope = user_scope(user)
    if not scope.is_restricted:
        return None
    return StockLocation.objects.filter(pk__in=scope.location_ids).values("pk")
