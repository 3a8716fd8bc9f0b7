"""/api/v1/ routes of reconciliation (included from config/urls.py before the API's catch-all)."""

from django.urls import path, re_path

from . import views

app_name = "recon-api"

urlpatterns = [
    path("statements/", views.StatementUploadView.as_view(), name="statements"),
    re_path(r"^statements/(?P<statement_id>[0-9]{1,18})/$", views.StatementDetailView.as_view(), name="statement"),
    path("recon/runs/", views.RunListView.as_view(), name="runs"),
    path("recon/exceptions/", views.ExceptionListView.as_view(), name="exceptions"),
]
