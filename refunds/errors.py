"""Domain errors. Views, the API (one exception handler) and admin translate these; nothing else does."""

# RFC 9457 problem `type` URIs are this base plus the error's slug (API and inbound webhooks alike).
PROBLEM_TYPE_BASE = "https://refundloop.example/problems/"


class DomainError(Exception):
    """Base of every rule refusal; `detail` is safe to show to the caller."""

    status = 400
    title = "Request refused"
    type_slug = "refused"

    def __init__(self, detail: str = "", **extra):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(DomainError):
    """Field-level validation; `errors` maps each field to all of its messages."""

    status = 422
    title = "Validation failed"
    type_slug = "validation"

    def __init__(self, errors: dict[str, list[str]], detail: str = "Some fields are not valid."):
        super().__init__(detail)
        self.errors = {field: [str(m) for m in messages] for field, messages in errors.items()}


class TransitionForbidden(DomainError):
    """RACI refuses: the detail names the roles that may act."""

    status = 403
    title = "Not permitted"
    type_slug = "forbidden"


class TransitionNotAllowed(DomainError):
    """The ticket's state (or a rule that depends on it) does not allow this transition now."""

    status = 409
    title = "Transition not allowed"
    type_slug = "transition-not-allowed"


class Conflict(DomainError):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class NotFound(DomainError):
    status = 404
    title = "Not found"
    type_slug = "not-found"
