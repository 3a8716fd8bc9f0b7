"""Verify every ticket's hash-chained transition log; exit non-zero at the first tampered chain."""

import sys

from django.core.management.base import BaseCommand

from refunds.audit import verify_all


class Command(BaseCommand):
    help = "Verify the tamper-evident transition log (each entry's hash and its link to the previous one)."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Report every broken ticket, not only the first.")

    def handle(self, *args, **options):
        broken = 0
        for problem in verify_all():
            broken += 1
            self.stderr.write(self.style.ERROR(f"BROKEN: {problem}"))
            if not options["all"]:
                break
        if broken:
            self.stderr.write(self.style.ERROR("The transition log has been tampered with."))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS("Transition log verified: every chain is intact."))
