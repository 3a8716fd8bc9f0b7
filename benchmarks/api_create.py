"""`POST /api/v1/refunds/` sustained over loopback with gunicorn (SPEC §14), against the peer baseline.

`python -m benchmarks.api_create` (env: API_BENCH_REQUESTS default 800, API_BENCH_THREADS default 4,
API_BENCH_WORKERS default 2, API_BENCH_DATABASE_URL default .../refundloop_api_bench, created and
dropped here; REDIS_URL is used when set). Every request is a new refund under a new Idempotency-Key
on its own payment; zero errors are required. Traffic goes to 127.0.0.1 only, bounded in count.
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_URL = os.environ.get("API_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/refundloop_api_bench")
PORT = int(os.environ.get("API_BENCH_PORT", "18991"))


def _admin(sql: str) -> None:
    import psycopg

    base = DB_URL.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def _manage(*args: str, env: dict) -> str:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True).stdout


def _post(url: str, key: str, body: dict, idem: str | None = None) -> tuple[int, float]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    if idem:
        headers["Idempotency-Key"] = idem
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return status, time.perf_counter() - started


def main() -> dict:
    total = int(os.environ.get("API_BENCH_REQUESTS", "800"))
    threads = int(os.environ.get("API_BENCH_THREADS", "4"))
    workers = os.environ.get("API_BENCH_WORKERS", "2")
    name = DB_URL.rsplit("/", 1)[1]
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": DB_URL, "DEBUG": "0", "SECRET_KEY": "bench-" + uuid.uuid4().hex,
           "ALLOWED_HOSTS": "127.0.0.1", "SITE_URL": f"http://127.0.0.1:{PORT}", "SECURE_SSL_REDIRECT": "0",
           "API_THROTTLE_RATE": "", "LOG_LEVEL": "WARNING"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    server = None
    try:
        _manage("migrate", "--noinput", env=env)
        key = _manage("create_api_key", "--partner", "bench", "--scopes", "refunds:write,payments:write",
                      env=env).strip().splitlines()[-1]
        server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "-b",
                                   f"127.0.0.1:{PORT}", "-w", workers], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{PORT}/api/v1"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        for i in range(total):  # payments first: the measured requests are refund creations only
            status, _ = _post(f"{base}/payments/", key, {
                "payment_ref": f"bench_{i}", "order_ref": f"SO-B{i}", "channel": "card", "amount": "100.00",
                "currency": "USD", "captured_at": "2026-11-20T10:00:00+00:00",
                "customer_email": f"bench{i}@example.com", "region": "US"})
            assert status in (200, 201), status
        latencies: list[float] = []
        errors: list[int] = []
        lock = threading.Lock()

        def worker(offset: int):
            for i in range(offset, total, threads):
                status, seconds = _post(f"{base}/refunds/", key, {
                    "payment_ref": f"bench_{i}", "amount": "20.00", "currency": "USD", "reason": "damaged"},
                    idem=str(uuid.uuid4()))
                with lock:
                    (latencies if status == 201 else errors).append(seconds if status == 201 else status)

        started = time.perf_counter()
        pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        wall = time.perf_counter() - started
        latencies.sort()
        baseline = json.loads((ROOT / "benchmarks" / "peer_baseline.json").read_text())
        result = {
            "requests": total, "errors": len(errors), "error_statuses": sorted(set(errors)),
            "req_per_s": round(total / wall, 1),
            "median_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
            "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1) if latencies else None,
            "gunicorn_workers": int(workers), "client_threads": threads,
            "redis": bool(os.environ.get("REDIS_URL")),
            "peer_ticket_create_per_s": baseline["ticket_create_api_per_second"],
        }
        print(json.dumps(result, indent=2))
        return result
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
