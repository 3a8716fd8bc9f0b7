"""The one place where errors become `application/problem+json` (RFC 9457).

Translates DRF's own errors (parse, auth, permission, 404, 405, 415, throttling), Django's
Http404/PermissionDenied and the domain errors of refunds.errors. Anything else is logged and
answered as a generic 500 problem, never a stack trace.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from refunds.errors import DomainError, InvalidInput

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://refundloop.example/problems/"

# DRF exception class → (slug, title)
_DRF_TITLES = [
    (exceptions.ParseError, "malformed-request", "Malformed request"),
    (exceptions.AuthenticationFailed, "unauthenticated", "Authentication required"),
    (exceptions.NotAuthenticated, "unauthenticated", "Authentication required"),
    (exceptions.PermissionDenied, "forbidden", "Not permitted"),
    (exceptions.NotFound, "not-found", "Not found"),
    (exceptions.MethodNotAllowed, "method-not-allowed", "Method not allowed"),
    (exceptions.NotAcceptable, "not-acceptable", "Not acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported-media-type", "Unsupported media type"),
    (exceptions.Throttled, "rate-limited", "Too many requests"),
    (exceptions.ValidationError, "validation", "Validation failed"),
]


def problem(status_code: int, slug: str, title: str, detail: str, *, errors: dict | None = None,
            headers: dict | None = None, **extra) -> Response:
    body = {"type": TYPE_BASE + slug, "title": title, "status": status_code, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure → {"field.sub": ["message", …]} (non-field errors under "non_field_errors")."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            for name, messages in flatten_errors(value, f"{prefix}.{key}" if prefix else str(key)).items():
                flat.setdefault(name, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            flat[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                for name, messages in flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)).items():
                    flat.setdefault(name, []).extend(messages)
    else:
        flat[prefix or "non_field_errors"] = [str(detail)]
    return flat


def problem_for(exc) -> Response | None:
    """The problem response for a known exception, or None for an unexpected one."""
    if isinstance(exc, InvalidInput):
        return problem(exc.status, exc.type_slug, exc.title, exc.detail, errors=exc.errors)
    if isinstance(exc, DomainError):
        return problem(exc.status, exc.type_slug, exc.title, exc.detail or exc.title,
                       **{k: v for k, v in exc.extra.items() if isinstance(v, (str, int))})
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if not isinstance(exc, exceptions.APIException):
        return None
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
    slug, title = "error", "Request refused"
    for cls, cls_slug, cls_title in _DRF_TITLES:
        if isinstance(exc, cls):
            slug, title = cls_slug, cls_title
            break
    if isinstance(exc, exceptions.ValidationError):
        # Well-formed JSON with wrong fields: 422, like the domain's own validation.
        return problem(status.HTTP_422_UNPROCESSABLE_ENTITY, slug, title, _("Some fields are not valid."),
                       errors=flatten_errors(exc.detail), headers=headers)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return problem(exc.status_code, slug, title, str(detail), headers=headers)


def problem_exception_handler(exc, context):
    response = problem_for(exc)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        response = problem(500, "internal-error", "Internal error",
                           _("Something went wrong on our side; the request may be retried."))
    set_rollback()
    return response
