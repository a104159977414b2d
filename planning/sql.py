"""Order intake's statements as plain SQL on PostgreSQL: for these few statements on every order the
ORM's compilation (and a model save's machinery) cost more Python time than the database's work.
The rows come back as the ORM would build them (``Model.from_db``, the fields' converters). Other
databases keep the ORM: callers check ``plain_sql()``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache

from django.db import connection, models

from commands import cache as config_cache
from locations.models import Stock, StockLocation
from orders.models import Order, OrderItem


def plain_sql() -> bool:
    return connection.vendor == "postgresql"


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


@cache
def _select_list(model: type[models.Model]) -> tuple[str, list[str], list]:
    """Every concrete column of ``model`` (the ORM's default select), their attnames and the
    fields with a converter."""
    table = _qn(model._meta.db_table)
    fields = model._meta.concrete_fields
    return (", ".join(f"{table}.{_qn(f.column)}" for f in fields), [f.attname for f in fields],
            [(n, f) for n, f in enumerate(fields) if hasattr(f, "from_db_value")])


def _objects(model: type[models.Model], rows) -> list:
    _, attnames, converted = _select_list(model)
    width = len(attnames)
    objects = []
    for row in rows:
        values = list(row[:width])
        for n, field in converted:
            values[n] = field.from_db_value(values[n], None, connection)
        objects.append(model.from_db(connection.alias, attnames, values))
    return objects


def _placeholders(values: Sequence) -> str:
    return ", ".join(["%s"] * len(values))


def stock_lock_for_skus(skus: set[str]) -> tuple[list[Stock], str | None]:
    """Every stock row of ``skus``, locked in pk order (as ``lock_many``), and the configuration's
    versions (``commands.cache.versions_expression``) read by the same statement."""
    columns, _, _ = _select_list(Stock)
    table = _qn(Stock._meta.db_table)
    skus = sorted(skus)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns}, {config_cache.versions_expression().sql} FROM {table} "
            f"WHERE {table}.{_qn('sku')} IN ({_placeholders(skus)}) "
            f"ORDER BY {table}.{_qn('id')} ASC FOR UPDATE OF {table}", skus)
        rows = cursor.fetchall()
    return _objects(Stock, rows), (rows[0][-1] if rows else None)


def locations_lock(pks: set[int]) -> list[StockLocation]:
    """These locations' rows, locked in pk order (as ``lock_many``)."""
    columns, _, _ = _select_list(StockLocation)
    table = _qn(StockLocation._meta.db_table)
    pks = sorted(pks)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} WHERE {table}.{_qn('id')} IN ({_placeholders(pks)}) "
                       f"ORDER BY {table}.{_qn('id')} ASC FOR UPDATE OF {table}", pks)
        return _objects(StockLocation, cursor.fetchall())


def active_location_quotas() -> dict[int, int]:
    """Active locations' quota, in the locations' order (priority, then id)."""
    table = _qn(StockLocation._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_qn('id')}, {_qn('quota')} FROM {table} WHERE {_qn('is_active')} "
                       f"ORDER BY {_qn('priority')} DESC, {_qn('id')} ASC")
        return dict(cursor.fetchall())


def _insert_values(model: type[models.Model], obj: models.Model, fields: list) -> list:
    """What the ORM's INSERT writes for these fields (``auto_now`` set on the object)."""
    return [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields]


def _saved(obj: models.Model, pk: int) -> None:
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias


@cache
def _order_insert_fields() -> tuple[list, list]:
    def writable(model):
        return [f for f in model._meta.concrete_fields if not f.primary_key]
    return writable(Order), [f for f in writable(OrderItem) if f.attname != "order_id"]


def order_with_items_insert(order: Order, items: Sequence[OrderItem]) -> None:
    """INSERT the new ``order`` and its ``items`` (which name no order yet) in one statement, as
    ``Order.objects.create`` and ``OrderItem.objects.bulk_create`` would: the objects get their
    pks (items in their order), their ``auto_now`` dates, and the order its JSON as stored."""
    order_fields, item_fields = _order_insert_fields()
    order_table, item_table = _qn(Order._meta.db_table), _qn(OrderItem._meta.db_table)
    params = _insert_values(Order, order, order_fields)
    rows = []
    for n, item in enumerate(items):
        rows.append(f"({n}, {_placeholders(item_fields)})")
        params.extend(_insert_values(OrderItem, item, item_fields))
    item_columns = ", ".join(_qn(f.column) for f in item_fields)
    values = ", ".join(f"v.c{n}" for n in range(len(item_fields)))
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH o AS (INSERT INTO {order_table} ({', '.join(_qn(f.column) for f in order_fields)}) "
            f"VALUES ({_placeholders(order_fields)}) RETURNING {_qn('id')}, {_qn('customer')}::text, "
            f"{_qn('shipping_address')}::text), "
            f"i AS (INSERT INTO {item_table} ({_qn('order_id')}, {item_columns}) "
            f"SELECT o.{_qn('id')}, {values} FROM o, (VALUES {', '.join(rows)}) AS v(n, "
            f"{', '.join(f'c{n}' for n in range(len(item_fields)))}) ORDER BY v.n RETURNING {_qn('id')}) "
            f"SELECT o.*, ARRAY(SELECT {_qn('id')} FROM i ORDER BY {_qn('id')}) FROM o", params)
        order_id, customer, address, item_ids = cursor.fetchone()
    _saved(order, order_id)
    order.customer, order.shipping_address = json.loads(customer), json.loads(address)
    for item, pk in zip(items, item_ids, strict=True):
        _saved(item, pk)
        item.order = order
