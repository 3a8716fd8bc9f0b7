"""Input and output serializers. Inputs check types and shapes only; rules live in the services."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from refunds import raci
from refunds.eta import refund_eta
from refunds.lifecycle import TRANSITIONS, State
from refunds.models.audit import ActorKind, LogKind
from refunds.models.tickets import SlaStatus
from refunds.money import quantize
from refunds.status_tokens import status_url

DECIMAL_PATTERN = r"^[0-9]{1,14}(\.[0-9]{1,4})?$"
TRANSITION_NAMES = sorted(TRANSITIONS)


class MoneyString(serializers.CharField):
    """Amounts travel as decimal strings ("20.00"); refunds.money decides what is valid."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)


# --- Problem (error) body -------------------------------------------------------------------------

class ProblemSerializer(serializers.Serializer):
    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False,
                                   help_text="Validation errors: field → messages.")
    existing_reference = serializers.CharField(required=False, help_text="On a duplicate refund (409).")


# --- Payments -------------------------------------------------------------------------------------

class PaymentInput(serializers.Serializer):
    payment_ref = serializers.CharField(max_length=100)
    order_ref = serializers.CharField(max_length=100)
    channel = serializers.CharField(max_length=32)
    amount = MoneyString()
    currency = serializers.CharField(max_length=3)
    captured_at = serializers.DateTimeField()
    customer_email = serializers.CharField(max_length=254)
    customer_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    customer_phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    region = serializers.CharField(max_length=8, required=False, allow_blank=True, default="")
    fee_amount = MoneyString(required=False, help_text="Processing fee the gateway kept on capture.")
    instrument_fingerprint = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default="",
        help_text="Card/device fingerprint from the gateway; velocity risk rules count refunds by it.")


class PaymentOutput(serializers.Serializer):
    payment_ref = serializers.CharField()
    order_ref = serializers.CharField()
    channel = serializers.CharField(source="channel.code")
    amount = serializers.SerializerMethodField()
    currency = serializers.CharField()
    captured_at = serializers.DateTimeField()
    customer_email = serializers.CharField()
    customer_name = serializers.CharField()
    customer_phone = serializers.CharField()
    region = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field({"type": "string", "pattern": DECIMAL_PATTERN, "example": "100.00"})
    def get_amount(self, payment) -> str:
        return str(quantize(payment.amount, payment.currency))


# --- Refunds --------------------------------------------------------------------------------------

class RefundToInput(serializers.Serializer):
    method = serializers.CharField(max_length=30)
    iban = serializers.CharField(max_length=64, required=False, allow_blank=True)
    account_name = serializers.CharField(max_length=200, required=False, allow_blank=True)


class RefundCreateInput(serializers.Serializer):
    payment_ref = serializers.CharField(max_length=100)
    amount = MoneyString()
    currency = serializers.CharField(max_length=3)
    reason = serializers.CharField(max_length=30)
    reason_detail = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    customer_language = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")
    refund_to = RefundToInput(required=False)


class SlaOutput(serializers.Serializer):
    status = serializers.ChoiceField(source="sla_status", choices=SlaStatus.choices)
    stage_due_at = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)


class EtaOutput(serializers.Serializer):
    earliest = serializers.DateField(allow_null=True)
    latest = serializers.DateField(allow_null=True)


class RefundOutput(serializers.Serializer):
    """The refund representation of SPEC §12. Context: `actor` and optionally a shared RACI `matrix`."""

    reference = serializers.CharField()
    state = serializers.ChoiceField(choices=State.choices)
    payment_ref = serializers.CharField(source="payment.payment_ref")
    order_ref = serializers.CharField(source="payment.order_ref")
    channel = serializers.CharField(source="channel.code")
    amount = serializers.SerializerMethodField()
    currency = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    status_url = serializers.SerializerMethodField()
    sla = SlaOutput(source="*")
    eta = serializers.SerializerMethodField()
    allowed_transitions = serializers.SerializerMethodField()

    @extend_schema_field({"type": "string", "pattern": DECIMAL_PATTERN, "example": "20.00"})
    def get_amount(self, ticket) -> str:
        return str(quantize(ticket.amount, ticket.currency))

    @extend_schema_field(OpenApiTypes.URI)
    def get_status_url(self, ticket) -> str:
        return status_url(ticket)

    @extend_schema_field(EtaOutput)
    def get_eta(self, ticket) -> dict:
        earliest, latest = refund_eta(ticket)
        return EtaOutput({"earliest": earliest, "latest": latest}).data

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=TRANSITION_NAMES)))
    def get_allowed_transitions(self, ticket) -> list[str]:
        matrix = self.context.get("matrix")
        if matrix is None:
            matrix = self.context["matrix"] = raci.Matrix()
        return raci.allowed_transitions(self.context["actor"], ticket, matrix)


class TransitionInput(serializers.Serializer):
    name = serializers.ChoiceField(choices=TRANSITION_NAMES)
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    reason = serializers.CharField(max_length=50, required=False, allow_blank=True,
                                   help_text="Rejection reason code (for `reject`).")
    hold_type = serializers.CharField(max_length=30, required=False, allow_blank=True, help_text="For `hold`.")
    decision = serializers.ChoiceField(choices=["approve", "reject"], required=False,
                                       help_text="For `record_approval`.")
    needed = serializers.ListField(child=serializers.CharField(max_length=50), required=False, max_length=20,
                                   help_text="For `request_info`: what the customer must supply.")
    failure_reason = serializers.CharField(max_length=50, required=False, allow_blank=True, help_text="For `fail`.")
    channel = serializers.CharField(max_length=32, required=False, allow_blank=True,
                                    help_text="For `switch_channel`.")

    def payload(self) -> dict:
        data = dict(self.validated_data)
        data.pop("name")
        data.pop("comment", None)
        return data


class CancelInput(serializers.Serializer):
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class InfoInput(serializers.Serializer):
    """The missing data the ticket asks for (its `info_requested`)."""

    iban = serializers.CharField(max_length=64, required=False)
    account_name = serializers.CharField(max_length=200, required=False)
    customer_phone = serializers.CharField(max_length=32, required=False)
    customer_email = serializers.CharField(max_length=254, required=False)
    fallback_consent = serializers.BooleanField(required=False)
    answers = serializers.DictField(
        child=serializers.CharField(max_length=1000, allow_blank=True), required=False, default=dict,
        help_text="Free-form items staff asked for, keyed by the names in the refund's info request.")
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def info(self) -> dict:
        """One flat dict for refunds.intake.apply_customer_info (named fields win over `answers`)."""
        named = {k: v for k, v in self.validated_data.items() if k not in ("comment", "answers")}
        return {**self.validated_data.get("answers", {}), **named}


class EventOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.SerializerMethodField()
    kind = serializers.ChoiceField(choices=LogKind.choices)
    transition = serializers.CharField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    comment = serializers.CharField()

    def get_actor(self, entry) -> str:
        """Staff names are internal: partners see the kind of actor, staff keys the label."""
        if self.context.get("show_actor_labels"):
            return entry.actor_label
        return entry.actor_kind if entry.actor_kind != ActorKind.PARTNER else entry.actor_label


# --- Webhook endpoints ----------------------------------------------------------------------------

class WebhookEndpointInput(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    event_types = serializers.ListField(child=serializers.CharField(max_length=50), required=False, default=list,
                                        max_length=50)


class WebhookEndpointOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField())
    active = serializers.BooleanField()
    consecutive_failures = serializers.IntegerField()
    disabled_reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class WebhookEndpointCreated(WebhookEndpointOutput):
    secret = serializers.CharField(help_text="Signing secret: shown only in this response.")


class WebhookDeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.UUIDField()
    event_type = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    replay_of = serializers.IntegerField(source="replay_of_id", allow_null=True)
    payload = serializers.JSONField()


class ChecklistItemOutput(serializers.Serializer):
    stage = serializers.CharField()
    code = serializers.CharField()
    label = serializers.CharField()
    done = serializers.BooleanField()
    ticked_by = serializers.CharField(allow_null=True)
    ticked_at = serializers.DateTimeField(allow_null=True)


class ChecklistOutput(serializers.Serializer):
    stage = serializers.CharField(allow_null=True)
    complete = serializers.BooleanField()
    items = ChecklistItemOutput(many=True)
    missing = serializers.ListField(child=serializers.CharField())
