"""Store ids appear in public URLs (the webhook delivery URL, the one-click callback): an
outsider trying ids gets the same answer from a store that exists as from one that does not."""

from sqlalchemy import update

from app.db import unit_of_work
from app.stores.models import Store
from tests.helpers import deliver, wc_body

MISSING = 4242


def _answer(response) -> tuple[int, str]:
    return response.status_code, response.text


def _outsider_tries(client, store_id: int) -> list[tuple[int, str]]:
    body = wc_body({"id": 1, "status": "pending"})
    path = f"/webhooks/woocommerce/{store_id}"
    headers = {"X-WC-Webhook-Topic": "order.created", "Content-Type": "application/json"}
    return [_answer(client.post(path, content=body, headers=headers)),  # unsigned
            _answer(client.post(path, content=body, headers=headers | {
                "X-WC-Webhook-Signature": "bm90LXRoZS1zaWduYXR1cmU="})),  # a guess
            _answer(client.post(path, content=b"webhook_id=1",  # a ping
                                headers={"Content-Type": "application/x-www-form-urlencoded"}))]


def test_webhook_urls_answer_alike_for_existing_missing_and_disabled_stores(client, store,
                                                                          other_store, factory):
    existing = _outsider_tries(client, store.id)
    assert [status for status, _ in existing] == [401, 401, 200]
    assert _outsider_tries(client, MISSING) == existing
    with unit_of_work(factory) as session:
        session.execute(update(Store).where(Store.id == other_store.id).values(enabled=False))
    assert _outsider_tries(client, other_store.id) == existing
    # Who holds the disabled store's secret is told why.
    told = deliver(client, other_store, "order.created", {"id": 2, "status": "pending"})
    assert told.status_code == 403 and told.json()["error"]["code"] == "store_disabled"


def test_the_one_click_callback_answers_alike_for_existing_and_missing_stores(client, store):
    keys = {"key_id": 1, "user_id": f"{store.id}.9999999999.nonce.forged",
            "consumer_key": "ck_" + "a" * 40, "consumer_secret": "cs_" + "b" * 40,
            "key_permissions": "read_write"}
    existing = client.post(f"/connect/woocommerce/{store.id}", json=keys)
    missing = client.post(f"/connect/woocommerce/{MISSING}",
                          json=keys | {"user_id": f"{MISSING}.9999999999.nonce.forged"})
    assert existing.status_code == missing.status_code == 401
    assert existing.json() == missing.json()
    assert existing.json()["error"]["code"] == "connect_token_invalid"
