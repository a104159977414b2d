"""The one exception handler: every API error answers ``{"error": {...}, "status_code": N}``."""

import logging
import sys
import uuid

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

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
    elif isinstance(exc, DataError):
        # A value the database cannot store (a number or date out of its range): the input's
        # fault when it gets here, which validation should have caught — logged to fix that.
        logger.warning("Data error answered as 400: %s", exc, exc_info=exc)
        exc = exceptions.ValidationError(
            {"non_field_errors": ["A value is out of range or cannot be stored."]})
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, SuspiciousOperation):
        logger.warning("Suspicious request answered as 400: %s", exc)
        exc = exceptions.ParseError("Bad request.")
    response = drf_exception_handler(exc, context)
    if response is None:
        # The last resort: whatever else went wrong answers JSON, never an HTML page.
        return internal_error(exc, context.get("request"))
    data = response.data
    if isinstance(data, list):
        data = {"non_field_errors": data}
    response.data = {"error": data, "status_code": response.status_code}
    return response


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


INTERNAL_ERROR = "Internal error"


def internal_error(exc: BaseException, request=None) -> Response:
    """An unexpected exception: rolled back, logged with its traceback under a fresh error id,
    answered ``{"error": {"detail": "Internal error", "error_id": <id>}, "status_code": 500}``
    (the id lets support find the traceback; nothing of the exception reaches the client)."""
    set_rollback()
    error_id = _log_internal_error(exc, request)
    return envelope({"detail": INTERNAL_ERROR, "error_id": error_id}, status.HTTP_500_INTERNAL_SERVER_ERROR)


def _log_internal_error(exc: BaseException | None, request) -> str:
    error_id = str(uuid.uuid4())
    method = getattr(request, "method", "-")
    path = getattr(request, "path", "-")
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else True
    logger.error("Internal error %s on %s %s", error_id, method, path, exc_info=exc_info,
                 extra={"error_id": error_id})
    return error_id


# -- Django's error views (errors outside DRF views: URL resolution, middleware) -----------------
# /api/ answers JSON in the envelope; other paths (admin) keep Django's pages.
API_PREFIX = "/api/"


def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def _json(error: dict, status_code: int) -> JsonResponse:
    return JsonResponse({"error": error, "status_code": status_code}, status=status_code)


def bad_request(request, exception, template_name=defaults.ERROR_400_TEMPLATE_NAME):
    if _is_api(request):
        return _json({"detail": "Bad request."}, 400)
    return defaults.bad_request(request, exception, template_name)


def permission_denied(request, exception, template_name=defaults.ERROR_403_TEMPLATE_NAME):
    if _is_api(request):
        return _json({"detail": exceptions.PermissionDenied.default_detail}, 403)
    return defaults.permission_denied(request, exception, template_name)


def page_not_found(request, exception, template_name=defaults.ERROR_404_TEMPLATE_NAME):
    if _is_api(request):
        return _json({"detail": exceptions.NotFound.default_detail}, 404)
    return defaults.page_not_found(request, exception, template_name)


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    """handler500: Django calls it while handling the exception, so sys.exc_info() has it."""
    if _is_api(request):
        error_id = _log_internal_error(sys.exc_info()[1], request)
        return _json({"detail": INTERNAL_ERROR, "error_id": error_id}, 500)
    return defaults.server_error(request, template_name)
