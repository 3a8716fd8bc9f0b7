from django.urls import path

from . import views

app_name = "finance"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("imports/", views.imports, name="imports"),
    path("runs/", views.runs, name="runs"),
    path("exceptions/", views.exceptions, name="exceptions"),
    path("exceptions/<int:pk>/", views.exception_detail, name="exception"),
]
