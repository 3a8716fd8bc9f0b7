"""Embedded mode's scheduler: run every periodic task once (or in a loop beside `runserver`).

In production the same task functions are scheduled by RQ's scheduler/cron instead.
"""

import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils.module_loading import import_string


def periodic_tasks():
    return [import_string(path) for path in settings.REFUNDLOOP["PERIODIC_TASKS"]]


def run_once(stdout=None) -> dict:
    results = {}
    for task in periodic_tasks():
        name = f"{task.__module__}.{task.__name__}"
        try:
            results[name] = task()
        except Exception as exc:  # one failing task must not stop the others
            results[name] = f"error: {exc.__class__.__name__}: {exc}"
    if stdout is not None:
        for name, outcome in results.items():
            stdout.write(f"{name}: {outcome}")
    return results


class Command(BaseCommand):
    help = "Run the periodic tasks (SLA escalations, payout sweeper, scheduled reconciliation) once or in a loop."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true")
        parser.add_argument("--interval", type=int, default=60, help="Seconds between passes with --loop.")

    def handle(self, *args, **options):
        if not options["loop"]:
            run_once(self.stdout)
            return
        while True:
            close_old_connections()
            run_once(self.stdout if options["verbosity"] > 1 else None)
            time.sleep(options["interval"])
