"""Ops back office URLs (namespace "ops"); access per URL name is in refunds.screens.SCREEN_ROLES."""

from django.urls import path

from refunds.views import queues, tickets

app_name = "ops"

urlpatterns = [
    path("", queues.queue, name="queue"),
    path("assign/", queues.bulk_assign, name="bulk-assign"),
    path("tickets/<str:reference>/", tickets.ticket_detail, name="ticket"),
    path("tickets/<str:reference>/act/", tickets.ticket_action, name="ticket-action"),
    path("tickets/<str:reference>/comment/", tickets.ticket_comment, name="ticket-comment"),
    path("tickets/<str:reference>/assign/", tickets.ticket_assign, name="ticket-assign"),
    path("tickets/<str:reference>/checklist/", tickets.ticket_checklist, name="ticket-checklist"),
]
