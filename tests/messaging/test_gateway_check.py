"""The operator's check of a store's SMS gateway: reachable, refused or down, never the key."""

import httpx
import pytest

from app.config import Settings
from app.http import tls
from app.messaging.fake_kavenegar import FakeKavenegar
from tests import factories
from tests.conftest import ADMIN_TOKEN, LiveServer, _free_port

KEY = "kavenegar-check-key-0123"


@pytest.fixture
def kavenegar():
    with FakeKavenegar(api_key=KEY) as fake:
        yield fake


def use_kavenegar(factory, store_id: int) -> None:
    factories.use_kavenegar(factory, store_id, KEY)


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


def test_a_second_provider_is_checked_beside_the_first(database_url, store, factory, kavenegar):
    from sqlalchemy import update

    from app.db import unit_of_work
    from app.messaging.fake_smsir import FakeSmsIr
    from app.stores.models import Store

    second_key = "smsir-check-key-0123456789"
    use_kavenegar(factory, store.id)
    with unit_of_work(factory) as session:
        session.execute(update(Store).where(Store.id == store.id).values(
            sms_fallback_provider="smsir", sms_fallback_sender="30004505"))
        session.get_one(Store, store.id).sms_fallback_api_key = second_key  # encrypted
    with FakeSmsIr(api_key="not-the-stores-key") as smsir:
        settings = Settings(database_url=database_url, bazgasht_admin_token=ADMIN_TOKEN,
                            kavenegar_base_url=kavenegar.base_url,
                            smsir_base_url=f"{smsir.base_url}/v1")
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        with LiveServer(settings) as server, httpx.Client(
                verify=tls(), base_url=server.url, timeout=30, headers=headers) as client:
            body = check(client, store.id)
    assert body["ok"] is True and body["provider"] == "kavenegar"
    second = body["fallback"]
    assert (second["provider"], second["ok"], second["error"]["kind"]) == ("smsir", False,
                                                                          "store")
    assert second_key not in str(body)
