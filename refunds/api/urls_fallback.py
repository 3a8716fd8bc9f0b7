"""Included LAST in config/urls.py: any other path under /api/v1/ is a problem+json 404, not an HTML page.

Kept apart from refunds.api.urls so other apps' /api/v1/ routes (gateway webhooks, statements,
reconciliation), wherever they are included, still match before this.
"""

from django.urls import re_path

from .views import NotFoundView

urlpatterns = [re_path(r"^[\s\S]*$", NotFoundView.as_view(), name="api-not-found")]
