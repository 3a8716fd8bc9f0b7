"""RQ jobs: take ids, call one service."""

from .services import execute_run


def run_match(run_id: int) -> None:
    """Match one queued run (a repeated delivery finds it already claimed and does nothing)."""
    execute_run(run_id)


def daily_runs() -> None:
    """Scheduled daily: one run per active channel (SPEC §9 "runs can be scheduled daily per channel")."""
    from refunds.models import Channel

    from .services import start_run

    for channel in Channel.objects.filter(active=True):
        start_run(channel=channel)
