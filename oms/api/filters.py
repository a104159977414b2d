"""Filtering for every list endpoint: django-filter and ordering, strictly.

- A query parameter that no filter, ordering, search or pagination understands answers 400 (a
  misspelt filter must not silently return everything).
- Numbers and ids parse only ASCII digits and stay in their column's range; booleans are
  true/false/1/0; date-times are converted to UTC before they reach the database (PostgreSQL
  refuses offsets beyond ±15:59) and must stay within years 1..9999 there.
- A reference filter (``?state=7``) compares ids: an unknown id matches nothing (200, empty)
  instead of failing as an invalid choice.
- ``ordering`` names one of the documented fields, else 400."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import django_filters
from django import forms
from django.db import models
from django_filters.filterset import FILTER_FOR_DBFIELD_DEFAULTS
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from rest_framework import filters
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

from oms.api.serializers import BIGINT_MAX, BIGINT_MIN, integer_range

_INTEGER = re.compile(r"[+-]?[0-9]+")
_BOOLEANS = frozenset({"true", "false", "1", "0"})


class AsciiIntegerField(forms.IntegerField):
    """Django's IntegerField reads ``"٣"`` as 3 and ``"1_0"`` as 10: only ASCII digits here."""

    def to_python(self, value):
        if value not in self.empty_values and not _INTEGER.fullmatch(str(value).strip()):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class IntegerFilter(django_filters.NumberFilter):
    """An integer column, or a reference by id: ASCII digits within the column's range."""

    field_class = AsciiIntegerField

    def __init__(self, *args, min_value: int = BIGINT_MIN, max_value: int = BIGINT_MAX, **kwargs):
        super().__init__(*args, min_value=min_value, max_value=max_value, **kwargs)

    def get_max_validator(self):
        return None  # max_value is the column's


def _integer_extra(model_field: models.Field) -> dict:
    if model_field.is_relation:
        model_field = model_field.target_field
    low, high = integer_range(model_field) or (BIGINT_MIN, BIGINT_MAX)
    return {"min_value": low, "max_value": high}


_INTEGER_FILTER = {"filter_class": IntegerFilter, "extra": _integer_extra}
_TEXT_FILTER = {"filter_class": django_filters.CharFilter,
                "extra": lambda f: {"max_length": f.max_length} if f.max_length else {}}


class FilterSet(django_filters.FilterSet):
    """The project's FilterSet base (``filterset_fields`` use it too): integer columns and
    references filter as bounded integers."""

    FILTER_DEFAULTS = {
        **FILTER_FOR_DBFIELD_DEFAULTS,
        models.AutoField: _INTEGER_FILTER,
        models.IntegerField: _INTEGER_FILTER,
        models.SmallIntegerField: _INTEGER_FILTER,
        models.PositiveIntegerField: _INTEGER_FILTER,
        models.PositiveSmallIntegerField: _INTEGER_FILTER,
        models.ForeignKey: _INTEGER_FILTER,
        models.OneToOneField: _INTEGER_FILTER,
        models.CharField: _TEXT_FILTER,
        models.SlugField: _TEXT_FILTER,
    }


def _parameter_names(name: str, field: forms.Field) -> list[str]:
    """The query parameters a filter's form field reads (range filters read ``name_min``…)."""
    suffixes = getattr(field.widget, "suffixes", None)
    if suffixes:
        return [f"{name}_{suffix}" if suffix else name for suffix in suffixes]
    return [name]


class FilterBackend(DjangoFilterBackend):
    filterset_base = FilterSet

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if not getattr(view, "detail", False):  # list endpoints (detail lookups pass through here too)
            refuse_unknown_parameters(request, view, filterset)
        if filterset is None:
            return queryset
        errors = _raw_value_errors(filterset)
        if errors:
            raise ValidationError(errors)
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        errors = _normalize_values(filterset)
        if errors:
            raise ValidationError(errors)
        return filterset.qs


def known_parameters(view, filterset=None) -> set[str]:
    """Every query parameter a list endpoint understands."""
    known = {api_settings.URL_FORMAT_OVERRIDE}
    if filterset is not None:
        for name, field in filterset.form.fields.items():
            known.update(_parameter_names(name, field))
    for backend in getattr(view, "filter_backends", ()):
        if hasattr(backend, "ordering_param"):
            known.add(backend.ordering_param)
        if hasattr(backend, "search_param") and getattr(view, "search_fields", None):
            known.add(backend.search_param)
    paginator = getattr(view, "paginator", None)
    if paginator is not None:
        known.update(p for p in (getattr(paginator, "page_query_param", None),
                                 getattr(paginator, "page_size_query_param", None)) if p)
    return known


def refuse_unknown_parameters(request, view, filterset) -> None:
    known = known_parameters(view, filterset)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        listed = ", ".join(sorted(known))
        raise ValidationError({name: [f"Unknown query parameter. Known parameters: {listed}."]
                               for name in unknown})


_NUMERIC_FIELDS = (forms.DecimalField, forms.IntegerField, forms.FloatField, forms.ModelChoiceField,
                   forms.ModelMultipleChoiceField)


def _raw_value_errors(filterset) -> dict:
    """Checks on the query string itself, before the form's lenient parsing."""
    errors: dict[str, list[str]] = {}
    for name, filter_ in filterset.filters.items():
        field = filterset.form.fields[name]
        for parameter in _parameter_names(name, field):
            values = filterset.data.getlist(parameter) if hasattr(filterset.data, "getlist") \
                else [filterset.data.get(parameter)]
            for value in values:
                if not isinstance(value, str) or value == "":
                    continue
                if isinstance(filter_, django_filters.BooleanFilter) and value.lower() not in _BOOLEANS:
                    errors[parameter] = ["Enter true or false."]
                elif isinstance(field, _NUMERIC_FIELDS) and not value.isascii():
                    errors[parameter] = ["Enter a number in ASCII digits."]
    return errors


def _normalize_values(filterset) -> dict:
    """Date-times to UTC (within years 1..9999), numbers within the 64-bit range."""
    errors: dict[str, list[str]] = {}
    data = filterset.form.cleaned_data
    for name, value in list(data.items()):
        try:
            data[name] = _normalized(value)
        except (OverflowError, ValueError) as error:
            errors[name] = [str(error)]
    return errors


def _normalized(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return value
        try:
            return value.astimezone(datetime.UTC)
        except OverflowError:
            raise OverflowError("Date/time out of range (years 1 to 9999 in UTC).") from None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, Decimal, float)):
        if not BIGINT_MIN <= value <= BIGINT_MAX:
            raise OverflowError(f"Ensure this value is between {BIGINT_MIN} and {BIGINT_MAX}.")
        return value
    if isinstance(value, slice):  # range filters
        return slice(_normalized(value.start), _normalized(value.stop), value.step)
    if isinstance(value, (list, tuple)) and not isinstance(value, str):
        return type(value)(_normalized(v) for v in value)
    return value


class OrderingFilter(filters.OrderingFilter):
    """``?ordering=`` names sortable columns only: an unknown one answers 400 (DRF would ignore
    it), and the schema lists the accepted values."""

    def get_ordering(self, request, queryset, view):
        params = request.query_params.get(self.ordering_param)
        if params:
            fields = [param.strip() for param in params.split(",")]
            valid = self.remove_invalid_fields(queryset, fields, view, request)
            invalid = [f for f in fields if f not in valid]
            if invalid:
                choices = ", ".join(self.ordering_values(queryset, view, {"request": request}))
                raise ValidationError({self.ordering_param: [
                    f"Unknown ordering field(s): {', '.join(invalid)}. Choose from: {choices}."]})
            return valid
        return self.get_default_ordering(view)

    def get_default_valid_fields(self, queryset, view, context=None):
        # Without ordering_fields: the serializer's fields that are sortable columns of the model.
        fields = []
        for name, label in super().get_default_valid_fields(queryset, view, context):
            try:
                model_field = queryset.model._meta.get_field(name)
            except Exception:  # noqa: BLE001 - not a column (nested path, property, method)
                continue
            if model_field.concrete and not model_field.many_to_many \
                    and not isinstance(model_field, models.JSONField):
                fields.append((name, label))
        return fields

    def ordering_values(self, queryset, view, context=None) -> list[str]:
        names = [name for name, _ in self.get_valid_fields(queryset, view, context or {})]
        return [value for name in names for value in (name, f"-{name}")]

    def get_schema_operation_parameters(self, view):
        model = getattr(getattr(view, "queryset", None), "model", None)
        schema: dict = {"type": "string"}
        if model is not None:
            try:
                values = self.ordering_values(model._default_manager.none(), view)
            except Exception:  # noqa: BLE001 - schema generation must not fail on one view
                values = []
            if values:
                schema["enum"] = values
        return [{"name": self.ordering_param, "required": False, "in": "query",
                 "description": "Sort by this field; '-' sorts descending. Several: comma-separated.",
                 "schema": schema}]


class SearchFilter(filters.SearchFilter):
    """``?search=`` only where the view names ``search_fields`` (and only there documented)."""

    def get_schema_operation_parameters(self, view):
        if not getattr(view, "search_fields", None):
            return []
        return super().get_schema_operation_parameters(view)
