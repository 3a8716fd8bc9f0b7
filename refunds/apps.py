from django.apps import AppConfig


class RefundsConfig(AppConfig):
    name = "refunds"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from refunds.services.webhooks import on_ticket_transitioned
        from refunds.signals import ticket_transitioned

        ticket_transitioned.connect(on_ticket_transitioned, dispatch_uid="refunds.partner_webhooks")
