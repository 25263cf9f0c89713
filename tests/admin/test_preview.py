"""A merchant previews a step's SMS (text, parts, cost) and sends it to their own phone."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.admin.models import TestSend
from app.admin.preview import SAMPLE_COUPON, TEST_SEND_LOCALID_BASE, TEST_SENDS_PER_HOUR
from app.campaigns.models import Enrollment, Message
from app.commerce.models import Cart, Order
from app.config import get_settings
from app.contacts.models import Contact
from app.db import unit_of_work
from app.links.models import Link
from app.messaging.fake_kavenegar import DEFAULT_LINE
from app.messaging.models import ConsoleSms
from app.stores.models import Store
from tests.campaigns.shop import Shop, tehran
from tests.factories import store_settings
from tests.helpers import error_of, live_kavenegar

SAMPLE_LINK = f"{get_settings().public_url}/SmpCart"  # the cart sample (app/links/samples.py)


def campaign_of(api, kind: str) -> dict:
    [campaign] = [c for c in api.get("/api/v1/campaigns").json()["items"] if c["kind"] == kind]
    return campaign


def step_url(api, kind: str, position: int = 1) -> str:
    campaign = campaign_of(api, kind)
    return f"/api/v1/campaigns/{campaign['id']}/steps/{campaign['steps'][position - 1]['id']}"


def counts(factory) -> tuple:
    with factory() as session:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (Link, Message, Enrollment, Contact, Cart, Order, TestSend))


def test_the_sample_preview_is_a_persian_sms_with_the_opt_out_line(api):
    response = api.post(f"{step_url(api, 'abandoned_cart')}/preview")
    assert response.status_code == 200, response.text
    body = response.json()
    expected = f"سارا عزیز، سبد خریدت در چای‌خانه منتظرته! تکمیلش کن: {SAMPLE_LINK}\nلغو۱۱"
    assert body["text"] == expected and body["subject"] == "sample"
    assert body["characters"] == len(expected) and body["encoding"] == "ucs2"
    assert body["parts"] == -(-len(expected) // 67)  # past 70 characters: 67 per part
    assert body["cost_estimate"] == body["parts"] * 1200 and body["price_per_part"] == 1200
    assert body["opt_out_line"] is True and body["lookup"] is None


def test_the_figures_follow_the_text_and_the_stores_price(api, factory, store):
    store_settings(factory, store.id, sms_price_per_part=1500)
    cart = campaign_of(api, "abandoned_cart")["id"]

    def draft(template: str, campaign: int = cart) -> dict:
        response = api.post(f"/api/v1/campaigns/{campaign}/preview", json={"template": template})
        assert response.status_code == 200, response.text
        return response.json()

    # 64 Persian letters + "\n" + "لغو۱۱" = 70 characters: one UCS-2 part; one more makes two.
    one = draft("ب" * 64)
    assert (one["characters"], one["encoding"], one["parts"], one["cost_estimate"]) == (
        70, "ucs2", 1, 1500)
    two = draft("ب" * 65)
    assert (two["characters"], two["parts"], two["cost_estimate"]) == (71, 2, 3000)
    # The survey is not promotional: no opt-out line, and Latin text is GSM-7 (160 a part).
    survey = campaign_of(api, "post_purchase_survey")["id"]
    latin = draft("a" * 160, survey)
    assert (latin["text"], latin["encoding"], latin["parts"], latin["opt_out_line"]) == (
        "a" * 160, "gsm7", 1, False)
    assert draft("a" * 161, survey)["parts"] == 2
    # GSM-7's extension characters (€, {, …) take two septets each.
    assert draft("€" * 80, survey)["parts"] == 1 and draft("€" * 81, survey)["parts"] == 2


def test_a_preview_for_a_real_cart_makes_no_link_and_no_row(api, shop, factory):
    shop.cart("preview-cart-01", tehran("2026-11-24T10:00"), name="علی")
    with factory() as session:
        cart_id = session.scalar(select(Cart.id))
    before = counts(factory)
    response = api.post(f"{step_url(api, 'abandoned_cart', 2)}/preview", json={"cart_id": cart_id})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["subject"] == f"cart {cart_id}"
    assert body["text"].startswith("علی عزیز، سبدت در چای‌خانه")
    assert SAMPLE_LINK in body["text"]
    assert counts(factory) == before


def test_a_cross_sell_preview_shows_the_pick_for_a_real_order(api, shop, factory):
    url = f"{step_url(api, 'cross_sell')}/preview"
    shop.order(900, tehran("2026-11-24T10:00"), items=((11, 1),))
    with factory() as session:
        order_id = session.scalar(select(Order.id))
    nothing = api.post(url, json={"order_id": order_id})
    assert nothing.status_code == 422 and error_of(nothing)["code"] == "nothing_to_send"
    shop.product(11, cross_sells=[12], name="چای سبز")
    shop.product(12, name="قوری چینی")
    before = counts(factory)
    body = api.post(url, json={"order_id": order_id}).json()
    assert body["text"].startswith("علی عزیز، قوری چینی هم به خریدت می‌آد!")
    assert counts(factory) == before
    wrong = api.post(url, json={"cart_id": 1})
    assert wrong.status_code == 422 and error_of(wrong)["code"] == "subject_mismatch"


def test_variants_unsaved_templates_and_personal_coupons(api):
    cart = campaign_of(api, "abandoned_cart")
    url = f"/api/v1/campaigns/{cart['id']}/steps/{cart['steps'][0]['id']}"
    api.patch(url, json={
        "coupon": {"mode": "personal", "discount_type": "percent", "amount": "10"},
        "variants": [{"name": "A", "template": "A {{ coupon_code }}", "weight": 0},
                     {"name": "B", "template": "B {{ coupon_code }} {{ coupon_expires }}",
                      "weight": 1}]})
    default = api.post(f"{url}/preview").json()  # the step's own text is not sent with variants
    assert default["variant"] == "B" and default["text"].startswith(f"B {SAMPLE_COUPON} ۱۴")
    chosen = api.post(f"{url}/preview", json={"variant": "A"}).json()
    assert chosen["variant"] == "A" and chosen["text"].startswith(f"A {SAMPLE_COUPON}\n")
    unsaved = api.post(f"{url}/preview", json={"template": "{{ cart_items }}"}).json()
    assert unsaved["text"].startswith("چای سبز، قوری چینی") and unsaved["variant"] is None
    unknown = api.post(f"{url}/preview", json={"variant": "C"})
    assert unknown.status_code == 422 and error_of(unknown)["code"] == "unknown_variant"
    assert "'A', 'B'" in error_of(unknown)["message"]
    broken = api.post(f"{url}/preview", json={"template": "{{ link"})
    assert broken.status_code == 422 and error_of(broken)["code"] == "invalid_template"
    assert "line 1" in error_of(broken)["message"]
    both = api.post(f"{url}/preview", json={"template": "x", "variant": "A"})
    assert both.status_code == 422 and error_of(both)["code"] == "invalid_request"


def test_a_lookup_mode_preview_shows_the_tokens(api):
    api.patch("/api/v1/store", json={"sms_template_mode": "lookup"})
    url = step_url(api, "abandoned_cart")
    tokens = {"token": "{{ first_name }}", "token10": "{{ link }}"}
    response = api.patch(url, json={"lookup": {"template": "cart", "tokens": tokens}})
    assert response.status_code == 200
    body = api.post(f"{url}/preview").json()
    assert body["lookup"] == {"template": "cart",
                              "tokens": {"token": "سارا", "token10": SAMPLE_LINK}}


def test_another_stores_ids_are_not_found_in_previews(api, other_api, client, other_store,
                                                      factory, clock):
    theirs = campaign_of(other_api, "abandoned_cart")
    their_step = theirs["steps"][0]["id"]
    for url in (f"/api/v1/campaigns/{theirs['id']}/steps/{their_step}/preview",
                f"/api/v1/campaigns/{theirs['id']}/steps/{their_step}/test-send",
                f"/api/v1/campaigns/{theirs['id']}/preview"):
        response = api.post(url, json={"phone": "09121234567", "template": "x"}
                            if "test-send" in url else {"template": "x"})
        assert response.status_code == 404 and error_of(response)["code"] == "campaign_not_found"
    mine = campaign_of(api, "abandoned_cart")
    response = api.post(f"/api/v1/campaigns/{mine['id']}/steps/{their_step}/preview")
    assert response.status_code == 404 and error_of(response)["code"] == "step_not_found"
    # Their cart and order are not my subjects.
    theirs_shop = Shop(client, other_store, factory, clock)
    theirs_shop.cart("their-cart-0001", tehran("2026-11-24T10:00"))
    theirs_shop.order(901, tehran("2026-11-24T10:00"))
    with factory() as session:
        cart_id, order_id = session.scalar(select(Cart.id)), session.scalar(select(Order.id))
    response = api.post(f"{step_url(api, 'abandoned_cart')}/preview", json={"cart_id": cart_id})
    assert response.status_code == 404 and error_of(response)["code"] == "cart_not_found"
    response = api.post(f"{step_url(api, 'cross_sell')}/preview", json={"order_id": order_id})
    assert response.status_code == 404 and error_of(response)["code"] == "order_not_found"
    assert other_api.post(f"{step_url(other_api, 'abandoned_cart')}/preview",
                          json={"cart_id": cart_id}).status_code == 200


# -- test sends -------------------------------------------------------------------------------

def console_sms(factory) -> list[ConsoleSms]:
    with factory() as session:
        return session.scalars(select(ConsoleSms).order_by(ConsoleSms.id)).all()


def test_a_test_send_reaches_the_console_gateway_with_its_own_localid(api, factory):
    url = step_url(api, "abandoned_cart")
    preview = api.post(f"{url}/preview").json()
    response = api.post(f"{url}/test-send", json={"phone": "۰۹۱۲ ۱۲۳ ۴۵۶۷"})
    assert response.status_code == 200, response.text
    sent = response.json()
    assert (sent["phone"], sent["status"], sent["text"]) == ("+989121234567", "sent",
                                                             preview["text"])
    assert sent["parts"] == preview["parts"]
    [sms] = console_sms(factory)
    assert sms.receptor == "+989121234567" and sms.text == preview["text"]
    assert sms.localid == str(TEST_SEND_LOCALID_BASE + sent["id"])
    assert sent["gateway_id"] == f"console-{sms.id}"
    with factory() as session:
        row = session.get(TestSend, sent["id"])
        assert (row.status, row.phone) == ("sent", "+989121234567")
        assert session.scalar(select(func.count()).select_from(Message)) == 0


def test_test_sends_are_limited_per_store_and_hour(api, other_api, factory, store):
    url = step_url(api, "abandoned_cart")
    for i in range(TEST_SENDS_PER_HOUR):
        response = api.post(f"{url}/test-send", json={"phone": f"0912000{i:04d}"})
        assert response.status_code == 200, response.text
    refused = api.post(f"{url}/test-send", json={"phone": "09120009999"})
    assert refused.status_code == 429
    error = error_of(refused)
    assert error["code"] == "rate_limited" and "10 test SMS per hour" in error["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert len(console_sms(factory)) == TEST_SENDS_PER_HOUR
    # Another store has its own allowance.
    theirs = step_url(other_api, "abandoned_cart")
    assert other_api.post(f"{theirs}/test-send", json={"phone": "09120009999"}).status_code == 200
    # An hour after them, the store may send again.
    with unit_of_work(factory) as session:
        for row in session.scalars(select(TestSend).where(TestSend.store_id == store.id)):
            row.created_at -= timedelta(hours=1)
    assert api.post(f"{url}/test-send", json={"phone": "09120009999"}).status_code == 200
    assert len(console_sms(factory)) == TEST_SENDS_PER_HOUR + 2


def test_no_free_test_sends_through_the_platforms_account(api, factory, store):
    with unit_of_work(factory) as session:
        session.get(Store, store.id).sms_provider = "platform"
    assert api.get("/api/v1/store").json()["sms_provider"] == "platform"
    response = api.post(f"{step_url(api, 'abandoned_cart')}/test-send",
                        json={"phone": "09121234567"})
    assert response.status_code == 409 and error_of(response)["code"] == "test_send_unavailable"
    assert console_sms(factory) == []


def test_a_test_send_never_reaches_an_opted_out_or_invalid_phone(api, factory):
    url = step_url(api, "abandoned_cart")
    assert api.post("/api/v1/contacts/opt-out", json={"phone": "09121234567"}).status_code == 200
    refused = api.post(f"{url}/test-send", json={"phone": "+98 912 123 4567"})
    assert refused.status_code == 409 and error_of(refused)["code"] == "phone_opted_out"
    invalid = api.post(f"{url}/test-send", json={"phone": "021-44556677"})
    assert invalid.status_code == 422 and error_of(invalid)["code"] == "invalid_phone"
    missing = api.post(f"{url}/test-send", json={})
    assert missing.status_code == 422 and error_of(missing)["code"] == "invalid_request"
    assert console_sms(factory) == []


KEY = "kavenegar-test-key-0123"


@pytest.fixture
def kavenegar(live_server):
    """The live server's test sends go to a fake Kavenegar (on loopback) for this test."""
    with live_kavenegar(live_server, KEY) as fake:
        yield fake


def test_a_test_send_through_kavenegar_and_its_failure(api, kavenegar, factory):
    api.patch("/api/v1/store", json={"sms_provider": "kavenegar", "sms_api_key": KEY,
                                     "sms_sender": DEFAULT_LINE})
    url = step_url(api, "abandoned_cart")
    sent = api.post(f"{url}/test-send", json={"phone": "09121234567"}).json()
    [message] = kavenegar.messages
    assert message.localid == TEST_SEND_LOCALID_BASE + sent["id"]
    assert message.receptor == "+989121234567" and message.message == sent["text"]
    assert sent["gateway_id"] == str(message.messageid)
    kavenegar.fail_next("sms/send", 418)  # no credit: the merchant must act
    refused = api.post(f"{url}/test-send", json={"phone": "09121234567"})
    assert refused.status_code == 422 and error_of(refused)["code"] == "sms_gateway_refused"
    assert "418" in error_of(refused)["message"] and KEY not in refused.text
    kavenegar.fail_next("sms/send", 502)  # Kavenegar itself is down: try later
    down = api.post(f"{url}/test-send", json={"phone": "09121234567"})
    assert down.status_code == 502 and error_of(down)["code"] == "sms_gateway_unavailable"
    with factory() as session:
        rows = session.scalars(select(TestSend).order_by(TestSend.id)).all()
    assert [r.status for r in rows] == ["sent", "failed", "failed"] and rows[1].error
    # Lookup mode: the approved template and its tokens, never a plain SMS.
    kavenegar.templates["cart"] = "%token عزیز، سبدت منتظرته: %token10"
    api.patch("/api/v1/store", json={"sms_template_mode": "lookup"})
    api.patch(url, json={"lookup": {"template": "cart", "tokens": {"token": "{{ first_name }}",
                                                                   "token10": "{{ link }}"}}})
    looked = api.post(f"{url}/test-send", json={"phone": "09121234567"})
    assert looked.status_code == 200, looked.text
    assert looked.json()["text"] == f"[lookup cart] token=سارا | token10={SAMPLE_LINK}"
    assert kavenegar.messages[-1].message == f"سارا عزیز، سبدت منتظرته: {SAMPLE_LINK}"


def test_the_preview_of_a_cart_says_what_its_message_then_sent(api, shop, factory):
    """Preview and send are composed by the same code: for the same cart and variant, the
    preview's text, parts and opt-out line are the sent SMS's (only the short link's code is a
    sample of the same length)."""
    url = step_url(api, "abandoned_cart")
    api.patch(url, json={"variants": [
        {"name": "A", "template": "{{ first_name }} جان، سبدت منتظر است: {{ link }}", "weight": 1},
        {"name": "B", "template": "سلام {{ first_name }}، {{ cart_items }} را فراموش نکن "
                                  "{{ link }}", "weight": 1}]})
    shop.cart("preview-sent-01", tehran("2026-11-24T10:00"), name="علی")
    shop.tick(tehran("2026-11-24T11:05"))
    [sms] = shop.sms()
    [sent] = [m for m in shop.messages() if m.sent_at is not None]
    with factory() as session:
        cart_id = session.scalar(select(Cart.id))
        code = session.scalar(select(Link.code).where(Link.message_id == sent.id))
    response = api.post(f"{url}/preview", json={"cart_id": cart_id, "variant": sent.variant})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["text"].replace(SAMPLE_LINK, "LINK") == sms.text.replace(
        f"{get_settings().public_url}/{code}", "LINK")
    assert body["variant"] == sent.variant and body["parts"] == sent.parts
    assert body["opt_out_line"] is True and sms.text.endswith("لغو۱۱")
