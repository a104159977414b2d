"""Serializer building blocks that keep API input inside what the database can store.

Integer bounds are PostgreSQL's (the production database), whatever database runs, so the
OpenAPI schema is the same everywhere and SQLite accepts nothing PostgreSQL would refuse."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.http import QueryDict
from rest_framework import serializers

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1

# Column ranges by Django field type, as PostgreSQL stores them.
INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "SmallIntegerField": (-(2**15), 2**15 - 1),
    "PositiveSmallIntegerField": (0, 2**15 - 1),
    "IntegerField": (INT_MIN, INT_MAX),
    "PositiveIntegerField": (0, INT_MAX),
    "BigIntegerField": (BIGINT_MIN, BIGINT_MAX),
    "PositiveBigIntegerField": (0, BIGINT_MAX),
    "SmallAutoField": (1, 2**15 - 1),
    "AutoField": (1, INT_MAX),
    "BigAutoField": (1, BIGINT_MAX),
}

# JSON given to JSON columns: how deep it may nest (PostgreSQL's jsonb and Python's encoder have
# limits of their own; no OMS document needs more).
MAX_JSON_DEPTH = 32


def integer_range(model_field: models.Field) -> tuple[int, int] | None:
    """The column's range, narrowed by the model field's own min/max validators."""
    bounds = INTEGER_RANGES.get(model_field.get_internal_type())
    if bounds is None:
        return None
    low, high = bounds
    for validator in model_field._validators:  # declared ones only, not the database's
        if isinstance(validator, MinValueValidator):
            low = max(low, validator.limit_value)
        elif isinstance(validator, MaxValueValidator):
            high = min(high, validator.limit_value)
    return low, high


def parse_id(value) -> int | None:
    """An id from JSON or a query string: an int, or a string of ASCII digits, in 1..BIGINT_MAX.
    ``"²".isdigit()`` is true and ``int("٣")`` is 3: only ASCII digits are ids."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        number = int(value)
    else:
        return None
    return number if 1 <= number <= BIGINT_MAX else None


def json_problem(value) -> str | None:
    """Why a JSON value cannot be stored in a JSON column (NUL characters, lone surrogates,
    nesting deeper than MAX_JSON_DEPTH), or None. Iterative: no recursion on hostile input."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return f"Nested deeper than {MAX_JSON_DEPTH} levels."
        if isinstance(item, str):
            if "\x00" in item:
                return "Text may not contain NUL characters."
            if any("\ud800" <= ch <= "\udfff" for ch in item):
                return "Text may not contain unpaired surrogate characters."
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                return "Numbers must be finite."
        elif isinstance(item, Mapping):
            stack.extend((k, depth) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend((v, depth + 1) for v in item)
    return None


def validate_json_storable(value):
    problem = json_problem(value)
    if problem:
        raise serializers.ValidationError(problem)
    return value


# A row id: an int or ASCII digits, 1..BIGINT_MAX (so also in the schema).
class IdField(serializers.IntegerField):

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and not (data.isascii() and data.strip().lstrip("-").isdigit()):
            self.fail("invalid")
        if isinstance(data, float) and not data.is_integer():
            self.fail("invalid")
        return super().to_internal_value(data)


# A reference by primary key that parses ids strictly (``parse_id``) before any query.
class IdRelatedField(serializers.PrimaryKeyRelatedField):

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            self.fail("incorrect_type", data_type=type(data).__name__)
        pk = parse_id(data)
        if pk is None:
            if isinstance(data, str) and not (data.isascii() and data.isdigit()):
                self.fail("incorrect_type", data_type=type(data).__name__)
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(pk)


def json_type_errors(serializer: serializers.Serializer, data) -> dict[str, list[str]]:
    """JSON values of the wrong type for their field: DRF would quietly turn ``0`` into ``"0"``
    or ``false``, which the schema (and the client's intent) do not say. Form-encoded data (the
    browsable API) is all text and keeps DRF's coercion."""
    if not isinstance(data, Mapping) or isinstance(data, QueryDict):
        return {}
    errors = {}
    for name, field in serializer.fields.items():
        if field.read_only or name not in data or data[name] is None:
            continue
        value = data[name]
        if isinstance(field, serializers.BooleanField) and not isinstance(value, bool):
            errors[name] = ["Must be true or false."]
        elif isinstance(field, serializers.CharField) and not isinstance(value, str):
            errors[name] = [NOT_TEXT]
        elif isinstance(field, serializers.IntegerField) and not _is_integer(value):
            errors[name] = [NOT_INTEGER]
        elif isinstance(field, serializers.ListField) and isinstance(value, list):
            # DRF's shape for a list's errors: by index.
            wrong = {str(i): [message] for i, item in enumerate(value)
                     if (message := _item_problem(field.child, item))}
            if wrong:
                errors[name] = wrong
    return errors


NOT_TEXT = "Not a valid string."
NOT_INTEGER = "A valid integer is required."


def _is_integer(value) -> bool:
    # "12" and true are not integers in JSON (and int("٣") would be 3).
    return not isinstance(value, (bool, str))


def _item_problem(child: serializers.Field, item) -> str | None:
    if isinstance(child, serializers.CharField) and not isinstance(item, str):
        return NOT_TEXT
    if isinstance(child, serializers.IntegerField) and not _is_integer(item):
        return NOT_INTEGER
    return None


# JSON types as the schema says them (comments, not docstrings, on these bases: drf-spectacular
# would show a base's docstring on every subclass).
class JsonSerializer(serializers.Serializer):
    def to_internal_value(self, data):
        errors = json_type_errors(self, data)
        if errors:
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


# Also refuses keys it does not know, naming them, instead of silently dropping them.
class StrictSerializer(JsonSerializer):

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = [key for key in data if key not in self.fields]
            if unknown:
                known = ", ".join(sorted(self.fields)) or "none"
                raise serializers.ValidationError(
                    {str(key): [f"Unknown field. Known fields: {known}."] for key in unknown})
        return super().to_internal_value(data)


# A ModelSerializer whose integer fields carry their column's range, whose references parse ids
# strictly and whose JSON fields accept only what a JSON column stores.
class BoundedModelSerializer(serializers.ModelSerializer):

    serializer_related_field = IdRelatedField

    def build_standard_field(self, field_name, model_field):
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        bounds = integer_range(model_field)
        if bounds is not None and issubclass(field_class, serializers.IntegerField):
            kwargs["min_value"], kwargs["max_value"] = bounds
        if isinstance(model_field, models.JSONField) and not kwargs.get("read_only"):
            kwargs["validators"] = [*kwargs.get("validators", []), validate_json_storable]
        return field_class, kwargs

    def to_internal_value(self, data):
        errors = json_type_errors(self, data)
        if errors:
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)
