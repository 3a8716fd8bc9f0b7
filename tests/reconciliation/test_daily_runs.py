"""Daily scheduled runs: one per active channel per day, however often the scheduler calls."""

import pytest

from reconciliation.jobs import daily_runs
from reconciliation.models import MatchRun
from refunds.models import Channel

pytestmark = pytest.mark.django_db


def test_daily_runs_start_one_run_per_channel_per_day(defaults, settings):
    settings.JOBS_INLINE = True
    active = Channel.objects.filter(active=True).count()
    assert daily_runs() == {"started": active}
    assert daily_runs() == {"started": 0}
    assert MatchRun.objects.filter(started_by__isnull=True).count() == active
