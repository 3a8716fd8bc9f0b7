from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import health
from refunds.views.auth import ThrottledLoginView

urlpatterns = [
    path("", RedirectView.as_view(url="/ops/", permanent=False)),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("ops/", include("refunds.urls")),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/webhooks/gateway/", include("refunds.urls_webhooks")),
    path("admin/rq/", include("config.rq_urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("status/", include("refunds.customer.urls")),
    path("finance/", include("reconciliation.urls")),
    path("api/v1/", include("refunds.api.urls")),
    path("api/v1/", include("reconciliation.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
# Keep last: unknown /api/v1/ paths answer problem+json 404 (routes added above still win).
urlpatterns.append(path("api/v1/", include("refunds.api.urls_fallback")))
