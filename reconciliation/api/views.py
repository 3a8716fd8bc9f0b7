"""Reconciliation endpoints of the partner/automation API (SPEC §12), following refunds.api's conventions:
bearer key with a scope per method, problem+json errors, cursor pages. Finance data is internal:
only keys of staff users with a finance role (or ops_lead, read-only) may use them."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from refunds.api.base import ApiView, page_of, problems
from refunds.api.exception_handlers import problem
from refunds.api.pagination import ApiCursorPagination, PkCursorPagination
from refunds.lifecycle import Role
from refunds.models.api import Scope

from .. import services
from ..imports import max_upload_bytes
from ..models import ExceptionStatus, ExceptionType, MatchRun, ReconException, StatementImport
from . import serializers as s

WRITERS = {Role.FINANCE, Role.FINANCE_LEAD}
READERS = WRITERS | {Role.OPS_LEAD}


class FinanceApiView(ApiView):
    def check_permissions(self, request):
        super().check_permissions(request)
        roles = WRITERS if request.method == "POST" else READERS
        if not (self.actor.roles & roles):
            raise exceptions.PermissionDenied("Reconciliation data is for finance staff keys only.")


class StatementUploadView(FinanceApiView):
    required_scopes = {"POST": Scope.STATEMENTS_WRITE.value}
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(operation_id="statements_upload", tags=["reconciliation"], request={
        "multipart/form-data": s.StatementUploadInput}, responses={202: s.StatementOutput, 413: None,
                                                                   **problems(400, 415, 422)},
        summary="Upload a gateway statement or ledger export (imported whole or refused whole).")
    def post(self, request):
        data = s.StatementUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > max_upload_bytes():
            return problem(413, "too-large", "File too large",
                           f"The upload limit is {max_upload_bytes() // (1024 * 1024)} MB.")
        record = services.import_file(
            data=upload.read(), format=data.validated_data["format"], kind=data.validated_data.get("kind"),
            filename=upload.name or "", mapping=data.validated_data.get("mapping"),
            channel=data.validated_data.get("channel"), user=self.actor.user)
        if record.status != "imported":
            errors = {"file": [f"line {e['line']}: {e['error']}" for e in record.errors]}
            return problem(422, "validation", "Validation failed", "The file was refused; nothing was imported.",
                           errors=errors, import_id=record.pk)
        response = Response(s.StatementOutput(record).data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = f"/api/v1/statements/{record.pk}/"
        return response


class StatementDetailView(FinanceApiView):
    required_scopes = {"GET": Scope.STATEMENTS_WRITE.value}

    @extend_schema(operation_id="statements_get", tags=["reconciliation"],
                   responses={200: s.StatementOutput, **problems(404)}, summary="One import and its outcome.")
    def get(self, request, statement_id: str):
        record = StatementImport.objects.filter(pk=int(statement_id)).first()
        if record is None:
            raise exceptions.NotFound("No such statement import.")
        return Response(s.StatementOutput(record).data)


class RunListView(FinanceApiView):
    required_scopes = {"GET": Scope.RECON_READ.value}

    @extend_schema(operation_id="recon_runs_list", tags=["reconciliation"],
                   responses={200: page_of(s.RunOutput), **problems(400, 422)}, summary="Matching runs, newest first.")
    def get(self, request):
        return self.paginate(MatchRun.objects.select_related("channel"), s.RunOutput, PkCursorPagination)


class ExceptionListView(FinanceApiView):
    required_scopes = {"GET": Scope.RECON_READ.value}

    @extend_schema(operation_id="recon_exceptions_list", tags=["reconciliation"], parameters=[
        OpenApiParameter("type", str, enum=ExceptionType.values),
        OpenApiParameter("status", str, enum=ExceptionStatus.values),
        OpenApiParameter("channel", str)],
        responses={200: page_of(s.ExceptionOutput), **problems(400, 422)}, summary="Reconciliation exceptions.")
    def get(self, request):
        qs = ReconException.objects.select_related("ticket", "line", "assignee")
        params = request.query_params
        errors = {}
        if params.get("type"):
            if params["type"] not in ExceptionType.values:
                errors["type"] = ["Unknown exception type."]
            qs = qs.filter(type=params["type"])
        if params.get("status"):
            if params["status"] not in ExceptionStatus.values:
                errors["status"] = ["Unknown status."]
            qs = qs.filter(status=params["status"])
        if params.get("channel"):
            qs = qs.filter(channel__code=params["channel"])
        if errors:
            raise exceptions.ValidationError(errors)
        return self.paginate(qs, s.ExceptionOutput, ApiCursorPagination)
