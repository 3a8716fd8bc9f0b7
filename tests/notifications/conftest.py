"""Customer-side fixtures (shared with the notifications/status packages)."""

from tests.customer_fixtures import fresh_cache, inline_jobs, status_ticket  # noqa: F401

