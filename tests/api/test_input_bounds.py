"""Bounded, validated input (issue 9 item 5): numbers stay within their column, ids are ASCII
digits, query strings name known parameters with in-range values, command input names only the
keys its command takes — each refusal is a 400 in the envelope and changes nothing."""

import pytest

from commands.models import State, Transition
from locations.models import Stock, StockLocation
from orders.models import Order
from packages.handlers import NoInput
from packages.models import Package
from tests.factories import CargoCompanyFactory, ChannelFactory, StockLocationFactory, make_package
from tests.planning.helpers import ORDERS_URL, UPSERT_URL, order_body, wide_snapshot
from tests.snapshots import db_snapshot

API = "/api/v1/oms/"
INT_MAX = 2147483647
BEYOND_BIGINT = "99999999999999999999999"


def command(api, package, transition, input_parameters, **headers):
    return api.post(f"{API}packages/{package.pk}/command/",
                    {"transition": transition.pk, "input_parameters": input_parameters},
                    format="json", headers=headers)


# -- quantities and numbers -------------------------------------------------------------------------
@pytest.mark.parametrize("quantity", [INT_MAX + 1, 1099511627776, 2**64])
def test_intake_refuses_a_quantity_beyond_the_column(seeded, api, quantity):
    ChannelFactory(code="web")
    before = wide_snapshot()
    response = api.post(ORDERS_URL, order_body(items=[("A", quantity)]), format="json")
    assert response.status_code == 400
    assert response.json() == {"error": {"items": {"0": {"quantity": [
        f"Ensure this value is less than or equal to {INT_MAX}."]}}}, "status_code": 400}
    assert wide_snapshot() == before
    assert Order.objects.count() == 0


def test_intake_refuses_lines_of_one_sku_adding_up_beyond_the_column(seeded, api):
    ChannelFactory(code="web")
    response = api.post(ORDERS_URL, order_body(items=[("A", INT_MAX), ("A", 1)]), format="json")
    assert response.status_code == 400
    assert response.json() == {"error": {"items": [f"The total quantity of A exceeds {INT_MAX}."]},
                               "status_code": 400}
    assert Order.objects.count() == 0


def test_bulk_upsert_refuses_a_quantity_beyond_the_column(seeded, api):
    location = StockLocationFactory(erp_code="WH-1")
    Stock.objects.create(stock_location=location, sku="A", quantity=5)
    response = api.post(UPSERT_URL, [{"stock_location": "WH-1", "sku": "A", "quantity": 1},
                                     {"stock_location": "WH-1", "sku": "B", "quantity": 1099511627776}],
                        format="json")
    assert response.status_code == 400
    assert response.json() == {"error": {"rows": {"1": {"quantity": [
        f"Ensure this value is less than or equal to {INT_MAX}."]}}}, "status_code": 400}
    assert sorted(Stock.objects.values_list("sku", "quantity")) == [("A", 5)]


@pytest.mark.parametrize("field,value,message", [
    ("max_quota", INT_MAX + 1, f"Ensure this value is less than or equal to {INT_MAX}."),
    ("priority", -INT_MAX - 2, f"Ensure this value is greater than or equal to {-INT_MAX - 1}."),
    ("latitude", "91", "Ensure this value is less than or equal to 90."),
])
def test_stock_location_numbers_stay_within_their_columns(db, api, field, value, message):
    response = api.post(f"{API}stock_locations/", {"name": "Depot", "erp_code": "D-1", field: value},
                        format="json")
    assert response.status_code == 400
    assert response.json() == {"error": {field: [message]}, "status_code": 400}
    assert StockLocation.objects.count() == 0


# -- ids are ASCII digits ---------------------------------------------------------------------------
@pytest.mark.parametrize("cargo_company", ["²", "٣", "1_0", " ", BEYOND_BIGINT])
def test_a_cargo_company_reference_parses_only_ascii_digits(seeded, api, cargo_company):
    # given a packed package and a cargo company whose id is 3 (so "٣" would find it if parsed)
    CargoCompanyFactory.create_batch(3)
    package = make_package(status=500)
    ship = seeded.transition("SHIP_THE_PACKAGE_ADVANCED", 500, 550)
    before = db_snapshot()
    # when
    response = command(api, package, ship, {"tracking_number": "T-1", "cargo_company": cargo_company})
    # then
    assert response.status_code == 400
    assert response.json() == {"error": {
        "cargo_company": [f"Unknown cargo company '{cargo_company.strip()}'."],
        "error_code": "commands_100_4"}, "status_code": 400}
    assert db_snapshot() == before


@pytest.mark.parametrize("denial_reason,message", [
    ("²", "Incorrect type. Expected pk value, received str."),
    ("٣", "Incorrect type. Expected pk value, received str."),
    (1.0, "Incorrect type. Expected pk value, received float."),
    (True, "Incorrect type. Expected pk value, received bool."),
    (int(BEYOND_BIGINT), f'Unknown or inactive denial reason {BEYOND_BIGINT}.'),
])
def test_a_denial_reason_reference_parses_only_ascii_digits(seeded, api, denial_reason, message):
    package = make_package()
    refuse = Transition.objects.filter(command="PACKAGE_REFUSE", source_state__enum_value="100").first()
    before = db_snapshot()
    response = command(api, package, refuse, {"denial_reason": denial_reason})
    assert response.status_code == 400
    assert response.json() == {"error": {"denial_reason": [message], "error_code": "commands_100_4"},
                               "status_code": 400}
    assert db_snapshot() == before


@pytest.mark.parametrize("item", ["²", "٣", BEYOND_BIGINT, -1, 0, 2**63])
def test_package_item_ids_are_bounded_ascii_integers(seeded, api, item):
    package = make_package()
    out_of_stock = seeded.transition("DETECTED_OUT_OF_STOCK_ITEM", 100, 920)
    before = db_snapshot()
    response = command(api, package, out_of_stock, {"package_items": [item]})
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"package_items", "error_code"}
    assert response.json()["error"]["error_code"] == "commands_100_4"
    assert db_snapshot() == before


# -- command input: only the keys the command takes --------------------------------------------------
def test_an_unknown_input_parameter_is_refused_by_name(seeded, api):
    package = make_package()
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    before = db_snapshot()
    response = command(api, package, pack, {"traking_number": "T-1"})
    assert response.status_code == 400
    assert response.json() == {"error": {"traking_number": ["Unknown field. Known fields: none."],
                                         "error_code": "commands_100_4"}, "status_code": 400}
    assert db_snapshot() == before


def test_a_command_taking_nothing_validates_an_empty_input_without_its_serializer(seeded, api, monkeypatch):
    """The dispatcher answers an empty input to a command without fields itself (the serializer
    costs a few percent of a pack); what it answers is what the serializer would, and anything
    else still goes through the serializer."""
    serializer = NoInput(data={})
    assert serializer.is_valid() and serializer.validated_data == {}
    validated = []
    original = NoInput.to_internal_value
    monkeypatch.setattr(NoInput, "to_internal_value",
                        lambda self, data: validated.append(data) or original(self, data))
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    package = make_package()
    assert command(api, package, pack, {}).status_code == 200
    assert validated == []
    other = make_package()
    before = db_snapshot()
    response = command(api, other, pack, {"x": 1})
    assert response.status_code == 400
    assert response.json()["error"]["x"] == ["Unknown field. Known fields: none."]
    assert validated == [{"x": 1}]
    assert db_snapshot() == before


def test_an_unknown_key_next_to_known_ones_is_refused(seeded, api):
    CargoCompanyFactory(code="yurtici")
    package = make_package(status=500)
    ship = seeded.transition("SHIP_THE_PACKAGE_ADVANCED", 500, 550)
    before = db_snapshot()
    response = command(api, package, ship, {"tracking_number": "T-1", "cargo_company": "yurtici",
                                            "awb": "X"})
    assert response.status_code == 400
    assert response.json() == {"error": {
        "awb": ["Unknown field. Known fields: cargo_company, tracking_number."],
        "error_code": "commands_100_4"}, "status_code": 400}
    assert db_snapshot() == before


def test_unknown_keys_in_nested_input_are_refused(seeded, api):
    location = StockLocationFactory(erp_code="ST-2")
    package = make_package()
    item = package.packageitem_set.get()
    assign = Transition.objects.filter(command="ASSIGN_PACKAGE_ITEMS_MANUALLY",
                                       source_state__enum_value="100").first()
    before = db_snapshot()
    response = command(api, package, assign, {"assignment_groups": [
        {"package_items": [item.pk], "stock_location": location.erp_code, "quantity": 1}]})
    assert response.status_code == 400
    assert response.json() == {"error": {"assignment_groups": {"0": {"quantity": [
        "Unknown field. Known fields: package_items, stock_location."]}},
        "error_code": "commands_100_4"}, "status_code": 400}
    assert db_snapshot() == before


@pytest.mark.parametrize("parameters", [{"a\u0000b": 1}, {"reason": "a\u0000b"}])
def test_input_that_no_json_column_stores_is_refused_even_with_an_idempotency_key(seeded, api, parameters):
    package = make_package()
    block = seeded.transition("BLOCK_THE_PACKAGE", 100, 350)
    before = db_snapshot()
    response = command(api, package, block, parameters, **{"Idempotency-Key": "k-1"})
    assert response.status_code == 400
    assert response.json() == {"error": {"input_parameters": ["Text may not contain NUL characters."]},
                               "status_code": 400}
    assert db_snapshot() == before


@pytest.mark.parametrize("body", ['{"slug": "\\ud800"}', '{"input_parameters": {"\\udfff": 1}, "slug": "x"}'])
def test_a_body_with_an_unpaired_surrogate_is_refused_before_anything_reads_it(seeded, api, body):
    package = make_package()
    before = db_snapshot()
    response = api.post(f"{API}packages/{package.pk}/command/", body, content_type="application/json",
                        headers={"Idempotency-Key": "k-2"})
    assert response.status_code == 400
    assert response.json() == {"error": {"detail": "JSON parse error - a string holds an unpaired "
                                                   "surrogate (\\ud800-\\udfff)."}, "status_code": 400}
    assert db_snapshot() == before


def test_transition_defaults_may_only_name_the_commands_input(seeded, api):
    ship = seeded.transition("SHIP_THE_PACKAGE_ADVANCED", 500, 550)
    response = api.patch(f"{API}state_transitions/{ship.pk}/",
                         {"input_defaults": {"cargo_company": "aras", "carrier": "x"}}, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": {"input_defaults": [
        "SHIP_THE_PACKAGE_ADVANCED takes no input parameter(s) carrier; known: cargo_company, "
        "tracking_number."]}, "status_code": 400}
    assert Transition.objects.get(pk=ship.pk).input_defaults == {}


def test_json_fields_refuse_nul_characters(seeded, api):
    state = State.objects.first()
    response = api.patch(f"{API}states/{state.pk}/", {"translations": {"tr": "a\u0000"}}, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": {"translations": ["Text may not contain NUL characters."]},
                               "status_code": 400}
    assert State.objects.get(pk=state.pk).translations == state.translations


# -- query strings ----------------------------------------------------------------------------------
@pytest.mark.parametrize("query,error", [
    ({"created_date__gte": "9999-12-31T23:59:59-23:59"},
     {"created_date__gte": ["Date/time out of range (years 1 to 9999 in UTC)."]}),
    ({"created_date__gte": "0001-01-01T00:00:00+23:59"},
     {"created_date__gte": ["Date/time out of range (years 1 to 9999 in UTC)."]}),
    ({"created_date__gte": "99999-01-01"}, {"created_date__gte": ["Enter a valid date/time."]}),
    ({"object_id": BEYOND_BIGINT},
     {"object_id": ["Ensure this value is less than or equal to 9223372036854775807."]}),
    ({"user": "²"}, {"user": ["Enter a number in ASCII digits."]}),
    ({"old_state": "٣"}, {"old_state": ["Enter a number in ASCII digits."]}),
    ({"new_state": "1_0"}, {"new_state": ["Enter a whole number."]}),
    ({"objectid": "1"}, {"objectid": [
        "Unknown query parameter. Known parameters: content_type, created_date__gte, "
        "created_date__lte, format, limit, new_state, object_id, old_state, ordering, page, user."]}),
    ({"page": "0"}, {"page": ["Enter a whole number between 1 and 2147483647."]}),
    ({"limit": "501"}, {"limit": ["Enter a whole number between 1 and 500."]}),
    ({"limit": "٣"}, {"limit": ["Enter a whole number between 1 and 500."]}),
    ({"ordering": "secret"}, {"ordering": [
        "Unknown ordering field(s): secret. Choose from: id, -id, object_id, -object_id, old_state, "
        "-old_state, new_state, -new_state, user, -user, created_date, -created_date, modified_date, "
        "-modified_date."]}),
])
def test_bad_query_values_answer_400_on_postgresql_and_sqlite(db, api, query, error):
    response = api.get(f"{API}state-transition-logs/", query)
    assert response.status_code == 400
    assert response.json() == {"error": error, "status_code": 400}


def test_a_reference_filter_with_an_unknown_id_matches_nothing(seeded, api):
    make_package()
    response = api.get(f"{API}packages/", {"state": 987654321})
    assert response.status_code == 200
    assert response.json()["count"] == 0
    assert api.get(f"{API}packages/", {"state": seeded.state(100).pk}).json()["count"] == 1


@pytest.mark.parametrize("value", ["maybe", "null", "2"])
def test_a_boolean_filter_takes_true_or_false_only(db, api, value):
    response = api.get(f"{API}stock_locations/", {"is_active": value})
    assert response.status_code == 400
    assert response.json() == {"error": {"is_active": ["Enter true or false."]}, "status_code": 400}


def test_a_page_past_the_last_answers_404(db, api):
    response = api.get(f"{API}states/", {"page": 2})
    assert response.status_code == 404
    assert response.json() == {"error": {"detail": "Invalid page."}, "status_code": 404}


def test_stock_availability_refuses_nul_characters(db, api):
    response = api.get(f"{API}stocks/query-stock-availability/", {"sku": "a\u0000", "erp_code": "WH"})
    assert response.status_code == 400
    assert response.json() == {"error": {"sku": {"0": ["Null characters are not allowed."]}},
                               "status_code": 400}


# -- path ids -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [f"packages/{BEYOND_BIGINT}/", f"transfer_orders/{BEYOND_BIGINT}/",
                                  "packages/9223372036854775808/", "states/²/"])
def test_a_path_id_beyond_bigint_is_not_found(db, api, path):
    response = api.get(f"{API}{path}")
    assert response.status_code == 404
    assert response.json() == {"error": {"detail": "Not found."}, "status_code": 404}


def test_a_command_on_a_package_id_beyond_bigint_is_not_found(seeded, api):
    response = api.post(f"{API}packages/{BEYOND_BIGINT}/command/",
                        {"slug": "package__complete_packaging__waiting__packed"}, format="json")
    assert response.status_code == 404
    assert response.json() == {"error": {"detail": "Not found."}, "status_code": 404}
    assert Package.objects.count() == 0


# -- JSON types as the schema says them ---------------------------------------------------------------
@pytest.mark.parametrize("body,error", [
    ({"name": "Aras", "code": "aras", "is_active": 0}, {"is_active": ["Must be true or false."]}),
    ({"name": "Aras", "code": "aras", "is_active": "true"}, {"is_active": ["Must be true or false."]}),
    ({"name": "Aras", "code": 7}, {"code": ["Not a valid string."]}),
])
def test_json_values_of_the_wrong_type_are_refused(db, api, body, error):
    from locations.models import CargoCompany

    response = api.post(f"{API}cargo-company/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": error, "status_code": 400}
    assert CargoCompany.objects.count() == 0


def test_a_quantity_sent_as_text_is_refused(db, api):
    StockLocationFactory(erp_code="WH-1")
    response = api.post(UPSERT_URL, [{"stock_location": "WH-1", "sku": "A", "quantity": "٣"}], format="json")
    assert response.status_code == 400
    assert response.json() == {"error": {"rows": {"0": {"quantity": ["A valid integer is required."]}}},
                               "status_code": 400}
    assert Stock.objects.count() == 0


def test_form_data_keeps_drf_coercion_for_the_browsable_api(db, api):
    response = api.post(f"{API}cargo-company/", {"name": "Aras", "code": "aras", "is_active": "true"})
    assert response.status_code == 201
    assert response.json()["is_active"] is True
