"""Liveness and readiness (database and Redis apart, with latencies)."""

import httpx

from app.config import Settings
from tests.conftest import LiveServer, _free_port


def readyz(settings: Settings) -> httpx.Response:
    with LiveServer(settings) as server:
        return httpx.get(f"{server.url}/readyz", timeout=15)


def test_liveness_and_readiness_in_embedded_mode(client):
    assert client.get("/healthz").json() == {"ok": True}
    answer = client.get("/readyz")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["database"]["latency_ms"] >= 0
    assert body["checks"]["redis"] == {"status": "not_configured", "required": False}


def test_ready_with_the_database_and_redis_up(database_url, redis_url):
    answer = readyz(Settings(database_url=database_url, redis_url=redis_url))
    assert answer.status_code == 200
    checks = answer.json()["checks"]
    assert checks["database"]["status"] == checks["redis"]["status"] == "ok"
    assert checks["redis"]["required"] is True and checks["redis"]["latency_ms"] >= 0


def test_not_ready_when_redis_is_down_and_says_which(database_url, free_redis_url):
    answer = readyz(Settings(database_url=database_url, redis_url=free_redis_url))
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "down"
    assert body["checks"]["redis"]["error"] == "ConnectionError"  # the kind, not the address
    assert str(free_redis_url.split(":")[-1].split("/")[0]) not in answer.text


def test_not_ready_when_the_database_is_down(redis_url):
    dead = f"postgresql+psycopg://bazgasht:secret-pw@127.0.0.1:{_free_port()}/bazgasht"
    answer = readyz(Settings(database_url=dead, redis_url=redis_url))
    assert answer.status_code == 503
    checks = answer.json()["checks"]
    assert checks["database"]["status"] == "down" and checks["redis"]["status"] == "ok"
    assert "secret-pw" not in answer.text
