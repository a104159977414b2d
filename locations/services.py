"""Writes to quota and stock counters. Counters move with F() expressions or on rows this
transaction has locked (pk order), never from stale values read earlier."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from locations.errors import StockBelowReserved
from locations.models import Reservation, Stock, StockLocation
from locations.serializers import StockLocationSerializer
from oms.db import lock_many
from webhooks.outbox import event_add


def stock_location_save(*, location: StockLocation) -> StockLocation:
    """Create or update a location (API and admin) with its webhook event, in one transaction.
    ``quota`` is never written here: only package moves change it (F() updates)."""
    created = location.pk is None
    with transaction.atomic():
        if created:
            location.save()
        else:
            location.save(update_fields=[f.name for f in StockLocation._meta.concrete_fields
                                         if not f.primary_key and f.name not in ("quota", "created_date")])
        location.refresh_from_db()
        payload = dict(StockLocationSerializer(location).data)
        event_add("stock_location.created" if created else "stock_location.updated", payload)
    return location


def location_quota_move(*, location_id: int, delta: int) -> None:
    """Add ``delta`` (+1/-1) to a location's quota (packages there below status 400)."""
    if delta:
        StockLocation.objects.filter(pk=location_id).update(quota=F("quota") + delta)


def locations_quota_move(*, deltas: dict[int, int]) -> None:
    """Several locations' quota at once, in primary-key order (two opposite moves cannot
    deadlock)."""
    for location_id in sorted(deltas):
        location_quota_move(location_id=location_id, delta=deltas[location_id])


def stock_lock_skus(*, skus: set[str]) -> list[Stock]:
    """Lock every stock row of these SKUs, at every location, in one pk-ordered statement. A
    command that will touch stock at several locations (re-planning) takes all its stock locks
    here first, so that two such commands cannot each hold rows the other waits for."""
    return lock_many(Stock.objects.filter(sku__in=skus)) if skus else []


def reservations_release(*, reservations: Iterable[Reservation]) -> None:
    """Give reserved units back (``reserved -= n``) and delete the reservations."""
    reservations = list(reservations)
    if not reservations:
        return
    _apply_to_stocks(reservations, consume=False)
    Reservation.objects.filter(pk__in=[r.pk for r in reservations]).delete()


def reservations_consume(*, reservations: Iterable[Reservation]) -> None:
    """Packing: the reserved units leave the shelf (``quantity -= n``, ``reserved -= n``)."""
    reservations = list(reservations)
    if not reservations:
        return
    _apply_to_stocks(reservations, consume=True)
    Reservation.objects.filter(pk__in=[r.pk for r in reservations]).delete()


def _apply_to_stocks(reservations: list[Reservation], *, consume: bool) -> None:
    totals: dict[tuple[int, str], int] = defaultdict(int)
    for r in reservations:
        totals[(r.stock_location_id, r.sku)] += r.quantity
    locations = {loc for loc, _ in totals}
    skus = {sku for _, sku in totals}
    stocks = [s for s in lock_many(Stock.objects.filter(stock_location_id__in=locations, sku__in=skus))
              if (s.stock_location_id, s.sku) in totals]
    now = timezone.now()
    for stock in stocks:
        n = totals[(stock.stock_location_id, stock.sku)]
        stock.reserved = F("reserved") - n
        stock.modified_date = now
        if consume:
            stock.quantity = F("quantity") - n
    Stock.objects.bulk_update(stocks, ["reserved", "quantity", "modified_date"] if consume
                              else ["reserved", "modified_date"])


def stock_take_free(*, location_id: int, quantities: dict[str, int]) -> None:
    """Units leave the shelf without a reservation: on hand drops by what is free of others'
    reservations (never below them)."""
    stocks = lock_many(Stock.objects.filter(stock_location_id=location_id, sku__in=quantities))
    now = timezone.now()
    for stock in stocks:
        stock.quantity = max(stock.quantity - quantities[stock.sku], stock.reserved)
        stock.modified_date = now
    Stock.objects.bulk_update(stocks, ["quantity", "modified_date"])


def stocks_upsert(*, rows: list[dict]) -> dict[str, int]:
    """Set on-hand quantities from an integration feed: ``[{"stock_location": <StockLocation>,
    "sku", "quantity"}]``, validated as a whole by the caller. Existing rows are locked in pk
    order; a quantity below what is reserved is refused for the whole batch (``StockBelowReserved``).
    Returns ``{"created": n, "updated": n}``."""
    wanted = {(row["stock_location"].pk, row["sku"]): row["quantity"] for row in rows}
    existing = {(s.stock_location_id, s.sku): s for s in lock_many(Stock.objects.filter(
        stock_location_id__in={loc for loc, _ in wanted}, sku__in={sku for _, sku in wanted}))
        if (s.stock_location_id, s.sku) in wanted}
    problems = {}
    for index, row in enumerate(rows):
        stock = existing.get((row["stock_location"].pk, row["sku"]))
        if stock is not None and row["quantity"] < stock.reserved:
            problems[str(index)] = {"quantity": [f"{row['quantity']} is below the {stock.reserved} "
                                                 f"unit(s) reserved for packages."]}
    if problems:
        raise StockBelowReserved(fields={"rows": problems})
    to_update = []
    now = timezone.now()
    for key, stock in existing.items():
        stock.quantity, stock.modified_date = wanted[key], now
        to_update.append(stock)
    Stock.objects.bulk_update(to_update, ["quantity", "modified_date"], batch_size=1000)
    to_create = [Stock(stock_location_id=loc, sku=sku, quantity=quantity)
                 for (loc, sku), quantity in wanted.items() if (loc, sku) not in existing]
    Stock.objects.bulk_create(to_create, batch_size=1000)
    return {"created": len(to_create), "updated": len(to_update)}
