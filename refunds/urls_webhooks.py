"""Inbound gateway webhooks (included from config/urls.py before the API's own routes)."""

from django.urls import path

from refunds import webhooks

urlpatterns = [
    path("<slug:channel>/", webhooks.gateway_webhook, name="gateway-webhook"),
]
