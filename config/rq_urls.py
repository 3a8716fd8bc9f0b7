"""django-rq's dashboard, for superusers only.

Job arguments can carry customer data and the dashboard can empty queues (payouts included), so
`is_staff` (which every back-office role has) is not enough.
"""

from django.contrib.auth.decorators import user_passes_test
from django_rq.urls import get_admin_urlpatterns, get_api_urlpatterns

superuser_required = user_passes_test(lambda user: user.is_active and user.is_superuser)

app_name = "django_rq"
urlpatterns = get_api_urlpatterns() + get_admin_urlpatterns(view_wrapper=superuser_required)
