"""Seed a demo back office (idempotent; never resets data it did not create)."""

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from refunds import demo
from refunds.defaults import install_all


class Command(BaseCommand):
    help = "Create demo users per role, policies, payments and a few hundred tickets in every state."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=demo.DEMO_TICKETS)

    def handle(self, *args, **options):
        install_all(apps.get_model)
        demo.seed_users(self.stdout)
        demo.seed_policies()
        demo.seed_tickets(self.stdout, options["tickets"])
        for path in settings.REFUNDLOOP["DEMO_SEEDERS"]:
            import_string(path)(self.stdout)
        demo.print_status_links(self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
