"""A merchant reads and changes their store's settings and rotates the API key."""

import pytest

from app.stores.models import Store
from app.stores.service import hash_api_key
from tests.helpers import bearer, error_of

KAVENEGAR_KEY = "4A6B-SECRET-kavenegar-7f00"
CONSUMER_KEY = "ck_" + "a1" * 20
CONSUMER_SECRET = "cs_" + "b2" * 20


def test_settings_show_everything_but_secrets(api, store):
    response = api.get("/api/v1/store")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == store.id and body["name"] == "چای‌خانه"
    assert (body["timezone"], body["currency"]) == ("Asia/Tehran", "IRT")
    assert (body["send_from_minute"], body["send_until_minute"]) == (540, 1260)
    assert body["send_weekdays"] == [0, 1, 2, 3, 4, 5, 6]
    assert (body["cap_per_day"], body["cap_per_week"], body["attribution_window_days"]) == (1, 3, 5)
    assert (body["sms_provider"], body["sms_api_key_set"], body["woocommerce_api_set"]) == (
        "console", False, False)
    assert body["webhook_url"].endswith(f"/webhooks/woocommerce/{store.id}")
    assert body["api_key_prefix"] == store.api_key[:8]
    assert "sms_api_key" not in body and "api_key" not in body


def test_secrets_are_write_only(api, factory, store):
    response = api.patch("/api/v1/store", json={
        "sms_provider": "kavenegar", "sms_api_key": KAVENEGAR_KEY, "sms_sender": "10004346",
        "wc_consumer_key": CONSUMER_KEY, "wc_consumer_secret": CONSUMER_SECRET})
    assert response.status_code == 200, response.text
    again = api.get("/api/v1/store")
    for answer in (response, again):
        assert answer.json()["sms_api_key_set"] is True
        assert answer.json()["woocommerce_api_set"] is True
        for secret in (KAVENEGAR_KEY, CONSUMER_KEY, CONSUMER_SECRET):
            assert secret not in answer.text
    with factory() as session:
        row = session.get(Store, store.id)
        assert (row.sms_api_key, row.wc_consumer_key, row.wc_consumer_secret) == (
            KAVENEGAR_KEY, CONSUMER_KEY, CONSUMER_SECRET)
        assert row.sms_sender == "10004346"


def test_a_misplaced_secret_is_not_echoed_in_the_error(api):
    response = api.patch("/api/v1/store", json={"wc_consumer_key": CONSUMER_SECRET,
                                               "wc_consumer_secret": CONSUMER_SECRET})
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_request"
    assert CONSUMER_SECRET not in response.text


def test_sending_rules_and_alerts_change(api):
    response = api.patch("/api/v1/store", json={
        "name": " چای‌خانهٔ نو ", "timezone": "Asia/Dubai", "currency": "irr",
        "send_from_minute": 600, "send_until_minute": 1320, "send_weekdays": [6, 0, 0, 3],
        "cap_per_day": 2, "cap_per_week": 5, "attribution_window_days": 7,
        "opt_out_text": "لغو۱۱", "alert_phone": "۰۹۱۲ ۱۲۳ ۴۵۶۷",
        "alert_webhook_url": "https://hooks.example/bazgasht", "sms_template_mode": "lookup"})
    assert response.status_code == 200, response.text
    body = api.get("/api/v1/store").json()
    assert body["name"] == "چای‌خانهٔ نو" and body["timezone"] == "Asia/Dubai"
    assert body["currency"] == "IRR" and body["send_weekdays"] == [0, 3, 6]
    assert (body["send_from_minute"], body["send_until_minute"]) == (600, 1320)
    assert (body["cap_per_day"], body["cap_per_week"], body["attribution_window_days"]) == (2, 5, 7)
    assert body["alert_phone"] == "+989121234567"
    assert body["alert_webhook_url"] == "https://hooks.example/bazgasht"
    assert body["sms_template_mode"] == "lookup"
    cleared = api.patch("/api/v1/store", json={"alert_phone": None, "alert_webhook_url": None})
    assert (cleared.json()["alert_phone"], cleared.json()["alert_webhook_url"]) == (None, None)


@pytest.mark.parametrize("patch, code, words", [
    ({"timezone": "Tehran"}, "invalid_request", "IANA"),
    ({"send_from_minute": 1300}, "invalid_sending_window", "before send_until_minute"),
    ({"send_until_minute": 1441}, "invalid_request", "send_until_minute"),
    ({"send_weekdays": []}, "invalid_request", "send_weekdays"),
    ({"send_weekdays": [7]}, "invalid_request", "send_weekdays"),
    ({"cap_per_day": 4}, "invalid_settings", "cap_per_week"),
    ({"cap_per_day": 0}, "invalid_request", "cap_per_day"),
    ({"attribution_window_days": 0}, "invalid_request", "attribution_window_days"),
    ({"sms_provider": "kavenegar"}, "invalid_settings", "sms_api_key is required"),
    ({"sms_provider": "twilio"}, "invalid_request", "sms_provider"),
    ({"sms_provider": "smsir", "sms_api_key": "کلید فارسی ۱۲۳۴"}, "invalid_request",
     "sms_api_key"),
    ({"sms_template_mode": "voice"}, "invalid_request", "sms_template_mode"),
    ({"sms_sender": "line-one"}, "invalid_request", "sms_sender"),
    ({"sms_sender": "+" + "9" * 20}, "invalid_request", "sms_sender"),
    ({"url": "https://shop.example/" + "a" * 500}, "invalid_request", "url"),
    ({"alert_phone": "021-44556677"}, "invalid_phone", "alert_phone: not a mobile number"),
    ({"alert_webhook_url": "ftp://hooks.example/x"}, "invalid_request", "alert_webhook_url"),
    ({"alert_webhook_url": "javascript:alert(1)"}, "invalid_request", "alert_webhook_url"),
    ({"wc_consumer_key": CONSUMER_KEY}, "invalid_settings", "go together"),
    ({"name": "   "}, "invalid_request", "name"),
    ({"name": None}, "invalid_request", "cannot be null"),
    ({"sms_price_per_part": 1}, "invalid_request", "sms_price_per_part"),
    ({"enabled": False}, "invalid_request", "enabled"),
])
def test_bad_settings_are_refused_with_the_reason(api, patch, code, words):
    before = api.get("/api/v1/store").json()
    response = api.patch("/api/v1/store", json=patch)
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["code"] == code and words in error["message"], error
    assert api.get("/api/v1/store").json() == before


def test_woocommerce_keys_work_on_http_and_https_stores(api):
    # Over plain http the client signs each request with OAuth 1.0a (the secret never
    # travels), as WooCommerce expects there (tests/campaigns/test_coupons.py shows it).
    assert api.patch("/api/v1/store", json={"url": "http://shop.example"}).status_code == 200
    keys = {"wc_consumer_key": CONSUMER_KEY, "wc_consumer_secret": CONSUMER_SECRET}
    assert api.patch("/api/v1/store", json=keys).json()["woocommerce_api_set"] is True
    assert api.patch("/api/v1/store", json={"url": "https://shop.example/"}).json()["url"] == \
        "https://shop.example"
    assert api.patch("/api/v1/store", json={"url": "http://shop.example"}).status_code == 200
    removed = api.patch("/api/v1/store", json={"wc_consumer_key": None,
                                              "wc_consumer_secret": None})
    assert removed.json()["woocommerce_api_set"] is False


def test_rotating_the_key_retires_the_old_one(api, client, store, factory):
    response = api.post("/api/v1/store/api-key")
    assert response.status_code == 200
    new_key = response.json()["api_key"]
    assert new_key != store.api_key and new_key.startswith("bz_")
    assert response.json()["api_key_prefix"] == new_key[:8]
    old = client.get("/api/v1/store", headers=bearer(store))
    assert old.status_code == 401 and error_of(old)["code"] == "invalid_api_key"
    new = client.get("/api/v1/store", headers={"Authorization": f"Bearer {new_key}"})
    assert new.status_code == 200 and new.json()["api_key_prefix"] == new_key[:8]
    with factory() as session:  # only its hash is kept
        assert session.get(Store, store.id).api_key_hash == hash_api_key(new_key)


def test_the_api_needs_a_valid_key(client):
    missing = client.get("/api/v1/store")
    assert missing.status_code == 401 and error_of(missing)["code"] == "missing_api_key"
    wrong = client.get("/api/v1/campaigns", headers={"Authorization": "Bearer bz_nope"})
    assert wrong.status_code == 401 and error_of(wrong)["code"] == "invalid_api_key"


def test_a_disabled_store_is_refused(api, factory, store):
    with factory.begin() as session:
        session.get(Store, store.id).enabled = False
    response = api.get("/api/v1/store")
    assert response.status_code == 403 and error_of(response)["code"] == "store_disabled"


def test_each_store_sees_its_own_settings(api, other_api, store, other_store):
    api.patch("/api/v1/store", json={"cap_per_week": 9})
    mine, theirs = api.get("/api/v1/store").json(), other_api.get("/api/v1/store").json()
    assert (mine["id"], theirs["id"]) == (store.id, other_store.id)
    assert (mine["cap_per_week"], theirs["cap_per_week"]) == (9, 3)
