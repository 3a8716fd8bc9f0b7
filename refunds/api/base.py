"""The base API view and OpenAPI helpers shared by every endpoint."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.views import APIView

from .exception_handlers import PROBLEM_CONTENT_TYPE
from .serializers import ProblemSerializer

PROBLEM_DESCRIPTIONS = {
    400: "Malformed request (bad JSON, missing Idempotency-Key).",
    401: "Missing, invalid, revoked or expired API key.",
    403: "The key lacks the scope, or RACI refuses the action.",
    404: "No such object, or not yours.",
    405: "Method not allowed.",
    409: "Conflict: state does not allow it, request in progress, or duplicate refund.",
    415: "Send application/json.",
    422: "Validation failed: see `errors`.",
    429: "Too many requests: see Retry-After.",
}
AUTHENTICATED = (401, 403, 405, 429)


def problems(*codes: int) -> dict:
    """`responses=` entries for problem+json errors (401/403/405/429 are added for every endpoint)."""
    return {
        (code, PROBLEM_CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description=PROBLEM_DESCRIPTIONS[code])
        for code in sorted(set(codes) | set(AUTHENTICATED))
    }


IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=True,
    description="Unique per request (e.g. a UUID); retries with the same key and body replay the first response.",
)
IDEMPOTENCY_HEADER_OPTIONAL = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="Optional: retries with the same key and body replay the first response.",
)
_page_serializers: dict[str, type] = {}


def page_of(item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """A `{"next", "previous", "results"}` page serializer for the OpenAPI schema."""
    name = item.__name__.removesuffix("Output") + "Page"
    if name not in _page_serializers:
        _page_serializers[name] = type(name, (serializers.Serializer,), {
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        })
    return _page_serializers[name]


def _has_bad_characters(value: str) -> bool:
    return "\x00" in value or any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)


class ApiView(APIView):
    """Bearer-key auth, scope per method (`required_scopes`), per-key throttling, problem+json errors."""

    required_scopes: dict[str, str] = {}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        for key, values in request.query_params.lists():
            if _has_bad_characters(key) or any(_has_bad_characters(v) for v in values):
                raise exceptions.ParseError("Query parameters may not contain NUL or surrogate characters.")

    @property
    def actor(self):
        if not hasattr(self.request, "_refundloop_actor"):
            self.request._refundloop_actor = self.request.auth.actor()
        return self.request._refundloop_actor

    def paginate(self, queryset, serializer_class, paginator_class, **context):
        paginator = paginator_class()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        data = serializer_class(page, many=True, context={"request": self.request, **context}).data
        return paginator.get_paginated_response(data)
