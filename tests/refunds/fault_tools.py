"""Private redis-server and rqworker processes for fault tests (ports 18050-18059).

Every process here is started by the test and stopped by its own PID (or its own process group,
for a forking worker); the machine's shared Redis and PostgreSQL are never touched.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


class RedisServer:
    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return self
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.process = None


def rq_settings(settings, url: str) -> None:
    """Point this (test) process's job queues at the private Redis."""
    settings.JOBS_INLINE = False
    settings.REDIS_URL = url
    settings.RQ_QUEUES = {name: {"URL": url, "DEFAULT_TIMEOUT": 60, "ASYNC": True}
                          for name in ("default", "payouts", "notifications", "reconciliation")}


def worker_env(redis_url: str) -> dict:
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
            "DJANGO_SETTINGS_MODULE": "config.settings.test", "LOG_LEVEL": "WARNING", "CONN_MAX_AGE": "0"}


def start_worker(redis_url: str, *, burst: bool, queues: tuple[str, ...] = ("payouts",)) -> subprocess.Popen:
    """`manage.py rqworker <queues>` against the test database, in its own process group."""
    args = [sys.executable, str(ROOT / "manage.py"), "rqworker", *queues]
    if burst:
        args.append("--burst")
    return subprocess.Popen(args, cwd=ROOT, env=worker_env(redis_url), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def kill_worker(process: subprocess.Popen) -> None:
    """SIGKILL the worker and the work-horse it forked (its process group, which we created)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(5)


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def run_burst_worker(redis_url: str, timeout: float = 30.0, queues: tuple[str, ...] = ("payouts",)) -> str:
    process = start_worker(redis_url, burst=True, queues=queues)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_worker(process)
        raise
    return output.decode(errors="replace")
