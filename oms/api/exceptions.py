"""The one exception handler: every API error answers ``{"error": {...}, "status_code": N}``."""

import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from oms.errors import DomainError

logger = logging.getLogger(__name__)


def envelope(error: dict, status_code: int, headers: dict | None = None) -> Response:
    return Response({"error": error, "status_code": status_code}, status=status_code, headers=headers)


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        headers = {"Idempotent-Replayed": "true"} if getattr(exc, "replayed", False) else None
        return envelope(exc.as_error(), exc.http_status, headers)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})
    elif isinstance(exc, OverflowError):
        # Only an id or number far beyond any row's range gets here (SQLite's integer limit).
        if context.get("kwargs", {}).get("pk"):
            exc = exceptions.NotFound()
        else:
            exc = exceptions.ValidationError({"non_field_errors": ["A number is out of range."]})
    elif isinstance(exc, IntegrityError):
        # The database's constraints are the last line of defence; a conflict is not a crash.
        logger.warning("Integrity error answered as 409: %s", exc)
        return envelope({"non_field_errors": "The request conflicts with the current data; "
                                             "reload and retry.", "error_code": "oms_000_1"},
                        status.HTTP_409_CONFLICT)
    elif isinstance(exc, (OperationalError, InterfaceError)):
        # The database went away mid-request (failover, restart, a killed connection) or a lock wait
        # timed out: the transaction rolled back, nothing was written, and the same request (with
        # its Idempotency-Key) can be sent again.
        logger.warning("Database unavailable, answered 503: %s", exc)
        return envelope({"detail": "The database is unavailable; retry the request.",
                         "error_code": "oms_000_2"}, status.HTTP_503_SERVICE_UNAVAILABLE,
                        {"Retry-After": "1"})
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, list):
        data = {"non_field_errors": data}
    response.data = {"error": data, "status_code": response.status_code}
    return response
