"""The OpenAPI contract: error responses on every operation, bounds on ids and filters, and the
JSON schema of a command type's input (``input_schema`` in command listings).

``OMSAutoSchema`` is DRF's DEFAULT_SCHEMA_CLASS; importing this module also registers the
drf-spectacular extensions below."""

from __future__ import annotations

import functools
from typing import Any

from django.db.models import Model
from django_filters import NumberFilter
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.drainage import get_override
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, build_basic_type, get_doc, is_basic_type
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from oms.api.filters import IntegerFilter
from oms.api.serializers import BIGINT_MAX, BIGINT_MIN, INT_MAX, INT_MIN

ERROR_COMPONENT = "ErrorEnvelope"
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error, on every endpoint: `{\"error\": {...}, \"status_code\": N}`.",
    "properties": {
        "error": {
            "type": "object",
            "description": "`detail` (a message) or field errors keyed by field name (lists of "
                           "messages, nested for nested input) and/or `non_field_errors`; "
                           "`error_code` on business refusals; `error_id` on internal errors.",
            "properties": {
                "detail": {"type": "string"},
                "error_code": {"type": "string", "example": "commands_100_1"},
                "error_id": {"type": "string", "format": "uuid"},
                "non_field_errors": {"anyOf": [{"type": "string"},
                                               {"type": "array", "items": {"type": "string"}}]},
            },
            "additionalProperties": True,
        },
        "status_code": {"type": "integer", "minimum": 400, "maximum": 599},
    },
    "required": ["error", "status_code"],
}

ERROR_DESCRIPTIONS = {
    400: "Invalid request: field errors keyed by field (or query parameter) name, or "
         "`non_field_errors`. Unknown fields and query parameters are refused too.",
    401: "No credentials, or invalid ones.",
    403: "Not allowed: no permission for this model, a channel that may not run the command "
         "(`commands_100_3`), or a store user acting outside its locations.",
    404: "Not found, or not visible to this user (a list: the page is past the last).",
    406: "Refused by a business rule; `error_code` names it (e.g. `commands_100_1`).",
    409: "Conflicts with the current data: a unique value is taken, or the row is still "
         "referenced (`oms_000_1`).",
    413: "The request body is too large.",
    422: "`Idempotency-Key` reused with a different request (`commands_100_6`).",
    500: "Unexpected error: `error.error_id` identifies the logged traceback.",
    503: "The database is unavailable: retry (a command with the same `Idempotency-Key`).",
}

# Operations that call a service which can refuse with a DomainError (406) besides the command
# endpoints: view class name -> actions.
REFUSING_ACTIONS = {
    "OrderIntakeViewSet": {"create"},                                    # orders_300_1
    "TransitionViewSet": {"create", "update", "partial_update"},         # commands_100_1
}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class OMSAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        self._bound_path_ids(operation)
        if self._is_list_view():
            # A blank filter (a form's empty field) is no filter, as django-filter reads it.
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    parameter["allowEmptyValue"] = True
        statuses = self.error_statuses(operation)
        if statuses:
            self.registry.register_on_missing(ResolvedComponent(
                name=ERROR_COMPONENT, type=ResolvedComponent.SCHEMA, object=ERROR_COMPONENT,
                schema=ERROR_SCHEMA))
            ref = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
            for code in statuses:
                operation["responses"].setdefault(str(code), {
                    "description": ERROR_DESCRIPTIONS[code],
                    "content": {"application/json": {"schema": ref}}})
            operation["responses"] = dict(sorted(operation["responses"].items()))
        return operation

    def get_description(self) -> str:
        # A view's own docstring only: a base class's (the scoping mixin's notes for developers)
        # is no description of an endpoint.
        action = getattr(self.view, getattr(self.view, "action", self.method.lower()), None)
        view_doc = get_doc(type(self.view)) if type(self.view).__dict__.get("__doc__") else ""
        return get_doc(action) or view_doc

    def error_statuses(self, operation: dict) -> list[int]:
        """The error statuses this operation can answer, each with the envelope."""
        if all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            return []  # public probes (health/) document their own answers
        action = getattr(self.view, "action", None)
        is_command = action == "command"
        has_body = self.method in {"POST", "PUT", "PATCH"}
        has_query = any(p.get("in") == "query" for p in operation.get("parameters", []))
        codes = {401, 403, 500, 503}
        if has_body or has_query or self._is_list_view():
            codes.add(400)
        if "{" in self.path or self._is_list_view():
            codes.add(404)
        if is_command or action in REFUSING_ACTIONS.get(type(self.view).__name__, ()):
            codes.add(406)
        if self.method in UNSAFE:
            codes.add(409)
        if has_body:
            codes.add(413)
        if is_command:
            codes.add(422)
        return sorted(codes)

    def _bound_path_ids(self, operation: dict) -> None:
        for parameter in operation.get("parameters", []):
            schema = parameter.get("schema", {})
            if parameter.get("in") == "path" and schema.get("type") == "integer":
                schema.update({"minimum": 1, "maximum": BIGINT_MAX, "format": "int64"})


def _integer_schema(low: int, high: int) -> dict:
    schema: dict[str, Any] = {"type": "integer", "minimum": low, "maximum": high}
    schema["format"] = "int32" if low >= INT_MIN and high <= INT_MAX else "int64"
    return schema


class FilterBackendExtension(DjangoFilterExtension):
    """django-filter parameters with the bounds the backend enforces."""

    target_class = "oms.api.filters.FilterBackend"
    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(auto_schema, model, filterset_class, field_name,
                                                  filter_field)
        for parameter in parameters:
            schema = parameter["schema"]
            if isinstance(filter_field, IntegerFilter):
                schema.clear()
                schema.update(_integer_schema(filter_field.extra["min_value"],
                                              filter_field.extra["max_value"]))
            elif isinstance(filter_field, NumberFilter) and schema.get("type") in ("integer", "number"):
                schema.update({"minimum": BIGINT_MIN, "maximum": BIGINT_MAX})
            elif schema.get("type") == "string" and filter_field.extra.get("max_length"):
                schema["maxLength"] = filter_field.extra["max_length"]
        return parameters


class IdRelatedFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "oms.api.serializers.IdRelatedField"

    def map_serializer_field(self, auto_schema, direction):
        return _integer_schema(1, BIGINT_MAX)


class RetryConfigFieldExtension(OpenApiSerializerFieldExtension):
    """The webhook retry config is validated by a serializer: document that one."""

    target_class = "webhooks.serializers.RetryConfigField"

    def map_serializer_field(self, auto_schema, direction):
        from webhooks.serializers import RetryConfigSerializer

        return auto_schema.resolve_serializer(RetryConfigSerializer, direction).ref


# -- a command type's input as JSON schema (OpenAPI 3.0 dialect) -------------------------------------
@functools.cache
def input_schema(serializer_class: type[serializers.Serializer] | None) -> dict:
    """What ``input_parameters`` a command type takes: an object schema with the fields' types,
    bounds, choices and which are required. Unknown keys are refused (additionalProperties)."""
    if serializer_class is None:
        return {"type": "object", "properties": {}, "additionalProperties": False}
    return _object_schema(serializer_class(context={}))


def _object_schema(serializer: serializers.Serializer) -> dict:
    properties = {}
    required = []
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        properties[name] = field_schema(field)
        if field.required:
            required.append(name)
    schema: dict[str, Any] = {"type": "object", "properties": properties,
                              "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def field_schema(field: serializers.Field) -> dict:  # noqa: C901 - one branch per field type
    override = get_override(field, "field")
    if isinstance(override, dict):
        schema = dict(override)
    elif override is not None and is_basic_type(override):
        schema = build_basic_type(override)
    elif isinstance(field, serializers.ListSerializer):
        schema = {"type": "array", "items": field_schema(field.child)}
        if not field.allow_empty:
            schema["minItems"] = 1
        if field.max_length is not None:
            schema["maxItems"] = field.max_length
    elif isinstance(field, serializers.Serializer):
        schema = _object_schema(field)
    elif isinstance(field, serializers.ManyRelatedField):
        schema = {"type": "array", "items": field_schema(field.child_relation)}
    elif isinstance(field, serializers.ListField):
        schema = {"type": "array", "items": field_schema(field.child)}
        if not field.allow_empty:
            schema["minItems"] = 1
        if field.min_length is not None:
            schema["minItems"] = max(schema.get("minItems", 0), field.min_length)
        if field.max_length is not None:
            schema["maxItems"] = field.max_length
    elif isinstance(field, serializers.DictField):
        schema = {"type": "object", "additionalProperties": field_schema(field.child)}
    elif isinstance(field, serializers.JSONField):
        schema = {}
    elif isinstance(field, serializers.BooleanField):
        schema = {"type": "boolean"}
    elif isinstance(field, serializers.MultipleChoiceField):
        schema = {"type": "array", "items": _choice_schema(field)}
    elif isinstance(field, serializers.ChoiceField):
        schema = _choice_schema(field)
    elif isinstance(field, serializers.SlugRelatedField):
        schema = {"type": "string", "description": _related_description(field, field.slug_field)}
    elif isinstance(field, serializers.PrimaryKeyRelatedField):
        schema = {**_integer_schema(1, BIGINT_MAX), "description": _related_description(field, "id")}
    elif isinstance(field, serializers.IntegerField):
        schema = _integer_schema(BIGINT_MIN if field.min_value is None else field.min_value,
                                 BIGINT_MAX if field.max_value is None else field.max_value)
    elif isinstance(field, (serializers.FloatField, serializers.DecimalField)):
        schema = {"type": "number"}
        if field.min_value is not None:
            schema["minimum"] = field.min_value
        if field.max_value is not None:
            schema["maximum"] = field.max_value
    elif isinstance(field, serializers.DateTimeField):
        schema = {"type": "string", "format": "date-time"}
    elif isinstance(field, serializers.DateField):
        schema = {"type": "string", "format": "date"}
    elif isinstance(field, serializers.CharField):
        schema = {"type": "string"}
        if isinstance(field, serializers.EmailField):
            schema["format"] = "email"
        if field.max_length is not None:
            schema["maxLength"] = field.max_length
        if not field.allow_blank:
            schema["minLength"] = max(1, field.min_length or 0)
        elif field.min_length:
            schema["minLength"] = field.min_length
    else:
        schema = {}
    if field.allow_null:
        schema["nullable"] = True
    if field.help_text and "description" not in schema:
        schema["description"] = str(field.help_text)
    default = field.default
    if default is not serializers.empty and not callable(default) and _is_json(default):
        schema["default"] = default
    return schema


def _choice_schema(field: serializers.ChoiceField) -> dict:
    values = list(field.choices)
    schema: dict[str, Any] = {"enum": values}
    if values and all(isinstance(v, str) for v in values):
        schema["type"] = "string"
    elif values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        schema["type"] = "integer"
    return schema


def _related_description(field: serializers.RelatedField, key: str) -> str:
    queryset = field.queryset
    model: type[Model] | None = getattr(queryset, "model", None)
    name = model._meta.verbose_name if model is not None else "object"
    return f"The {name}'s {key}."


def _is_json(value) -> bool:
    return value is None or isinstance(value, (str, int, float, bool, list, dict))


class SlugRelatedFieldExtension(OpenApiSerializerFieldExtension):
    """A reference by code (``"channel": "web"``): the code column's max length in the schema."""

    target_class = "rest_framework.relations.SlugRelatedField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        queryset = getattr(self.target, "queryset", None)
        if queryset is not None and schema.get("type") == "string":
            max_length = getattr(queryset.model._meta.get_field(self.target.slug_field), "max_length", None)
            if max_length:
                schema["maxLength"] = max_length
        return schema


class DecimalFieldExtension(OpenApiSerializerFieldExtension):
    """Decimals are answered as strings ("249.90") and accepted as strings or JSON numbers."""

    target_class = "rest_framework.fields.DecimalField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction != "request" or schema.get("type") != "string":
            return schema
        number: dict[str, Any] = {"type": "number"}
        if self.target.min_value is not None:
            number["minimum"] = self.target.min_value
        if self.target.max_value is not None:
            number["maximum"] = self.target.max_value
        string = {k: v for k, v in schema.items() if k in ("type", "format", "pattern")}
        rest = {k: v for k, v in schema.items() if k not in string}
        return {"oneOf": [string, number], **rest}
