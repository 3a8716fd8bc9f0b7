"""The ticket FilterSet shared by the ops queues and the API list (one set of filter rules)."""

from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q
from django_filters.fields import IsoDateTimeField

from refunds.lifecycle import State
from refunds.models import Channel, Policy, RefundTicket
from refunds.models.tickets import SlaStatus


class UtcIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 with any offset, normalised to UTC (PostgreSQL refuses offsets beyond ±15:59)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ValidationError("Enter a date/time within the supported range.", code="invalid")


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class TicketFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=State.choices)
    channel = django_filters.ModelChoiceFilter(field_name="channel", to_field_name="code",
                                               queryset=Channel.objects.all())
    region = django_filters.CharFilter(field_name="region", lookup_expr="iexact")
    policy = django_filters.ModelChoiceFilter(field_name="policy", to_field_name="code",
                                              queryset=Policy.objects.all())
    assignee = django_filters.CharFilter(field_name="assignee__username")
    sla_status = django_filters.ChoiceFilter(choices=SlaStatus.choices)
    amount_min = django_filters.NumberFilter(field_name="amount", lookup_expr="gte")
    amount_max = django_filters.NumberFilter(field_name="amount", lookup_expr="lte")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    order_ref = django_filters.CharFilter(field_name="payment__order_ref")
    payment_ref = django_filters.CharFilter(field_name="payment__payment_ref")
    q = django_filters.CharFilter(method="search", label="Search")

    class Meta:
        model = RefundTicket
        fields: list[str] = []

    def search(self, queryset, name, value):
        """Reference, order reference or customer e-mail (exact, case-insensitive: all are indexed keys)."""
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(reference__iexact=value) | Q(payment__order_ref=value) | Q(customer_email__iexact=value)
        )
