"""RQ jobs: take ids, call one service."""

from .services import execute_run


def run_match(run_id: int) -> None:
    """Match one queued run (a repeated delivery finds it already claimed and does nothing)."""
    execute_run(run_id)


def daily_runs() -> dict:
    """One scheduled run per active channel per day (SPEC §9 "runs can be scheduled daily per channel").

    Safe to call every minute (run_periodic, rqcron): a channel that already had a scheduled run
    today is skipped; the day is the settings time zone's.
    """
    from django.db import transaction
    from django.utils import timezone

    from refunds.models import Channel

    from .models import MatchRun
    from .services import start_run

    today = timezone.localdate()
    started = 0
    for channel in Channel.objects.filter(active=True):
        with transaction.atomic():
            Channel.objects.select_for_update().filter(pk=channel.pk).first()  # one scheduler at a time
            if MatchRun.objects.filter(channel=channel, started_by__isnull=True,
                                       created_at__date=today).exists():
                continue
            start_run(channel=channel)
            started += 1
    return {"started": started}
