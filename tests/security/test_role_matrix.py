"""Every operation of the OpenAPI schema × every role, from the outside (issue 9 items 1 and 8).

The list of operations is generated from the schema, so a new endpoint is in this test the day it
is added: if it serves location-bound rows without scoping, store B reads store A's marker here and
the test fails. A positive control (store A, the operator and the superuser *do* see the marker on
the same endpoints) shows the check is not vacuous."""

from __future__ import annotations

import pytest
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator

from accounts.scoping import HIDDEN_FROM_STORES, SCOPE_RULES, model_label
from tests.security.conftest import MARKER, ROLES, WEBHOOK_SECRET, World, everything

API = "/api/v1/oms/"
OPEN = {f"{API}health/"}


def _operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [(path, method) for path, ops in sorted(schema["paths"].items()) for method in sorted(ops)
            if method in {"get", "post", "put", "patch", "delete"}]


OPERATIONS = _operations()


def model_of(path: str):
    view = resolve(path.replace("{id}", "1")).func
    cls = getattr(view, "cls", None)
    queryset = getattr(cls, "queryset", None)
    return None if queryset is None else queryset.model


def kind_of(model) -> str:
    if model is None:
        return "none"
    label = model_label(model)
    return "scoped" if label in SCOPE_RULES else "hidden" if label in HIDDEN_FROM_STORES else "shared"


EXTRA_QUERY = {f"{API}stocks/query-stock-availability/": f"?sku=SKU-{MARKER}-1&erp_code=ST-A"}


def body_for(path: str, method: str) -> object:
    if path == f"{API}packages/{{id}}/command/":
        return {"slug": "package__complete_packaging__waiting__packed"}
    if path == f"{API}transfer_orders/{{id}}/command/":
        return {"slug": "transfer__transfer_dispatch__waiting__in-transit"}
    if path == f"{API}stocks/bulk_upsert/":
        return [{"stock_location": "ST-A", "sku": f"SKU-{MARKER}-1", "quantity": 0}]
    if path == f"{API}orders/" and method == "post":
        return {"number": "ORD-NEW", "channel": "web",
                "items": [{"sku": f"SKU-{MARKER}-1", "quantity": 1, "price": "1.00"}]}
    return {}


def call(client, world: World, path: str, method: str):
    url = path
    if "{id}" in path:
        url = path.replace("{id}", str(world.object_of(model_of(path)).pk))
    url += EXTRA_QUERY.get(path, "")
    if method == "get":
        return client.get(url)
    return getattr(client, method)(url, body_for(path, method), format="json")


def test_the_schema_lists_every_router_endpoint():
    # the generated operation list is the one the API serves: spot-check it is complete
    paths = {path for path, _ in OPERATIONS}
    assert {f"{API}packages/{{id}}/command/", f"{API}transfer_orders/{{id}}/command/",
            f"{API}state-transition-logs/", f"{API}orders/", f"{API}stocks/bulk_upsert/",
            f"{API}packages/package-items/", f"{API}webhooks/{{id}}/"} <= paths
    assert len(OPERATIONS) >= 60


def check_store_b(response, path, method, before) -> str | None:
    """What is wrong with store B's answer, or None."""
    kind = kind_of(model_of(path))
    body = response.content.decode()
    if MARKER in body or WEBHOOK_SECRET in body:
        return f"leaks store A: {body[:300]}"
    if response.status_code >= 500:
        return f"server error {response.status_code}"
    if response.status_code >= 400 and (response.json().get("status_code") != response.status_code
                                        or "error" not in response.json()):
        return f"not the envelope: {body[:300]}"
    if method != "get":
        if response.status_code not in (403, 404):
            return f"write answered {response.status_code}: {body[:300]}"
        if everything() != before:
            return "a refused write changed rows"
        return None
    if path in OPEN:
        expected = 200
    elif kind == "hidden":
        expected = 403
    elif "{id}" in path:
        expected = 404 if kind == "scoped" else 200
    elif path in EXTRA_QUERY:
        expected = 400  # ST-A is not a location B may ask about
    else:
        expected = 200
    return None if response.status_code == expected else f"{response.status_code}, not {expected}"


def test_store_b_learns_nothing_of_store_a_and_changes_nothing(world, clients):
    # One world for every operation (each refused write is checked to change nothing, so the
    # world stays the same for the next one).
    problems = {}
    for path, method in OPERATIONS:
        before = everything()
        problem = check_store_b(call(clients["store_b"], world, path, method), path, method, before)
        if problem:
            problems[f"{method.upper()} {path}"] = problem
    assert problems == {}


SCOPED_LISTS = [(path, method) for path, method in OPERATIONS
                if method == "get" and "{id}" not in path and path not in EXTRA_QUERY
                and kind_of(model_of(path)) == "scoped"]


@pytest.mark.parametrize("role", ["store_a", "operator", "superuser"])
def test_those_who_may_see_store_a_do_see_it(world, clients, role):
    # the positive control: the marker store B never sees is there to be seen on those endpoints
    assert len(SCOPED_LISTS) >= 7
    unseen = [path for path, method in SCOPED_LISTS
              if MARKER not in call(clients[role], world, path, method).content.decode()]
    assert unseen == []


def test_anonymous_gets_401_everywhere_but_health(world, clients):
    before = everything()
    answers = {f"{method.upper()} {path}": call(clients["anonymous"], world, path, method)
               for path, method in OPERATIONS}

    wrong = {op: r.status_code for op, r in answers.items()
             if (r.status_code == 200) != (op == f"GET {API}health/")
             or (r.status_code != 200 and r.json() != {
                 "error": {"detail": "Authentication credentials were not provided."}, "status_code": 401})}
    assert wrong == {}
    assert everything() == before


def test_a_read_only_token_changes_nothing(world, clients):
    before = everything()
    answers = {f"{method.upper()} {path}": call(clients["read_only"], world, path, method)
               for path, method in OPERATIONS if method != "get"}

    assert len(answers) >= 30
    assert {op: r.status_code for op, r in answers.items() if r.json() != {
        "error": {"detail": "You do not have permission to perform this action."},
        "status_code": 403}} == {}
    assert everything() == before


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_without_a_server_error_and_never_sees_the_webhook_secret(world, clients, role):
    wrong = {}
    for path, method in OPERATIONS:
        if method != "get":
            continue
        response = call(clients[role], world, path, method)
        if (response.status_code >= 500 or not response["Content-Type"].startswith("application/json")
                or WEBHOOK_SECRET in response.content.decode()):
            wrong[path] = response.status_code
    assert wrong == {}


def test_webhooks_are_for_those_with_their_view_permission(world, clients):
    statuses = {role: clients[role].get(f"{API}webhooks/").status_code for role in ROLES}

    assert statuses == {"anonymous": 401, "read_only": 403, "integration": 403, "store_a": 403,
                        "store_b": 403, "operator": 200, "superuser": 200}


def test_a_store_sees_of_an_order_only_its_own_part(world, clients):
    # given: one order with a package at store A and one at store B
    from tests.factories import make_package

    shared_order = world.package_b.order
    make_package(location=world.a, skus={f"SKU-{MARKER}-3": 1}, order=shared_order)

    as_b = clients["store_b"].get(f"{API}orders/{shared_order.pk}/").json()
    as_a = clients["store_a"].get(f"{API}orders/{shared_order.pk}/").json()
    as_operator = clients["operator"].get(f"{API}orders/{shared_order.pk}/").json()

    assert [p["number"] for p in as_b["packages"]] == ["ORD-B-1P1"]
    assert [i["sku"] for i in as_b["orderitem_set"]] == ["SKU-B-1"]
    assert [p["number"] for p in as_a["packages"]] == ["ORD-B-1P2"]
    assert [i["sku"] for i in as_a["orderitem_set"]] == [f"SKU-{MARKER}-3"]
    assert [p["number"] for p in as_operator["packages"]] == ["ORD-B-1P1", "ORD-B-1P2"]


def test_store_users_count_their_own_stock_only(world, clients):
    url = f"{API}stocks/bulk_upsert/"
    before = everything()

    foreign = clients["store_b"].post(url, [{"stock_location": "ST-B", "sku": "SKU-B-1", "quantity": 9},
                                           {"stock_location": "ST-A", "sku": "X", "quantity": 1}],
                                      format="json")
    own = clients["store_b"].post(url, [{"stock_location": "ST-B", "sku": "SKU-B-1", "quantity": 9}],
                                  format="json")

    assert foreign.status_code == 403
    assert foreign.json()["error"] == {"non_field_errors": "Stock location ST-A is not one of yours.",
                                       "error_code": "accounts_600_1"}
    assert own.status_code == 200 and own.json() == {"created": 0, "updated": 1}
    changed = everything()
    assert {k: v for k, v in changed.items() if k != "locations.Stock"} == {
        k: v for k, v in before.items() if k != "locations.Stock"}
