"""Session settings for the bulk paths on PostgreSQL (no effect on SQLite)."""

from django.db import DatabaseError, connection, transaction

SESSION = (
    # Temp tables live in local buffers: the 8 MB default pushes a million-row work table to disk.
    # Only settable before the session's first temp table, so it may fail quietly on a reused connection.
    "SET temp_buffers = '512MB'",
    # Hash joins and hash aggregates over a million rows instead of disk sorts.
    "SET work_mem = '256MB'",
    # JIT-compiling these one-off plans costs more than it saves.
    "SET jit = off",
    # ANALYZE of the work tables after each pass: a small sample is enough to pick hash joins.
    "SET default_statistics_target = 10",
)


def tune(cursor) -> None:
    if connection.vendor != "postgresql":
        return
    for statement in SESSION:
        try:
            with transaction.atomic():
                cursor.execute(statement)
        except DatabaseError:
            pass


def reset(cursor) -> None:
    if connection.vendor == "postgresql":
        cursor.execute("RESET work_mem")
        cursor.execute("RESET jit")
        cursor.execute("RESET default_statistics_target")
