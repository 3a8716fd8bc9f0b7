"""Demo hook for `manage.py seed_demo` (REFUNDLOOP["DEMO_SEEDERS"]): the default templates, idempotent.

The data migration installs them already; this re-installs any a demo database lost (e.g. after a
flush) and never overwrites an edited one.
"""

from django.apps import apps


def seed(stdout) -> None:
    from notifications.defaults import install_default_templates

    created = install_default_templates(apps.get_model)
    stdout.write(f"Notification templates: {created} installed" if created else "Notification templates: present.")
