"""Liveness, readiness (database and Redis apart, with latencies) and a store's gateway check."""

import httpx
import pytest

from app.config import Settings
from app.http import tls
from tests.conftest import ADMIN_TOKEN, LiveServer, _free_port
from tests.ops.conftest import KEY, use_kavenegar


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


# ---- a store's SMS gateway ----

@pytest.fixture
def operator(database_url, kavenegar):
    """An operator's client on an API whose Kavenegar is the fake."""
    settings = Settings(database_url=database_url, bazgasht_admin_token=ADMIN_TOKEN,
                        kavenegar_base_url=kavenegar.base_url)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with LiveServer(settings) as server, \
            httpx.Client(verify=tls(), base_url=server.url, timeout=30, headers=headers) as client:
        yield client


def check(client, store_id) -> dict:
    answer = client.get(f"/platform/v1/stores/{store_id}/gateway-check")
    assert answer.status_code == 200, answer.text
    assert KEY not in answer.text
    return answer.json()


def test_the_console_gateway_answers_without_credit(operator, store):
    body = check(operator, store.id)
    assert body["ok"] is True and body["gateway"] == "console" and body["credit"] is None


def test_a_kavenegar_store_shows_its_credit(operator, store, factory, kavenegar):
    use_kavenegar(factory, store.id)
    kavenegar.credit = 4_250_000
    body = check(operator, store.id)
    assert (body["ok"], body["provider"], body["credit"]) == (True, "kavenegar", 4_250_000)
    assert body["latency_ms"] >= 0
    assert kavenegar.calls("info")  # it really asked


def test_an_account_out_of_credit_is_a_store_error(operator, store, factory, kavenegar):
    use_kavenegar(factory, store.id)
    kavenegar.fail_next("account/info", 418)
    body = check(operator, store.id)
    assert body["ok"] is False
    assert body["error"]["kind"] == "store" and body["error"]["code"] == 418
    assert "/v1/***/account/info.json" in body["error"]["message"]


def test_a_wrong_key_is_a_store_error_that_never_shows_the_key(operator, store, factory,
                                                                kavenegar):
    use_kavenegar(factory, store.id)
    kavenegar.api_key = "another-key"  # the account's key was changed at Kavenegar
    body = check(operator, store.id)
    assert body["error"]["kind"] == "store" and body["error"]["code"] == 403


def test_an_unreachable_gateway_is_a_retry_error(database_url, store, factory):
    settings = Settings(database_url=database_url, bazgasht_admin_token=ADMIN_TOKEN,
                        kavenegar_base_url=f"http://127.0.0.1:{_free_port()}")
    use_kavenegar(factory, store.id)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with LiveServer(settings) as server, \
            httpx.Client(verify=tls(), base_url=server.url, timeout=30, headers=headers) as client:
        body = check(client, store.id)
    assert body["ok"] is False and body["error"]["kind"] == "retry"
    assert body["error"]["code"] is None and "ConnectError" in body["error"]["message"]


def test_the_gateway_check_is_for_operators_only(client, admin_client, store):
    assert client.get(f"/platform/v1/stores/{store.id}/gateway-check").status_code == 401
    missing = admin_client.get("/platform/v1/stores/999999/gateway-check")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "store_not_found"
