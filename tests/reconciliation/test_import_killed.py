"""A real process killed (SIGKILL) in the middle of an import leaves nothing half-loaded (SPEC §15),
and the same file imports cleanly afterwards."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from reconciliation.models import ImportStatus, StatementImport, StatementLine

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
LINES = 400_000


def big_stripe_file(path: Path) -> None:
    with path.open("w") as out:
        out.write("id,type,source,amount,fee,net,currency,created,description,payment_intent,refund_reference\n")
        for n in range(LINES):
            out.write(f"txn_k{n},refund,re_k{n},-20.50,0.00,-20.50,usd,2026-01-02 10:00:00,,pi_k{n},RF-K{n}\n")


def test_sigkill_mid_import_leaves_nothing(postgres, defaults, tmp_path):
    path = tmp_path / "big.csv"
    big_stripe_file(path)
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
                                         f"/{db['NAME']}", "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    env.pop("REDIS_URL", None)
    process = subprocess.Popen([sys.executable, "manage.py", "import_statement", str(path), "--format", "stripe"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        # Kill once the import is visibly under way (its transaction is open in PostgreSQL).
        deadline = time.monotonic() + 60
        started = False
        while time.monotonic() < deadline and process.poll() is None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
                               " AND backend_xid IS NOT NULL", [db["NAME"]])  # a write transaction is open
                started = cursor.fetchone()[0] > 0
            if started:
                time.sleep(0.3)
                break
            time.sleep(0.05)
        assert process.poll() is None, "the import finished before it could be killed; make the file larger"
        assert started
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    time.sleep(0.5)  # PostgreSQL notices the dead connection and rolls its transaction back
    assert StatementLine.objects.count() == 0
    assert not StatementImport.objects.filter(status=ImportStatus.IMPORTED).exists()
    # Nothing was recorded as imported, so the same file is not refused as a duplicate.
    from reconciliation.services import import_file

    record = import_file(data=path.read_bytes(), format="stripe")
    assert record.status == ImportStatus.IMPORTED and record.imported_count == LINES
