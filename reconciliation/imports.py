"""Importing a statement or ledger file: parse, then load all or nothing.

The lines stream from the parser straight into a staging table (COPY on PostgreSQL, bulk inserts
on SQLite) inside one transaction; `INSERT … SELECT … ON CONFLICT DO NOTHING` moves them to
StatementLine, so a (source, line id) already imported is skipped. Any parse error rolls the
whole transaction back and the import is recorded as refused with its line-numbered errors.
"""

import hashlib
import json
import logging
import time
from itertools import islice

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from . import pgtuning
from .importers import FORMATS, LineError
from .models import ColumnMapping, ImportStatus, LineStatus, LineType, StatementImport, StatementLine

logger = logging.getLogger(__name__)
MATCHABLE_TYPES = {LineType.REFUND, LineType.REVERSAL, LineType.CHARGEBACK}
COLUMNS = ("statement_import_id", "kind", "source", "line_no", "external_id", "reference", "gateway_refund_id",
           "payment_ref", "line_type", "gross", "fee", "net", "currency", "booked_at", "raw", "status")


def max_upload_bytes() -> int:
    return int(getattr(settings, "RECON_MAX_UPLOAD_BYTES", 256 * 1024 * 1024))


class _Refused(Exception):
    def __init__(self, errors):
        self.errors = errors


def import_file(*, data: bytes, format: str, kind: str | None = None, filename: str = "",
                mapping: ColumnMapping | str | None = None, channel=None, user=None,
                max_bytes: int | None = None) -> StatementImport:
    """Import one file. Returns the StatementImport: `imported`, or `refused` with `errors`
    (nothing of a refused file is stored except this record)."""
    from refunds.models import Channel

    spec = FORMATS.get(format)
    file_hash = hashlib.sha256(data).hexdigest()
    if isinstance(mapping, str):
        mapping = ColumnMapping.objects.filter(name=mapping).first()
    kind = kind or spec.kind if spec else kind
    if spec is not None and format == "generic_csv" and mapping is not None:
        kind = kind or mapping.kind
    source = (mapping.source if (spec and format == "generic_csv" and mapping) else spec.source if spec else "")
    if isinstance(channel, str):
        channel = Channel.objects.filter(code=channel).first()
    if channel is None and spec is not None and spec.channel:
        channel = Channel.objects.filter(code=spec.channel).first()
    record = StatementImport(kind=kind or "statement", format=format, source=source or format, channel=channel,
                             filename=filename[:255], file_hash=file_hash, size=len(data), uploaded_by=user)

    def refuse(errors):
        record.status = ImportStatus.REFUSED
        record.errors = errors
        record.save()
        return record

    if spec is None:
        return refuse([{"line": 0, "error": f"unknown format {format!r}; choose one of {', '.join(FORMATS)}"}])
    if kind not in ("statement", "ledger"):
        return refuse([{"line": 0, "error": "kind must be statement or ledger"}])
    if len(data) > (max_bytes if max_bytes is not None else max_upload_bytes()):
        return refuse([{"line": 0, "error": f"the file is larger than {max_upload_bytes() // (1024 * 1024)} MB"}])
    if not data.strip():
        return refuse([{"line": 0, "error": "the file is empty"}])
    previous = StatementImport.objects.filter(kind=kind, file_hash=file_hash, status=ImportStatus.IMPORTED).first()
    if previous is not None:
        return refuse([{"line": 0, "error": f"this file was already imported (import #{previous.pk})"}])
    try:
        with transaction.atomic():
            record.status = ImportStatus.IMPORTED
            record.save()

            def parse():
                try:
                    return spec.parse(data, mapping=mapping)
                except LineError as exc:
                    raise _Refused([{"line": 1, "error": str(exc)}])

            stream, inserted, open_lines = _load(record, parse)
            if stream.errors:
                raise _Refused(stream.errors)
            if stream.count == 0:
                raise _Refused([{"line": 0, "error": "the file has no data lines"}])
            record.line_count = stream.count
            record.imported_count = inserted
            record.duplicate_count = stream.count - inserted
            record.columns = stream.header
            record.open_lines = open_lines
            record.save(update_fields=["line_count", "imported_count", "duplicate_count", "columns", "open_lines"])
    except _Refused as refused:
        record.pk = None
        return refuse(refused.errors)
    except IntegrityError:
        # A concurrent upload of the same file won the race.
        record.pk = None
        return refuse([{"line": 0, "error": "this file was already imported"}])
    return record


def _values(record, line) -> tuple:
    status = LineStatus.UNMATCHED if line.line_type in MATCHABLE_TYPES else LineStatus.IGNORED
    return (record.pk, record.kind, record.source, line.line_no, line.external_id[:100], line.reference[:100],
            line.gateway_refund_id[:100], line.payment_ref[:100], line.line_type, line.gross, line.fee, line.net,
            line.currency, line.booked_at, json.dumps(line.raw, ensure_ascii=False), status)


def _load(record, parse) -> tuple:
    """Stream parsed lines into the database; returns (the parsed stream, how many new lines were stored)."""
    if connection.vendor == "postgresql":
        return _load_postgres(record, parse)
    stream = parse()
    before = StatementLine.objects.count()
    lines = iter(stream)
    while True:
        batch = list(islice(lines, 5000))
        if not batch:
            break
        if stream.errors:
            continue  # keep reading to report every error, store nothing more
        StatementLine.objects.bulk_create(
            [StatementLine(**dict(zip(COLUMNS, _values(record, line), strict=True))) for line in batch],
            ignore_conflicts=True,
        )
    inserted = StatementLine.objects.count() - before
    matchable = StatementLine.objects.filter(statement_import_id=record.pk, line_type__in=MATCHABLE_TYPES).count()
    return stream, inserted, matchable


def _load_postgres(record, parse) -> tuple:
    """COPY straight into the table (the usual case: no line seen before). If a line id is already known
    (or repeated in the file) the COPY fails as a whole; the savepoint rolls it back and the file is
    parsed again through a staging table and INSERT … ON CONFLICT DO NOTHING."""
    import psycopg

    cols = ", ".join(COLUMNS)
    with connection.cursor() as cursor:
        pgtuning.tune(cursor)
        stream = parse()
        started = time.perf_counter()
        try:
            with transaction.atomic():
                with cursor.cursor.copy(f"COPY reconciliation_statementline ({cols}) FROM STDIN") as copy:  # noqa: S608
                    for line in stream:
                        if not stream.errors:
                            copy.write_row(_values(record, line))
            logger.debug("parse + COPY: %.2fs", time.perf_counter() - started)
            if stream.errors:
                return stream, 0, 0
            return stream, stream.count, stream.matchable
        except psycopg.errors.UniqueViolation:
            logger.debug("known line ids: loading through staging")
        stream = parse()
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS recon_stage (statement_import_id bigint, kind varchar(10),"
            " source varchar(50), line_no integer, external_id varchar(100), reference varchar(100),"
            " gateway_refund_id varchar(100), payment_ref varchar(100), line_type varchar(12), gross bigint,"
            " fee bigint, net bigint, currency varchar(3), booked_at timestamptz, raw jsonb, status varchar(10))"
            " ON COMMIT DELETE ROWS")
        cursor.execute("TRUNCATE recon_stage")
        started = time.perf_counter()
        with cursor.cursor.copy(f"COPY recon_stage ({cols}) FROM STDIN") as copy:  # noqa: S608
            for line in stream:
                if not stream.errors:
                    copy.write_row(_values(record, line))
        if stream.errors:
            return stream, 0, 0
        logger.debug("parse + COPY into staging: %.2fs", time.perf_counter() - started)
        started = time.perf_counter()
        cursor.execute(
            f"WITH ins AS (INSERT INTO reconciliation_statementline ({cols}) SELECT {cols} FROM recon_stage"  # noqa: S608
            " ON CONFLICT (source, external_id) DO NOTHING RETURNING line_type)"
            " SELECT COUNT(*), COUNT(*) FILTER (WHERE line_type IN ('refund', 'reversal', 'chargeback')) FROM ins")
        inserted, matchable = cursor.fetchone()
        logger.debug("staging → statement lines: %.2fs", time.perf_counter() - started)
        cursor.execute("TRUNCATE recon_stage")
    return stream, inserted, matchable
