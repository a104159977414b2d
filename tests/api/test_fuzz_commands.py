"""Generated bad input for every command input serializer, through the real command endpoint on
PostgreSQL: never a 5xx, always the envelope, and a refused command changes nothing. Each case
runs its transition on an object really in the transition's source state (made through intake
and the dispatcher), replaced whenever an accepted command has moved it on."""

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands.models import Transition
from commands.registry import registry
from locations.models import StockLocation
from packages.models import Package
from tests.api.hostile import (
    DEEP,
    FUZZ,
    VALUES,
    apply_edits,
    assert_answered_properly,
    edits,
    post_raw,
)
from tests.factories import (
    CargoCompanyFactory,
    ChannelFactory,
    DenialReasonFactory,
    StockFactory,
    StockLocationFactory,
)
from tests.planning.helpers import ORDERS_URL, order_body, scenario_with_rules, wide_snapshot
from transfers.models import TransferOrder

pytestmark = pytest.mark.postgres
FUZZ_FEWER = settings(FUZZ, max_examples=35)

API = "/api/v1/oms/"
orders = itertools.count()
keys = itertools.count()


@dataclass
class Case:
    command: str
    source: str           # the transition's source status
    kind: str             # "package" or "transfer"
    base: object          # valid input: a dict, or a function of the object returning one


def _items(package):
    return [package.packageitem_set.values_list("pk", flat=True).first()]


CASES = [
    Case("COMPLETE_PACKAGING", "100", "package", {}),                                   # NoInput
    Case("BLOCK_THE_PACKAGE", "100", "package", {"reason": "damaged"}),                 # ReasonInput
    Case("DETECTED_OUT_OF_STOCK_ITEM", "100", "package", lambda p: {"package_items": _items(p)}),
    Case("PACKAGE_REFUSE", "100", "package", lambda p: {"denial_reason": p.world_reason}),
    Case("ASSIGN_PACKAGE_ITEMS_MANUALLY", "100", "package",
         lambda p: {"assignment_groups": [{"package_items": _items(p), "stock_location": "ST2"}]}),
    Case("SHIP_THE_PACKAGE", "500", "package", lambda p: {"package_items": _items(p)}),
    Case("SHIP_THE_PACKAGE_ADVANCED", "500", "package",
         {"tracking_number": "YK1", "cargo_company": "yurtici"}),
    Case("UPDATE_SHIPMENT_INFO", "500", "package", {"tracking_number": "YK2", "query_number": "Q"}),
    Case("UPDATE_INVOICE", "500", "package",
         {"invoice_number": "INV-1", "invoice_date": "2024-01-01T10:00:00Z", "document_type": "pdf",
          "document": "aGVsbG8="}),
    Case("TRANSFER_ORDER_ADVANCED", "waiting", "transfer",
         {"cargo_company": "yurtici", "tracking_number": "YK3"}),
    Case("TRANSFER_OUT_OF_STOCK", "waiting", "transfer",
         lambda t: {"transfer_items": list(t.transferitem_set.values_list("pk", flat=True))}),
]


def test_the_cases_cover_every_command_input_serializer():
    covered = {registry.get(case.command).input_serializer for case in CASES}
    every = {c.input_serializer for c in registry.command_types.values() if c.input_serializer}
    assert covered == every


@pytest.fixture
def world(seeded):
    """A store selling A from its shelf, and what the warehouse holds through a transfer."""
    ChannelFactory(code="web")
    CargoCompanyFactory(code="yurtici")
    store = StockLocationFactory(erp_code="ST1", priority=5)
    StockLocationFactory(erp_code="ST2", priority=1)
    StockLocationFactory(erp_code="WH1", stock_location_type="warehouse",
                         is_transfer_center=True)
    StockFactory(stock_location=store, sku="A", quantity=100_000)
    rule = scenario_with_rules(store, {"name": "Store", "transferable": True}).rules.get()
    rule.stock_locations.set([store])
    return {"reason": DenialReasonFactory().pk}


def _intake(api, sku: str):
    response = api.post(ORDERS_URL, order_body(f"CMD-{next(orders)}", [(sku, 1)],
                                               cargo_company="yurtici"), format="json")
    assert response.status_code == 201, response.json()
    return response.json()["packages"][0]["id"]


def fresh_object(api, case: Case, world: dict):
    """An object in the case's source state, made as production makes one."""
    if case.kind == "transfer":
        # A new SKU each time: an accepted TRANSFER_OUT_OF_STOCK writes the source's stock down.
        sku = f"T{next(orders)}"
        StockFactory(stock_location=StockLocation.objects.get(erp_code="WH1"), sku=sku, quantity=10)
        package_id = _intake(api, sku)
        return TransferOrder.objects.get(package_id=package_id)
    package_id = _intake(api, "A")
    if case.source == "500":
        pack = Transition.objects.get(slug="package__complete_packaging__waiting__packed")
        response = api.post(f"{API}packages/{package_id}/command/", {"transition": pack.pk}, format="json")
        assert response.status_code == 200, response.json()
    package = Package.objects.get(pk=package_id)
    package.world_reason = world["reason"]
    return package


def in_source_state(obj, case: Case) -> bool:
    obj.refresh_from_db()
    return str(obj.status) == case.source


# input_parameters edited key by key, replaced whole, or the request body itself broken.
INPUT_EDITS = st.one_of(
    st.tuples(st.just("edit"), edits(["reason", "package_items", "denial_reason", "assignment_groups",
                                      "tracking_number", "cargo_company", "query_number",
                                      "invoice_number", "invoice_date", "document_type", "document",
                                      "transfer_items"])),
    st.tuples(st.just("input"), VALUES),
    st.tuples(st.just("body"), st.one_of(VALUES, DEEP, edits(["transition", "slug", "input_parameters"]))),
)


@pytest.mark.parametrize("case", CASES, ids=[c.command for c in CASES])
def test_command_input_is_answered_properly(case, world, api):
    transition = Transition.objects.filter(
        command=case.command, source_state__enum_value=case.source, is_active=True).order_by("id").first()
    state = {"obj": None}

    @FUZZ_FEWER  # 11 cases: a few hundred commands in all
    @given(edit=INPUT_EDITS, idempotent=st.booleans())
    def run(edit, idempotent):
        if state["obj"] is None or not in_source_state(state["obj"], case):
            state["obj"] = fresh_object(api, case, world)
        obj = state["obj"]
        base = case.base(obj) if callable(case.base) else dict(case.base)
        how, change = edit
        if how == "edit":
            body = {"transition": transition.pk, "input_parameters": apply_edits(base, change)}
        elif how == "input":
            body = {"transition": transition.pk, "input_parameters": change}
        elif isinstance(change, list) and change and isinstance(change[0], tuple):
            body = apply_edits({"transition": transition.pk, "input_parameters": base}, change)
        else:
            body = change
        headers = {"Idempotency-Key": f"fuzz-{next(keys)}"} if idempotent else {}
        url = f"{API}{'transfer_orders' if case.kind == 'transfer' else 'packages'}/{obj.pk}/command/"
        before = wide_snapshot()

        response = post_raw(api, url, body, **headers)

        def unchanged():
            after = wide_snapshot()
            # A refusal by the dispatcher under an Idempotency-Key is stored, to answer its replays
            # the same way: that row and nothing else.
            stored = after.pop("idempotency") - before.pop("idempotency")
            assert stored in ((0, 1) if idempotent else (0,))
            assert after == before

        assert_answered_properly(response, unchanged)

    run()
