"""The OpenAPI contract tells the truth: every operation documents its error responses with the
envelope, every integer a client may send has its bounds, every list endpoint documents and
enforces its query parameters, and a transition carries the input schema of its command type.

The operations are read from the generated schema, so a new endpoint is checked without being
listed here."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from commands.models import Transition
from tests.factories import make_package

API = "/api/v1/oms/"
ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}
PUBLIC = {"/api/v1/oms/health/"}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method.upper(), operation


def is_list(operation) -> bool:
    return any(p["name"] == "page" for p in operation.get("parameters", []))


def expected_errors(path: str, method: str, operation: dict) -> set[str]:
    codes = {"401", "403", "500", "503"}
    if method in {"POST", "PUT", "PATCH"}:
        codes |= {"400", "409", "413"}
    if method == "DELETE":
        codes.add("409")
    if "{id}" in path or is_list(operation):
        codes.add("404")
    if is_list(operation) or any(p["in"] == "query" for p in operation.get("parameters", [])):
        codes.add("400")
    if path.endswith("/command/"):
        codes |= {"406", "422"}
    return codes


def test_every_operation_documents_its_error_responses_with_the_envelope(schema):
    missing = {}
    for path, method, operation in operations(schema):
        if path in PUBLIC:
            continue
        responses = operation["responses"]
        errors = {code for code in responses if code >= "400"}
        wanted = expected_errors(path, method, operation)
        if not wanted <= errors:
            missing[f"{method} {path}"] = sorted(wanted - errors)
        for code in errors:
            assert responses[code]["content"] == {"application/json": {"schema": ENVELOPE}}, (path, code)
    assert missing == {}


def test_the_envelope_component_requires_error_and_status_code(schema):
    envelope = schema["components"]["schemas"]["ErrorEnvelope"]
    assert envelope["required"] == ["error", "status_code"]
    assert set(envelope["properties"]["error"]["properties"]) == {"detail", "error_code", "error_id",
                                                                  "non_field_errors"}


def test_business_refusals_are_documented_where_they_happen(schema):
    refusing = {f"{m} {p}" for p, m, op in operations(schema) if "406" in op["responses"]}
    assert refusing == {
        "POST /api/v1/oms/packages/{id}/command/", "POST /api/v1/oms/transfer_orders/{id}/command/",
        "POST /api/v1/oms/orders/", "POST /api/v1/oms/state_transitions/",
        "PUT /api/v1/oms/state_transitions/{id}/", "PATCH /api/v1/oms/state_transitions/{id}/"}


def _unbounded_integers(node, where: str, components: dict, seen: set) -> list[str]:
    """Paths of integer schemas without minimum and maximum (enums are bounded by their values)."""
    found = []
    if isinstance(node, dict):
        ref = node.get("$ref")
        if ref:
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                found += _unbounded_integers(components[name], name, components, seen)
            return found
        if node.get("type") == "integer" and "enum" not in node and not node.get("readOnly") \
                and ("minimum" not in node or "maximum" not in node):
            found.append(where)
        for key, value in node.items():
            if key == "properties":
                for name, child in value.items():
                    found += _unbounded_integers(child, f"{where}.{name}", components, seen)
            elif key in ("items", "additionalProperties"):
                found += _unbounded_integers(value, f"{where}[]", components, seen)
            elif key in ("oneOf", "anyOf", "allOf"):
                for child in value:
                    found += _unbounded_integers(child, where, components, seen)
    return found


def test_every_integer_a_client_sends_has_its_bounds(schema):
    components = schema["components"]["schemas"]
    unbounded = []
    for path, method, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            unbounded += _unbounded_integers(parameter["schema"], f"{method} {path} {parameter['name']}",
                                             components, set())
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body:
            unbounded += _unbounded_integers(body["schema"], f"{method} {path} body", components, set())
    assert unbounded == []


def test_quantities_and_ids_carry_the_postgresql_column_ranges(schema):
    components = schema["components"]["schemas"]
    assert components["IntakeItemRequest"]["properties"]["quantity"] | {} == {
        "type": "integer", "minimum": 1, "maximum": 2147483647}
    upsert = components["StockUpsertRowRequest"]["properties"]["quantity"]
    assert (upsert["minimum"], upsert["maximum"]) == (0, 2147483647)
    quota = components["StockLocationRequest"]["properties"]["max_quota"]
    assert (quota["minimum"], quota["maximum"], quota["nullable"]) == (0, 2147483647, True)
    priority = components["PackageDenialReasonRequest"]["properties"]["priority"]
    assert (priority["minimum"], priority["maximum"]) == (-2147483648, 2147483647)
    source = components["TransitionRequest"]["properties"]["source_state"]
    assert (source["minimum"], source["maximum"]) == (1, 9223372036854775807)
    command = components["CommandRequestRequest"]["properties"]["transition"]
    assert (command["minimum"], command["maximum"]) == (1, 9223372036854775807)


def test_every_list_operation_documents_bounded_pagination(schema):
    lists = [(p, op) for p, m, op in operations(schema) if m == "GET" and is_list(op)]
    assert len(lists) == 15
    for path, operation in lists:
        parameters = {p["name"]: p["schema"] for p in operation["parameters"]}
        assert parameters["page"] == {"type": "integer", "minimum": 1, "maximum": 2147483647}, path
        assert parameters["limit"] == {"type": "integer", "minimum": 1, "maximum": 500}, path


def test_every_list_endpoint_refuses_an_unknown_query_parameter(schema, api, seeded):
    lists = [p for p, m, op in operations(schema) if m == "GET" and is_list(op)]
    for path in lists:
        response = api.get(path, {"no_such_filter": "1"})
        assert response.status_code == 400, path
        [message] = response.json()["error"]["no_such_filter"]
        assert message.startswith("Unknown query parameter. Known parameters: "), path
        assert "limit" in message and "page" in message, path


def test_every_documented_query_parameter_is_accepted(schema, api, seeded):
    # given each list endpoint and each of its documented parameters with a valid value
    for path, method, operation in operations(schema):
        if method != "GET" or not is_list(operation):
            continue
        for parameter in operation["parameters"]:
            value = _valid_value(parameter["schema"])
            response = api.get(path, {parameter["name"]: value})
            assert response.status_code == 200, (path, parameter["name"], value, response.json())


def _valid_value(schema: dict) -> str:
    if "enum" in schema:
        first = schema["enum"][0]
        return str(first).lower() if isinstance(first, bool) else str(first)
    kind, fmt = schema.get("type"), schema.get("format")
    if kind == "integer":
        return str(max(schema.get("minimum", 1), 1))
    if kind == "number":
        return "1"
    if kind == "boolean":
        return "true"
    if fmt == "date-time":
        return "2024-01-01T00:00:00Z"
    if fmt == "date":
        return "2024-01-01"
    return "x"


# -- input_schema: what a client sends to run a transition ------------------------------------------
SHIP_ADVANCED_INPUT = {
    "type": "object",
    "properties": {
        "tracking_number": {"type": "string", "maxLength": 128, "minLength": 1},
        "cargo_company": {"oneOf": [{"type": "integer", "minimum": 1, "maximum": 9223372036854775807},
                                    {"type": "string", "minLength": 1, "maxLength": 64}],
                          "description": "An active cargo company, by id or by code."},
    },
    "additionalProperties": False,
    "required": ["tracking_number", "cargo_company"],
}
NO_INPUT = {"type": "object", "properties": {}, "additionalProperties": False}
ASSIGN_INPUT = {
    "type": "object",
    "properties": {"assignment_groups": {
        "type": "array", "minItems": 1, "maxItems": 1000,
        "items": {
            "type": "object",
            "properties": {
                "package_items": {"type": "array", "minItems": 1, "maxItems": 1000, "items": {
                    "type": "integer", "minimum": 1, "maximum": 9223372036854775807, "format": "int64"}},
                "stock_location": {"type": "string", "description": "The stock location's erp_code."},
            },
            "additionalProperties": False,
            "required": ["package_items", "stock_location"],
        }}},
    "additionalProperties": False,
    "required": ["assignment_groups"],
}
REFUSE_INPUT = {
    "type": "object",
    "properties": {"denial_reason": {"type": "integer", "minimum": 1, "maximum": 9223372036854775807,
                                     "format": "int64", "description": "The package denial reason's id."}},
    "additionalProperties": False,
    "required": ["denial_reason"],
}


def test_a_packages_commands_carry_their_input_schema(seeded, api):
    # given a waiting package
    package = make_package()
    # when
    commands = {c["command"]: c for c in api.get(f"{API}packages/{package.pk}/").json()["commands"]}
    # then
    assert commands["COMPLETE_PACKAGING"]["input_schema"] == NO_INPUT
    assert commands["ASSIGN_PACKAGE_ITEMS_MANUALLY"]["input_schema"] == ASSIGN_INPUT
    assert commands["PACKAGE_REFUSE"]["input_schema"] == REFUSE_INPUT


def test_the_transitions_api_carries_the_input_schema(seeded, api):
    ship = seeded.transition("SHIP_THE_PACKAGE_ADVANCED", 500, 550)
    body = api.get(f"{API}state_transitions/{ship.pk}/").json()
    assert body["input_schema"] == SHIP_ADVANCED_INPUT
    listing = api.get(f"{API}state_transitions/", {"command": "SHIP_THE_PACKAGE_ADVANCED"}).json()
    assert [t["input_schema"] for t in listing["results"]] == [SHIP_ADVANCED_INPUT] * listing["count"]
    assert listing["count"] == Transition.objects.filter(command="SHIP_THE_PACKAGE_ADVANCED").count() > 0


def test_input_schema_is_read_only(seeded, api):
    ship = seeded.transition("SHIP_THE_PACKAGE_ADVANCED", 500, 550)
    response = api.patch(f"{API}state_transitions/{ship.pk}/", {"input_schema": {"type": "string"}},
                         format="json")
    assert response.status_code == 200
    assert response.json()["input_schema"] == SHIP_ADVANCED_INPUT
