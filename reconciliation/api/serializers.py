from decimal import Decimal

from rest_framework import serializers

from refunds.money import currency_exponent

from ..importers import FORMATS


def money(minor, currency) -> str | None:
    if minor is None:
        return None
    return str(Decimal(int(minor)).scaleb(-currency_exponent(currency or "USD")))


class StatementUploadInput(serializers.Serializer):
    file = serializers.FileField()
    format = serializers.ChoiceField(choices=sorted(FORMATS))
    kind = serializers.ChoiceField(choices=["statement", "ledger"], required=False)
    mapping = serializers.CharField(required=False, max_length=50, help_text="Column mapping name (generic_csv).")
    channel = serializers.CharField(required=False, max_length=32)


class LineErrorOutput(serializers.Serializer):
    line = serializers.IntegerField()
    error = serializers.CharField()


class StatementOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    format = serializers.CharField()
    source = serializers.CharField()
    filename = serializers.CharField()
    status = serializers.CharField()
    line_count = serializers.IntegerField()
    imported_count = serializers.IntegerField()
    duplicate_count = serializers.IntegerField()
    errors = LineErrorOutput(many=True)
    created_at = serializers.DateTimeField()


class RunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    channel = serializers.CharField(source="channel.code", allow_null=True, default=None)
    status = serializers.CharField()
    phase = serializers.CharField()
    three_way = serializers.BooleanField()
    rows_done = serializers.IntegerField()
    rows_total = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class ExceptionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.CharField()
    status = serializers.CharField()
    reference = serializers.SerializerMethodField()
    line = serializers.SerializerMethodField()
    currency = serializers.CharField()
    expected = serializers.SerializerMethodField()
    actual = serializers.SerializerMethodField()
    difference = serializers.SerializerMethodField()
    assignee = serializers.CharField(source="assignee.username", allow_null=True, default=None)
    due_at = serializers.DateTimeField()
    resolution = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_reference(self, obj) -> str | None:
        return obj.ticket.reference if obj.ticket_id else None

    def get_line(self, obj) -> dict | None:
        if not obj.line_id:
            return None
        return {"source": obj.line.source, "external_id": obj.line.external_id, "kind": obj.line.kind}

    def get_expected(self, obj) -> str | None:
        return money(obj.expected_minor, obj.currency)

    def get_actual(self, obj) -> str | None:
        return money(obj.actual_minor, obj.currency)

    def get_difference(self, obj) -> str | None:
        return money(obj.difference_minor, obj.currency)
