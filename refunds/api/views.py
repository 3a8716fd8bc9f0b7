"""API views, one per action: parse input, call one service or selector, serialize the result."""

from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response

from refunds import raci
from refunds.errors import TransitionForbidden
from refunds.lifecycle import Stage, State
from refunds.models.api import Scope
from refunds.models.audit import ActorKind, LogKind
from refunds.models.tickets import SlaStatus, Source
from refunds.selectors import ticket_get_for_actor, ticket_list
from refunds.services import create_ticket, perform_transition
from refunds.services.payments import find_payment, upsert_payment
from refunds.sop import checklist_status

from . import serializers as s
from .base import IDEMPOTENCY_HEADER, IDEMPOTENCY_HEADER_OPTIONAL, ApiView, page_of, problems
from .idempotency import run_idempotent
from .pagination import ApiCursorPagination, EventCursorPagination

READ, WRITE = Scope.REFUNDS_READ.value, Scope.REFUNDS_WRITE.value
PAGE_PARAMS = [
    OpenApiParameter("cursor", str, description="Opaque cursor from `next` / `previous`."),
    OpenApiParameter("page_size", int, description="1–200, default 50."),
]
LIST_FILTERS = [
    OpenApiParameter("state", str, many=True, enum=State.values, explode=True),
    OpenApiParameter("channel", str, description="Channel code, e.g. card."),
    OpenApiParameter("order_ref", str),
    OpenApiParameter("payment_ref", str),
    OpenApiParameter("created_after", OpenApiTypes.DATETIME, description="ISO 8601, inclusive."),
    OpenApiParameter("created_before", OpenApiTypes.DATETIME, description="ISO 8601, exclusive."),
    OpenApiParameter("sla_status", str, enum=SlaStatus.values),
]
REFERENCE = OpenApiParameter("reference", str, OpenApiParameter.PATH, pattern=r"^[A-Za-z0-9-]{1,40}$",
                             examples=[OpenApiExample("reference", value="RF-8K2M4Q7T1B")])
PAYMENT_EXAMPLE = OpenApiExample("payment", request_only=True, value={
    "payment_ref": "ch_3Nx001", "order_ref": "SO-1001", "channel": "card", "amount": "100.00", "currency": "USD",
    "captured_at": "2026-11-20T10:00:00+00:00", "customer_email": "li.wei@example.com", "customer_name": "Li Wei",
    "region": "CN"})
TRANSITION_EXAMPLE = OpenApiExample("cancel", request_only=True, value={"name": "cancel", "comment": "withdrawn"})
REFUND_EXAMPLE = OpenApiExample("refund", request_only=True, value={
    "payment_ref": "ch_3Nx001", "amount": "20.00", "currency": "USD", "reason": "damaged",
    "reason_detail": "Arrived broken", "customer_language": "zh-hans", "refund_to": {"method": "original"}})


def refund_response(view: ApiView, ticket, code: int = status.HTTP_200_OK) -> Response:
    return Response(s.RefundOutput(ticket, context={"actor": view.actor}).data, status=code)


class PaymentUpsertView(ApiView):
    required_scopes = {"POST": Scope.PAYMENTS_WRITE.value}

    @extend_schema(operation_id="payments_upsert", tags=["payments"], request=s.PaymentInput,
                   examples=[PAYMENT_EXAMPLE],
                   parameters=[IDEMPOTENCY_HEADER_OPTIONAL],
                   responses={201: s.PaymentOutput, 200: s.PaymentOutput, **problems(400, 409, 415, 422)},
                   summary="Register or update a payment (upsert on payment_ref).")
    def post(self, request):
        return run_idempotent(request, self._upsert, required=False)

    def _upsert(self):
        data = s.PaymentInput(data=self.request.data)
        data.is_valid(raise_exception=True)
        payment, created = upsert_payment(actor=self.actor, **data.validated_data)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(s.PaymentOutput(payment).data, status=code)


class RefundCollectionView(ApiView):
    required_scopes = {"GET": READ, "POST": WRITE}

    @extend_schema(operation_id="refunds_list", tags=["refunds"], parameters=LIST_FILTERS + PAGE_PARAMS,
                   responses={200: page_of(s.RefundOutput), **problems(400, 422)}, summary="List refunds.")
    def get(self, request):
        # The ETA of each row reads its policy's SLA targets and payout attempts: joined/prefetched once.
        tickets = ticket_list(actor=self.actor, filters=request.query_params).select_related(
            "policy__sla").prefetch_related("payout_attempts", raci.open_holds_prefetch())
        return self.paginate(tickets, s.RefundOutput, ApiCursorPagination, actor=self.actor, matrix=raci.Matrix())

    @extend_schema(operation_id="refunds_create", tags=["refunds"], request=s.RefundCreateInput,
                   examples=[REFUND_EXAMPLE],
                   parameters=[IDEMPOTENCY_HEADER],
                   responses={201: s.RefundOutput, **problems(400, 409, 415, 422)}, summary="Request a refund.")
    def post(self, request):
        return run_idempotent(request, self._create, required=True)

    def _create(self):
        data = s.RefundCreateInput(data=self.request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        actor = self.actor
        if actor.kind == ActorKind.STAFF and not raci.can_act_in_stage(actor, Stage.INTAKE):
            raise TransitionForbidden("Creating refunds needs a role that is R or A for the intake stage.")
        ticket = create_ticket(
            payment=find_payment(actor=actor, payment_ref=values["payment_ref"]), amount=values["amount"],
            currency=values["currency"], reason=values["reason"], actor=actor, source=Source.API,
            reason_detail=values["reason_detail"], customer_language=values["customer_language"],
            refund_to=values.get("refund_to"), idempotency_key=self.request.headers.get("Idempotency-Key", "")[:200],
        )
        return refund_response(self, ticket, status.HTTP_201_CREATED)


class RefundDetailView(ApiView):
    required_scopes = {"GET": READ}

    @extend_schema(operation_id="refunds_retrieve", tags=["refunds"], parameters=[REFERENCE],
                   responses={200: s.RefundOutput, **problems(404)}, summary="One refund.")
    def get(self, request, reference: str):
        return refund_response(self, ticket_get_for_actor(actor=self.actor, reference=reference))


class RefundEventsView(ApiView):
    required_scopes = {"GET": READ}

    @extend_schema(operation_id="refunds_events", tags=["refunds"], parameters=[REFERENCE] + PAGE_PARAMS,
                   responses={200: page_of(s.EventOutput), **problems(400, 404, 422)},
                   summary="The refund's timeline (oldest first).")
    def get(self, request, reference: str):
        ticket = ticket_get_for_actor(actor=self.actor, reference=reference)
        entries = ticket.log.all()
        staff = self.actor.kind == ActorKind.STAFF
        if not staff:
            # Partners see state changes and what the customer sees, not internal notes or rule hits.
            entries = entries.filter(Q(kind=LogKind.TRANSITION) | Q(customer_visible=True))
        return self.paginate(entries, s.EventOutput, EventCursorPagination, show_actor_labels=staff)


class RefundChecklistView(ApiView):
    required_scopes = {"GET": READ}

    @extend_schema(operation_id="refunds_checklist", tags=["refunds"], parameters=[REFERENCE],
                   responses={200: s.ChecklistOutput, **problems(404)},
                   summary="The SOP checklist of the refund's current stage and what is still missing.")
    def get(self, request, reference: str):
        ticket = ticket_get_for_actor(actor=self.actor, reference=reference)
        items = checklist_status(ticket, ticket.stage) if ticket.stage else []
        missing = [item["code"] for item in items if not item["done"]]
        return Response(s.ChecklistOutput({"stage": ticket.stage, "complete": not missing, "items": items,
                                           "missing": missing}).data)


class RefundTransitionView(ApiView):
    required_scopes = {"POST": WRITE}

    @extend_schema(operation_id="refunds_transition", tags=["refunds"], parameters=[REFERENCE],
                   request=s.TransitionInput, responses={200: s.RefundOutput, **problems(400, 404, 409, 415, 422)},
                   examples=[TRANSITION_EXAMPLE],
                   summary="Run a transition (RACI and state decide: 403 / 409).")
    def post(self, request, reference: str):
        data = s.TransitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = ticket_get_for_actor(actor=self.actor, reference=reference)
        ticket = perform_transition(ticket=ticket, name=data.validated_data["name"], actor=self.actor,
                                    comment=data.validated_data["comment"], **data.payload())
        return refund_response(self, ticket)


class RefundCancelView(ApiView):
    required_scopes = {"POST": WRITE}

    @extend_schema(operation_id="refunds_cancel", tags=["refunds"], parameters=[REFERENCE], request=s.CancelInput,
                   responses={200: s.RefundOutput, **problems(400, 404, 409, 415, 422)},
                   summary="Withdraw a refund request.")
    def post(self, request, reference: str):
        data = s.CancelInput(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = ticket_get_for_actor(actor=self.actor, reference=reference)
        ticket = perform_transition(ticket=ticket, name="cancel", actor=self.actor,
                                    comment=data.validated_data["comment"])
        return refund_response(self, ticket)


class RefundInfoView(ApiView):
    required_scopes = {"POST": WRITE}

    @extend_schema(operation_id="refunds_provide_info", tags=["refunds"], parameters=[REFERENCE],
                   request=s.InfoInput, responses={200: s.RefundOutput, **problems(400, 404, 409, 415, 422)},
                   summary="Supply the missing data an awaiting_customer refund asks for.")
    def post(self, request, reference: str):
        data = s.InfoInput(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = ticket_get_for_actor(actor=self.actor, reference=reference)
        ticket = perform_transition(ticket=ticket, name="provide_info", actor=self.actor,
                                    comment=data.validated_data["comment"], data=data.info())
        return refund_response(self, ticket)


class NotFoundView(ApiView):
    """Unknown paths under /api/v1/ answer a problem+json 404 (not Django's HTML page)."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []
    schema = None

    def dispatch_404(self, request, *args, **kwargs):
        raise exceptions.NotFound("No such API endpoint.")

    get = post = put = patch = delete = head = options = dispatch_404

