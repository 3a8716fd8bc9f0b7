from django.urls import path

from . import views

app_name = "status"

urlpatterns = [
    path("", views.lookup, name="lookup"),
    path("<str:token>/", views.status_page, name="page"),
    path("<str:token>/info/", views.provide_info, name="info"),
    path("<str:token>/consent/", views.consent, name="consent"),
    path("<str:token>/feedback/", views.feedback, name="feedback"),
    path("<str:token>/opt-out/", views.opt_out, name="opt_out"),
]
