"""Three-way reconciliation: imported statement/ledger lines, matching runs, matches and exceptions.

Amounts here are integers in the currency's minor units (never floats, never Decimal arithmetic
inside the matcher), signed from the merchant's point of view: money going out is negative.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from refunds.lifecycle import Role


class Kind(models.TextChoices):
    STATEMENT = "statement", _("Gateway statement")
    LEDGER = "ledger", _("Finance ledger")


class ImportStatus(models.TextChoices):
    IMPORTED = "imported", _("Imported")
    REFUSED = "refused", _("Refused")


class ColumnMapping(models.Model):
    """The "data map" for the generic CSV importer: which column of a partner's file means what."""

    TARGETS = ("external_id", "reference", "gateway_refund_id", "payment_ref", "type", "gross", "fee",
               "currency", "booked_at")

    name = models.SlugField(max_length=50, unique=True)
    source = models.SlugField(max_length=50, help_text=_("Gateway/ledger name the lines belong to."))
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.STATEMENT)
    delimiter = models.CharField(max_length=1, default=",")
    encoding = models.CharField(max_length=20, default="utf-8-sig")
    columns = models.JSONField(
        default=dict,
        help_text=_('Target field → column header, e.g. {"external_id": "Txn", "gross": "Amount", '
                    '"currency": "Cur", "booked_at": "Date", "type": "Kind", "gateway_refund_id": "RefundId"}'))
    type_map = models.JSONField(default=dict, blank=True,
                                help_text=_('File value → line type, e.g. {"RFND": "refund"}.'))
    default_currency = models.CharField(max_length=3, blank=True)
    amounts_in_minor_units = models.BooleanField(default=False)
    refunds_positive = models.BooleanField(
        default=False, help_text=_("Tick when the file shows refunds as positive numbers."))
    date_format = models.CharField(max_length=40, blank=True, help_text=_("strftime format; empty = ISO 8601."))
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StatementImport(models.Model):
    """One uploaded file. Imported whole or refused whole (with line-numbered errors)."""

    kind = models.CharField(max_length=10, choices=Kind.choices)
    format = models.CharField(max_length=30)
    source = models.CharField(max_length=50, help_text=_("Gateway or ledger the lines come from."))
    channel = models.ForeignKey("refunds.Channel", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    filename = models.CharField(max_length=255, blank=True)
    file_hash = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=ImportStatus.choices)
    line_count = models.PositiveIntegerField(default=0, help_text=_("Data lines in the file."))
    imported_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0, help_text=_("Lines already imported (ignored)."))
    open_lines = models.PositiveIntegerField(
        default=0, help_text=_("Refund/reversal/chargeback lines not yet worked by a run; 0 = runs skip the file."))
    errors = models.JSONField(default=list, blank=True)
    columns = models.JSONField(default=list, blank=True, help_text=_("The file's header; raw rows follow it."))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "file_hash"], condition=models.Q(status="imported"),
                                    name="statement_import_hash_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.format} #{self.pk}"


class LineType(models.TextChoices):
    REFUND = "refund", _("Refund")
    REVERSAL = "reversal", _("Refund failure / reversal")
    CHARGEBACK = "chargeback", _("Chargeback")
    FEE = "fee", _("Fee")
    PAYOUT = "payout", _("Payout")
    OTHER = "other", _("Other")


class LineStatus(models.TextChoices):
    """Flags set by runs. A line is *matched* when a MatchLink points at it: runs do not rewrite a million
    matched rows just to say so (manual matches set MATCHED explicitly)."""

    UNMATCHED = "unmatched", _("Open (matched if linked)")
    MATCHED = "matched", _("Matched")
    EXCEPTION = "exception", _("Exception")
    IGNORED = "ignored", _("Not a refund line")


class StatementLine(models.Model):
    """A normalised line of a statement or ledger export (gross + fee = net, minor units, signed)."""

    # No database-level FK constraints on the bulk tables (lines, matches, links): PostgreSQL checks
    # deferred FKs one row at a time at COMMIT, which costs more than the whole million-line COPY. The
    # rows are only written by the import service and the engine, from ids they just read in the same
    # transaction; Django still enforces on_delete=PROTECT.
    statement_import = models.ForeignKey(StatementImport, on_delete=models.PROTECT, related_name="lines",
                                         db_constraint=False, db_index=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    source = models.CharField(max_length=50)
    line_no = models.PositiveIntegerField()
    external_id = models.CharField(max_length=100)
    reference = models.CharField(max_length=100, blank=True)
    gateway_refund_id = models.CharField(max_length=100, blank=True)
    payment_ref = models.CharField(max_length=100, blank=True)
    line_type = models.CharField(max_length=12, choices=LineType.choices)
    gross = models.BigIntegerField()
    fee = models.BigIntegerField(default=0)
    net = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    booked_at = models.DateTimeField()
    raw = models.JSONField(default=list, help_text=_("The row's cells as in the file (see the import's columns)."))
    status = models.CharField(max_length=10, choices=LineStatus.choices, default=LineStatus.UNMATCHED)

    class Meta:
        # Few indexes on purpose: every index costs a million entries per import.
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="statement_line_once_per_source"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"

    @property
    def raw_pairs(self) -> list[tuple[str, str]]:
        """(column, value) pairs of the raw row, for display."""
        columns = self.statement_import.columns or []
        return [(columns[i] if i < len(columns) else str(i + 1), value) for i, value in enumerate(self.raw or [])]


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class MatchRun(models.Model):
    channel = models.ForeignKey("refunds.Channel", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", help_text=_("Empty = every channel."))
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    three_way = models.BooleanField(default=True, help_text=_("Require the finance ledger side too."))
    apply_outcomes = models.BooleanField(default=True, help_text=_("Move matched tickets to reconciled."))
    as_of = models.DateTimeField(help_text=_("Settlement grace is measured against this time."))
    phase = models.CharField(max_length=40, blank=True)
    rows_total = models.PositiveBigIntegerField(default=0)
    rows_done = models.PositiveBigIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"run #{self.pk}"

    @property
    def percent(self) -> int:
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else (100 if self.status == "done" else 0)


class MatchStatus(models.TextChoices):
    MATCHED = "matched", _("Matched")
    EXCEPTION = "exception", _("Exception")
    MANUAL = "manual", _("Matched manually")


class Match(models.Model):
    """Tickets and lines of one side (statement or ledger) that belong together: 1-1, 1-n or n-1."""

    run = models.ForeignKey(MatchRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="matches",
                            db_constraint=False)
    side = models.CharField(max_length=10, choices=Kind.choices)
    pass_name = models.CharField(max_length=20)
    key = models.CharField(max_length=250)
    status = models.CharField(max_length=10, choices=MatchStatus.choices)
    ticket_total = models.BigIntegerField(default=0)
    line_total = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "matches"

    def __str__(self) -> str:
        return f"{self.side} {self.pass_name} {self.key}"


class MatchLink(models.Model):
    """A member of a match. A one-to-one match is a single row with both the ticket and the line."""

    match = models.ForeignKey(Match, on_delete=models.CASCADE, related_name="links", db_constraint=False)
    ticket = models.ForeignKey("refunds.RefundTicket", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="recon_links", db_index=False, db_constraint=False)
    line = models.ForeignKey(StatementLine, null=True, blank=True, on_delete=models.PROTECT, related_name="links",
                             db_constraint=False)
    side = models.CharField(max_length=10, choices=Kind.choices)

    class Meta:
        indexes = [models.Index(fields=["ticket", "side"], name="recon_link_ticket_side")]

    def __str__(self) -> str:
        return f"{self.side}: ticket {self.ticket_id} / line {self.line_id}"


class ExceptionType(models.TextChoices):
    AMOUNT_MISMATCH = "amount_mismatch", _("Amount mismatch")
    MISSING_ON_STATEMENT = "missing_on_statement", _("Missing on statement")
    MISSING_IN_LEDGER = "missing_in_ledger", _("Missing in ledger")
    UNEXPECTED_STATEMENT_LINE = "unexpected_statement_line", _("Unexpected statement line")
    UNEXPECTED_LEDGER_LINE = "unexpected_ledger_line", _("Unexpected ledger line")
    DUPLICATE = "duplicate", _("Duplicate")
    CURRENCY_MISMATCH = "currency_mismatch", _("Currency mismatch")
    REVERSED_AFTER_SUCCESS = "reversed_after_success", _("Refund reversed after success")
    REFUND_PLUS_CHARGEBACK = "refund_plus_chargeback", _("Refund plus chargeback (double outflow)")
    FEE_DIFFERENCE = "fee_difference", _("Fee difference")
    FX_DIFFERENCE = "fx_difference", _("FX difference")


class ExceptionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting second approval")
    RESOLVED = "resolved", _("Resolved")


class Resolution(models.TextChoices):
    MATCHED_MANUALLY = "matched_manually", _("Matched manually")
    ADJUSTED = "adjusted", _("Adjusted (ledger correction)")
    WRITTEN_OFF = "written_off", _("Written off")
    AUTO_CLEARED = "auto_cleared", _("Cleared by a later run")


class ReconException(models.Model):
    """A break found by a run: a finance work item with an owner, an SLA and an audited resolution."""

    type = models.CharField(max_length=30, choices=ExceptionType.choices, db_index=True)
    status = models.CharField(max_length=20, choices=ExceptionStatus.choices, default=ExceptionStatus.OPEN,
                              db_index=True)
    # One open exception per (type, object): later runs do not pile up copies.
    dedupe_key = models.CharField(max_length=120)
    run = models.ForeignKey(MatchRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="exceptions")
    channel = models.ForeignKey("refunds.Channel", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    ticket = models.ForeignKey("refunds.RefundTicket", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="recon_exceptions")
    line = models.ForeignKey(StatementLine, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="exceptions")
    match = models.ForeignKey(Match, null=True, blank=True, on_delete=models.SET_NULL, related_name="exceptions")
    currency = models.CharField(max_length=3, blank=True)
    expected_minor = models.BigIntegerField(null=True, blank=True)
    actual_minor = models.BigIntegerField(null=True, blank=True)
    difference_minor = models.BigIntegerField(default=0)
    detail = models.JSONField(default=dict, blank=True)
    owner_role = models.CharField(max_length=20, choices=Role.choices, default=Role.FINANCE)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="recon_exceptions")
    due_at = models.DateTimeField()
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True)
    note = models.TextField(blank=True)
    correction_ref = models.CharField(max_length=100, blank=True, help_text=_("Ledger correction reference."))
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], condition=~models.Q(status="resolved"),
                                    name="recon_exception_one_open"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} #{self.pk}"


class ProposalStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class Proposal(models.Model):
    """A candidate pair from the tolerance pass that was not unique. Rejected pairs are remembered
    and never proposed again."""

    run = models.ForeignKey(MatchRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals")
    ticket = models.ForeignKey("refunds.RefundTicket", on_delete=models.PROTECT, related_name="+")
    line = models.ForeignKey(StatementLine, on_delete=models.PROTECT, related_name="proposals")
    difference_minor = models.BigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.PROPOSED)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "line"], name="recon_proposal_pair_once")]

    def __str__(self) -> str:
        return f"proposal ticket {self.ticket_id} ↔ line {self.line_id} ({self.status})"
