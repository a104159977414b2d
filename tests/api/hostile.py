"""Hypothesis strategies for what a hostile or broken client sends, and the checks every answer
to it must pass (the fuzz tests: tests/api/test_fuzz_*.py)."""

from __future__ import annotations

import json
from collections.abc import Callable

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st

# Bounded and reproducible: a fixed derandomized search, no example database in the tree.
FUZZ = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

EDGE_INTEGERS = st.sampled_from([
    0, -1, 1, 2**31 - 1, 2**31, -(2**31) - 1, 2**32, 1099511627776, 2**63 - 1, 2**63, -(2**63) - 1,
    2**64, 10**30, -(10**30)])
EDGE_TEXT = st.sampled_from([
    "", " ", "²", "٣", "1_000", "0x10", "1e309", "-0", "NaN", "Infinity", "null", "true", "[]",
    "\u0000", "a\u0000b", "\ud800", "x" * 5000, "' OR 1=1 --", "<script>alert(1)</script>",
    "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "99999-01-01", "2024-02-30",
    "9223372036854775808", "99999999999999999999999", "İstanbul", "🙂" * 40])
EDGE_FLOATS = st.sampled_from([float("nan"), float("inf"), float("-inf"), 1e308, -1e308, 0.5, 1.0, -0.0])

SCALARS = st.one_of(EDGE_INTEGERS, EDGE_TEXT, EDGE_FLOATS, st.integers(), st.text(max_size=30),
                    st.booleans(), st.none())
VALUES = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)),
    max_leaves=6)
DEEP = st.integers(min_value=30, max_value=3000).map(lambda n: "[" * n + "]" * n)


def edits(keys: list[str]) -> st.SearchStrategy[list[tuple[str, object]]]:
    """1-3 (key, value) edits of a JSON object: its keys set to hostile values, or unknown keys."""
    key = st.one_of(st.sampled_from(keys), st.sampled_from(["unknown", "", "a\u0000", "\ud800"]),
                    st.text(max_size=10))
    return st.lists(st.tuples(key, VALUES), min_size=1, max_size=3)


def apply_edits(base: dict, changes: list[tuple[str, object]]) -> dict:
    body = dict(base)
    for key, value in changes:
        body[key] = value
    return body


def raw_json(value) -> str:
    """JSON as a client may send it: NaN/Infinity tokens and lone surrogates (escaped) included —
    DRF's test renderer would refuse to send those."""
    return json.dumps(value)


def post_raw(client, url: str, body, **headers):
    data = body if isinstance(body, str) else raw_json(body)
    return client.post(url, data=data, content_type="application/json", headers=headers)


def assert_answered_properly(response, unchanged: Callable[[], None]) -> None:
    """Never a 5xx; a refusal is JSON in the envelope and changed nothing."""
    event(f"HTTP {response.status_code}")  # pytest --hypothesis-show-statistics shows the mix
    assert response.status_code < 500, (response.status_code, response.content[:500])
    assert response["Content-Type"] == "application/json", response.content[:200]
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error", "status_code"}, body
        assert body["status_code"] == response.status_code
        assert isinstance(body["error"], dict) and body["error"], body
        unchanged()
