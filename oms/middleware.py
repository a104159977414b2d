"""Request id and HTTP metrics, the outermost middleware."""

from __future__ import annotations

import re
import time
import uuid

from oms import metrics
from oms.logging import request_id_var

HEADER = "X-Request-ID"
# A caller's (or the load balancer's) id is kept when it is a sane token; anything else (too long,
# spaces, control characters that could forge log lines) is replaced by a fresh one.
ACCEPTED_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+=/-]{0,127}")


class RequestIdMiddleware:
    """Takes ``X-Request-ID`` from the request or makes one, puts it on every log line written while
    the request is served (oms.logging), echoes it in the response, and counts the request."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(HEADER, "")
        request_id = incoming if ACCEPTED_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        # Cleared when the response is closed (request_finished, oms.apps), not here: Django logs a
        # 4xx/5xx response ("Not Found: /x") after the middleware has returned it.
        request_id_var.set(request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        metrics.http_request_observed(request, response.status_code, time.perf_counter() - started)
        response[HEADER] = request_id
        return response
