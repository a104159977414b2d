"""Scenarios and their rules as configuration: the API (nested rules) and the admin."""

import pytest
from django.contrib.auth.models import Permission

from planning.models import Rule, Scenario
from tests.conftest import api_client_for
from tests.factories import ChannelFactory, StockLocationFactory, UserFactory

URL = "/api/v1/oms/scenarios/"


def test_a_scenario_is_created_with_its_rules_in_order(api, seeded):
    default, store = StockLocationFactory(erp_code="DEF"), StockLocationFactory(erp_code="ST1")
    web = ChannelFactory(code="web")

    response = api.post(URL, {
        "name": "Web", "priority": 5, "channels": [web.pk], "payment_types": ["credit_card"],
        "default_stock_location": default.pk, "initial_state": seeded.state(150).pk,
        "rules": [
            {"name": "Stores in town", "stock_locations": [store.pk], "same_city": True,
             "select_by_quota": True, "sort_keys": ["available_quota", "distance"]},
            {"name": "Anywhere", "sort_keys": ["priority", "stock"], "transferable": True},
        ]}, format="json")

    assert response.status_code == 201, response.json()
    scenario = Scenario.objects.get()
    assert (scenario.name, scenario.priority, scenario.payment_types, scenario.initial_state_id) == (
        "Web", 5, ["credit_card"], seeded.state(150).pk)
    assert list(scenario.channels.values_list("code", flat=True)) == ["web"]
    rules = list(scenario.rules.order_by("position"))
    assert [(r.position, r.name, r.select_by_quota, r.same_city, r.transferable, r.sort_keys)
            for r in rules] == [(0, "Stores in town", True, True, False, ["available_quota", "distance"]),
                                (1, "Anywhere", False, False, True, ["priority", "stock"])]
    assert list(rules[0].stock_locations.values_list("erp_code", flat=True)) == ["ST1"]
    assert [r["name"] for r in response.json()["rules"]] == ["Stores in town", "Anywhere"]


def test_updating_with_rules_replaces_them_and_without_keeps_them(api, seeded):
    default = StockLocationFactory()
    created = api.post(URL, {"name": "S", "default_stock_location": default.pk,
                             "rules": [{"name": "one"}, {"name": "two"}]}, format="json").json()

    renamed = api.patch(f"{URL}{created['id']}/", {"name": "Renamed"}, format="json")
    replaced = api.patch(f"{URL}{created['id']}/", {"rules": [{"name": "only"}]}, format="json")

    assert renamed.status_code == replaced.status_code == 200
    assert list(Rule.objects.values_list("name", flat=True)) == ["only"]
    assert Scenario.objects.get().name == "Renamed"


@pytest.mark.parametrize(("body", "errors"), [
    # Errors of a nested list are keyed by the row's index.
    pytest.param({"rules": [{"sort_keys": ["cheapest"]}]},
                 {"rules": {"0": {"sort_keys": {"0": ['"cheapest" is not a valid choice.']}}}},
                 id="unknown-sort-key"),
    pytest.param({"rules": [{"sort_keys": ["stock", "stock"]}]},
                 {"rules": {"0": {"sort_keys": ["Each sort key once."]}}}, id="repeated-sort-key"),
    pytest.param({"rules": [{"stock_location_type": "shop"}]},
                 {"rules": {"0": {"stock_location_type": ['"shop" is not a valid choice.']}}}, id="bad-type"),
    pytest.param({"default_stock_location": None},
                 {"default_stock_location": ["This field may not be null."]}, id="no-default-location"),
])
def test_invalid_scenarios_are_400_and_write_nothing(api, seeded, body, errors):
    default = StockLocationFactory()

    response = api.post(URL, {"name": "Bad", "default_stock_location": default.pk, **body}, format="json")

    assert response.status_code == 400
    assert response.json() == {"error": errors, "status_code": 400}
    assert (Scenario.objects.count(), Rule.objects.count()) == (0, 0)


def test_the_initial_state_must_be_a_pre_packing_package_state(api, seeded):
    response = api.post(URL, {"name": "S", "default_stock_location": StockLocationFactory().pk,
                              "initial_state": seeded.state(500).pk}, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]) == ["initial_state"]
    assert not Scenario.objects.exists()


def test_writing_scenarios_needs_the_model_permission(seeded):
    reader = UserFactory()
    client = api_client_for(reader)
    body = {"name": "S", "default_stock_location": StockLocationFactory().pk}

    refused = client.post(URL, body, format="json")
    reader.user_permissions.add(Permission.objects.get(codename="add_scenario"))
    reader = type(reader).objects.get(pk=reader.pk)  # permissions are cached per user object
    allowed = api_client_for(reader).post(URL, body, format="json")

    assert refused.status_code == 403
    assert client.get(URL).status_code == 200
    assert allowed.status_code == 201


def test_the_admin_lists_scenarios_and_edits_rules_inline(client, staff_user, seeded):
    default = StockLocationFactory(name="Depot")
    scenario = Scenario.objects.create(name="Web", default_stock_location=default)
    Rule.objects.create(scenario=scenario, name="Stores", position=0)
    Rule.objects.create(scenario=scenario, name="Warehouse", position=1)
    client.force_login(staff_user)

    listing = client.get("/admin/planning/scenario/?q=Web")
    page = client.get(f"/admin/planning/scenario/{scenario.pk}/change/")

    assert listing.status_code == page.status_code == 200
    assert [row.rules_total for row in listing.context["cl"].result_list] == [2]
    assert page.content.decode().count('name="rules-') > 0
    assert [f.instance.name for f in page.context["inline_admin_formsets"][0].formset.forms[:2]] == [
        "Stores", "Warehouse"]
