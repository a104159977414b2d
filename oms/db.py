"""Row locking helpers. Everything that changes rows locks them through these, in primary-key
order, so two transactions touching the same rows always queue in the same order (no deadlock)."""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import signals
from django.db.models.query import get_related_populators

M = TypeVar("M", bound=models.Model)


def lock_query(queryset: "models.QuerySet[M]", pk) -> "models.QuerySet[M]":
    """The ``SELECT ... FOR UPDATE`` of one row (joined rows stay unlocked)."""
    return queryset.select_for_update(of=("self",)).filter(pk=pk)


def lock_one(queryset: "models.QuerySet[M]", pk) -> M:
    """``SELECT ... FOR UPDATE`` one row (joined rows stay unlocked). Raises ``DoesNotExist``."""
    return lock_query(queryset, pk).get()


def lock_many(queryset: "models.QuerySet[M]") -> list[M]:
    """Lock every row of ``queryset`` in primary-key order and return them."""
    return list(queryset.select_for_update(of=("self",)).order_by("pk"))


# -- Compiled once per process ----------------------------------------------------------------------
# The ORM compiles a queryset's SQL on every evaluation; for the few reads on every command and
# every API request (the token, the command's row lock and read) that compilation cost more than
# the database's work. ``fetch_one`` compiles such a read once per process, with a sentinel where
# the looked-up value goes, then runs the same SQL with the value and builds the objects the way
# the ORM does (select_related objects, annotations, field converters).
_compiled: dict = {}
PK_SENTINEL = -7_316_845_021_993  # an integer primary key no row has (fetch_one's sentinel)
_compiled_lock = threading.Lock()


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    position: int          # where the looked-up value goes in ``params``
    model: type
    converters: list       # (position, field converters, expression), as the compiler found them
    init_list: list
    start: int
    end: int
    populators: list
    annotation_col_map: dict


def _compile(build: Callable[[Any], "models.QuerySet"], sentinel) -> _Compiled:
    queryset = build(sentinel)
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    positions = [n for n, value in enumerate(params) if value == sentinel]
    if len(positions) != 1:
        raise ValueError(f"the looked-up value must appear once in the query's parameters: {sql}")
    klass_info, select = compiler.klass_info, compiler.select
    if compiler.has_composite_fields([s[0] for s in select[:compiler.col_count]]):
        raise ValueError("composite primary keys are not supported by fetch_one")
    start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
    converters = compiler.get_converters([s[0] for s in select[:compiler.col_count]])
    return _Compiled(sql=sql, params=tuple(params), position=positions[0], model=klass_info["model"],
                     converters=[(n, convs, expression) for n, (convs, expression) in converters.items()],
                     init_list=[f[0].target.attname for f in select[start:end]], start=start, end=end,
                     populators=get_related_populators(klass_info, select, queryset.db),
                     annotation_col_map=compiler.annotation_col_map or {})


def fetch_one(key, build: Callable[[Any], "models.QuerySet[M]"], value, *, sentinel) -> M | None:
    """The one object ``build(value)`` finds (None if none), with the SQL compiled at the first call
    under ``key`` (nothing of the compiling thread's connection is kept). ``build`` must return the
    same query for every value, the value appearing once among its parameters (a lookup by a unique
    field); ``sentinel`` is a value of that field's type that no row has, used to find its place."""
    connection = connections[DEFAULT_DB_ALIAS]
    key = (connection.vendor, key)
    entry = _compiled.get(key)
    if entry is None:
        with _compiled_lock:
            entry = _compiled.get(key) or _compile(build, sentinel)
            _compiled[key] = entry
    params = list(entry.params)
    params[entry.position] = value
    with connection.cursor() as cursor:
        cursor.execute(entry.sql, params)
        rows = cursor.fetchall()
    if not rows:
        return None
    if len(rows) > 1:
        raise ValueError(f"fetch_one({key!r}) found {len(rows)} rows")
    row = list(rows[0])
    for position, converters, expression in entry.converters:  # as SQLCompiler.apply_converters
        value = row[position]
        for converter in converters:
            value = converter(value, expression, connection)
        row[position] = value
    obj = entry.model.from_db(DEFAULT_DB_ALIAS, entry.init_list, row[entry.start:entry.end])
    for populator in entry.populators:
        populator.populate(row, obj)
    for name, position in entry.annotation_col_map.items():
        setattr(obj, name, row[position])
    return obj


def forget_compiled() -> None:
    """Drop the compiled reads (a test that changes the database vendor or schema)."""
    _compiled.clear()


# -- Plain writes and row-to-object, for the hottest statements -------------------------------------
_inserts: dict = {}


def insert_one(obj: models.Model) -> None:
    """INSERT a new object as ``obj.save(force_insert=True)`` would, with the statement built once
    per process (the ORM compiles it on every save). Models with save signals, and databases other
    than PostgreSQL, go through ``save()``."""
    statement = insert_statement(obj)
    if statement is None:
        obj.save(force_insert=True)
        return
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(*statement)
        insert_done(obj, cursor.fetchone()[0])


def insert_statement(obj: models.Model) -> tuple[str, list] | None:
    """``insert_one``'s statement for ``obj`` (``INSERT … RETURNING`` the primary key), to run
    as part of another statement; ``insert_done`` then records the new key. None where
    ``insert_one`` would save through the ORM (signals, databases other than PostgreSQL)."""
    model = type(obj)
    connection = connections[DEFAULT_DB_ALIAS]
    if (connection.vendor != "postgresql" or signals.pre_save.has_listeners(model)
            or signals.post_save.has_listeners(model)):
        return None
    entry = _inserts.get(model)
    if entry is None:
        quote = connection.ops.quote_name
        fields = [f for f in model._meta.concrete_fields if not (f.primary_key and f.db_returning)]
        entry = _inserts[model] = (
            f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {quote(model._meta.pk.column)}", fields)
    sql, fields = entry
    return sql, [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields]


def update_statement(obj: models.Model, fields: list[str]) -> tuple[str, list] | None:
    """The ``UPDATE`` that ``obj.save(update_fields=fields)`` runs (its fields' ``pre_save`` applied
    to ``obj``: an ``auto_now`` date is set), to run as part of another statement. None where
    ``save`` must run it (signals, databases other than PostgreSQL)."""
    model = type(obj)
    connection = connections[DEFAULT_DB_ALIAS]
    if (connection.vendor != "postgresql" or signals.pre_save.has_listeners(model)
            or signals.post_save.has_listeners(model)):
        return None
    quote = connection.ops.quote_name
    targets = [model._meta.get_field(name) for name in dict.fromkeys(fields)]
    sets = ", ".join(f"{quote(f.column)} = %s" for f in targets)
    params = [f.get_db_prep_save(f.pre_save(obj, add=False), connection) for f in targets]
    return (f"UPDATE {quote(model._meta.db_table)} SET {sets} WHERE {quote(model._meta.pk.column)} = %s",
            [*params, obj.pk])


def insert_done(obj: models.Model, pk) -> None:
    """``obj`` was inserted with primary key ``pk``: it is now a saved object."""
    obj.pk = pk
    obj._state.adding, obj._state.db = False, DEFAULT_DB_ALIAS


def objects_from_cursor(model: type[M], cursor) -> list[M]:
    """The rows of an executed statement that returns every column of ``model`` (``RETURNING *``,
    in the table's order, which need not be the model's) as its objects, the fields' converters
    applied, as ``Model.objects.raw`` builds them."""
    connection = connections[DEFAULT_DB_ALIAS]
    position = {column[0]: n for n, column in enumerate(cursor.description)}
    fields = model._meta.concrete_fields
    order = [position[f.column] for f in fields]  # KeyError: a column the statement did not return
    names = [f.attname for f in fields]
    converted = []  # the backend's converters and the field's, as SQLCompiler.get_converters
    for n, field in enumerate(fields):
        column = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if converters:
            converted.append((n, converters, column))
    objects = []
    for row in cursor.fetchall():
        values = [row[n] for n in order]
        for n, converters, column in converted:
            for converter in converters:
                values[n] = converter(values[n], column, connection)
        objects.append(model.from_db(DEFAULT_DB_ALIAS, names, values))
    return objects
