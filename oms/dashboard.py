"""The admin's home page: a store's work queue, or the operations overview.

unfold calls ``dashboard_callback`` (``UNFOLD["DASHBOARD_CALLBACK"]``) when it renders the admin
index; ``templates/admin/index.html`` shows what it adds above the usual list of models.

- A **store user** (an ``instore`` profile, ``accounts.scoping``) sees, for each of their stock
  locations: packages to pack, to ship, awaiting pickup, blocked, out of stock, incoming
  transfers and transfers to dispatch, quota used of max, and the age of the oldest package to
  pack. Three queries for any number of locations and packages.
- **Everyone else** with the permissions sees the operations overview: open packages by state and
  location, the out-of-stock queue, transfers on the way, locations at their quota, webhook
  backlog and failures. Seven queries.

Every number links to the changelist filtered to exactly those rows (the list's own filters:
``status__in``, ``stock_location__id__exact``, …), so what is counted is what opens. The counting
lives in the selectors below (``store_queue_counts``, ``operations_counts``); the callback only
turns them into tiles."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.db.models import Count, Min, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from accounts.scoping import user_scope
from commands.admin_display import state_name
from commands.models import State
from locations.models import StockLocation
from packages.enums import PACKABLE, PackageStatus
from packages.models import Package
from transfers.enums import OPEN_TRANSFER, TransferStatus
from transfers.models import TransferOrder
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription

S = PackageStatus
T = TransferStatus
TO_DISPATCH = [T.WAITING, T.READY_TO_SHIPMENT]
# The end of a package's road: not open work, left out of the state x location table.
FINAL = [S.DELIVERED, S.CANCELLED, S.PACKED_FOR_REFUND]
OUT_OF_STOCK_LISTED = 5


# -- selectors --------------------------------------------------------------------------------------
def store_queue_counts(location_ids) -> list[StockLocation]:
    """The user's stock locations, each annotated with its queue: ``to_pack``, ``to_ship``,
    ``awaiting_pickup``, ``blocked``, ``out_of_stock``, ``incoming``, ``to_dispatch``, and the
    oldest package to pack (``oldest_id``, ``oldest_number``, ``oldest_created``). Three queries."""
    oldest = (Package.objects.filter(stock_location=OuterRef("pk"), status__in=PACKABLE)
              .order_by("created_date", "id"))
    locations = list(StockLocation.objects.filter(pk__in=location_ids).order_by("name", "id").annotate(
        oldest_id=Subquery(oldest.values("pk")[:1]),
        oldest_number=Subquery(oldest.values("number")[:1]),
        oldest_created=Subquery(oldest.values("created_date")[:1])))
    packages = {row["stock_location"]: row for row in Package.objects
                .filter(stock_location__in=location_ids)
                .values("stock_location")
                .annotate(to_pack=Count("pk", filter=Q(status__in=PACKABLE)),
                          to_ship=Count("pk", filter=Q(status=S.PACKED)),
                          awaiting_pickup=Count("pk", filter=Q(status=S.READY_FOR_PICKUP)),
                          blocked=Count("pk", filter=Q(status=S.BLOCKED)),
                          out_of_stock=Count("pk", filter=Q(status=S.OUT_OF_STOCK)))
                .order_by()}
    transfers: dict[tuple[str, int], int] = defaultdict(int)
    for row in (TransferOrder.objects.filter(Q(source__in=location_ids) | Q(destination__in=location_ids),
                                             status__in=OPEN_TRANSFER)
                .values("source", "destination", "status").annotate(n=Count("pk")).order_by()):
        transfers[("incoming", row["destination"])] += row["n"]
        if row["status"] in TO_DISPATCH:
            transfers[("to_dispatch", row["source"])] += row["n"]
    for location in locations:
        counts = packages.get(location.pk, {})
        for name in ("to_pack", "to_ship", "awaiting_pickup", "blocked", "out_of_stock"):
            setattr(location, name, counts.get(name, 0))
        location.incoming = transfers[("incoming", location.pk)]
        location.to_dispatch = transfers[("to_dispatch", location.pk)]
    return locations


@dataclass
class OperationsCounts:
    # (location id, erp code, name) -> {state id: count}; states in lifecycle order
    by_location: dict[tuple[int, str, str], dict[int, int]]
    states: list[State]
    out_of_stock: int
    out_of_stock_oldest: list[Package]
    transfers: dict[str, int]
    full_locations: list[StockLocation]
    deliveries: dict[str, int]
    oldest_pending: datetime | None
    failed_last_day: int
    deactivated_subscriptions: int


def operations_counts(*, with_webhooks: bool) -> OperationsCounts:
    """What the operations overview shows. Five queries (seven with the webhooks)."""
    cells = list(Package.objects.exclude(status__in=FINAL)
                 .values("stock_location", "stock_location__erp_code", "stock_location__name", "state",
                         "status")
                 .annotate(n=Count("pk")).order_by())
    by_location: dict[tuple[int, str, str], dict[int, int]] = defaultdict(dict)
    for row in cells:
        key = (row["stock_location"], row["stock_location__erp_code"], row["stock_location__name"])
        by_location[key][row["state"]] = row["n"]
    state_ids = {row["state"] for row in cells}
    order = {str(s.value): i for i, s in enumerate(PackageStatus)}
    states = sorted(State.objects.filter(pk__in=state_ids),
                    key=lambda s: (order.get(s.enum_value, len(order)), s.pk))
    transfers = dict(TransferOrder.objects.filter(status__in=OPEN_TRANSFER).values("status")
                     .annotate(n=Count("pk")).order_by().values_list("status", "n"))
    full = [loc for loc in StockLocation.objects.filter(is_active=True, max_quota__isnull=False)
            .order_by("name") if loc.quota >= loc.max_quota]
    deliveries: dict[str, int] = {}
    oldest_pending, failed_last_day, deactivated = None, 0, 0
    if with_webhooks:
        day_ago = timezone.now() - timedelta(days=1)
        summary = WebhookDelivery.objects.aggregate(
            pending=Count("pk", filter=Q(status=DeliveryStatus.PENDING)),
            failed=Count("pk", filter=Q(status=DeliveryStatus.FAILED)),
            failed_last_day=Count("pk", filter=Q(status=DeliveryStatus.FAILED, modified_date__gte=day_ago)),
            oldest_pending=Min("created_date", filter=Q(status=DeliveryStatus.PENDING)))
        deliveries = {"pending": summary["pending"], "failed": summary["failed"]}
        oldest_pending, failed_last_day = summary["oldest_pending"], summary["failed_last_day"]
        deactivated = WebhookSubscription.objects.filter(is_active=False).count()
    return OperationsCounts(
        by_location=dict(sorted(by_location.items(), key=lambda item: item[0][2])), states=states,
        out_of_stock=sum(row["n"] for row in cells if row["status"] == S.OUT_OF_STOCK),
        out_of_stock_oldest=list(Package.objects.filter(status=S.OUT_OF_STOCK).select_related("stock_location")
                                 .order_by("created_date", "id")[:OUT_OF_STOCK_LISTED]),
        transfers={str(k): v for k, v in transfers.items()}, full_locations=full, deliveries=deliveries,
        oldest_pending=oldest_pending, failed_last_day=failed_last_day, deactivated_subscriptions=deactivated)


# -- presentation -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tile:
    key: str              # stable hook for tests: data-testid="tile-<key>"
    label: str
    value: str
    url: str = ""
    tone: str = "default"  # default | attention | alarm
    hint: str = ""


@dataclass
class LocationQueue:
    location: StockLocation
    tiles: list[Tile] = field(default_factory=list)


def changelist_url(model_name: str, **filters) -> str:
    app_label = {"package": "packages", "transferorder": "transfers", "webhookdelivery": "webhooks",
                 "webhooksubscription": "webhooks"}[model_name]
    query = urlencode({k: ",".join(map(str, v)) if isinstance(v, list | tuple) else v
                       for k, v in filters.items()})
    return f"{reverse(f'admin:{app_label}_{model_name}_changelist')}?{query}"


def _age(moment: datetime | None) -> str:
    return timesince(moment, timezone.now(), depth=1) if moment else "–"


def _tone(count: int, alarm: bool = False) -> str:
    return "default" if not count else "alarm" if alarm else "attention"


def store_dashboard(user) -> list[LocationQueue]:
    queues = []
    for loc in store_queue_counts(user_scope(user).location_ids or ()):
        at = {"stock_location__id__exact": loc.pk}
        tiles = [
            Tile("to-pack", _("To pack"), str(loc.to_pack),
                 changelist_url("package", status__in=[int(s) for s in PACKABLE], **at), _tone(loc.to_pack),
                 _("Waiting, preparing or ready for packaging")),
            Tile("to-ship", _("To ship"), str(loc.to_ship),
                 changelist_url("package", status__exact=int(S.PACKED), **at), _tone(loc.to_ship),
                 _("Packed")),
        ]
        if loc.is_pickup_location or loc.awaiting_pickup:
            tiles.append(Tile("awaiting-pickup", _("Awaiting pickup"), str(loc.awaiting_pickup),
                              changelist_url("package", status__exact=int(S.READY_FOR_PICKUP), **at),
                              _tone(loc.awaiting_pickup), _("Ready for pickup by the customer")))
        tiles += [
            Tile("blocked", _("Blocked"), str(loc.blocked),
                 changelist_url("package", status__exact=int(S.BLOCKED), **at), _tone(loc.blocked, True)),
            Tile("out-of-stock", _("Out of stock"), str(loc.out_of_stock),
                 changelist_url("package", status__exact=int(S.OUT_OF_STOCK), **at),
                 _tone(loc.out_of_stock, True), _("Contains out of stock products")),
            Tile("incoming", _("Incoming transfers"), str(loc.incoming),
                 changelist_url("transferorder", destination__id__exact=loc.pk,
                                status__in=[str(s) for s in OPEN_TRANSFER]), _tone(loc.incoming),
                 _("Waiting, ready or in transit to this store")),
        ]
        if loc.is_transfer_center or loc.to_dispatch:
            tiles.append(Tile("to-dispatch", _("Transfers to dispatch"), str(loc.to_dispatch),
                              changelist_url("transferorder", source__id__exact=loc.pk,
                                             status__in=[str(s) for s in TO_DISPATCH]),
                              _tone(loc.to_dispatch)))
        if loc.max_quota is None:
            quota, tone = _("%(used)s of unlimited") % {"used": loc.quota}, "default"
        else:
            quota = f"{loc.quota} / {loc.max_quota}"
            tone = ("alarm" if loc.quota >= loc.max_quota
                    else "attention" if loc.quota * 5 >= loc.max_quota * 4 else "default")
        tiles.append(Tile("quota", _("Quota used"), quota,
                          changelist_url("package", status__lt=400, **at), tone,
                          _("Packages here not packed yet, of the most this store takes")))
        oldest_url = (reverse("admin:packages_package_change", args=[loc.oldest_id])
                      if loc.oldest_id else "")
        tiles.append(Tile("oldest", _("Oldest to pack"), _age(loc.oldest_created), oldest_url,
                          "default", loc.oldest_number or _("Nothing to pack")))
        queues.append(LocationQueue(loc, tiles))
    return queues


def operations_dashboard(user) -> dict:
    with_webhooks = user.has_perm("webhooks.view_webhookdelivery")
    counts = operations_counts(with_webhooks=with_webhooks)
    rows = []
    for (location_id, erp_code, name), cells in counts.by_location.items():
        rows.append({
            "name": name, "erp_code": erp_code, "total": sum(cells.values()),
            "cells": [(cells.get(state.pk, 0),
                       changelist_url("package", state__id__exact=state.pk,
                                      stock_location__id__exact=location_id)
                       if cells.get(state.pk) else "") for state in counts.states]})
    overview = {
        "states": [(state, state_name(state)) for state in counts.states], "rows": rows,
        "tiles": [
            Tile("ops-out-of-stock", _("Out-of-stock queue"), str(counts.out_of_stock),
                 changelist_url("package", status__exact=int(S.OUT_OF_STOCK)),
                 _tone(counts.out_of_stock, True),
                 _("Oldest: %(age)s") % {"age": _age(counts.out_of_stock_oldest[0].created_date)}
                 if counts.out_of_stock_oldest else _("Nothing waiting for stock")),
            *(Tile(f"ops-transfers-{key.replace('_', '-')}", label, str(counts.transfers.get(key, 0)),
                   changelist_url("transferorder", status__exact=key), _tone(counts.transfers.get(key, 0)))
              for key, label in ((str(T.IN_TRANSIT), _("Transfers in transit")),
                                 (str(T.WAITING), _("Transfers waiting")),
                                 (str(T.READY_TO_SHIPMENT), _("Transfers ready to dispatch")))),
        ],
        "out_of_stock": counts.out_of_stock_oldest,
        "full_locations": counts.full_locations,
    }
    if with_webhooks:
        overview["tiles"] += [
            Tile("ops-webhooks-pending", _("Webhook backlog"), str(counts.deliveries["pending"]),
                 changelist_url("webhookdelivery", status__exact=DeliveryStatus.PENDING.value),
                 _tone(counts.deliveries["pending"]),
                 _("Oldest: %(age)s") % {"age": _age(counts.oldest_pending)} if counts.oldest_pending
                 else _("Nothing to send")),
            Tile("ops-webhooks-failed", _("Failed webhook deliveries"), str(counts.deliveries["failed"]),
                 changelist_url("webhookdelivery", status__exact=DeliveryStatus.FAILED.value),
                 _tone(counts.deliveries["failed"], True),
                 _("%(count)s in the last 24 hours") % {"count": counts.failed_last_day}),
            Tile("ops-webhooks-deactivated", _("Subscriptions switched off"),
                 str(counts.deactivated_subscriptions),
                 changelist_url("webhooksubscription", is_active__exact=0),
                 _tone(counts.deactivated_subscriptions, True),
                 _("Inactive: by an operator, or after too many failures in a row")),
        ]
    return overview


def dashboard_callback(request, context: dict) -> dict:
    """unfold's ``DASHBOARD_CALLBACK``: for a user who may view packages, adds ``store_queues``
    (a store user) or ``operations`` (everyone else) to the admin index's context."""
    user = request.user
    if not user.has_perm("packages.view_package"):
        return context
    if user_scope(user).is_restricted:
        context["store_queues"] = store_dashboard(user)
    else:
        context["operations"] = operations_dashboard(user)
    return context
