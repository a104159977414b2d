"""Location scoping: the one place that decides which rows a user may see and act on.

Every queryset that can reveal or change location-bound data goes through ``scope_queryset``:
the API's base viewsets (``oms.api.viewsets``), the admin's base class, the command dispatcher's
object lookup and the command-side checks (``location_allowed``). A user is *restricted* when
their profile's channel is ``instore``: they see the rows of their own stock locations and
nothing else. Everyone else (operators, integrations, the OMS itself) is unrestricted.

Every model is classified here, exactly once:

- ``SCOPE_RULES``: location-bound models and how to narrow them to a set of locations;
- ``SHARED_MODELS``: configuration that holds no store's data (any authenticated user may read
  what their model permissions allow);
- ``HIDDEN_FROM_STORES``: rows a restricted user never sees at all (webhooks, idempotency
  records, other users' profiles).

``scope_queryset`` refuses (``ImproperlyConfigured``) a model that is in none of them, so a new
model cannot be served before someone decides how it is scoped; ``tests/security`` also checks
that every installed model of the project is classified.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, Q, QuerySet

from commands.enums import UiVisibility

_CACHE_ATTR = "_oms_location_scope"


class LocationScope:
    """Unrestricted (``profile_id`` None), or a store user's: only the stock locations of its
    profile. Querysets are narrowed with a subquery (no extra round trip); the ids themselves are
    read once, when a check needs them (``allows``)."""

    def __init__(self, profile_id: int | None = None) -> None:
        self.profile_id = profile_id

    @property
    def is_restricted(self) -> bool:
        return self.profile_id is not None

    @cached_property
    def location_ids(self) -> frozenset[int] | None:
        if self.profile_id is None:
            return None
        return frozenset(self._membership().values_list("stocklocation_id", flat=True))

    def locations(self):
        """What ``field__in=`` takes: the ids once read, else a subquery."""
        if "location_ids" in self.__dict__:
            return self.location_ids
        return self._membership().values("stocklocation_id")

    def allows(self, location_id: int | None) -> bool:
        return self.profile_id is None or location_id in self.location_ids

    def _membership(self):
        from accounts.models import Profile
        return Profile.stock_locations.through.objects.filter(profile_id=self.profile_id)


UNRESTRICTED = LocationScope()


def user_scope(user) -> LocationScope:
    """The user's scope, decided once per user object (no query: the profile comes with the
    user from authentication). ``None`` is the OMS itself (jobs, commands): unrestricted."""
    if user is None:
        return UNRESTRICTED
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    scope = UNRESTRICTED
    if getattr(user, "is_authenticated", False):
        profile = getattr(user, "oms_profile", None) if user.pk else None
        if profile is not None and profile.channel == UiVisibility.INSTORE:
            scope = LocationScope(profile.pk)
    with contextlib.suppress(AttributeError):  # read-only user objects: no cache
        setattr(user, _CACHE_ATTR, scope)
    return scope


def forget_scope(user) -> None:
    """Drop the cached scope (after a profile's locations change on the same user object)."""
    if user is not None and hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def location_allowed(user, location_id: int | None) -> bool:
    return user_scope(user).allows(location_id)


# --- the classification -------------------------------------------------------------------------

def _packages(ids):
    from packages.models import Package
    return Package.objects.filter(stock_location__in=ids).values("pk")


def _transfers(ids):
    from transfers.models import TransferOrder
    return TransferOrder.objects.filter(Q(source__in=ids) | Q(destination__in=ids)).values("pk")


def _orders(ids):
    from packages.models import Package
    return Package.objects.filter(stock_location__in=ids).values("order_id")


def _order_items(ids):
    from packages.models import PackageItem
    return PackageItem.objects.filter(package__stock_location__in=ids).values("order_item_id")


def _logs(qs: QuerySet, ids) -> QuerySet:
    from django.contrib.contenttypes.models import ContentType

    from packages.models import Package
    from transfers.models import TransferOrder
    types = ContentType.objects.get_for_models(Package, TransferOrder)
    return qs.filter(
        Q(content_type=types[Package], object_id__in=_packages(ids))
        | Q(content_type=types[TransferOrder], object_id__in=_transfers(ids)))


# model label -> function(queryset, location ids) -> the rows those locations may see
SCOPE_RULES: dict[str, Callable[[QuerySet, Any], QuerySet]] = {
    "packages.package": lambda qs, ids: qs.filter(stock_location__in=ids),
    "packages.packageitem": lambda qs, ids: qs.filter(package__stock_location__in=ids),
    # A package's shipment, or the shipment of a transfer from or to the store.
    "packages.shipment": lambda qs, ids: qs.filter(
        Q(package__stock_location__in=ids) | Q(transfer__in=_transfers(ids))),
    # An order is visible when one of its packages is at the store (and then only those
    # packages are shown inside it: see ``order_packages_queryset``).
    "orders.order": lambda qs, ids: qs.filter(pk__in=_orders(ids)),
    "orders.orderitem": lambda qs, ids: qs.filter(pk__in=_order_items(ids)),
    "transfers.transferorder": lambda qs, ids: qs.filter(Q(source__in=ids) | Q(destination__in=ids)),
    "transfers.transferitem": lambda qs, ids: qs.filter(transfer__in=_transfers(ids)),
    "locations.stock": lambda qs, ids: qs.filter(stock_location__in=ids),
    "locations.reservation": lambda qs, ids: qs.filter(stock_location__in=ids),
    "commands.statetransitionlog": _logs,
}

# Configuration without any store's data: not narrowed (model permissions still apply).
SHARED_MODELS: frozenset[str] = frozenset({
    "commands.state", "commands.transition", "locations.stocklocation", "locations.cargocompany",
    "orders.channel", "packages.packagedenialreason", "planning.scenario", "planning.rule",
})

# Never shown to a restricted user, whatever their model permissions say.
HIDDEN_FROM_STORES: frozenset[str] = frozenset({
    "webhooks.webhooksubscription", "webhooks.webhookevent", "webhooks.webhookdelivery",
    "webhooks.webhookattempt", "commands.idempotencyrecord", "accounts.profile",
    "auth.user", "auth.group", "auth.permission", "authtoken.token", "authtoken.tokenproxy",
    "admin.logentry", "contenttypes.contenttype", "sessions.session",
    "django_tasks_database.dbtaskresult",
})


def model_label(model: type[Model]) -> str:
    return model._meta.label_lower


def is_classified(model: type[Model]) -> bool:
    label = model_label(model)
    concrete = model_label(model._meta.concrete_model)
    return any(x in group for x in (label, concrete)
               for group in (SCOPE_RULES, SHARED_MODELS, HIDDEN_FROM_STORES))


def scope_queryset(queryset: QuerySet, user) -> QuerySet:
    """``queryset`` narrowed to what ``user`` may see. Raises ``ImproperlyConfigured`` for a
    model nobody classified, for every user, so the omission shows in the first test."""
    model = queryset.model
    label = model_label(model._meta.concrete_model)
    if label not in SCOPE_RULES and label not in SHARED_MODELS and label not in HIDDEN_FROM_STORES:
        raise ImproperlyConfigured(
            f"{model._meta.label} is not classified for location scoping: add it to SCOPE_RULES, "
            "SHARED_MODELS or HIDDEN_FROM_STORES in accounts/scoping.py.")
    scope = user_scope(user)
    if not scope.is_restricted:
        return queryset
    if label in HIDDEN_FROM_STORES:
        return queryset.none()
    rule = SCOPE_RULES.get(label)
    return queryset if rule is None else rule(queryset, scope.locations())


def scoped(model: type[Model], user) -> QuerySet:
    return scope_queryset(model._default_manager.all(), user)


def require_locations(user, location_ids: Iterable[int | None], *, action: str) -> None:
    """Raise ``LocationNotAllowed`` (403, naming the locations) unless ``user`` holds them all."""
    scope = user_scope(user)
    refused = sorted({pk for pk in location_ids if not scope.allows(pk)}, key=lambda pk: pk or 0)
    if not refused:
        return
    from accounts.errors import LocationNotAllowed
    from locations.models import StockLocation
    codes = ", ".join(StockLocation.objects.filter(pk__in=[pk for pk in refused if pk])
                      .order_by("pk").values_list("erp_code", flat=True)) or "–"
    raise LocationNotAllowed(f"{action} needs stock location {codes}, which is not one of yours.")


def all_allowed(user, location_ids: Iterable[int | None]) -> bool:
    scope = user_scope(user)
    return all(scope.allows(loc) for loc in location_ids)
