"""Partner webhook subscriptions, their delivery log and replay."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from refunds.models import WebhookEndpoint
from refunds.models.api import Scope
from refunds.services import webhooks

from . import serializers as s
from .authentication import HasScope, PartnerOnly
from .base import ApiView, page_of, problems
from .pagination import PkCursorPagination
from .views import PAGE_PARAMS

READ, WRITE = Scope.REFUNDS_READ.value, Scope.REFUNDS_WRITE.value
ENDPOINT_ID = OpenApiParameter("endpoint_id", int, OpenApiParameter.PATH)
DELIVERY_ID = OpenApiParameter("delivery_id", int, OpenApiParameter.PATH)


class PartnerApiView(ApiView):
    permission_classes = [HasScope, PartnerOnly]

    def endpoints(self):
        return WebhookEndpoint.objects.filter(partner=self.actor.partner)


class WebhookEndpointCollectionView(PartnerApiView):
    required_scopes = {"GET": READ, "POST": WRITE}

    @extend_schema(operation_id="webhook_endpoints_list", tags=["webhooks"], parameters=PAGE_PARAMS,
                   responses={200: page_of(s.WebhookEndpointOutput), **problems(400, 422)},
                   summary="Your webhook endpoints.")
    def get(self, request):
        return self.paginate(self.endpoints(), s.WebhookEndpointOutput, PkCursorPagination)

    @extend_schema(operation_id="webhook_endpoints_create", tags=["webhooks"], request=s.WebhookEndpointInput,
                   responses={201: s.WebhookEndpointCreated, **problems(400, 415, 422)},
                   summary="Subscribe an endpoint; the signing secret is shown only in this response.")
    def post(self, request):
        data = s.WebhookEndpointInput(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = webhooks.create_endpoint(partner=self.actor.partner, **data.validated_data)
        return Response(s.WebhookEndpointCreated(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookEndpointDetailView(PartnerApiView):
    required_scopes = {"GET": READ, "DELETE": WRITE}

    @extend_schema(operation_id="webhook_endpoints_retrieve", tags=["webhooks"], parameters=[ENDPOINT_ID],
                   responses={200: s.WebhookEndpointOutput, **problems(404)})
    def get(self, request, endpoint_id: int):
        return Response(s.WebhookEndpointOutput(get_object_or_404(self.endpoints(), pk=endpoint_id)).data)

    @extend_schema(operation_id="webhook_endpoints_deactivate", tags=["webhooks"], parameters=[ENDPOINT_ID],
                   responses={204: None, **problems(404)}, summary="Stop deliveries to this endpoint.")
    def delete(self, request, endpoint_id: int):
        webhooks.deactivate_endpoint(get_object_or_404(self.endpoints(), pk=endpoint_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListView(PartnerApiView):
    required_scopes = {"GET": READ}

    @extend_schema(operation_id="webhook_deliveries_list", tags=["webhooks"], parameters=[ENDPOINT_ID] + PAGE_PARAMS,
                   responses={200: page_of(s.WebhookDeliveryOutput), **problems(400, 404, 422)},
                   summary="The delivery log of one endpoint (newest first).")
    def get(self, request, endpoint_id: int):
        endpoint = get_object_or_404(self.endpoints(), pk=endpoint_id)
        return self.paginate(endpoint.deliveries.all(), s.WebhookDeliveryOutput, PkCursorPagination)


class WebhookDeliveryReplayView(PartnerApiView):
    required_scopes = {"POST": WRITE}

    @extend_schema(operation_id="webhook_deliveries_replay", tags=["webhooks"], request=None,
                   parameters=[ENDPOINT_ID, DELIVERY_ID],
                   responses={202: s.WebhookDeliveryOutput, **problems(404, 409)},
                   summary="Send a past delivery again (same event id) as a new delivery.")
    def post(self, request, endpoint_id: int, delivery_id: int):
        replay = webhooks.replay_delivery(partner=self.actor.partner, endpoint_id=endpoint_id, delivery_id=delivery_id)
        return Response(s.WebhookDeliveryOutput(replay).data, status=status.HTTP_202_ACCEPTED)
