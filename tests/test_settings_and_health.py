import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args, env_overrides: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(env_overrides)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_debug_off_without_secret_key_refuses_to_start():
    result = run_manage("check", env_overrides={"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_check_deploy_is_clean_with_production_values():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_overrides={
        "DEBUG": "0", "SECRET_KEY": "x" * 20 + "production-like-secret-value-with-entropy-0123456789",
        "ALLOWED_HOSTS": "refunds.example.com",
    })
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_healthz_is_json_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_the_database_and_redis_when_configured(client, settings):
    response = client.get("/readyz")
    body = response.json()
    assert body["checks"]["database"] == "ok"
    if settings.REDIS_URL:
        assert body["checks"]["redis"] == "ok"
    else:
        assert "redis" not in body["checks"]
    assert response.status_code == 200


@pytest.mark.django_db
def test_readyz_reports_unreachable_redis(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert json.loads(response.content)["checks"]["redis"].startswith("error")


def test_rq_queues_are_inline_without_redis_url(settings):
    if settings.REDIS_URL:
        pytest.skip("REDIS_URL is set: queues are asynchronous in this run")
    assert settings.JOBS_INLINE
    assert all(queue["ASYNC"] is False for queue in settings.RQ_QUEUES.values())


@pytest.mark.django_db
def test_rq_dashboard_is_for_superusers_only(client, make_user):
    client.force_login(make_user("agent", is_staff=True))
    assert client.get("/admin/rq/").status_code in (302, 403)
    client.force_login(make_user("admin", is_staff=True, is_superuser=True))
    assert client.get("/admin/rq/").status_code == 200


@pytest.mark.django_db
def test_api_and_login_survive_a_dead_cache(client, settings, make_user):
    """Throttles and rate limits need the cache; when Redis is down requests still succeed (SPEC §15)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}  # nothing listens there
    make_user("reviewer", username="rev-cache", password="a-long-enough-password")
    response = client.post("/accounts/login/", {"username": "rev-cache", "password": "a-long-enough-password"})
    assert response.status_code == 302
    response = client.get("/api/v1/refunds/", HTTP_AUTHORIZATION="Bearer rl_nope_nope")
    assert response.status_code == 401
