from django.conf import settings
from django.db import models

from commands.enums import UiVisibility
from locations.models import StockLocation


class Profile(models.Model):
    """The API user's channel (which transitions they see) and, for instore users, their
    stock locations (the only packages and transfers they see)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="oms_profile")
    channel = models.CharField(max_length=16, choices=UiVisibility.choices,
                               default=UiVisibility.OMS_WEB)
    stock_locations = models.ManyToManyField(StockLocation, blank=True, related_name="+")

    def __str__(self) -> str:
        return f"{self.user} ({self.channel})"


def user_channel(user) -> str:
    """Staff default to oms_web, other users without a profile to third_party (integrations)."""
    profile = getattr(user, "oms_profile", None)
    if profile is not None:
        return profile.channel
    return UiVisibility.OMS_WEB if user.is_staff else UiVisibility.THIRD_PARTY
