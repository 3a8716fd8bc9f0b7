"""Enqueueing jobs: RQ queues in production, inline in embedded mode (SPEC §1, `ASYNC: False`).

Callers enqueue from `transaction.on_commit`, so a job never sees uncommitted rows and a rolled
back request never starts one. Embedded mode runs the job in-process right away (no Redis needed).
"""

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def _resolve(func):
    return import_string(func) if isinstance(func, str) else func


def enqueue(queue: str, func, *args, **kwargs):
    """Run `func(*args, **kwargs)` as a job on `queue`. `func` may be a dotted path."""
    if _paused.get():
        logger.debug("job %s not enqueued (jobs paused)", func)
        return None
    if settings.JOBS_INLINE:
        try:
            return _resolve(func)(*args, **kwargs)
        except Exception:
            # Like a failed RQ job: logged, and the sweeper/periodic pass picks the work up again.
            logger.exception("inline job %s failed", func)
            return None
    import django_rq

    return django_rq.get_queue(queue).enqueue(func, *args, **kwargs)


def enqueue_at(when: datetime, queue: str, func, *args, **kwargs):
    """Schedule a job (RQ scheduler). Embedded mode relies on `run_periodic` instead and does nothing."""
    if settings.JOBS_INLINE:
        return None
    import django_rq

    return django_rq.get_queue(queue).enqueue_at(when, func, *args, **kwargs)


_paused: ContextVar[bool] = ContextVar("refundloop_jobs_paused", default=False)


@contextmanager
def jobs_paused():
    """While active (in this thread/context only), `enqueue` drops jobs; the sweeper and periodic
    passes pick such work up later. seed_demo uses it to leave tickets "waiting in the queue"."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)
