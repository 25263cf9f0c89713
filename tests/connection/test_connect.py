"""One-click connect: the authorisation URL, WooCommerce's callback with the keys, the webhooks
registered with them, and every way a callback is refused."""

from datetime import timedelta

import httpx
from sqlalchemy import update

from app.commerce.topics import WEBHOOK_TOPICS
from app.db import unit_of_work
from app.stores.models import Store
from app.stores.service import webhook_url
from tests.connection.conftest import approve, query_of, store_row, topics
from tests.helpers import error_of


def test_the_authorize_url_carries_a_one_time_token_for_the_store(api, shop_at_woo, woo,
                                                                  live_server):
    answer = api.post("/api/v1/store/connect")
    assert answer.status_code == 200
    url = answer.json()["authorize_url"]
    assert url.startswith(f"{woo.base_url}/wc-auth/v1/authorize?")
    params = query_of(url)
    assert params["app_name"] == "bazgasht" and params["scope"] == "read_write"
    assert params["return_url"] == f"{live_server.url}/panel/settings?connect=done"
    assert params["callback_url"] == f"{live_server.url}/connect/woocommerce/{shop_at_woo.id}"
    assert params["user_id"].startswith(f"{shop_at_woo.id}.")
    assert shop_at_woo.webhook_secret not in url


def test_one_click_saves_the_keys_and_registers_every_topic(api, shop_at_woo, woo, factory,
                                                            live_server):
    answer = approve(api)
    assert answer.status_code == 302
    assert query_of(answer.headers["location"])["success"] == "1"
    assert answer.headers["location"].startswith(f"{live_server.url}/panel/settings?connect=done")
    [key] = woo.issued_keys
    store = store_row(factory, shop_at_woo.id)
    assert (store.wc_consumer_key, store.wc_consumer_secret) == (key.consumer_key,
                                                                 key.consumer_secret)
    assert store.wc_connect_nonce_hash is None  # used up
    hooks = woo.webhooks
    assert sorted(w["topic"] for w in hooks) == sorted(WEBHOOK_TOPICS)
    for hook in hooks:
        assert hook["status"] == "active"
        assert hook["delivery_url"] == webhook_url(live_server.url, shop_at_woo.id)
        assert hook["secret"] == shop_at_woo.webhook_secret
    assert topics(factory, shop_at_woo.id) == {t: "registered" for t in WEBHOOK_TOPICS}
    # The merchant API says the keys are set (never what they are).
    settings = api.get("/api/v1/store").json()
    assert settings["woocommerce_api_set"] is True
    assert key.consumer_secret not in api.get("/api/v1/store").text


def test_a_webhook_already_pointing_here_is_reused_not_doubled(api, shop_at_woo, woo, factory,
                                                               live_server):
    # The merchant had made order.created by hand, with an old secret, and it got disabled.
    url = webhook_url(live_server.url, shop_at_woo.id)
    woo._create_webhook({"topic": "order.created", "delivery_url": url, "secret": "old"})
    [old] = woo.webhooks
    woo.disable_webhook(old["id"])
    approve(api)
    created = [w for w in woo.webhooks if w["topic"] == "order.created"]
    assert [w["id"] for w in created] == [old["id"]]
    assert created[0]["status"] == "active" and created[0]["secret"] == shop_at_woo.webhook_secret
    assert topics(factory, shop_at_woo.id)["order.created"] == "reactivated"
    assert len(woo.webhooks) == len(WEBHOOK_TOPICS)


def _callback(client, store_id, user_id, *, permissions="read_write",
              key="ck_" + "c" * 40, secret="cs_" + "d" * 40):
    return client.post(f"/connect/woocommerce/{store_id}", json={
        "key_id": 1, "user_id": user_id, "consumer_key": key, "consumer_secret": secret,
        "key_permissions": permissions})


def _token(api) -> str:
    return query_of(api.post("/api/v1/store/connect").json()["authorize_url"])["user_id"]


def test_a_token_is_used_once(api, client, shop_at_woo, woo):
    approve(api)
    [key] = woo.issued_keys
    token = woo.authorizations[-1]["params"]["user_id"]
    again = _callback(client, shop_at_woo.id, token, key=key.consumer_key,
                      secret=key.consumer_secret)
    assert again.status_code == 409 and error_of(again)["code"] == "connect_token_used"


def test_a_forged_or_foreign_token_is_refused(api, client, shop_at_woo, other_store):
    token = _token(api)
    head, _, sig = token.rpartition(".")
    forged = _callback(client, shop_at_woo.id, f"{head}.{'A' * len(sig)}")
    assert forged.status_code == 401 and error_of(forged)["code"] == "connect_token_invalid"
    elsewhere = _callback(client, other_store.id, token)
    assert elsewhere.status_code == 401 and error_of(elsewhere)["code"] == "connect_token_invalid"
    garbage = _callback(client, shop_at_woo.id, "not-a-token")
    assert garbage.status_code == 401
    nobody = _callback(client, 999999, token)  # as another store's: ids tell nothing
    assert nobody.status_code == 401 and error_of(nobody) == error_of(elsewhere)


def test_an_expired_token_is_refused(api, client, shop_at_woo, clock):
    token = _token(api)
    clock.advance(timedelta(hours=1, seconds=1))
    late = _callback(client, shop_at_woo.id, token)
    assert late.status_code == 401 and error_of(late)["code"] == "connect_token_expired"


def test_keys_that_are_not_read_write_are_refused(api, client, shop_at_woo, factory):
    token = _token(api)
    read_only = _callback(client, shop_at_woo.id, token, permissions="read")
    assert read_only.status_code == 400 and error_of(read_only)["code"] == "connect_permissions"
    assert store_row(factory, shop_at_woo.id).wc_consumer_key is None


def test_keys_the_store_does_not_accept_are_not_saved(api, client, shop_at_woo, factory, woo):
    token = _token(api)
    made_up = _callback(client, shop_at_woo.id, token)  # keys WooCommerce never issued
    assert made_up.status_code == 400 and error_of(made_up)["code"] == "connect_keys_refused"
    assert "cs_" + "d" * 40 not in made_up.text
    assert store_row(factory, shop_at_woo.id).wc_consumer_key is None
    assert woo.webhooks == []


def test_a_merchant_who_denies_changes_nothing(api, shop_at_woo, woo, factory):
    woo.refuse_authorization()
    answer = approve(api)
    assert query_of(answer.headers["location"])["success"] == "0"
    assert store_row(factory, shop_at_woo.id).wc_consumer_key is None


def test_a_failed_webhook_still_answers_200_once_the_keys_are_saved(api, shop_at_woo, woo,
                                                                    factory):
    woo.fail_next("POST /webhooks", 500)
    answer = approve(api)
    assert query_of(answer.headers["location"])["success"] == "1"  # WooCommerce kept the key
    results = topics(factory, shop_at_woo.id)
    assert results["order.created"] == "failed"
    assert all(results[t] == "registered" for t in WEBHOOK_TOPICS[1:])
    assert store_row(factory, shop_at_woo.id).wc_consumer_key == woo.issued_keys[0].consumer_key


def test_an_http_store_connects_too_its_keys_then_sign_with_oauth(api, store, factory):
    assert httpx.URL(api.post("/api/v1/store/connect").json()["authorize_url"]).host == \
        "shop.example"
    with unit_of_work(factory) as session:
        session.execute(update(Store).where(Store.id == store.id)
                        .values(url="http://shop.example"))
    # WooCommerce posts the keys to bazgasht's (https) callback whatever the store's scheme;
    # over http the client then signs every request with OAuth 1.0a (the fake above is http).
    started = api.post("/api/v1/store/connect")
    assert started.status_code == 200
    url = httpx.URL(started.json()["authorize_url"])
    assert (url.scheme, url.host, url.path) == ("http", "shop.example", "/wc-auth/v1/authorize")


def test_the_panel_button_goes_to_woocommerce_and_the_results_show_in_persian(
        anonymous, shop_at_woo, woo, factory):
    anonymous.sign_in(shop_at_woo)
    page = anonymous.get("/panel/settings")
    assert "اتصال با یک کلیک" in page.text
    refused = anonymous.post("/panel/settings/connect", csrf="")
    assert refused.status_code in (400, 403)
    started = anonymous.post("/panel/settings/connect")
    assert started.status_code == 303
    assert started.headers["location"].startswith(f"{woo.base_url}/wc-auth/v1/authorize?")
    woo.fail_next("POST /webhooks", 500)
    back = httpx.get(started.headers["location"], follow_redirects=False, timeout=30)
    returned = httpx.URL(back.headers["location"])
    page = anonymous.get(f"{returned.path}?{returned.query.decode()}")
    assert page.status_code == 200
    assert 'id="connect-done"' in page.text
    table = page.text[page.text.index('id="connection-topics"'):]
    table = table[:table.index("</table>")]
    assert table.count("ثبت شد") == len(WEBHOOK_TOPICS) - 1 and "ناموفق" in table
    assert shop_at_woo.webhook_secret not in page.text
    assert woo.issued_keys[0].consumer_secret not in page.text
