"""Writes to quota and stock counters. Counters move with F() expressions or on rows this
transaction has locked (pk order), never from stale values read earlier."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import F

from locations.models import Reservation, Stock, StockLocation
from oms.db import lock_many


def location_quota_move(*, location_id: int, delta: int) -> None:
    """Add ``delta`` (+1/-1) to a location's quota (packages there below status 400)."""
    if delta:
        StockLocation.objects.filter(pk=location_id).update(quota=F("quota") + delta)


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
    for stock in stocks:
        n = totals[(stock.stock_location_id, stock.sku)]
        stock.reserved = F("reserved") - n
        if consume:
            stock.quantity = F("quantity") - n
    Stock.objects.bulk_update(stocks, ["reserved", "quantity"] if consume else ["reserved"])


def stock_reserve(*, location_id: int, sku: str, quantity: int) -> None:
    """Reserve units at a location (the caller has checked availability on a locked row)."""
    Stock.objects.filter(stock_location_id=location_id, sku=sku).update(
        reserved=F("reserved") + quantity)
