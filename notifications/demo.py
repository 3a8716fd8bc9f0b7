"""Demo hook for `manage.py seed_demo`: default templates (idempotent) and a few status links."""

from django.apps import apps


def seed(stdout) -> None:
    from notifications.defaults import install_default_templates
    from refunds.models import RefundTicket
    from refunds.status_tokens import status_url

    created = install_default_templates(apps.get_model)
    if created:
        stdout.write(f"notifications: {created} default templates installed")
    tickets = list(RefundTicket.objects.exclude(status_token_hash=None).order_by("-created_at")[:5])
    if tickets:
        stdout.write("Customer status pages (open on a phone too; add ?lang=zh-hans or ?lang=en):")
        for ticket in tickets:
            stdout.write(f"  {ticket.reference} [{ticket.state}] {status_url(ticket)}")
