"""Writes to quota and stock counters. Counters move with F() expressions or on rows this
transaction has locked (pk order), never from stale values read earlier."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from contextlib import contextmanager

from django.db import connection, transaction
from django.utils import timezone

from locations.errors import NotEnoughFreeStock, StockBelowReserved
from locations.models import Reservation, Stock, StockLocation
from locations.serializers import StockLocationSerializer
from oms.db import lock_many
from webhooks.outbox import event_add, statement_join


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


_ledger = threading.local()


@contextmanager
def quota_batch():
    """Collect quota moves until the block ends, then write them at once (still inside the
    caller's transaction): the dispatcher and order intake open one, so that every location row
    a command changes is locked in one pk-ordered statement, after everything else the command
    locked. Two commands moving packages in opposite directions (A -> B and B -> A) then queue
    instead of deadlocking, and a busy store's row is held for the shortest time."""
    if getattr(_ledger, "deltas", None) is not None:
        yield  # joins the enclosing batch
        return
    _ledger.deltas = defaultdict(int)
    try:
        yield
        deltas = _ledger.deltas
        _ledger.deltas = None
        _quota_write(deltas)
    finally:
        _ledger.deltas = None


def location_quota_move(*, location_id: int, delta: int) -> None:
    """Add ``delta`` (+1/-1) to a location's quota (packages there below status 400)."""
    locations_quota_move(deltas={location_id: delta})


def locations_quota_move(*, deltas: dict[int, int]) -> None:
    """Move several locations' quota; inside ``quota_batch`` the moves wait for its end."""
    pending = getattr(_ledger, "deltas", None)
    if pending is None:
        _quota_write(deltas)
        return
    for location_id, delta in deltas.items():
        pending[location_id] += delta


_QUOTA_ONE = (f'UPDATE "{StockLocation._meta.db_table}" SET "quota" = "quota" + %s '
              f'WHERE "{StockLocation._meta.pk.column}" = %s')


def _quota_write(deltas: dict[int, int]) -> None:
    """One statement: joined to the outbox's statement when a batch is open (PostgreSQL), after
    everything else the transaction wrote. Several rows are locked in pk order by the UPDATE's
    subquery first (an UPDATE locks rows in the order it finds them)."""
    deltas = {pk: d for pk, d in deltas.items() if d}
    if not deltas:
        return
    if len(deltas) == 1:  # every command and most orders
        ((pk, delta),) = deltas.items()
        sql, params = _QUOTA_ONE, [delta, pk]
    else:
        table, pk_column = f'"{StockLocation._meta.db_table}"', f'"{StockLocation._meta.pk.column}"'
        pairs = sorted(deltas.items())
        ids = ", ".join(["%s"] * len(pairs))
        lock = f" ORDER BY {pk_column} FOR UPDATE" if connection.features.has_select_for_update else ""
        sql = (f'UPDATE {table} SET "quota" = "quota" + CASE {pk_column} '
               f'{" ".join(["WHEN %s THEN %s"] * len(pairs))} ELSE 0 END '
               f"WHERE {pk_column} IN (SELECT {pk_column} FROM {table} WHERE {pk_column} IN ({ids}){lock})")
        params = [value for pair in pairs for value in pair] + [pk for pk, _ in pairs]
    if not statement_join(sql, params):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


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


def reservations_consume(*, reservations: Iterable[Reservation],
                         also: tuple[str, list] | None = None) -> tuple | None:
    """Packing: the reserved units leave the shelf (``quantity -= n``, ``reserved -= n``).
    On PostgreSQL, ``also`` — an ``INSERT … RETURNING`` (``oms.db.insert_statement``) — runs in
    the same statement, whose row is returned; the caller runs it itself when there is nothing
    to consume (None is returned)."""
    reservations = list(reservations)
    if not reservations:
        return None
    return _apply_to_stocks(reservations, consume=True, also=also)


def _apply_to_stocks(reservations: list[Reservation], *, consume: bool,
                     also: tuple[str, list] | None = None) -> tuple | None:
    """Move the stock counters and delete the reservations. The stock rows are locked in pk order
    by the UPDATE's subquery, then moved relative to their current values (never from values
    read earlier); on PostgreSQL the reservations are deleted by the same statement, and ``also``
    (an ``INSERT … RETURNING``, PostgreSQL only) too: its row is returned. Plain SQL: Django's
    Case/When building for this UPDATE cost more Python than the rest of a pack."""
    totals: dict[tuple[int, str], int] = defaultdict(int)
    for r in reservations:
        totals[(r.stock_location_id, r.sku)] += r.quantity
    pairs = sorted(totals.items())
    table = connection.ops.quote_name(Stock._meta.db_table)
    when = "WHEN stock_location_id = %s AND sku = %s THEN %s"
    amount = " ".join(["CASE", *[when] * len(pairs), "ELSE 0 END"])
    amount_params = [value for (location, sku), n in pairs for value in (location, sku, n)]
    columns = ["reserved", "quantity"] if consume else ["reserved"]
    assignments = [f"{column} = {column} - {amount}" for column in columns] + ["modified_date = %s"]
    lock = " ORDER BY id FOR UPDATE" if connection.features.has_select_for_update else ""
    rows = " OR ".join(["(stock_location_id = %s AND sku = %s)"] * len(pairs))
    sql = (f"UPDATE {table} SET {', '.join(assignments)} "
           f"WHERE id IN (SELECT id FROM {table} WHERE {rows}{lock})")
    params = (amount_params * len(columns) + [connection.ops.adapt_datetimefield_value(timezone.now())]
              + [value for (location, sku), _ in pairs for value in (location, sku)])
    ids = [r.pk for r in reservations]
    if connection.vendor == "postgresql":
        delete = (f"DELETE FROM {connection.ops.quote_name(Reservation._meta.db_table)} "
                  f"WHERE id IN ({', '.join(['%s'] * len(ids))})")
        if also is not None:
            also_sql, also_params = also
            sql = f"WITH deleted AS ({delete}), moved AS ({sql}), also AS ({also_sql}) SELECT * FROM also"
            params = [*ids, *params, *also_params]
        else:
            sql, params = f"WITH deleted AS ({delete}) {sql}", [*ids, *params]
    elif also is not None:
        raise ValueError("a statement joined to the stock move needs PostgreSQL")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone() if also is not None else None
    if connection.vendor != "postgresql":
        Reservation.objects.filter(pk__in=ids).delete()
    return row


def stock_take_free(*, location_id: int, quantities: dict[str, int]) -> None:
    """Units leave the shelf without a reservation (``quantities``: units per SKU, already summed
    over the items). Only free units (on hand minus others' reservations) can go: a shortfall of
    any SKU refuses the whole take with ``NotEnoughFreeStock``, naming SKU and location, and
    nothing changes."""
    stocks = {s.sku: s for s in lock_many(
        Stock.objects.filter(stock_location_id=location_id, sku__in=quantities))}
    short = [(sku, n, stocks[sku].available if sku in stocks else 0)
             for sku, n in sorted(quantities.items())
             if sku not in stocks or stocks[sku].available < n]
    if short:
        erp_code = StockLocation.objects.filter(pk=location_id).values_list("erp_code", flat=True).first()
        raise NotEnoughFreeStock("; ".join(
            f"Not enough free stock of {sku} at {erp_code}: {n} needed, {free} free"
            for sku, n, free in short) + ".")
    now = timezone.now()
    for sku, stock in stocks.items():
        stock.quantity -= quantities[sku]
        stock.modified_date = now
    Stock.objects.bulk_update(list(stocks.values()), ["quantity", "modified_date"])


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
