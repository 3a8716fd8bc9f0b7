"""/api/v1/ routes (SPEC §12). `webhooks/gateway/<channel>/` is mounted by the payout app, before the catch-all."""

from django.urls import path, re_path

from . import views, webhook_views

app_name = "api"

REF = r"(?P<reference>[A-Za-z0-9-]{1,40})"
ID = r"[0-9]{1,18}"  # fits a bigint: larger numbers are a 404, never a database error

urlpatterns = [
    path("payments/", views.PaymentUpsertView.as_view(), name="payments"),
    path("refunds/", views.RefundCollectionView.as_view(), name="refunds"),
    re_path(rf"^refunds/{REF}/$", views.RefundDetailView.as_view(), name="refund"),
    re_path(rf"^refunds/{REF}/events/$", views.RefundEventsView.as_view(), name="refund-events"),
    re_path(rf"^refunds/{REF}/transitions/$", views.RefundTransitionView.as_view(), name="refund-transitions"),
    re_path(rf"^refunds/{REF}/cancel/$", views.RefundCancelView.as_view(), name="refund-cancel"),
    re_path(rf"^refunds/{REF}/info/$", views.RefundInfoView.as_view(), name="refund-info"),
    path("webhook-endpoints/", webhook_views.WebhookEndpointCollectionView.as_view(), name="webhook-endpoints"),
    re_path(rf"^webhook-endpoints/(?P<endpoint_id>{ID})/$", webhook_views.WebhookEndpointDetailView.as_view(),
            name="webhook-endpoint"),
    re_path(rf"^webhook-endpoints/(?P<endpoint_id>{ID})/deliveries/$",
            webhook_views.WebhookDeliveryListView.as_view(), name="webhook-deliveries"),
    re_path(rf"^webhook-endpoints/(?P<endpoint_id>{ID})/deliveries/(?P<delivery_id>{ID})/replay/$",
            webhook_views.WebhookDeliveryReplayView.as_view(), name="webhook-delivery-replay"),
]
