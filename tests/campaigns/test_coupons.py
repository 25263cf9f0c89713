"""Coupons in campaign steps: a personal single-use code made in the store (the fake WooCommerce,
over real HTTP) before the SMS goes out; a store that does not answer → the fallback code or a
held message, as the merchant chose; and a code never sent unless the store has it."""

import logging
import socket
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.campaigns.coupons import coupon_problems, prepare_coupons, read_coupon
from app.campaigns.models import Campaign, CampaignStep, Coupon, Message
from app.campaigns.presets import DEFAULT_LOST_ORDER_COUPON
from app.campaigns.service import set_campaign_active
from app.commerce.fake_woocommerce import FakeWooCommerce
from app.commerce.woocommerce_api import WooCommerceClient
from app.db import unit_of_work
from app.messaging.persian import jalali_date
from app.stores.models import Store
from tests import factories
from tests.campaigns.shop import PHONE, TEHRAN, gmt, tehran
from tests.factories import store_settings
from tests.helpers import deliver

KEY = "ck_" + "5f1e" * 10
SECRET = "cs_" + "9c3a" * 10
AT = tehran("2026-11-24T10:00")   # the cart goes quiet
FIRST = tehran("2026-11-24T11:00")  # step 1 is due
SECOND = tehran("2026-11-25T10:00")  # step 2 (the discount step) is due
TEMPLATE = "کد تخفیف: {{ coupon_code }} {{ link }}"
# A discount step's text, as the merchant writes it when they give the second step a coupon.
DISCOUNT = '{{ first_name or "مشتری" }} عزیز، با کد {{ coupon_code }} سبدت در {{ store_name }} رو با تخفیف بخر: {{ link }}'
PERSONAL = {"mode": "personal", "discount_type": "percent", "amount": "10", "expires_days": 3,
            "on_failure": "fallback", "fallback_code": "off5"}


@pytest.fixture
def woo():
    with FakeWooCommerce(consumer_key=KEY, consumer_secret=SECRET) as fake:
        yield fake


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect(shop, url: str) -> None:
    """The store lives at `url` and gave bazgasht its REST keys."""
    store_settings(shop.factory, shop.store.id, url=url, wc_consumer_key=KEY,
                   wc_consumer_secret=SECRET)


def set_step(shop, position: int, coupon: dict | None, template: str | None = None) -> None:
    values = {"coupon": coupon} | ({"template": template} if template else {})
    shop.set_step("abandoned_cart", position, **values)


def cart(shop, token: str, *, email: str = "") -> None:
    """A cart from the companion plugin, with the shopper's email when they typed one."""
    response = deliver(shop.client, shop.store, "bazgasht_cart.updated", {
        "token": token, "phone": "09123456789", "first_name": "علی", "last_name": "رضایی",
        "email": email, "currency": "IRT", "total": "550000",
        "items": [{"product_id": 11, "name": "چای سبز", "quantity": 2, "price": "275000",
                   "total": "550000"}],
        "restore_url": f"https://shop.example/?bazgasht-restore={token}",
        "cart_url": "https://shop.example/cart/", "date_modified_gmt": gmt(AT)})
    assert response.status_code == 200
    shop.apply()


def coupons(shop) -> list[Coupon]:
    with shop.factory() as session:
        return session.scalars(select(Coupon).order_by(Coupon.id)).all()


def message(shop, position: int) -> Message:
    with shop.factory() as session:
        return session.scalar(select(Message).join(CampaignStep)
                              .where(CampaignStep.position == position)
                              .order_by(Message.id).limit(1))


def ticks(shop, start, minutes: int, every: int = 1) -> None:
    for m in range(0, minutes + 1, every):
        shop.tick(start + timedelta(minutes=m))


# -- a personal coupon ---------------------------------------------------------------------------

def test_the_discount_step_gets_a_personal_coupon_made_in_the_store(shop, woo):
    connect(shop, woo.base_url)
    set_step(shop, 2, PERSONAL, DISCOUNT)
    cart(shop, "coupon-cart-001", email="Ali@Example.com")
    shop.tick(FIRST)
    assert woo.calls("POST /coupons") == []  # step 1 carries no coupon
    shop.tick(SECOND - timedelta(minutes=10))  # due within the lead: made ahead of time
    [made] = woo.coupons
    [coupon] = coupons(shop)
    assert (coupon.status, coupon.code, coupon.wc_id) == ("created", made["code"], made["id"])
    assert len(made["code"]) == 8 and made["code"].upper().isalnum()
    assert (made["discount_type"], made["amount"], made["individual_use"]) == ("percent", "10.00", True)
    assert (made["usage_limit"], made["usage_limit_per_user"]) == (1, 1)
    # Three days on, to the end of that day in Tehran.
    assert made["date_expires_gmt"] == gmt(tehran("2026-11-28T23:59:59"))
    assert made["email_restrictions"] == []  # personal by its random code, not by an email
    shop.tick(SECOND)  # the daily cap moves it to 11:00 (step 1 went out at 11:00 yesterday)
    shop.tick(SECOND + timedelta(hours=1))
    first, second = shop.sms()
    assert "کد" not in first.text
    assert f"با کد {made['code'].upper()} سبدت" in second.text and "off5" not in second.text
    assert second.receptor == PHONE
    [call] = woo.calls("POST /coupons")
    # The store is plain http: the request is signed with OAuth 1.0a, the secret never sent.
    assert woo.base_url.startswith("http://")
    assert call.oauth["oauth_consumer_key"] == KEY and call.oauth["oauth_signature"]
    assert "authorization" not in {h.lower() for h in call.headers}
    assert SECRET not in repr(call)


def test_the_sms_tells_when_the_coupon_expires_in_jalali(shop, woo):
    connect(shop, woo.base_url)
    set_step(shop, 1, PERSONAL | {"expires_days": 4, "discount_type": "fixed_cart",
                                  "amount": "۵۰۰۰۰"},
             template="کد {{ coupon_code }} تا {{ coupon_expires }} معتبر است: {{ link }}")
    cart(shop, "coupon-cart-002")
    shop.tick(FIRST)
    [made] = woo.coupons
    assert (made["discount_type"], made["amount"]) == ("fixed_cart", "50000.00")
    assert "email_restrictions" not in woo.calls("POST /coupons")[0].body  # no email known
    [sms] = shop.sms()
    # Made on the 24th, valid four days on to the end of 2026-11-28, which is 1405/09/07.
    assert made["date_expires_gmt"] == gmt(tehran("2026-11-28T23:59:59"))
    assert f"کد {made['code'].upper()} تا ۱۴۰۵/۰۹/۰۷ معتبر است" in sms.text


def test_a_second_tick_makes_no_second_coupon(shop, woo):
    connect(shop, woo.base_url)
    set_step(shop, 1, PERSONAL, TEMPLATE)
    cart(shop, "coupon-cart-003")
    for at in (FIRST, FIRST, FIRST + timedelta(minutes=1)):
        shop.tick(at)
        prepare_coupons(shop.factory, at)
    assert len(woo.calls("POST /coupons")) == 1 and len(woo.coupons) == 1
    [sms] = shop.sms()
    assert woo.coupons[0]["code"].upper() in sms.text


def test_a_lost_answer_is_looked_up_by_code_not_created_again(shop, woo):
    connect(shop, woo.base_url)
    set_step(shop, 1, PERSONAL, TEMPLATE)
    shop.set_step("abandoned_cart", 1, delay_minutes=90)  # due at 11:30
    cart(shop, "coupon-cart-004")
    shop.tick(FIRST)  # enrolled; the coupon is not due for making yet
    assert coupons(shop) == []
    woo.delay("POST /coupons", 5)  # the store makes it, the answer comes too late
    assert prepare_coupons(shop.factory, FIRST + timedelta(minutes=20), read_timeout=0.3) == 0
    [coupon] = coupons(shop)
    assert (coupon.status, coupon.maybe_created) == ("pending", True)
    assert "deadline" in coupon.last_error
    woo.delay("POST /coupons", 0)
    shop.tick(FIRST + timedelta(minutes=30))  # the retry asks first, finds it, keeps it
    assert len(woo.calls("POST /coupons")) == 1 and len(woo.coupons) == 1
    assert woo.calls("GET /coupons")[0].query == {"code": coupon.code}
    [coupon] = coupons(shop)
    assert (coupon.status, coupon.wc_id) == ("created", woo.coupons[0]["id"])
    [sms] = shop.sms()
    assert coupon.code.upper() in sms.text


def test_a_code_the_merchant_already_uses_is_never_sent(shop, woo):
    connect(shop, woo.base_url)
    set_step(shop, 1, PERSONAL, TEMPLATE)
    cart(shop, "coupon-cart-005")
    woo.fail_next("POST /coupons", 503)  # answer unknown: the next try looks the code up …
    shop.tick(FIRST)
    [first] = coupons(shop)
    woo.add_coupon(first.code, amount="90")  # … and finds the merchant's own coupon
    shop.tick(FIRST + timedelta(minutes=1))  # not ours: a new code
    assert shop.sms() == []
    ticks(shop, FIRST + timedelta(minutes=2), 2)
    [coupon] = coupons(shop)
    assert coupon.code != first.code and coupon.status == "created"
    assert woo.coupon(coupon.code)["description"] == f"bazgasht message {coupon.message_id}"
    [sms] = shop.sms()
    assert coupon.code.upper() in sms.text and first.code.upper() not in sms.text


def test_several_stores_are_served_in_one_tick_each_by_its_own_keys(shop, woo):
    from tests.campaigns.shop import Shop
    from tests.helpers import create_store

    connect(shop, woo.base_url)
    set_step(shop, 1, PERSONAL, TEMPLATE)
    with unit_of_work(shop.factory) as session:
        other = Shop(shop.client, create_store(session, name="دومی", url="https://two.example"),
                     shop.factory, shop.clock)
    with FakeWooCommerce(consumer_key="ck_" + "7" * 40, consumer_secret="cs_" + "8" * 40) as two:
        with unit_of_work(shop.factory) as session:
            store = session.get(Store, other.store.id)
            store.url, store.wc_consumer_key, store.wc_consumer_secret = (
                two.base_url, two.consumer_key, two.consumer_secret)
            factories.set_step(session, store.id, "abandoned_cart", 1, coupon=PERSONAL,
                               template=TEMPLATE)
        cart(shop, "coupon-cart-016")
        cart(other, "coupon-cart-017")
        assert shop.tick(FIRST).coupons == 2
        [one], [second] = woo.coupons, two.coupons
    texts = {s.text.split()[2] for s in shop.sms()}
    assert texts == {one["code"].upper(), second["code"].upper()}


# -- what the store keeps ----------------------------------------------------------------------

def test_the_store_keeps_the_coupon_to_the_end_of_the_day_the_sms_names(shop, woo):
    """bazgasht sends the expiry as `date_expires_gmt` (UTC, no zone); read back from the store
    what it stored, it ends at 23:59:59 in Tehran on the day the SMS names."""
    connect(shop, woo.base_url)
    set_step(shop, 1, PERSONAL | {"expires_days": 2},
             template="کد {{ coupon_code }} تا {{ coupon_expires }} معتبر است: {{ link }}")
    cart(shop, "coupon-cart-020")
    shop.tick(FIRST)
    [sent] = woo.calls("POST /coupons")
    assert "date_expires" not in sent.body
    assert sent.body["date_expires_gmt"] == "2026-11-26T20:29:59"
    [made] = woo.coupons
    ends = datetime.fromisoformat(made["date_expires_gmt"]).replace(tzinfo=timezone.utc)
    assert ends.astimezone(TEHRAN).replace(tzinfo=None) == datetime(2026, 11, 26, 23, 59, 59)
    assert made["date_expires"] == "2026-11-26T23:59:59"  # the site's (Tehran's) clock
    [sms] = shop.sms()
    assert jalali_date(ends) == "۱۴۰۵/۰۹/۰۵"
    assert f"تا {jalali_date(ends)} معتبر است" in sms.text


def test_an_offset_with_a_colon_is_read_as_wordpress_reads_it(woo):
    """What the old request did: WordPress takes "+03:30" for +3 hours, so a coupon sent to
    expire at 23:59:59 Tehran time lived until 00:29:59 the next day. The fake does the same."""
    with WooCommerceClient(woo.base_url, KEY, SECRET) as api:
        old = api.create_coupon({"code": "old-way", "date_expires": "2026-11-26T23:59:59+03:30"})
        new = api.create_coupon({"code": "new-way", "date_expires_gmt": "2026-11-26T20:29:59"})
    assert old.date_expires_gmt is not None and new.date_expires_gmt is not None
    assert old.date_expires_gmt.astimezone(TEHRAN).isoformat() == "2026-11-27T00:29:59+03:30"
    assert new.date_expires_gmt.astimezone(TEHRAN).isoformat() == "2026-11-26T23:59:59+03:30"
    assert woo.coupon("old-way")["date_expires"] == "2026-11-27T00:29:59"


def test_a_guest_can_apply_the_personal_code_in_the_cart(shop, woo):
    """The shopper's email is known, yet the code is not tied to it: a guest applies it in the
    cart (before typing any email at checkout). Single use keeps it personal: once an order
    used it, nobody can apply it again."""
    connect(shop, woo.base_url)
    set_step(shop, 1, PERSONAL, TEMPLATE)
    cart(shop, "coupon-cart-021", email="Ali@Example.com")
    shop.tick(FIRST)
    [sent] = woo.calls("POST /coupons")
    assert "email_restrictions" not in sent.body
    assert (sent.body["usage_limit"], sent.body["usage_limit_per_user"]) == (1, 1)
    [made] = woo.coupons
    assert made["email_restrictions"] == [] and made["usage_limit"] == 1
    [sms] = shop.sms()
    code = made["code"].upper()
    assert code in sms.text and len(code) == 8
    assert woo.apply_in_cart(code, FIRST + timedelta(hours=2)) is None
    woo.use_coupon(code, "ali@example.com")
    assert woo.apply_in_cart(code, FIRST + timedelta(hours=3)) == \
        "Coupon usage limit has been reached."
    assert woo.apply_in_cart(code, FIRST + timedelta(days=5)) is not None
    # What an email-bound code did: refused in the cart until the email is typed at checkout.
    woo.add_coupon("bound", usage_limit=1, email_restrictions=["ali@example.com"])
    assert woo.apply_in_cart("bound", FIRST).startswith("Please enter a valid email")
    assert woo.apply_in_cart("bound", FIRST, email="Ali@example.com") is None


# -- when the store cannot make it ---------------------------------------------------------------

def test_an_unreachable_store_is_retried_then_the_fallback_code_is_sent(shop):
    connect(shop, f"http://127.0.0.1:{closed_port()}")
    set_step(shop, 1, PERSONAL, TEMPLATE)
    cart(shop, "coupon-cart-006")
    shop.tick(FIRST)
    first = message(shop, 1)
    assert (first.status, first.due_at) == ("scheduled", FIRST + timedelta(minutes=2))
    assert first.reason == "coupon_not_ready"
    assert first.reason_detail.startswith("WooCommerce no answer: no answer")
    ticks(shop, FIRST + timedelta(minutes=1), 58)
    assert shop.sms() == []  # still trying, for an hour
    ticks(shop, FIRST + timedelta(minutes=59), 5)
    [coupon] = coupons(shop)
    assert coupon.status == "failed" and coupon.attempts == 8
    assert coupon.last_error.startswith("store unreachable for 60 min")
    [sms] = shop.sms()
    assert sms.text.startswith("کد تخفیف: off5 ")
    first = message(shop, 1)
    assert first.status == "delivered" and first.sent_at == FIRST + timedelta(hours=1)
    assert first.attempts == 1  # the waits were not send attempts


def test_the_discount_step_sends_the_fallback_code_when_the_store_is_down(shop):
    connect(shop, f"http://127.0.0.1:{closed_port()}")
    set_step(shop, 2, PERSONAL, DISCOUNT)
    cart(shop, "coupon-cart-007")
    shop.tick(FIRST)
    ticks(shop, SECOND - timedelta(minutes=15), 90, every=5)
    first, second = shop.sms()
    assert "با کد off5 سبدت" in second.text
    [coupon] = coupons(shop)
    assert coupon.status == "failed" and coupon.code.upper() not in second.text


def test_an_unreachable_store_with_hold_holds_the_message_until_new_keys(shop, admin_client):
    port = closed_port()
    connect(shop, f"http://127.0.0.1:{port}")
    set_step(shop, 1, PERSONAL | {"on_failure": "hold", "fallback_code": None}, TEMPLATE)
    cart(shop, "coupon-cart-008")
    ticks(shop, FIRST, 70, every=5)
    first = message(shop, 1)
    assert first.status == "held" and first.reason == "coupon_failed"
    assert first.reason_detail.startswith("store unreachable for")
    assert shop.sms() == []
    # The store is back; the operator saves its keys again: the held message gets its chance.
    with FakeWooCommerce(consumer_key=KEY, consumer_secret=SECRET, port=port) as woo:
        response = admin_client.put(f"/platform/v1/stores/{shop.store.id}/woocommerce-api",
                                    json={"consumer_key": KEY, "consumer_secret": SECRET})
        assert response.status_code == 200, response.text
        assert response.json()["woocommerce_api_set"] is True
        assert SECRET not in response.text and KEY not in response.text
        later = FIRST + timedelta(hours=2)
        shop.tick(later)
        [made] = woo.coupons
    [sms] = shop.sms()
    assert made["code"].upper() in sms.text
    assert message(shop, 1).sent_at == later


def test_keys_the_store_refuses_give_up_at_once(shop, woo):
    connect(shop, woo.base_url)
    woo.permissions = "read"  # a read-only key
    set_step(shop, 1, PERSONAL | {"on_failure": "hold"})
    cart(shop, "coupon-cart-009")
    shop.tick(FIRST)
    assert len(woo.calls("POST /coupons")) == 1 and woo.coupons == []
    first = message(shop, 1)
    assert first.status == "held"
    assert first.reason == "coupon_failed"
    assert "401" in first.reason_detail and "refused the REST API keys" in first.reason_detail
    assert shop.sms() == []


def test_a_store_without_keys_sends_the_fallback_at_once(shop, woo):
    connect(shop, woo.base_url)
    store_settings(shop.factory, shop.store.id, wc_consumer_key=None, wc_consumer_secret=None)
    set_step(shop, 1, PERSONAL, TEMPLATE)
    cart(shop, "coupon-cart-010")
    shop.tick(FIRST)
    assert coupon_calls(woo) == []
    [coupon] = coupons(shop)
    assert coupon.status == "failed" and "no WooCommerce REST API keys" in coupon.last_error
    [sms] = shop.sms()
    assert sms.text.startswith("کد تخفیف: off5 ")


def test_a_coupon_that_expired_while_the_message_was_held_is_made_anew(shop, woo):
    connect(shop, woo.base_url)
    set_step(shop, 1, PERSONAL | {"expires_days": 1}, TEMPLATE)
    shop.set_step("abandoned_cart", 1, delay_minutes=90, send_within_minutes=7 * 24 * 60)
    cart(shop, "coupon-cart-011")
    shop.tick(FIRST)  # enrolled; step 1 due at 11:30
    shop.tick(FIRST + timedelta(minutes=20))  # its coupon is made ahead …
    assert len(woo.coupons) == 1
    with unit_of_work(shop.factory) as session:  # … and then the merchant pauses the campaign
        campaign = session.scalar(select(Campaign).where(Campaign.kind == "abandoned_cart"))
        campaign.active = False
    shop.tick(FIRST + timedelta(minutes=30))
    assert message(shop, 1).status == "held" and len(woo.coupons) == 1
    resumed = FIRST + timedelta(days=5)
    with unit_of_work(shop.factory) as session:
        set_campaign_active(session, store_id=shop.store.id, campaign_id=campaign.id,
                            active=True, now=resumed)
    # The later steps, due too, may go out with it.
    store_settings(shop.factory, shop.store.id, cap_per_day=5, cap_per_week=5)
    shop.tick(resumed)
    assert message(shop, 1).reason == "coupon_renewed"
    shop.tick(resumed + timedelta(minutes=2))
    old, new = woo.coupons
    [sms] = [s for s in shop.sms() if s.localid == str(message(shop, 1).id)]
    assert new["code"].upper() in sms.text and old["code"].upper() not in sms.text
    assert new["date_expires_gmt"] == gmt(tehran("2026-11-30T23:59:59"))


def test_the_secret_never_appears_in_reasons_errors_or_logs(shop, woo, caplog):
    caplog.set_level(logging.DEBUG)
    connect(shop, woo.base_url)
    set_step(shop, 1, PERSONAL | {"on_failure": "hold"}, TEMPLATE)
    cart(shop, "coupon-cart-012")
    cart(shop, "coupon-cart-013")
    woo.fail_next("POST /coupons", 500, message=f"rejected {KEY}:{SECRET}")
    shop.tick(FIRST)
    woo.consumer_secret = "cs_rotated"
    shop.tick(FIRST + timedelta(minutes=1))
    with shop.factory() as session:
        texts = [m.reason_detail or "" for m in session.scalars(select(Message))]
        texts += [c.last_error or "" for c in session.scalars(select(Coupon))]
        store = session.get(Store, shop.store.id)
    # Over http (the fake on loopback) the keys are OAuth-signed: a rotated secret shows as a
    # signature WooCommerce does not accept (over https: "Consumer secret is invalid").
    assert any("500" in t for t in texts) and any("401" in t for t in texts)
    shown = " ".join(texts) + caplog.text
    assert SECRET not in shown and KEY not in shown
    assert store.wc_consumer_secret == SECRET  # kept, for the calls


# -- settings ---------------------------------------------------------------------------------

def test_coupon_settings_are_validated_with_clear_errors():
    assert coupon_problems(None) == []
    assert coupon_problems(DEFAULT_LOST_ORDER_COUPON) == []
    assert coupon_problems({"code": "off5"}) == []  # the older form: a fixed code
    assert coupon_problems(PERSONAL) == []
    assert read_coupon(PERSONAL | {"amount": "۱۲٫۵"}).amount == "12.5"
    assert read_coupon({"mode": "personal", "discount_type": "percent", "amount": 10}).on_failure == "hold"
    assert coupon_problems(["off5"]) == ['must be an object such as {"mode": "fixed", "code": "off5"}']
    assert coupon_problems({"mode": "secret"})[0].startswith('mode: must be "fixed"')
    assert coupon_problems({"mode": "fixed", "code": "off 5"}) == [
        "code: must not contain spaces (customers type it as one word)"]
    assert coupon_problems({"mode": "fixed"}) == ["code: required"]
    assert coupon_problems(PERSONAL | {"amount": "150"}) == [
        "amount: a percent discount must be at most 100"]
    assert coupon_problems(PERSONAL | {"amount": "ده"}) == ["amount: 'ده' is not a number"]
    assert coupon_problems(PERSONAL | {"amount": "0"}) == ["amount: must be more than zero"]
    assert coupon_problems(PERSONAL | {"fallback_code": None}) == [
        'fallback_code: required when on_failure is "fallback" (the code sent when the store '
        'cannot make a personal one)']
    assert coupon_problems(PERSONAL | {"discount_type": "free"}) == [
        "discount_type: Input should be 'percent', 'fixed_cart' or 'fixed_product'"]
    assert coupon_problems(PERSONAL | {"expires_days": 0}) == [
        "expires_days: Input should be greater than or equal to 1"]
    assert coupon_problems(PERSONAL | {"on_failure": "skip"}) == [
        "on_failure: Input should be 'fallback' or 'hold'"]
    [unknown] = coupon_problems(PERSONAL | {"personal": True})
    assert unknown.startswith("personal: unknown setting for a personal coupon (known: amount,")
    assert len(coupon_problems({"mode": "personal"})) == 2  # discount_type, amount


def coupon_calls(woo) -> list:
    return [r for r in woo.requests if r.path.startswith("/coupons")]


def test_no_coupon_is_made_for_a_paused_campaign(shop, woo):
    connect(shop, woo.base_url)
    set_step(shop, 1, PERSONAL, TEMPLATE)
    shop.set_step("abandoned_cart", 1, delay_minutes=90, send_within_minutes=2 * 24 * 60)
    cart(shop, "coupon-cart-015")
    shop.tick(FIRST)
    with unit_of_work(shop.factory) as session:
        campaign = session.scalar(select(Campaign).where(Campaign.kind == "abandoned_cart"))
        campaign.active = False
    shop.tick(FIRST + timedelta(minutes=30))
    # No coupon call (the connections job may look at the store's webhooks meanwhile).
    assert message(shop, 1).status == "held" and coupon_calls(woo) == [] and coupons(shop) == []
    with unit_of_work(shop.factory) as session:
        set_campaign_active(session, store_id=shop.store.id, campaign_id=campaign.id,
                            active=True, now=FIRST + timedelta(days=1))
    shop.tick(FIRST + timedelta(days=1))
    [made] = woo.coupons
    [sms] = shop.sms()
    assert made["code"].upper() in sms.text


def test_personal_settings_that_went_bad_hold_the_message(shop, woo):
    connect(shop, woo.base_url)
    set_step(shop, 1, PERSONAL | {"amount": "150"})
    cart(shop, "coupon-cart-014")
    shop.tick(FIRST)
    assert coupon_calls(woo) == []
    first = message(shop, 1)
    assert first.status == "held"
    assert (first.reason, first.reason_detail) == ("coupon_invalid",
                                             "amount: a percent discount must be at most 100")


# -- the operator gives bazgasht the store's keys ------------------------------------------------

def test_the_operator_sets_the_keys_write_only_and_only_for_https(admin_client, store, factory):
    url = f"/platform/v1/stores/{store.id}/woocommerce-api"
    response = admin_client.put(url, json={"consumer_key": KEY, "consumer_secret": SECRET})
    assert response.status_code == 200, response.text
    assert response.json()["woocommerce_api_set"] is True
    shown = response.text + admin_client.get(f"/platform/v1/stores/{store.id}").text
    assert SECRET not in shown and KEY not in shown
    with factory() as session:
        row = session.get(Store, store.id)
        assert (row.wc_consumer_key, row.wc_consumer_secret) == (KEY, SECRET)

    swapped = admin_client.put(url, json={"consumer_key": SECRET, "consumer_secret": KEY})
    assert swapped.status_code == 422
    assert "starts with ck_" in swapped.text and SECRET not in swapped.text

    with unit_of_work(factory) as session:
        session.get(Store, store.id).url = "http://shop.example"
    # A plain-http store: the keys are taken, the client signs with OAuth 1.0a there.
    plain = admin_client.put(url, json={"consumer_key": KEY, "consumer_secret": SECRET})
    assert plain.status_code == 200


def test_the_cli_reads_the_keys_from_the_environment_and_never_prints_them(store, factory,
                                                                            database_url):
    import os
    import subprocess
    import sys

    env = os.environ | {"DATABASE_URL": database_url, "WC_CONSUMER_KEY": KEY,
                        "WC_CONSUMER_SECRET": SECRET}
    result = subprocess.run([sys.executable, "-m", "app", "store", "set-woocommerce-api",
                             "--store", str(store.id)], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert '"woocommerce_api_set": true' in result.stdout
    assert SECRET not in result.stdout + result.stderr and KEY not in result.stdout + result.stderr
    with factory() as session:
        assert session.get(Store, store.id).wc_consumer_secret == SECRET
    missing = subprocess.run([sys.executable, "-m", "app", "store", "set-woocommerce-api",
                              "--store", str(store.id)], capture_output=True, text=True,
                             env=env | {"WC_CONSUMER_SECRET": ""}, timeout=120)
    assert missing.returncode == 2 and "error: consumer_secret:" in missing.stderr


def test_a_store_that_hangs_holds_up_no_other_stores_coupons(shop, client, factory, clock):
    """Two stores make their coupons in one round; one store's WooCommerce takes the call and
    never answers: the other's coupon is made and counted, and the slow store's is recorded when
    its answer comes (leased meanwhile, so no second call makes a second coupon)."""
    from app.campaigns.models import COUPON_CREATED, COUPON_PENDING
    from tests.campaigns.shop import Shop
    from tests.helpers import create_store
    from tests.ops.conftest import UntilDoneOrHeld, wait_until

    with unit_of_work(factory) as session:
        other = Shop(client, create_store(session, name="دکان دیگر", url="https://other.example"),
                     factory, clock)
    with FakeWooCommerce(consumer_key=KEY, consumer_secret=SECRET) as slow, \
            FakeWooCommerce(consumer_key=KEY, consumer_secret=SECRET) as well:
        for one, fake in ((shop, slow), (other, well)):
            connect(one, fake.base_url)
            set_step(one, 2, PERSONAL)
            cart(one, f"hang-cart-{one.store.id:04d}", email="ali@example.com")
            one.tick(FIRST)
        slow.hold("POST /coupons")
        try:
            made = prepare_coupons(factory, SECOND - timedelta(minutes=10),
                                   deadline=UntilDoneOrHeld({shop.store.id: slow},
                                                           {"coupons": "POST /coupons"}))
            assert made == 1 and len(well.coupons) == 1
            by_store = {c.store_id: c.status for c in coupons(shop)}
            assert by_store == {other.store.id: COUPON_CREATED, shop.store.id: COUPON_PENDING}
        finally:
            slow.release("POST /coupons")
        wait_until(lambda: {c.status for c in coupons(shop)} == {COUPON_CREATED},
                   what="the slow store's coupon to be recorded")
        assert len(slow.coupons) == 1


# -- coupons of messages that never go out -------------------------------------------------------

def deletes(woo) -> list:
    return [r for r in woo.requests if r.method == "DELETE"]


def skipped_after_its_coupon(shop, woo, token: str) -> dict:
    """Step 2's personal coupon is made ahead of its message; then the shopper buys on their
    own, and the message is skipped. Returns the coupon as the store holds it."""
    connect(shop, woo.base_url)
    set_step(shop, 2, PERSONAL)
    cart(shop, token)
    shop.tick(FIRST)
    shop.tick(SECOND - timedelta(minutes=10))
    [made] = woo.coupons
    shop.order(5001, SECOND - timedelta(minutes=6), cart_token=token)
    second = message(shop, 2)
    assert (second.status, second.reason) == ("skipped", "purchased")
    return made


def test_the_coupon_of_a_skipped_message_is_deleted_from_the_store(shop, woo):
    made = skipped_after_its_coupon(shop, woo, "coupon-cart-030")
    report = shop.tick(SECOND - timedelta(minutes=5))
    assert report.coupons_deleted == 1
    assert woo.coupons == []  # gone for good, not in the trash
    [call] = deletes(woo)
    assert (call.path, call.query) == (f"/coupons/{made['id']}", {"force": "true"})
    [coupon] = coupons(shop)
    assert (coupon.status, coupon.code) == ("deleted", made["code"])
    for minutes in (4, 3, 0):  # done once: no more calls
        shop.tick(SECOND - timedelta(minutes=minutes))
    assert len(deletes(woo)) == 1
    assert len([s for s in shop.sms() if made["code"].upper() in s.text]) == 0


def test_a_store_that_cannot_delete_is_asked_again_later(shop, woo):
    made = skipped_after_its_coupon(shop, woo, "coupon-cart-031")
    woo.fail_next("DELETE /coupons/{id}", 503)
    at = SECOND - timedelta(minutes=5)
    assert shop.tick(at).coupons_deleted == 0
    [coupon] = coupons(shop)
    assert coupon.status == "deleting" and "503" in coupon.last_error
    assert coupon.retry_at == at + timedelta(minutes=1)
    assert woo.coupon(made["code"]) is not None  # still there
    shop.tick(at + timedelta(minutes=1))
    assert woo.coupons == [] and coupons(shop)[0].status == "deleted"
    assert len(deletes(woo)) == 2


def test_a_deletion_whose_answer_was_lost_is_not_repeated_blindly(shop, woo):
    skipped_after_its_coupon(shop, woo, "coupon-cart-032")
    woo.fail_next("DELETE /coupons/{id}", 502, after_work=True)  # deleted, then the proxy fails
    at = SECOND - timedelta(minutes=5)
    shop.tick(at)
    assert woo.coupons == [] and coupons(shop)[0].status == "deleting"
    shop.tick(at + timedelta(minutes=1))  # the lookup finds nothing: done
    [coupon] = coupons(shop)
    assert (coupon.status, coupon.last_error) == ("deleted", "not in the store")
    assert len(deletes(woo)) == 1


def test_a_coupon_an_order_used_is_not_deleted(shop, woo):
    made = skipped_after_its_coupon(shop, woo, "coupon-cart-033")
    woo.use_coupon(made["code"], "ali@example.com")
    shop.tick(SECOND - timedelta(minutes=5))
    assert deletes(woo) == [] and woo.coupon(made["code"]) is not None
    [coupon] = coupons(shop)
    assert (coupon.status, coupon.last_error) == ("kept", "used in 1 order(s): not deleted")


def test_a_coupon_never_made_for_a_skipped_message_needs_no_call(shop, woo):
    connect(shop, woo.base_url)
    set_step(shop, 1, PERSONAL, TEMPLATE)
    cart(shop, "coupon-cart-034")
    woo.fail_next("POST /coupons", 503)
    shop.tick(FIRST)
    [coupon] = coupons(shop)
    assert coupon.status == "pending" and coupon.maybe_created  # a 503 may have made it
    shop.order(5002, FIRST + timedelta(minutes=1), cart_token="coupon-cart-034")
    shop.tick(FIRST + timedelta(minutes=2))  # may exist: looked up by code, not found
    [coupon] = coupons(shop)
    assert (coupon.status, coupon.last_error) == ("deleted", "not in the store")
    assert woo.coupons == [] and deletes(woo) == []
    assert len(woo.calls("POST /coupons")) == 1  # never made again for a skipped message
    assert shop.sms() == []


# -- fixed codes the store must have -------------------------------------------------------------

def step_url(api, position: int) -> str:
    [campaign] = [c for c in api.get("/api/v1/campaigns").json()["items"]
                  if c["kind"] == "abandoned_cart"]
    return f"/api/v1/campaigns/{campaign['id']}/steps/{campaign['steps'][position - 1]['id']}"


def test_saving_a_fixed_code_the_store_lacks_is_refused(api, store, factory, woo, clock):
    store_settings(factory, store.id, url=woo.base_url, wc_consumer_key=KEY,
                   wc_consumer_secret=SECRET)
    url = step_url(api, 2)
    missing = api.patch(url, json={"coupon": {"mode": "fixed", "code": "off5"}})
    assert missing.status_code == 422, missing.text
    error = missing.json()["error"]
    assert error["code"] == "coupon_not_in_store"
    assert error["message"].startswith("coupon.code: 'off5' does not exist in the store")
    assert woo.calls("GET /coupons")[0].query == {"code": "off5"}
    now = clock.now()
    for code, fields, why in (
            ("draft5", {"status": "draft"}, "is not published in the store"),
            ("old5", {"date_expires_gmt": gmt(now - timedelta(days=1))}, "expired in the store"),
            ("once5", {"usage_limit": 1, "usage_count": 1}, "is used up in the store (1 of 1")):
        woo.add_coupon(code, **fields)
        refused = api.patch(url, json={"coupon": {"mode": "fixed", "code": code}})
        assert refused.status_code == 422 and why in refused.json()["error"]["message"], code
    fallback = api.patch(url, json={"coupon": PERSONAL | {"fallback_code": "nope5"}})
    assert fallback.status_code == 422
    assert fallback.json()["error"]["message"].startswith("coupon.fallback_code: 'nope5'")
    woo.add_coupon("OFF5", amount="5", discount_type="percent")  # the merchant makes it
    saved = api.patch(url, json={"coupon": {"mode": "fixed", "code": "off5"}})
    assert saved.status_code == 200, saved.text
    assert saved.json()["coupon"] == {"mode": "fixed", "code": "off5"}


def test_without_keys_a_fixed_code_is_accepted_unchecked(api, store, factory, woo):
    store_settings(factory, store.id, url=woo.base_url, wc_consumer_key=None,
                   wc_consumer_secret=None)
    saved = api.patch(step_url(api, 2), json={"coupon": {"mode": "fixed", "code": "off5"}})
    assert saved.status_code == 200 and woo.requests == []


def firsts(shop) -> list[Message]:
    with shop.factory() as session:
        return session.scalars(select(Message).join(CampaignStep)
                               .where(CampaignStep.position == 1).order_by(Message.id)).all()


def test_a_message_whose_fixed_code_is_not_in_the_store_is_held_until_it_is(shop, woo):
    """The step was saved with «off5» (say, before the store had keys); the store has no such
    code. Before anything is sent the code is looked up, once a round for all its messages."""
    connect(shop, woo.base_url)
    set_step(shop, 1, {"mode": "fixed", "code": "off5"}, TEMPLATE)
    shop.cart("coupon-cart-040", AT, phone="09121111111")
    shop.cart("coupon-cart-041", AT, phone="09122222222")
    report = shop.tick(FIRST)
    assert report.coupon_codes_missing == 2
    assert [r.query for r in woo.calls("GET /coupons")] == [{"code": "off5"}]
    held = firsts(shop)
    assert {(m.status, m.reason) for m in held} == {("held", "coupon_not_in_store")}
    assert held[0].reason_detail == "'off5' does not exist in the store"
    assert shop.sms() == []
    shop.tick(FIRST + timedelta(minutes=1))  # held ones are asked about every 5 minutes
    assert len(woo.calls("GET /coupons")) == 1
    woo.add_coupon("off5", amount="5")  # the merchant makes it in WooCommerce
    shop.tick(FIRST + timedelta(minutes=5))
    texts = sorted(s.text for s in shop.sms())
    assert len(texts) == 2 and all(t.startswith("کد تخفیف: off5 ") for t in texts)
    assert {m.status for m in firsts(shop)} == {"delivered"}


def test_saving_the_step_with_a_code_the_store_has_releases_its_held_messages(shop, woo):
    connect(shop, woo.base_url)
    set_step(shop, 1, {"mode": "fixed", "code": "off5"}, TEMPLATE)
    cart(shop, "coupon-cart-042")
    shop.tick(FIRST)
    assert message(shop, 1).reason == "coupon_not_in_store"
    woo.add_coupon("welcome10", amount="10")
    from app.campaigns import editing
    with unit_of_work(shop.factory) as session:
        step = session.get(CampaignStep, message(shop, 1).step_id)
        editing.update_step(session, step=step, now=FIRST + timedelta(minutes=1),
                            data={"coupon": {"mode": "fixed", "code": "welcome10"}})
    assert (message(shop, 1).status, message(shop, 1).reason) == ("scheduled", "coupon_in_store")
    shop.tick(FIRST + timedelta(minutes=2))
    [sms] = shop.sms()
    assert sms.text.startswith("کد تخفیف: welcome10 ")


def test_a_store_that_does_not_answer_holds_no_fixed_code_back(shop, woo):
    connect(shop, woo.base_url)
    set_step(shop, 1, {"mode": "fixed", "code": "off5"}, TEMPLATE)
    cart(shop, "coupon-cart-043")
    woo.fail_next("GET /coupons", 503)
    shop.tick(FIRST)
    [sms] = shop.sms()  # unchecked this round: sent, as it was saved
    assert "off5" in sms.text
