from rest_framework import parsers
from rest_framework.exceptions import ParseError

from oms.api.serializers import MAX_JSON_DEPTH

# How deep a request body may nest. Python's JSON decoder refuses ~1000 levels with a
# RecursionError (not a ValueError, so DRF would answer 500), and anything deep enough to pass
# it can still exhaust the stack later (re-encoding a JSON field): no OMS request needs more.
MAX_BODY_DEPTH = MAX_JSON_DEPTH + 8
TOO_DEEP = f"JSON parse error - nested deeper than {MAX_BODY_DEPTH} levels."
# "\ud800" is valid JSON syntax but no Unicode text: such a string cannot be encoded (into a
# database query, a log line, an error message echoing it) and would crash whatever touches it.
SURROGATE = "JSON parse error - a string holds an unpaired surrogate (\\ud800-\\udfff)."


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing with a 400 what would crash later: bodies nested too deeply
    and strings (keys included) that are not Unicode text."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        problem = _problem(data)
        if problem:
            raise ParseError(problem)
        return data


def _problem(data) -> str | None:
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _has_surrogate(item):
                return SURROGATE
            continue
        if isinstance(item, dict):
            children = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_BODY_DEPTH:
            return TOO_DEEP
        stack.extend((child, depth + 1) for child in children)
    return None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
