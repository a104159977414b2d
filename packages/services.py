"""Package writes. Called by command handlers, planning and seeding, always inside the caller's
transaction (the dispatcher's, or the intake's)."""

from __future__ import annotations

import datetime
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import orjson
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import (
    Aggregate,
    CharField,
    DateTimeField,
    F,
    ForeignKey,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    TextField,
)
from django.utils import timezone

from commands.cache import commands_config
from commands.models import State
from locations.models import Reservation, Stock, StockLocation
from locations.services import (
    location_quota_move,
    locations_quota_move,
    reservations_consume,
    reservations_release,
    stock_take_free,
)
from oms.db import (
    insert_done,
    insert_one,
    insert_statement,
    lock_many,
    objects_from_cursor,
    update_statement,
)
from orders.enums import OrderStatus
from orders.models import Order, OrderItem
from packages import events
from packages.enums import ItemStatus, PackageStatus, ShipmentStatus, holds_quota
from packages.errors import NotEnoughStock
from packages.models import Package, PackageItem, Shipment
from webhooks import outbox

S = PackageStatus


@dataclass(frozen=True)
class ItemLine:
    order_item: OrderItem
    quantity: int


def package_create(*, order: Order, stock_location: StockLocation, state: State,
                   lines: Sequence[ItemLine] = (), move_items: Sequence[PackageItem] = (),
                   reserve: bool = True, reserve_at: dict[int, int] | None = None,
                   existing: int | None = None, locked_stocks: dict[tuple[int, str], Stock] | None = None,
                   objects_current: bool = False) -> Package:
    """Create a package at a location in ``state`` with its items, reservations and quota.

    Items are new (``lines``) or moved from another package (``move_items``, re-planning).
    With ``reserve`` each item reserves its quantity at the package's location, or at the
    location ``reserve_at`` names for it (by order item id: a transfer's source). Stock rows are
    locked in pk order; a shortfall raises ``NotEnoughStock`` and the caller's transaction rolls
    back. The caller holds the order's lock or created the order (numbers are per order).

    What the caller knows saves reads: ``existing`` (the order's packages so far — a new order's
    are the ones its intake created), ``locked_stocks`` (stock rows it has locked, by (location,
    SKU), kept current here), ``objects_current`` (``order``, ``stock_location`` and ``state`` are
    as the database has them: the webhook payload is built from them without a read)."""
    if existing is None:
        existing = Package.objects.filter(order=order).count()
    package = Package.objects.create(
        number=f"{order.number}P{existing + 1}", order=order, stock_location=stock_location,
        status=state.status, state=state)
    _packages_added.orders.add(order.pk)
    item_status = status_key(package.status)
    items = PackageItem.objects.bulk_create([
        PackageItem(package=package, order_item=line.order_item, sku=line.order_item.sku,
                    quantity=line.quantity, status=item_status) for line in lines])
    if move_items:
        now = timezone.now()
        PackageItem.objects.filter(pk__in=[i.pk for i in move_items]).update(
            package=package, status=item_status, modified_date=now)
        for item in move_items:
            item.package, item.status, item.modified_date = package, item_status, now
        items.extend(move_items)
    if reserve:
        items_reserve(items=items, location_id=stock_location.pk, reserve_at=reserve_at,
                      locked_stocks=locked_stocks)
    if holds_quota(package.status):
        location_quota_move(location_id=stock_location.pk, delta=+1)
    if objects_current:
        events.package_created_from(package, items=sorted(items, key=lambda i: i.pk))
    else:
        events.package_created(package)
    return package


def items_reserve(*, items: Sequence[PackageItem], location_id: int,
                  reserve_at: dict[int, int] | None = None,
                  locked_stocks: dict[tuple[int, str], Stock] | None = None) -> None:
    """Reserve every item's quantity at ``location_id`` (or its ``reserve_at`` location). The
    stock rows are locked here (pk order), or were by the caller (``locked_stocks``)."""
    reserve_at = reserve_at or {}
    where = {item.pk: reserve_at.get(item.order_item_id, location_id) for item in items}
    wanted: dict[tuple[int, str], int] = {}
    for item in items:
        key = (where[item.pk], item.sku)
        wanted[key] = wanted.get(key, 0) + item.quantity
    if not wanted:
        return
    if locked_stocks is None:
        rows = lock_many(Stock.objects.filter(stock_location_id__in={loc for loc, _ in wanted},
                                              sku__in={sku for _, sku in wanted}))
        locked_stocks = {(s.stock_location_id, s.sku): s for s in rows}
    stocks = {key: locked_stocks[key] for key in wanted if key in locked_stocks}
    now = timezone.now()
    for (loc, sku), quantity in wanted.items():
        stock = stocks.get((loc, sku))
        if stock is None or stock.available < quantity:
            erp_code = StockLocation.objects.filter(pk=loc).values_list("erp_code", flat=True).first()
            raise NotEnoughStock(f"Not enough stock of {sku} at {erp_code}.")
        stock.reserved += quantity
        stock.modified_date = now
    Stock.objects.bulk_update(list(stocks.values()), ["reserved", "modified_date"])
    Reservation.objects.bulk_create([
        Reservation(package_item=item, stock_location_id=where[item.pk], sku=item.sku,
                    quantity=item.quantity) for item in items])


def package_relocate(*, package: Package, stock_location: StockLocation) -> None:
    """Move a package to another location; a package holding quota moves its unit with it.
    The caller saves ``stock_location`` (the dispatcher does, through ``update_fields``)."""
    if package.stock_location_id == stock_location.pk:
        return
    if holds_quota(package.status):
        locations_quota_move(deltas={package.stock_location_id: -1, stock_location.pk: +1})
    package.stock_location = stock_location


def package_state(status: int) -> State:
    """The seeded state of a status (slug = its key), used for moves the OMS makes itself
    (from the configuration cache)."""
    state = commands_config().state("PackageStatus", PackageStatus(status).name.lower().replace("_", "-"))
    if state.enum_value != str(status):
        raise State.DoesNotExist(f"The state {state.slug!r} does not carry status {status}.")
    return state


def status_key(status: int) -> str:
    return PackageStatus(status).name.lower()


def package_after_move(package: Package, old_status: int, new_status: int, old_state_id: int,
                       save_fields: list[str] | None = None) -> None:
    """Everything that follows a package's status move, in the same transaction (spec §4, §1.3,
    §8): the location's quota, the items' mirrored status, the order's derived status and the
    webhook events (last, so their payload shows all of it — built from what this holds).
    ``save_fields``: the package's own fields to save first (the dispatcher's move), written with
    the items and the order in one statement where it can."""
    items = None
    for name in (ITEMS_READ, RESERVATIONS_READ):  # what the read found holds until the move only
        package.__dict__.pop(name, None)
    if old_status != new_status:
        items = _items_and_order_after_move(package, new_status, save_fields)
    elif save_fields is not None:
        package.save(update_fields=save_fields)
    package.__dict__.pop(_KEPT, None)
    if old_state_id != package.state_id or old_status != new_status:
        events.package_transitioned_from(package, items=items, shipment=shipment_of(package))
    # Last: every pack at a location updates this one row, so its lock is held the shortest.
    if holds_quota(old_status) != holds_quota(new_status):
        location_quota_move(location_id=package.stock_location_id,
                            delta=+1 if holds_quota(new_status) else -1)


def order_status_from(statuses: Sequence[int]) -> int:
    """Spec §1.3, first match wins."""
    live = [s for s in statuses if s != S.CANCELLED]
    if not statuses or not live:
        return OrderStatus.CANCELLED if statuses else OrderStatus.APPROVED
    if S.CANCELLATION_WAITING in statuses:
        return OrderStatus.CANCELLATION_WAITING
    if all(s == S.DELIVERED for s in live):
        return OrderStatus.DELIVERED
    if all(S.SHIPPED <= s <= S.DELIVERED for s in live):
        return OrderStatus.SHIPPED
    if any(S.PACKED <= s <= S.DELIVERED or s == S.PACKED_FOR_REFUND for s in live):
        return OrderStatus.PREPARING
    return OrderStatus.APPROVED


def order_refresh_status(*, order_id: int, statuses: Sequence[int] | None = None) -> int:
    """Set the order's derived status from its packages' ``statuses`` (read when not given);
    returns it."""
    if statuses is None:
        statuses = list(Package.objects.filter(order_id=order_id).values_list("status", flat=True))
    status = order_status_from(statuses)
    Order.objects.filter(pk=order_id).filter(~Q(status=status)).update(
        status=status, modified_date=timezone.now())
    return status


class _StatusList(Aggregate):
    """The statuses of a group of packages as one text ("100,550"), on PostgreSQL and SQLite."""

    function = "STRING_AGG"
    template = "%(function)s(CAST(%(expressions)s AS text), ',')"
    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, function="GROUP_CONCAT",
                              template="%(function)s(%(expressions)s, ',')", **extra)


def package_read_annotations(reads: tuple[str, ...] = ()) -> dict:
    """``ObjectType.read_annotations`` of packages: the statuses of the order's other packages
    (``order_sibling_statuses``) and, on PostgreSQL, what the command type ``reads``: the
    package's "items" (every column, ``items_as_read``) and their "reservations"
    (``reservations_as_read``), so that its handler reads nothing more."""
    annotations = order_sibling_statuses()
    if connection.vendor == "postgresql":
        if "items" in reads:
            annotations[ITEMS_READ] = _JsonRows(F("pk"), rows="items")
        if "reservations" in reads:
            annotations[RESERVATIONS_READ] = _JsonRows(F("pk"), rows="reservations")
    return annotations


ITEMS_READ, RESERVATIONS_READ = "items_read", "reservations_read"  # the annotations (JSON text)
_KEPT = "_items_kept"  # set by items_kept, taken by the status move
_RESERVATION_FIELDS = ("id", "package_item_id", "stock_location_id", "sku", "quantity")


def _item_columns() -> list[tuple[str, str, Callable | None]]:
    """Every column of an item (model order): (column, attname, how its JSON value is read: a date
    and time as ISO 8601 text, the rest as JSON has it)."""
    columns = []
    for field in PackageItem._meta.concrete_fields:
        if isinstance(field, DateTimeField):
            parse = datetime.datetime.fromisoformat
        elif isinstance(field, (CharField, IntegerField, ForeignKey)):
            parse = None
        else:
            raise TypeError(f"PackageItem.{field.name}: no JSON reading for {type(field).__name__}")
        columns.append((field.column, field.attname, parse))
    return columns


class _JsonRows(Func):
    """A package's items (every column) or their reservations (``_RESERVATION_FIELDS``), as JSON
    text: an array of arrays, in no particular order."""
    output_field = TextField()

    def __init__(self, package_id, *, rows: str) -> None:
        super().__init__(package_id)
        self.rows = rows

    def as_sql(self, compiler, connection, **extra):
        quote = connection.ops.quote_name
        package_id, params = compiler.compile(self.source_expressions[0])
        items = quote(PackageItem._meta.db_table)
        if self.rows == "items":
            columns = [f"i.{quote(column)}" for column, _, _ in _item_columns()]
            source = f"{items} i"
        else:
            fields = [Reservation._meta.get_field(name) for name in _RESERVATION_FIELDS]
            columns = [f"r.{quote(f.column)}" for f in fields]
            source = f"{quote(Reservation._meta.db_table)} r JOIN {items} i ON i.id = r.package_item_id"
        return (f"(SELECT COALESCE(json_agg(json_build_array({', '.join(columns)})), '[]')::text "
                f"FROM {source} WHERE i.package_id = {package_id})"), params


def items_as_read(package: Package) -> list[PackageItem] | None:
    """The package's items (every column), by id, as the dispatcher's read of the locked package
    found them (a command type that ``reads`` "items"); None where that read did not bring them
    (another database, another caller) or once the package's status moved."""
    text = package.__dict__.get(ITEMS_READ)
    if text is None:
        return None
    columns = _item_columns()
    names = [attname for _, attname, _ in columns]
    items = [PackageItem.from_db(DEFAULT_DB_ALIAS, names, [
        value if parse is None or value is None else parse(value)
        for (_, _, parse), value in zip(columns, row, strict=True)]) for row in orjson.loads(text)]
    return sorted(items, key=lambda item: item.pk)


def reservations_as_read(package: Package) -> list[Reservation] | None:
    """The package's reservations (``_RESERVATION_FIELDS``), by id, as the dispatcher's read found
    them (a command type that ``reads`` "reservations"); None as for ``items_as_read``."""
    text = package.__dict__.get(RESERVATIONS_READ)
    if text is None:
        return None
    reservations = [Reservation(**dict(zip(_RESERVATION_FIELDS, row, strict=True)))
                    for row in orjson.loads(text)]
    for reservation in reservations:
        reservation._state.adding, reservation._state.db = False, DEFAULT_DB_ALIAS
    return sorted(reservations, key=lambda reservation: reservation.pk)


def items_kept(package: Package, items: list[PackageItem]) -> None:
    """The command's handler leaves the package's ``items`` (every column, as the database has
    them now) as they are: the status move then writes them without reading them back."""
    package.__dict__[_KEPT] = items


def items_untouched(package: Package) -> None:
    """The command's handler changed none of the package's items: ``items_kept`` with the items
    the dispatcher's read found, where it brought them."""
    items = items_as_read(package)
    if items is not None:
        items_kept(package, items)


def order_sibling_statuses() -> dict:
    """Annotation for the dispatcher's read of a locked package (``ObjectType.read_annotations``):
    the statuses of the order's other packages, so the order's status follows the move without
    reading them again. The order is locked by that same read: they cannot change meanwhile,
    except by this command (``package_create``, see ``_order_status_after_move``)."""
    others = (Package.objects.filter(order_id=OuterRef("order_id")).exclude(pk=OuterRef("pk"))
              .order_by().values("order_id").annotate(statuses=_StatusList("status")).values("statuses"))
    return {"order_sibling_statuses": Subquery(others)}


class _PackagesAdded(threading.local):
    orders: set[int]

    def __init__(self) -> None:
        self.orders = set()


_packages_added = _PackagesAdded()


@contextmanager
def sibling_statuses_batch():
    """A command's span (the dispatcher opens it): orders that got a new package in it, whose
    sibling statuses read at the command's start are then out of date."""
    _packages_added.orders = set()
    try:
        yield
    finally:
        _packages_added.orders = set()


def _items_and_order_after_move(package: Package, new_status: int,
                                save_fields: list[str] | None) -> list[PackageItem]:
    """The package's row (``save_fields``), its items mirroring its new status and its order's
    derived status — one statement on PostgreSQL when the order's other packages' statuses came
    with the package (``order_sibling_statuses``). Returns the items as the database now has them."""
    siblings = getattr(package, "order_sibling_statuses", False)
    known = siblings is not False and package.order_id not in _packages_added.orders
    statuses = ([int(s) for s in siblings.split(",")] if siblings else []) if known else []
    kept = package.__dict__.pop(_KEPT, None)
    if known and connection.vendor == "postgresql":
        status = order_status_from([*statuses, new_status])
        items = items_mirror_status(package=package, status=new_status, order_status=status,
                                    save_fields=save_fields, kept=kept)
    else:
        if save_fields is not None:
            package.save(update_fields=save_fields)
        items = items_mirror_status(package=package, status=new_status)
        status = order_refresh_status(order_id=package.order_id,
                                      statuses=[*statuses, new_status] if known else None)
    if Package.order.is_cached(package):
        package.order.status = status
    return items


def items_mirror_status(*, package: Package, status: int, order_status: int | None = None,
                        save_fields: list[str] | None = None,
                        kept: list[PackageItem] | None = None) -> list[PackageItem]:
    """Every item but those marked out of stock takes the package's status key; returns all the
    package's items as the database now has them, by id (one statement: UPDATE ... RETURNING).
    On PostgreSQL the same statement can set ``order_status`` on the package's order and save
    the package's ``save_fields`` (as ``save(update_fields=...)`` would). ``kept``: the items,
    every column, as they are before this (``items_kept``): then nothing is read back, and inside
    an outbox batch the updates join its statement (``webhooks.outbox.statement_join``)."""
    quote = connection.ops.quote_name
    out, key = ItemStatus.OUT_OF_STOCK.value, status_key(status)
    moment = timezone.now()
    now = connection.ops.adapt_datetimefield_value(moment)
    statements = []  # (sql, params) written before, or with, the items
    if save_fields is not None:
        statement = update_statement(package, save_fields)
        if statement is None:  # saved by the ORM (save signals)
            package.save(update_fields=save_fields)
        else:
            statements.append(statement)
    if order_status is not None:
        statements.append((
            f"UPDATE {quote(Order._meta.db_table)} SET status = %s, modified_date = %s "
            f"WHERE id = %s AND status <> %s", [order_status, now, package.order_id, order_status]))
    statements.append((
        f"UPDATE {quote(PackageItem._meta.db_table)} "
        f"SET status = CASE WHEN status = %s THEN status ELSE %s END, "
        f"modified_date = CASE WHEN status = %s THEN modified_date ELSE %s END WHERE package_id = %s",
        [out, key, out, now, package.pk]))
    if kept is not None and outbox.joining():
        for sql, params in statements:
            outbox.statement_join(sql, params)
        for item in kept:  # as the statement leaves them
            if item.status != out:
                item.status, item.modified_date = key, moment
        return kept
    *ctes, (sql, params) = statements
    if ctes:
        if connection.vendor != "postgresql":
            raise ValueError("the package and its order are written with its items on PostgreSQL only")
        sql = "WITH " + ", ".join(f"w{n} AS ({cte})" for n, (cte, _) in enumerate(ctes)) + " " + sql
        params = [*[value for _, values in ctes for value in values], *params]
    with connection.cursor() as cursor:
        cursor.execute(sql + " RETURNING *", params)
        return sorted(objects_from_cursor(PackageItem, cursor), key=lambda item: item.pk)


def shipment_of(package: Package) -> Shipment | None:
    """The package's shipment: the one this command loaded or created (cached on the package),
    else read."""
    related = Package.shipment.related
    if related.is_cached(package):
        return related.get_cached_value(package)
    shipment = Shipment.objects.filter(package=package).first()
    related.set_cached_value(package, shipment)
    return shipment


def _save_joined(obj, fields: list[str]) -> None:
    """``obj.save(update_fields=fields)``, joined to the outbox batch's statement where it can be
    (nothing in the command reads the row back)."""
    statement = update_statement(obj, fields)
    if statement is None or not outbox.statement_join(*statement):
        obj.save(update_fields=fields)


def _shipment_known(package: Package, shipment: Shipment) -> Shipment:
    Package.shipment.related.set_cached_value(package, shipment)
    return shipment


def package_reservations(package: Package) -> list[Reservation]:
    return list(Reservation.objects.filter(package_item__package=package))


def package_items_with_reservations(package: Package) -> tuple[list[PackageItem], list[Reservation]]:
    """The package's items (id, SKU, quantity) and their reservations, in one read: the items
    left-joined to their reservations, in plain SQL (this read is on every pack)."""
    quote = connection.ops.quote_name
    sql = (f"SELECT i.id, i.sku, i.quantity, r.id, r.stock_location_id, r.sku, r.quantity "
           f"FROM {quote(PackageItem._meta.db_table)} i LEFT JOIN {quote(Reservation._meta.db_table)} r "
           f"ON r.package_item_id = i.id WHERE i.package_id = %s ORDER BY i.id, r.id")
    items: dict[int, PackageItem] = {}
    reservations = []
    with connection.cursor() as cursor:
        cursor.execute(sql, [package.pk])
        for item_id, sku, quantity, res_id, res_location, res_sku, res_quantity in cursor.fetchall():
            if item_id not in items:
                items[item_id] = PackageItem(pk=item_id, package_id=package.pk, sku=sku, quantity=quantity)
            if res_id is not None:
                reservations.append(Reservation(pk=res_id, package_item_id=item_id, sku=res_sku,
                                                stock_location_id=res_location, quantity=res_quantity))
    return list(items.values()), reservations


def package_pack(*, package: Package, with_shipment: bool = True,
                 tracking_number: str | None = None, has_shipping_document: bool = True) -> None:
    """The items leave the shelf (reservations consumed; items whose reservation was released,
    e.g. by PKG_DEALLOCATE_RESERVATIONS, are taken from the location's free stock); optionally
    the shipment is created with the order's cargo company or the location's default one."""
    items, reservations = items_as_read(package), reservations_as_read(package)
    known = items is not None and reservations is not None
    if not known:
        items, reservations = package_items_with_reservations(package)
    reserved_items = {r.package_item_id for r in reservations}
    unreserved = [i for i in items if i.pk not in reserved_items]
    if unreserved:
        # One pk-ordered lock of every row this packing touches, before either update.
        lock_many(Stock.objects.filter(stock_location_id=package.stock_location_id,
                                       sku__in={i.sku for i in items}))
        needed: Counter[str] = Counter()
        for item in unreserved:  # two lines of one SKU need both lines' units
            needed[item.sku] += item.quantity
        stock_take_free(location_id=package.stock_location_id, quantities=dict(needed))
    shipment = Shipment(
        package=package, status=ShipmentStatus.CREATED,
        cargo_company_id=package.order.cargo_company_id
        or package.stock_location.default_cargo_company_id,
        tracking_number=tracking_number or "", has_shipping_document=has_shipping_document,
    ) if with_shipment else None
    # On PostgreSQL the shipment's insert runs in the stock move's statement (one round trip).
    joined = insert_statement(shipment) if shipment is not None and reservations else None
    row = reservations_consume(reservations=reservations, also=joined)
    if shipment is not None:
        if joined is not None:
            insert_done(shipment, row[0])
        else:
            insert_one(shipment)
        _shipment_known(package, shipment)
        events.shipment_event("shipment.created", shipment)
        events.shipment_tracking_set(shipment)
    if known:  # every column of them, and packing changed none
        items_kept(package, items)


def package_release_reservations(*, package: Package) -> None:
    reservations_release(reservations=package_reservations(package))


def package_ship(*, package: Package, cargo_company_id: int | None = None,
                 tracking_number: str | None = None) -> Shipment:
    """Mark the package's shipment shipped (created on the spot if packing made none)."""
    shipment = shipment_of(package)
    if shipment is None:
        shipment = _shipment_known(package, Shipment(
            package=package, cargo_company_id=package.order.cargo_company_id
            or package.stock_location.default_cargo_company_id))
    shipment.status = ShipmentStatus.SHIPPED
    shipment.shipped_date = timezone.now()
    if cargo_company_id is not None:
        shipment.cargo_company_id = cargo_company_id
    if tracking_number is not None:
        shipment.tracking_number = tracking_number
    if shipment.pk is None:
        created = True
        shipment.save()
    else:
        created = False
        _save_joined(shipment, ["status", "shipped_date", "cargo_company", "tracking_number",
                                "modified_date"])
    events.shipment_event("shipment.created" if created else "shipment.status.updated", shipment)
    if tracking_number:
        events.shipment_tracking_set(shipment)
    return shipment


def shipment_status_set(*, package: Package | None = None, shipment_id: int | None = None,
                        status: str) -> Shipment | None:
    """Move a package's (or a transfer's, by ``shipment_id``) shipment, if there is one, to
    ``status``, with its webhook event."""
    if package is not None:
        shipment = shipment_of(package)
    else:
        shipment = Shipment.objects.filter(pk=shipment_id).first() if shipment_id else None
    if shipment is None or shipment.status == status:
        return shipment
    shipment.status = status
    if status == ShipmentStatus.SHIPPED and shipment.shipped_date is None:
        shipment.shipped_date = timezone.now()
    shipment.save(update_fields=["status", "shipped_date", "modified_date"])
    events.shipment_event("shipment.cancelled" if status == ShipmentStatus.CANCELLED
                          else "shipment.status.updated", shipment)
    return shipment


def shipment_info_update(*, package: Package, changes: dict) -> Shipment:
    shipment = shipment_of(package) or _shipment_known(package, Shipment(package=package))
    for field, value in changes.items():
        setattr(shipment, field, value)
    created = shipment.pk is None
    shipment.save()
    if created:
        events.shipment_event("shipment.created", shipment)
    if "tracking_number" in changes:
        events.shipment_tracking_set(shipment)
    return shipment


