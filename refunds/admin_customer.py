"""Admin for what customers leave on the status page (import this module from refunds/admin.py)."""

from django.contrib import admin

from refunds.models import CustomerFeedback, StatusVisit


@admin.register(CustomerFeedback)
class CustomerFeedbackAdmin(admin.ModelAdmin):
    list_display = ["ticket", "rating", "created_at"]
    list_filter = ["rating"]
    search_fields = ["ticket__reference"]
    list_select_related = ["ticket"]
    readonly_fields = ["ticket", "rating", "comment", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(StatusVisit)
class StatusVisitAdmin(admin.ModelAdmin):
    list_display = ["ticket", "kind", "at"]
    list_filter = ["kind"]
    search_fields = ["ticket__reference"]
    list_select_related = ["ticket"]
    readonly_fields = ["ticket", "kind", "visitor", "at"]

    def has_add_permission(self, request):
        return False
