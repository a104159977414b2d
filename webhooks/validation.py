"""Subscription checks shared by the API serializer and the admin form. Each returns a list of
problems (empty = fine)."""

from __future__ import annotations

import re

from webhooks.events import pattern_is_valid

STRATEGIES = ("fixed", "linear", "exponential", "random")
RESERVED_HEADERS = {"content-type", "x-oms-event", "x-oms-delivery", "x-oms-timestamp", "x-oms-signature"}
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def event_type_problems(value: str) -> list[str]:
    return [] if pattern_is_valid(value) else [f"'{value}' matches no event of the catalogue."]


def target_url_problems(value: str) -> list[str]:
    return [] if value.lower().startswith(("http://", "https://")) else ["Use an http or https URL."]


def headers_problems(value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, dict):
        return ["Use an object of header names to values."]
    problems = []
    clash = sorted(k for k in value if str(k).lower() in RESERVED_HEADERS)
    if clash:
        problems.append(f"These headers are set by the OMS: {', '.join(clash)}.")
    for name, text in value.items():
        if not _TOKEN.match(str(name)):
            problems.append(f"'{name}' is not a valid header name.")
        elif not isinstance(text, str) or not text.isascii() or not text.isprintable():
            problems.append(f"The value of '{name}' must be printable ASCII text.")
    return problems


def retry_config_problems(value) -> list[str]:
    if not isinstance(value, dict):
        return ['Use {"strategy": "fixed|linear|exponential|random", "countdown": s, "max_retries": n}.']
    problems = []
    if value.get("strategy") not in STRATEGIES:
        problems.append(f"strategy must be one of {', '.join(STRATEGIES)}.")
    countdown, retries = value.get("countdown"), value.get("max_retries")
    if not isinstance(countdown, int) or isinstance(countdown, bool) or not 0 <= countdown <= 86400:
        problems.append("countdown must be a whole number of seconds from 0 to 86400.")
    if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 50:
        problems.append("max_retries must be a whole number from 0 to 50.")
    unknown = sorted(set(value) - {"strategy", "countdown", "max_retries"})
    if unknown:
        problems.append(f"Unknown keys: {', '.join(unknown)}.")
    return problems
