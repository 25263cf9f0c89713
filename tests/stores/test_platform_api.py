"""An operator creates stores through the platform API (or the CLI) and watches deliveries."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.stores.models import Store
from app.stores.service import hash_api_key
from tests.helpers import deliver

ROOT = Path(__file__).resolve().parents[2]


def test_operator_creates_a_store(admin_client, factory, live_server):
    response = admin_client.post("/platform/v1/stores", json={
        "name": "چای‌خانه", "url": "https://shop.example/", "currency": "IRT"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["webhook_url"] == f"{live_server.url}/webhooks/woocommerce/{body['id']}"
    assert body["webhook_secret"].isalnum() and body["api_key"].startswith("bz_")
    assert body["url"] == "https://shop.example" and body["timezone"] == "Asia/Tehran"
    with factory() as session:
        store = session.get(Store, body["id"])
        assert store.api_key_hash == hash_api_key(body["api_key"])
        assert body["api_key"] not in (store.api_key_hash, store.api_key_prefix)
    # The key is shown once: reading the store back does not reveal it.
    again = admin_client.get(f"/platform/v1/stores/{body['id']}").json()
    assert "api_key" not in again and "webhook_secret" not in again


def test_platform_api_needs_the_operator_token(client, factory):
    no_token = client.post("/platform/v1/stores", json={"name": "x", "url": "https://x.example"})
    wrong = client.post("/platform/v1/stores", json={"name": "x", "url": "https://x.example"},
                        headers={"Authorization": "Bearer nope"})
    assert (no_token.status_code, no_token.json()["error"]["code"]) == (401, "missing_token")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "invalid_token")
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Store)) == 0


def test_invalid_store_is_rejected_with_a_clear_message(admin_client, factory):
    for payload, field in [({"name": "x", "url": "not a url"}, "url"),
                           ({"name": "  ", "url": "https://x.example"}, "name"),
                           # PostgreSQL refuses NUL in text: a 422 here, never a 500 there
                           ({"name": "چای\x00خانه", "url": "https://x.example"}, "name"),
                           ({"name": "چای\nخانه", "url": "https://x.example"}, "name"),
                           ({"name": "x", "url": "https://x.example", "timezone": "Mars/Base"},
                            "timezone"),
                           # what the store's settings refuse, its creation refuses too
                           ({"name": "x", "url": "https://x.example", "currency": "1$!"},
                            "currency"),
                           ({"name": "x", "url": "https://x.example", "api_key": "mine"}, "api_key")]:
        response = admin_client.post("/platform/v1/stores", json=payload)
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "invalid_request" and field in error["message"]
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Store)) == 0


def test_unknown_store_is_404(admin_client, factory):
    response = admin_client.get("/platform/v1/stores/424242")
    assert response.status_code == 404 and response.json()["error"]["code"] == "store_not_found"


def test_disabling_a_store_refuses_its_webhooks(admin_client, client, store):
    assert admin_client.post(f"/platform/v1/stores/{store.id}/disable").json()["enabled"] is False
    assert deliver(client, store, "order.deleted", {"id": 3}).status_code == 403
    assert admin_client.post(f"/platform/v1/stores/{store.id}/enable").json()["enabled"] is True
    assert deliver(client, store, "order.deleted", {"id": 3}).status_code == 200


def test_operator_sees_dead_letters_with_their_reason(admin_client, client, store, factory, clock):
    from app.ingest.service import process_pending

    deliver(client, store, "order.updated", b'{"code":"rest_no_route","message":"No route"}')
    deliver(client, store, "order.deleted", {"id": 3})
    process_pending(factory, now=clock.now())
    response = admin_client.get(f"/platform/v1/stores/{store.id}/webhook-deliveries",
                                params={"status": "dead_letter"})
    assert response.status_code == 200
    body = response.json()
    [dead] = body["items"]
    assert "rest_no_route" in dead["reason"] and "rest_no_route" in dead["body"]
    assert body["counts"] == {"dead_letter": 1, "applied": 1}


def test_cli_creates_a_store(database_url, factory, tmp_path):
    env = os.environ | {"DATABASE_URL": database_url, "BAZGASHT_PUBLIC_URL": "https://bz.example"}
    result = subprocess.run(
        [sys.executable, "-m", "app", "store", "create", "--name", "فروشگاه", "--url",
         "https://shop.example"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert set(created) >= {"id", "api_key", "webhook_secret", "webhook_url"}
    assert created["webhook_url"] == f"https://bz.example/webhooks/woocommerce/{created['id']}"
    with factory() as session:
        assert session.get(Store, created["id"]).name == "فروشگاه"


def test_cli_rejects_a_bad_url_without_a_traceback(database_url, factory, tmp_path):
    env = os.environ | {"DATABASE_URL": database_url}
    result = subprocess.run(
        [sys.executable, "-m", "app", "store", "create", "--name", "x", "--url", "nope"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("error: url:") and "Traceback" not in result.stderr


def test_a_created_store_is_stored_before_the_answer_arrives(admin_client, factory):
    """The request's transaction commits before the response leaves, not after."""
    for n in range(20):
        body = admin_client.post("/platform/v1/stores",
                                 json={"name": f"s{n}", "url": "https://x.example"}).json()
        with factory() as session:
            assert session.get(Store, body["id"]) is not None


def test_operator_sets_the_kavenegar_gateway_and_the_key_is_never_returned(admin_client, store,
                                                                             factory):
    response = admin_client.put(f"/platform/v1/stores/{store.id}/sms-gateway", json={
        "provider": "kavenegar", "api_key": "secret-kavenegar-key-42", "sender": "10004346"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["sms_provider"], body["sms_sender"], body["sms_api_key_set"]) == (
        "kavenegar", "10004346", True)
    assert "secret-kavenegar-key-42" not in response.text
    assert "secret-kavenegar-key-42" not in admin_client.get(f"/platform/v1/stores/{store.id}").text
    with factory() as session:
        assert session.get(Store, store.id).sms_api_key == "secret-kavenegar-key-42"


def test_kavenegar_without_a_key_is_rejected(admin_client, store, factory):
    response = admin_client.put(f"/platform/v1/stores/{store.id}/sms-gateway",
                                json={"provider": "kavenegar", "sender": "10004346"})
    assert response.status_code == 422 and "api_key is required" in response.json()["error"]["message"]
    with factory() as session:
        assert session.get(Store, store.id).sms_provider == "console"


@pytest.mark.parametrize("path", ["/platform/v1/stores/99999999999",
                                  "/platform/v1/stores/0",
                                  "/platform/v1/stores/99999999999/ledger",
                                  "/platform/v1/stores/1/webhook-deliveries?before_id=99999999999999999999"])
def test_ids_out_of_range_are_client_errors_not_database_errors(admin_client, path):
    answer = admin_client.get(path)
    assert answer.status_code in (404, 422) and "error" in answer.json()


def test_a_sender_line_longer_than_the_column_is_refused(admin_client, store):
    answer = admin_client.put(f"/platform/v1/stores/{store.id}/sms-gateway",
                              json={"provider": "kavenegar", "api_key": "k" * 20,
                                    "sender": "+" + "9" * 20})
    assert answer.status_code == 422


def test_operator_creates_a_store_with_its_first_panel_owner(admin_client, factory):
    from app.dashboard.models import PanelMember

    response = admin_client.post("/platform/v1/stores", json={
        "name": "گل‌فروشی", "url": "https://gol.example", "owner_phone": "۰۹۳۵ ۰۰۰ ۱۲۳۴",
        "owner_name": "نگار"})
    assert response.status_code == 201, response.text
    with factory() as session:
        [owner] = session.scalars(select(PanelMember)).all()
    assert (owner.store_id, owner.phone, owner.name, owner.role) == (
        response.json()["id"], "+989350001234", "نگار", "owner")
    # A phone that is not a mobile number: nothing is created.
    refused = admin_client.post("/platform/v1/stores", json={
        "name": "x", "url": "https://x.example", "owner_phone": "021-4455"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_phone"
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Store)) == 1


def test_a_persian_name_keeps_its_zero_width_non_joiner(admin_client):
    created = admin_client.post("/platform/v1/stores",
                                json={"name": "چای\u200cخانه", "url": "https://x.example"})
    assert created.status_code == 201 and created.json()["name"] == "چای\u200cخانه"
