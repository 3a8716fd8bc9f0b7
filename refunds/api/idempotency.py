"""`Idempotency-Key` handling for creating requests (SPEC §12).

Insert-first design: the (API key, Idempotency-Key) row is inserted and committed *before* the work
runs, so on PostgreSQL concurrent requests with one key lose on the unique constraint and see
"in progress" (409) — exactly one of them does the work. The response is stored in the same
transaction as the work, so a crash leaves either both or neither; an "in progress" row whose
request died is taken over after IN_PROGRESS_STALE_AFTER.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.response import Response

from refunds.models import IdempotencyRecord
from refunds.models.api import IdempotencyStatus

from .exception_handlers import PROBLEM_CONTENT_TYPE, problem, problem_for

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
IN_PROGRESS_STALE_AFTER = timedelta(minutes=2)


def fingerprint(request) -> str:
    """Method, path and the parsed body in canonical form (key order and whitespace do not matter)."""
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _claim(api_key, key: str, fp: str) -> tuple[IdempotencyRecord | None, bool]:
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(api_key=api_key, key=key, fingerprint=fp), True
        except IntegrityError:
            pass
        record = IdempotencyRecord.objects.filter(api_key=api_key, key=key).first()
        if record is None:
            continue  # the holder gave the key back (unexpected error): try to claim it again
        now = timezone.now()
        if (record.status == IdempotencyStatus.IN_PROGRESS and record.fingerprint == fp
                and record.created_at < now - IN_PROGRESS_STALE_AFTER):
            taken = IdempotencyRecord.objects.filter(
                pk=record.pk, status=IdempotencyStatus.IN_PROGRESS, created_at=record.created_at,
            ).update(created_at=now)
            if taken:
                record.created_at = now
                return record, True
        return record, False
    return None, False


def _complete(record: IdempotencyRecord, response: Response) -> None:
    body = json.loads(json.dumps(response.data, cls=DjangoJSONEncoder))
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status=IdempotencyStatus.COMPLETED, response_status=response.status_code, response_body=body,
        completed_at=timezone.now(),
    )


def replay(record: IdempotencyRecord) -> Response:
    content_type = PROBLEM_CONTENT_TYPE if record.response_status >= 400 else None
    return Response(record.response_body, status=record.response_status, content_type=content_type,
                    headers={REPLAYED_HEADER: "true"})


def run_idempotent(request, handler: Callable[[], Response], *, required: bool) -> Response:
    """Run `handler` at most once per (API key, Idempotency-Key); replay its first response afterwards."""
    key = request.headers.get(HEADER)
    if key is None or not key.strip():
        if required:
            return problem(400, "idempotency-key-missing", "Idempotency-Key required",
                           _("Send an “Idempotency-Key” header (e.g. a UUID) so retries never create twice."))
        return handler()
    key = key.strip()
    if len(key) > MAX_KEY_LENGTH:
        return problem(400, "idempotency-key-invalid", "Invalid Idempotency-Key",
                       _("The Idempotency-Key may be at most %(n)s characters.") % {"n": MAX_KEY_LENGTH})
    fp = fingerprint(request)
    record, claimed = _claim(request.auth, key, fp)
    if record is None:
        return problem(409, "idempotency-in-progress", "Request in progress",
                       _("A request with this Idempotency-Key is being processed; retry shortly."),
                       headers={"Retry-After": "1"})
    if not claimed:
        if record.fingerprint != fp:
            return problem(422, "idempotency-key-reused", "Idempotency-Key reused",
                           _("This Idempotency-Key was used with a different request; use a new key."))
        if record.status == IdempotencyStatus.IN_PROGRESS:
            return problem(409, "idempotency-in-progress", "Request in progress",
                           _("A request with this Idempotency-Key is being processed; retry shortly."),
                           headers={"Retry-After": "1"})
        return replay(record)
    try:
        with transaction.atomic():
            response = handler()
            _complete(record, response)
    except Exception as exc:
        response = problem_for(exc)
        if response is None:
            # Unexpected failure: give the key back so the client's retry can run the request.
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        _complete(record, response)
    return response


def purge_expired(now=None) -> int:
    """Delete records older than IDEMPOTENCY_KEEP_HOURS (≥ 24 h); for run_periodic / a daily job."""
    hours = max(24, settings.IDEMPOTENCY_KEEP_HOURS)
    cutoff = (now or timezone.now()) - timedelta(hours=hours)
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
