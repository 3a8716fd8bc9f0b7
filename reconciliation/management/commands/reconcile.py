"""manage.py reconcile [--channel CODE] [--two-way] [--no-apply]: run the matcher now (in-process)."""

from django.core.management.base import BaseCommand, CommandError

from reconciliation.models import MatchRun
from reconciliation.services import execute_run


class Command(BaseCommand):
    help = "Match imported statements and ledger lines against refunded tickets and report the outcome."

    def add_arguments(self, parser):
        parser.add_argument("--channel")
        parser.add_argument("--two-way", action="store_true", help="Do not require the ledger side.")
        parser.add_argument("--no-apply", action="store_true", help="Do not move tickets to reconciled.")

    def handle(self, *args, **options):
        from django.utils import timezone

        from reconciliation.models import Kind, StatementLine
        from refunds.models import Channel

        channel = None
        if options["channel"]:
            channel = Channel.objects.filter(code=options["channel"]).first()
            if channel is None:
                raise CommandError(f"No channel {options['channel']!r}")
        three_way = not options["two_way"] and StatementLine.objects.filter(kind=Kind.LEDGER).exists()
        run = MatchRun.objects.create(channel=channel, three_way=three_way, as_of=timezone.now(),
                                      apply_outcomes=not options["no_apply"])
        run = execute_run(run.pk)
        self.stdout.write(f"run #{run.pk} {run.status}")
        for key, value in sorted(run.counts.items()):
            self.stdout.write(f"  {key}: {value}")
