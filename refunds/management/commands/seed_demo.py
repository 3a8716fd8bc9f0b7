"""Seed a demo back office (idempotent; never resets data it did not create)."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from refunds import demo
from refunds.defaults import install_all

# Configuration the demo tickets rely on (calendars, SLA targets, SOP policies, notification templates).
BEFORE_TICKETS = ["refunds.sla_demo.seed", "refunds.sop_demo.seed", "notifications.demo.seed"]
# Scenarios that run through the live payout path and reconciliation.
AFTER_TICKETS = ["refunds.api.demo.seed", "refunds.payout_demo.seed", "reconciliation.demo.seed"]


def _seeders(paths):
    for path in paths:
        try:
            yield import_string(path)
        except ImportError:
            continue


class Command(BaseCommand):
    help = "Create demo users per role, policies, payments and a few hundred tickets in every state."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=demo.DEMO_TICKETS)

    def handle(self, *args, **options):
        install_all(apps.get_model)
        demo.seed_users(self.stdout)
        demo.seed_policies()
        for seed in _seeders(BEFORE_TICKETS):
            seed(self.stdout)
        demo.seed_tickets(self.stdout, options["tickets"])
        for seed in _seeders(AFTER_TICKETS):
            seed(self.stdout)
        demo.print_status_links(self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
