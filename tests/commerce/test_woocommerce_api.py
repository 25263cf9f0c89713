"""The WooCommerce REST client against the fake store, over real HTTP: what it sends, how it
reads every kind of answer, and that the consumer secret never shows."""

import base64
import logging
import socket

import httpx
import pytest

from app.commerce.fake_woocommerce import FakeWooCommerce
from app.commerce.woocommerce_api import (
    AUTH_REFUSED,
    Kind,
    WooCommerceClient,
    WooCommerceError,
    check_store_url,
)

KEY = "ck_" + "0123456789abcdef" * 2 + "01234567"
SECRET = "cs_" + "fedcba9876543210" * 2 + "76543210"
COUPON = {"code": "AB23CD45", "discount_type": "percent", "amount": "10", "individual_use": True,
          "usage_limit": 1, "usage_limit_per_user": 1, "date_expires_gmt": "2026-11-28T20:29:59",
          "email_restrictions": ["ali@example.com"], "description": "bazgasht message 7",
          "meta_data": [{"key": "bazgasht_message_id", "value": "7"}]}


@pytest.fixture
def woo():
    with FakeWooCommerce(consumer_key=KEY, consumer_secret=SECRET) as fake:
        yield fake


@pytest.fixture
def client(woo):
    with WooCommerceClient(woo.base_url, KEY, SECRET, read_timeout=2) as client:
        yield client


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_coupon_is_created_and_found_again_by_code(woo, client):
    made = client.create_coupon(COUPON)
    assert made.code == "ab23cd45"  # WooCommerce keeps codes lower-case
    assert (made.discount_type, made.amount, made.usage_limit, made.usage_limit_per_user) == (
        "percent", "10.00", 1, 1)
    assert made.date_expires_gmt.isoformat() == "2026-11-28T20:29:59+00:00"
    assert made.email_restrictions == ["ali@example.com"]
    [call] = woo.calls("POST /coupons")
    # Plain http (the fake on loopback): OAuth 1.0a in the query, the secret never sent.
    assert "Authorization" not in call.headers
    assert call.oauth["oauth_consumer_key"] == KEY and "oauth_signature" in call.oauth
    assert call.query == {} and SECRET not in str(call.oauth)
    assert client.find_coupon("Ab23cd45") == made
    assert client.find_coupon("ZZ99ZZ99") is None


def test_a_taken_code_is_its_own_kind_of_error(woo, client):
    woo.add_coupon("ab23cd45")
    with pytest.raises(WooCommerceError) as caught:
        client.create_coupon(COUPON)
    assert caught.value.kind is Kind.EXISTS and caught.value.status == 400
    assert caught.value.code == "woocommerce_rest_coupon_code_already_exists"
    assert not caught.value.ambiguous


def test_over_https_the_keys_go_as_basic_auth():
    with FakeWooCommerce(consumer_key=KEY, consumer_secret=SECRET, tls=True) as woo, \
            WooCommerceClient(woo.base_url, KEY, SECRET, verify=woo.trust()) as client:
        made = client.create_coupon(COUPON)
        assert client.find_coupon("ab23cd45") == made
        [call] = woo.calls("POST /coupons")
    assert call.headers["Authorization"] == "Basic " + base64.b64encode(
        f"{KEY}:{SECRET}".encode()).decode()
    assert call.query == {}  # the keys travel in the header, never in the URL


@pytest.mark.parametrize("setup, message", [
    (lambda woo: setattr(woo, "consumer_secret", "cs_other"),
     "Invalid signature - provided signature does not match."),
    (lambda woo: setattr(woo, "permissions", "read"),
     "The API key provided does not have write permissions."),
])
def test_wrong_or_read_only_keys_are_an_auth_error(woo, client, setup, message):
    setup(woo)
    with pytest.raises(WooCommerceError) as caught:
        client.create_coupon(COUPON)
    assert caught.value.kind is Kind.AUTH and caught.value.status == 401
    # Our words and WooCommerce's code; the store's own text is never repeated.
    assert caught.value.message == AUTH_REFUSED and message not in str(caught.value)
    assert caught.value.code == "woocommerce_rest_authentication_error"
    assert woo.coupons == []


def test_a_refused_field_is_invalid_and_not_retried(woo, client):
    with pytest.raises(WooCommerceError) as caught:
        client.create_coupon(COUPON | {"amount": 10})
    assert caught.value.kind is Kind.INVALID and caught.value.code == "rest_invalid_param"
    assert caught.value.message == "the store refused the request"


def test_server_errors_are_retried_and_a_lost_create_is_ambiguous(woo, client):
    woo.fail_next("POST /coupons", 502, raw_body="<html>Bad Gateway</html>", after_work=True)
    with pytest.raises(WooCommerceError) as caught:
        client.create_coupon(COUPON)
    assert (caught.value.kind, caught.value.ambiguous) == (Kind.RETRY, True)
    assert caught.value.status == 502 and "Bad Gateway" not in str(caught.value)
    assert client.find_coupon("ab23cd45") is not None  # the store did make it

    woo.fail_next("GET /coupons", 429, code="too_many_requests", message="Slow down")
    with pytest.raises(WooCommerceError) as caught:
        client.find_coupon("ab23cd45")
    assert (caught.value.kind, caught.value.ambiguous) == (Kind.RETRY, False)


def test_a_timeout_after_the_store_acted_is_ambiguous(woo):
    woo.delay("POST /coupons", 5)
    with WooCommerceClient(woo.base_url, KEY, SECRET, read_timeout=0.3) as slow:
        with pytest.raises(WooCommerceError) as caught:
            slow.create_coupon(COUPON)
    assert (caught.value.kind, caught.value.ambiguous) == (Kind.RETRY, True)
    assert "deadline" in caught.value.message
    assert woo.coupon("ab23cd45") is not None


def test_an_unreachable_store_is_a_retry_that_did_nothing():
    with WooCommerceClient(f"http://127.0.0.1:{closed_port()}", KEY, SECRET) as client:
        with pytest.raises(WooCommerceError) as caught:
            client.create_coupon(COUPON)
    assert (caught.value.kind, caught.value.ambiguous, caught.value.status) == (
        Kind.RETRY, False, None)
    assert caught.value.message == "no answer (the host could not be reached)"


def test_a_page_that_is_not_json_is_a_retry(woo, client):
    woo.fail_next("POST /coupons", 200, raw_body="<html>Under maintenance</html>")
    with pytest.raises(WooCommerceError) as caught:
        client.create_coupon(COUPON)
    assert (caught.value.kind, caught.value.ambiguous) == (Kind.RETRY, True)
    assert caught.value.message == "the answer is not JSON"


def test_a_redirect_is_not_followed_and_says_where_to(woo, client):
    woo.fail_next("POST /coupons", 301, raw_body="")
    with pytest.raises(WooCommerceError) as caught:
        client.create_coupon(COUPON)
    assert caught.value.kind is Kind.INVALID and "redirects" in caught.value.message
    assert len(woo.calls("POST /coupons")) == 1


def test_a_store_without_the_rest_api_is_invalid(woo):
    with WooCommerceClient(woo.base_url + "/blog", KEY, SECRET) as client:
        with pytest.raises(WooCommerceError) as caught:
            client.find_coupon("x")
    assert caught.value.kind is Kind.INVALID and caught.value.status == 404
    assert "/wp-json/" in caught.value.message


def test_store_urls_are_http_or_https_and_the_keys_go_basic_or_signed_accordingly():
    assert check_store_url("https://shop.example/") == "https://shop.example"
    assert check_store_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert check_store_url("http://shop.example/") == "http://shop.example"
    for url in ("ftp://shop.example", "shop.example", "http://", "https://shop.example/#",
                "https://shop.example/?a=1", "https://user:pw@shop.example"):
        with pytest.raises(ValueError):
            check_store_url(url)
    # Basic auth only where WooCommerce reads it (https); OAuth 1.0a, secret kept, over http.
    with WooCommerceClient("https://shop.example", KEY, SECRET) as secure, \
            WooCommerceClient("http://shop.example", KEY, SECRET) as plain:
        assert isinstance(secure._http._http.auth, httpx.BasicAuth)
        assert type(plain._http._http.auth).__name__ == "OAuth1"


def test_the_secret_never_shows_in_reprs_errors_or_logs(woo, client, caplog):
    caplog.set_level(logging.DEBUG)
    assert SECRET not in repr(client) and KEY not in repr(client)
    # A store (or a proxy) that echoes what it got: we repeat nothing of it.
    woo.fail_next("POST /coupons", 500, code="internal_server_error",
                  message=f"PHP Warning: auth {KEY}:{SECRET} rejected")
    woo.fail_next("GET /coupons", 200, raw_body=f"debug: {SECRET}")
    errors = []
    for call in (lambda: client.create_coupon(COUPON), lambda: client.find_coupon("x")):
        with pytest.raises(WooCommerceError) as caught:
            call()
        errors.append(caught.value)
    woo.consumer_secret = "cs_other"
    with pytest.raises(WooCommerceError) as caught:
        client.create_coupon(COUPON)
    errors.append(caught.value)
    with WooCommerceClient(f"http://127.0.0.1:{closed_port()}", KEY, SECRET) as down:
        with pytest.raises(WooCommerceError) as caught:
            down.find_coupon("x")
        errors.append(caught.value)
    shown = " ".join([str(e) for e in errors] + [repr(e) for e in errors] + [caplog.text])
    assert "PHP Warning" not in shown and "debug" not in shown
    assert SECRET not in shown and KEY not in shown
    assert "woocommerce" in caplog.text.lower()  # the calls were logged, without the secret
