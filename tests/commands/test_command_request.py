"""The command request read without the serializer (commands/views.py: plain_command_request) is
exactly what CommandRequestSerializer makes of the same body, or left to the serializer."""

from hypothesis import given, settings
from hypothesis import strategies as st

from commands.serializers import CommandRequestSerializer
from commands.views import plain_command_request

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=300)
JSON = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)
SLUGS = st.text(max_size=300) | st.sampled_from(["package__complete_packaging__waiting__packed", " a", "a ",
                                                 "a\x00b", "\ud800", "x" * 255, "x" * 256, ""])
BODIES = st.fixed_dictionaries({}, optional={
    "slug": SLUGS | JSON, "transition": st.none() | st.integers() | JSON,
    "input_parameters": st.just({}) | JSON}) | st.dictionaries(st.text(max_size=20), JSON, max_size=3) | JSON


def _serializer(body):
    serializer = CommandRequestSerializer(data=body)
    return serializer.validated_data if serializer.is_valid() else None


@settings(max_examples=600, deadline=None)
@given(BODIES)
def test_a_body_read_plainly_is_what_the_serializer_validates(body):
    plain = plain_command_request(body)
    if plain is not None:
        expected = _serializer(body)
        assert expected is not None
        assert (plain.get("transition"), plain.get("slug") or None, plain.get("input_parameters") or {}) == (
            expected.get("transition"), expected.get("slug") or None, expected.get("input_parameters") or {})


def test_the_common_request_is_read_plainly_and_anything_else_is_not():
    slug = "package__complete_packaging__waiting__packed"
    assert plain_command_request({"slug": slug}) == {"slug": slug, "transition": None, "input_parameters": {}}
    assert plain_command_request({"slug": slug, "input_parameters": {}, "transition": None}) is not None
    for other in ({"slug": slug, "input_parameters": {"reason": "x"}}, {"slug": slug, "transition": 3},
                  {"slug": f" {slug}"}, {"slug": slug, "extra": 1}, {"slug": "ş"}, {"slug": ""}, [slug],
                  {"slug": slug, "input_parameters": None}):
        assert plain_command_request(other) is None, other
