"""Generated bad payloads for ``POST orders/`` and ``POST stocks/bulk_upsert/`` on PostgreSQL:
never a 5xx, always the envelope, and a refused request changes nothing."""

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from locations.models import Stock
from tests.api.hostile import DEEP, FUZZ, VALUES, apply_edits, assert_answered_properly, edits, post_raw
from tests.factories import CargoCompanyFactory, ChannelFactory, StockFactory, StockLocationFactory
from tests.planning.helpers import ORDERS_URL, UPSERT_URL, order_body, scenario_with_rules, wide_snapshot

pytestmark = pytest.mark.postgres

ORDER_KEYS = ["number", "channel", "customer", "shipping_address", "payment_type", "cargo_company",
              "tracking_number", "date_placed", "notes", "items"]
ITEM_KEYS = ["sku", "quantity", "price", "currency"]
CUSTOMER_KEYS = ["first_name", "last_name", "email", "phone"]
ADDRESS_KEYS = ["line", "city", "country", "postcode", "latitude", "longitude"]
ROW_KEYS = ["stock_location", "sku", "quantity"]


@pytest.fixture
def shop(seeded):
    ChannelFactory(code="web")
    CargoCompanyFactory(code="yurtici")
    store = StockLocationFactory(erp_code="ST1", priority=5)
    StockFactory(stock_location=store, sku="A", quantity=1000)
    StockFactory(stock_location=store, sku="B", quantity=1000)
    scenario_with_rules(store, {"name": "By priority"})
    return store


numbers = itertools.count()


# An order edited at its top level, in its customer or address, or in a line.
ORDER_EDITS = st.one_of(
    st.tuples(st.just("order"), edits(ORDER_KEYS)),
    st.tuples(st.just("customer"), edits(CUSTOMER_KEYS)),
    st.tuples(st.just("shipping_address"), edits(ADDRESS_KEYS)),
    st.tuples(st.just("item"), edits(ITEM_KEYS)),
    st.tuples(st.just("whole"), st.one_of(VALUES, DEEP)),
)


def edited_order(where: str, changes) -> object:
    body = order_body(f"FZ-{next(numbers)}", [("A", 1), ("B", 2)], cargo_company="yurtici")
    if where == "whole":
        return changes
    if where == "order":
        return apply_edits(body, changes)
    if where == "item":
        body["items"] = [apply_edits(body["items"][0], changes), body["items"][1]]
        return body
    body[where] = apply_edits(body[where], changes)
    return body


@FUZZ
@given(edit=ORDER_EDITS)
def test_intake_answers_bad_orders_properly(shop, api, edit):
    body = edited_order(*edit)
    before = wide_snapshot()

    response = post_raw(api, ORDERS_URL, body)

    def unchanged():
        assert wide_snapshot() == before

    assert_answered_properly(response, unchanged)
    if response.status_code in (200, 201):
        assert response.json()["number"] == body["number"]


# A batch whose rows are edited, or replaced whole.
ROWS_EDITS = st.one_of(
    st.tuples(st.just("row"), st.integers(min_value=0, max_value=2), edits(ROW_KEYS)),
    st.tuples(st.just("whole"), st.just(0), st.one_of(VALUES, DEEP)),
    st.tuples(st.just("rows"), st.just(0), st.lists(VALUES, min_size=1, max_size=5)),
)


@FUZZ
@given(edit=ROWS_EDITS)
def test_bulk_upsert_answers_bad_batches_properly(shop, api, edit):
    kind, index, changes = edit
    rows = [{"stock_location": "ST1", "sku": "A", "quantity": 900},
            {"stock_location": "ST1", "sku": "B", "quantity": 800},
            {"stock_location": "ST1", "sku": "C", "quantity": 7}]
    if kind == "row":
        rows[index] = apply_edits(rows[index], changes)
        body = rows
    else:
        body = changes
    before = sorted(Stock.objects.values_list("stock_location_id", "sku", "quantity", "reserved"))

    response = post_raw(api, UPSERT_URL, body)

    def unchanged():
        assert sorted(Stock.objects.values_list("stock_location_id", "sku", "quantity", "reserved")) \
            == before

    assert_answered_properly(response, unchanged)
