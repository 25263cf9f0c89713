"""OAuth 1.0a over http and Basic auth over https, webhooks CRUD, listing what changed since a
time, and the one-click key flow (/wc-auth/v1/authorize): the client against the fake store,
over real HTTP, the clocks set by the tests."""

import json
import logging
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.clock import SettableClock
from app.commerce.fake_woocommerce import FakeWooCommerce
from app.commerce.schemas import WooOrder, WooProduct
from app.commerce.woocommerce_api import (
    Kind,
    WooCommerceClient,
    WooCommerceError,
    oauth_signature,
)
from tests.receiver import WebhookReceiver

KEY = "ck_" + "0123456789abcdef" * 2 + "01234567"
SECRET = "cs_" + "fedcba9876543210" * 2 + "76543210"
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def clock():
    return SettableClock(NOW)


@pytest.fixture
def woo(clock):
    with FakeWooCommerce(consumer_key=KEY, consumer_secret=SECRET, clock=clock) as fake:
        yield fake


@pytest.fixture
def client(woo, clock):
    with WooCommerceClient(woo.base_url, KEY, SECRET, read_timeout=5, clock=clock) as client:
        yield client


def gmt(at: datetime) -> str:
    return at.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")


# -- OAuth 1.0a over plain http ----------------------------------------------------------------

def test_the_signature_is_woocommerces_for_awkward_parameters(woo, clock):
    """The client's signing (one encoding of the joined string) and the fake's step-by-step copy
    of check_oauth_signature (each k=v encoded, joined with %26) agree on spaces, '+', '~', '%',
    Persian text, and keys whose order changes with case."""
    params = {"search": "a b+c~d%e", "نام": "سلام", "Zeta": "1", "alpha": "", "a_b": "x/y"}
    with WooCommerceClient(woo.base_url, KEY, SECRET, clock=clock) as client:
        body, _ = client._send("GET", "/products", params=params)
    assert body == []
    [call] = woo.calls("GET /products")
    assert {k: call.query[k] for k in params} == params
    # A fixed answer, so a change to the signing shows even if both sides moved together.
    assert oauth_signature("GET", "http://shop.example/wp-json/wc/v3/orders",
                           {"per_page": "100", "oauth_consumer_key": "ck_1",
                            "oauth_timestamp": "1795167000", "oauth_nonce": "n1",
                            "oauth_signature_method": "HMAC-SHA256"}, "cs_2") == \
        "FDh3XwOtA3+A/+3qjZo3IuapXjk8EKbFFnCixwXELFw="


def signed_url(woo, clock, path="/wp-json/wc/v3/orders") -> str:
    """A URL the client signed (what the fake recorded), to replay or tamper with."""
    with WooCommerceClient(woo.base_url, KEY, SECRET, clock=clock) as client:
        client._send("GET", path[len("/wp-json/wc/v3"):], params={"per_page": "5"})
    call = woo.requests[-1]
    return f"{woo.base_url}/wp-json/wc/v3{call.path}?" + str(httpx.QueryParams(call.query |
                                                                              call.oauth))


def answer(url: str) -> tuple[int, dict]:
    response = httpx.get(url, timeout=5)
    return response.status_code, response.json()


def test_oauth_is_refused_when_tampered_replayed_or_out_of_time(woo, clock):
    url = signed_url(woo, clock)
    # The same URL again: WooCommerce remembers the nonce.
    assert answer(url) == (401, {"code": "woocommerce_rest_authentication_error",
                                 "message": "Invalid nonce - nonce has already been used.",
                                 "data": {"status": 401}})
    # A parameter changed after signing.
    status, body = answer(signed_url(woo, clock).replace("per_page=5", "per_page=6"))
    assert (status, body["message"]) == (
        401, "Invalid signature - provided signature does not match.")
    # A client whose clock is 16 minutes behind the store's.
    behind = SettableClock(NOW - timedelta(minutes=16))
    with WooCommerceClient(woo.base_url, KEY, SECRET, clock=behind) as late:
        with pytest.raises(WooCommerceError) as caught:
            list(late.orders_modified_since(NOW))
    assert (caught.value.kind, caught.value.status, caught.value.code) == (
        Kind.AUTH, 401, "woocommerce_rest_authentication_error")
    # 14 minutes is inside the window.
    behind.set(NOW - timedelta(minutes=14))
    with WooCommerceClient(woo.base_url, KEY, SECRET, clock=behind) as fine:
        assert list(fine.orders_modified_since(NOW)) == []
    # A missing part, an unknown key.
    status, body = answer(url.replace("oauth_nonce=", "nonce="))
    assert (status, body["code"], body["message"]) == (
        401, "woocommerce_rest_authentication_missing_parameter",
        "Missing OAuth parameter oauth_nonce")
    with WooCommerceClient(woo.base_url, "ck_unknown", SECRET, clock=clock) as stranger:
        with pytest.raises(WooCommerceError) as caught:
            stranger.list_webhooks()
        assert (caught.value.kind, caught.value.status) == (Kind.AUTH, 401)


def test_basic_auth_counts_only_over_https(woo, clock):
    # Over http WooCommerce never reads Basic auth: the request is a visitor's.
    response = httpx.get(f"{woo.base_url}/wp-json/wc/v3/orders", auth=(KEY, SECRET), timeout=5)
    assert response.status_code == 401
    assert response.json()["code"] == "woocommerce_rest_cannot_view"

    with FakeWooCommerce(consumer_key=KEY, consumer_secret=SECRET, clock=clock, tls=True) as tls:
        assert tls.base_url.startswith("https://127.0.0.1:")
        with WooCommerceClient(tls.base_url, KEY, SECRET, clock=clock,
                               verify=tls.trust()) as client:
            tls.add_order({"id": 5, "status": "processing"})
            assert [o["id"] for o in client.orders_modified_since(NOW - timedelta(1))] == [5]
        call = tls.requests[-1]
        assert call.headers["Authorization"].startswith("Basic ")
        assert call.oauth == {}
        # The query-string pair works too over https; a wrong secret is named.
        ok = httpx.get(f"{tls.base_url}/wp-json/wc/v3/orders", verify=tls.trust(),
                       params={"consumer_key": KEY, "consumer_secret": SECRET}, timeout=5)
        assert ok.status_code == 200 and ok.headers["X-WP-Total"] == "1"
        with WooCommerceClient(tls.base_url, KEY, "cs_wrong", verify=tls.trust()) as wrong:
            with pytest.raises(WooCommerceError) as caught:
                wrong.list_webhooks()
        assert (caught.value.kind, caught.value.status) == (Kind.AUTH, 401)


def test_the_consumer_key_stays_out_of_our_logs(woo, client, caplog):
    caplog.set_level(logging.DEBUG)
    client.list_webhooks()
    assert "oauth_consumer_key=***" in caplog.text  # httpx's request line, redacted
    assert KEY not in caplog.text and SECRET not in caplog.text
    assert KEY not in repr(client) and SECRET not in repr(client._http._http.auth)


# -- webhooks ----------------------------------------------------------------------------------

def test_webhooks_round_trip(woo, client):
    made = client.create_webhook("bazgasht orders", "order.updated",
                                 "https://bazgasht.example/webhooks/woocommerce/7", "s3cretA1")
    assert (made.status, made.resource, made.event) == ("active", "order", "updated")
    assert made.hooks == ["woocommerce_update_order", "woocommerce_order_refunded"]
    assert made.date_created_gmt == NOW
    assert woo.webhook(made.id)["secret"] == "s3cretA1"
    [call] = woo.calls("POST /webhooks")
    assert "secret" not in json.dumps(woo_answer(woo, made.id))  # never shown back

    paused = client.create_webhook("bazgasht products", "product.updated",
                                   "https://bazgasht.example/webhooks/woocommerce/7", "s3cretB2",
                                   status="paused")
    assert paused.status == "paused"  # created active (as WooCommerce does), then updated
    assert [c.body.get("status") for c in woo.calls(f"PUT /webhooks/{paused.id}")] == ["paused"]

    moved = client.update_webhook(made.id, delivery_url="https://new.example/hook",
                                  secret="s3cretC3", status="paused")
    assert (moved.delivery_url, moved.status) == ("https://new.example/hook", "paused")
    assert woo.webhook(made.id)["secret"] == "s3cretC3"
    assert {w.id: w.status for w in client.list_webhooks()} == {made.id: "paused",
                                                                 paused.id: "paused"}
    assert client.delete_webhook(made.id) is True
    assert [c.query["force"] for c in woo.calls(f"DELETE /webhooks/{made.id}")] == ["true"]
    assert client.delete_webhook(made.id) is False  # gone already
    assert [w.id for w in client.list_webhooks()] == [paused.id]


def woo_answer(woo, webhook_id: int) -> dict:
    with WooCommerceClient(woo.base_url, woo.consumer_key, woo.consumer_secret,
                           clock=woo.clock) as client:
        return client._call("GET", f"/webhooks/{webhook_id}")


def test_webhooks_broken_behind_our_back(woo, client):
    one = client.create_webhook("a", "order.created", "https://b.example/h", "s1")
    two = client.create_webhook("b", "order.updated", "https://b.example/h", "s2")
    woo.disable_webhook(one.id)  # after failed deliveries
    woo.set_webhook_secret(two.id, "changed-in-admin")
    assert {w.id: w.status for w in client.list_webhooks()} == {one.id: "disabled",
                                                                 two.id: "active"}
    assert woo.webhook(two.id)["secret"] == "changed-in-admin"
    woo.delete_webhook_behind(two.id)
    with pytest.raises(WooCommerceError) as caught:
        client.update_webhook(two.id, status="active")
    assert (caught.value.kind, caught.value.status, caught.value.code) == (
        Kind.INVALID, 400, "woocommerce_rest_shop_webhook_invalid_id")
    # What WooCommerce refuses.
    for topic, url, code in (("order.paid", "https://b.example/h", "invalid_topic"),
                             ("order.updated", "ftp://b.example/h", "invalid_delivery_url")):
        with pytest.raises(WooCommerceError) as caught:
            client.create_webhook("x", topic, url, "s")
        assert caught.value.code == f"woocommerce_rest_shop_webhook_{code}"
    with pytest.raises(WooCommerceError) as caught:
        client.update_webhook(one.id, status="sleeping")
    assert caught.value.code == "rest_invalid_param"
    with pytest.raises(TypeError):
        client.update_webhook(one.id, api_version="wp_api_v3")


def test_webhooks_need_force_to_be_deleted(woo, client):
    made = client.create_webhook("a", "order.created", "https://b.example/h", "s1")
    with pytest.raises(WooCommerceError) as caught:
        client._call("DELETE", f"/webhooks/{made.id}")
    assert (caught.value.status, caught.value.code) == (501, "woocommerce_rest_trash_not_supported")
    assert woo.webhook(made.id) is not None


def test_a_read_only_key_lists_but_cannot_make_webhooks(woo, client):
    woo.permissions = "read"
    assert client.list_webhooks() == []
    with pytest.raises(WooCommerceError) as caught:
        client.create_webhook("a", "order.created", "https://b.example/h", "s1")
    assert (caught.value.kind, caught.value.status) == (Kind.AUTH, 401)


# -- orders and products modified since --------------------------------------------------------

def order(order_id: int, modified: datetime, **fields) -> dict:
    return {"id": order_id, "status": "processing", "currency": "IRT", "total": "2200000",
            "billing": {"phone": "09121234567"}, "line_items": [], "date_modified_gmt":
            gmt(modified), "date_created_gmt": gmt(modified - timedelta(hours=1))} | fields


def test_orders_modified_since_walk_every_page_oldest_first(woo, client):
    for n in range(250):
        woo.add_order(order(1000 + n, NOW - timedelta(minutes=n)))
    since = NOW - timedelta(minutes=210)  # strictly after: 1210 (at since) is not included
    found = list(client.orders_modified_since(since))
    assert [o["id"] for o in found] == list(range(1209, 999, -1))
    assert all(WooOrder.model_validate(o).date_modified_gmt > since for o in found)
    calls = woo.calls("GET /orders")
    assert [c.query["page"] for c in calls] == ["1", "2", "3"]
    assert {c.query["modified_after"] for c in calls} == {gmt(since)}
    assert {k: calls[0].query[k] for k in ("per_page", "orderby", "order", "dates_are_gmt")} \
        == {"per_page": "100", "orderby": "modified", "order": "asc", "dates_are_gmt": "true"}
    _, headers = client._send("GET", "/orders", params={"per_page": "100", "page": "2"})
    assert (headers["X-WP-Total"], headers["X-WP-TotalPages"]) == ("250", "3")
    assert 'rel="prev"' in headers["Link"] and 'rel="next"' in headers["Link"]


def test_a_listing_stops_at_its_page_cap(woo, client, caplog):
    for n in range(250):
        woo.add_product({"id": 2000 + n, "name": f"کالا {n}", "price": "10000",
                         "date_modified_gmt": gmt(NOW - timedelta(seconds=n))})
    found = list(client.products_modified_since(NOW - timedelta(days=1), max_pages=2))
    assert len(found) == 200 and found[0]["id"] == 2249
    assert WooProduct.model_validate(found[0]).name == "کالا 249"
    assert len(woo.calls("GET /products")) == 2
    assert "stopped after 2 pages" in caplog.text
    assert list(client.products_modified_since(NOW)) == []


def test_a_changed_order_moves_to_the_end_of_the_walk(woo, client):
    for n in range(150):
        woo.add_order(order(3000 + n, NOW - timedelta(minutes=200 - n)))
    walk = client.orders_modified_since(NOW - timedelta(days=1))
    first = [next(walk)["id"] for _ in range(100)]
    woo.add_order(order(3000, NOW + timedelta(minutes=1)))  # changed while we walk
    rest = [o["id"] for o in walk]
    assert first[0] == 3000 and 3000 not in rest  # not twice
    assert len(first) + len(rest) == 149  # one that shifted onto page 1 is missed this walk


def test_modified_after_needs_a_timezone(client):
    with pytest.raises(ValueError):
        list(client.orders_modified_since(datetime(2026, 11, 20)))


# -- application authorization (one-click keys) -----------------------------------------------

AUTH = {"app_name": "bazgasht", "scope": "read_write", "user_id": "store-7",
        "return_url": "https://bazgasht.example/connect/done?step=2"}


def authorize(woo, **params) -> httpx.Response:
    return httpx.get(f"{woo.base_url}/wc-auth/v1/authorize", params=params, timeout=10,
                     follow_redirects=False)


def test_approved_keys_are_posted_to_the_callback_and_work(woo, clock):
    woo.require_https_callback = False  # the receiver is plain http on loopback
    with WebhookReceiver() as receiver:
        response = authorize(woo, **AUTH, callback_url=receiver.url + "/keys")
        [posted] = receiver.requests
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.netloc == "bazgasht.example" and location.path == "/connect/done"
    assert parse_qs(location.query) == {"step": ["2"], "success": ["1"], "user_id": ["store-7"]}
    assert posted.path == "/keys"
    assert posted.headers["Content-Type"] == "application/json;charset=UTF-8"
    keys = posted.json()
    assert set(keys) == {"key_id", "user_id", "consumer_key", "consumer_secret",
                         "key_permissions"}
    assert (keys["user_id"], keys["key_permissions"]) == ("store-7", "read_write")
    assert keys["consumer_key"].startswith("ck_") and len(keys["consumer_key"]) == 43
    [issued] = woo.issued_keys
    assert issued.description.startswith("bazgasht - API (2026-11-20 09:30:00)")
    with WooCommerceClient(woo.base_url, keys["consumer_key"], keys["consumer_secret"],
                           clock=clock) as client:
        made = client.create_webhook("a", "order.updated", "https://b.example/h", "s")
        assert client.list_webhooks() == [made]


def test_a_callback_that_does_not_answer_200_loses_the_key(woo):
    woo.require_https_callback = False
    with WebhookReceiver() as receiver:
        receiver.script = [201]
        response = authorize(woo, **AUTH, callback_url=receiver.url)
    assert response.status_code == 401 and "Access denied" in response.text
    assert "unable to send the consumer data" in response.text
    assert woo.issued_keys == [] and woo.authorizations[-1]["outcome"] == "callback failed"


def test_a_refusal_goes_back_with_success_0(woo):
    woo.require_https_callback = False
    woo.refuse_authorization()
    with WebhookReceiver() as receiver:
        response = authorize(woo, **AUTH, callback_url=receiver.url)
        assert receiver.requests == []
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query)["success"] == ["0"]
    assert woo.issued_keys == []


@pytest.mark.parametrize("change, error", [
    ({"app_name": ""}, "Error: Missing parameter app_name."),
    ({"scope": "admin"}, "Error: Invalid scope admin."),
    ({"callback_url": "http://bazgasht.example/keys"},
     "Error: The callback_url needs to be over SSL."),
])
def test_what_the_authorize_page_refuses(woo, change, error):
    params = AUTH | {"callback_url": "https://bazgasht.example/keys"} | change
    response = authorize(woo, **{k: v for k, v in params.items() if v})
    assert response.status_code == 401 and error in response.text
    assert woo.issued_keys == []
