from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from refunds.signals import ticket_transitioned

        from .events import on_ticket_transitioned

        ticket_transitioned.connect(on_ticket_transitioned, dispatch_uid="notifications.on_ticket_transitioned")
