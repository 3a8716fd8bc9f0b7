import pytest


@pytest.fixture(autouse=True)
def _inline_jobs(settings):
    """Matching runs execute in-process even when REDIS_URL is set: these tests are about the engine
    and the screens, not the queue (the RQ path is covered by the payout fault tests' worker)."""
    settings.JOBS_INLINE = True
