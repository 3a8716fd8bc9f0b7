"""Admin: the column mapping ("data map") is edited here; imports, lines, runs and exceptions are
read-only (they change through imports, runs and the finance screens, which audit every step)."""

from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from refunds.admin_base import ReadOnlyAdmin

from .models import ColumnMapping, MatchRun, Proposal, ReconException, StatementImport, StatementLine


@admin.register(ColumnMapping)
class ColumnMappingAdmin(SimpleHistoryAdmin):
    list_display = ("name", "source", "kind", "delimiter", "encoding")
    readonly_fields = ("data_map",)
    fields = ("name", "source", "kind", "delimiter", "encoding", "columns", "data_map", "type_map",
              "default_currency", "amounts_in_minor_units", "refunds_positive", "date_format")

    @admin.display(description=_("Data map (our field ← their column)"))
    def data_map(self, obj):
        rows = [(target, (obj.columns or {}).get(target, "—")) for target in ColumnMapping.TARGETS]
        body = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        return format_html_join("", "<table>{}</table>", [(body,)])


@admin.register(StatementImport)
class StatementImportAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "format", "source", "filename", "status", "line_count", "imported_count",
                    "duplicate_count", "created_at")
    list_filter = ("kind", "format", "status")


@admin.register(StatementLine)
class StatementLineAdmin(ReadOnlyAdmin):
    list_display = ("id", "source", "external_id", "line_type", "gross", "fee", "currency", "booked_at", "status")
    list_filter = ("kind", "line_type", "status")
    search_fields = ("external_id", "reference", "gateway_refund_id", "payment_ref")
    show_full_result_count = False


@admin.register(MatchRun)
class MatchRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "channel", "status", "rows_done", "rows_total", "created_at", "finished_at")


@admin.register(ReconException)
class ReconExceptionAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    list_display = ("id", "type", "status", "ticket", "currency", "difference_minor", "assignee", "due_at")
    list_filter = ("type", "status")
    raw_id_fields = ("ticket", "line", "match", "run")


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdmin):
    list_display = ("id", "ticket", "line", "difference_minor", "status", "decided_by")
