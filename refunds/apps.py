from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _install_permissions(sender, **kwargs):
    from django.apps import apps

    from refunds.defaults import install_role_permissions

    install_role_permissions(apps.get_model)


class RefundsConfig(AppConfig):
    name = "refunds"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(_install_permissions, sender=self, dispatch_uid="refunds_role_permissions")
        from refunds.services.webhooks import on_ticket_transitioned
        from refunds.signals import ticket_transitioned

        ticket_transitioned.connect(on_ticket_transitioned, dispatch_uid="refunds.partner_webhooks")
