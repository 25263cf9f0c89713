"""Which message gets the credit for an order: over real HTTP.

Clicks are stamped with the app's clock, which each story moves along its own time, in a store
that sends around the clock (quiet hours are tested elsewhere).
"""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.campaigns.models import Attribution, Campaign
from app.links.models import Link
from tests.campaigns.lost_orders import lost_order
from tests.campaigns.shop import tehran
from tests.factories import set_campaign, store_settings
from tests.helpers import bearer

PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile"
BOT_UA = "TelegramBot (like TwitterBot)"


@pytest.fixture
def now(shop, factory):
    store_settings(factory, shop.store.id, send_from_minute=0, send_until_minute=24 * 60)
    return tehran("2026-11-24T21:00")


@pytest.fixture
def recorder(live_server):
    return live_server.app.state.click_recorder


def reminded(shop, now, token="attr-cart-0001") -> Link:
    """A cart left three hours ago; its first reminder went out."""
    shop.cart(token, now - timedelta(hours=3))
    shop.tick(now - timedelta(minutes=90))
    shop.clock.set(now)  # the customer reads it now
    [sms] = shop.sms()
    return shop.link(sms.text)


def tap(client, recorder, link: Link, agent=PHONE_UA):
    assert client.get(f"/{link.code}", headers={"User-Agent": agent}).status_code == 302
    recorder.flush()


def credits(factory) -> list[Attribution]:
    with factory() as session:
        return session.scalars(select(Attribution).order_by(Attribution.id)).all()


def test_click_then_order_credits_the_clicked_message_but_a_bot_preview_does_not(
        shop, client, recorder, factory, now):
    link = reminded(shop, now)
    tap(client, recorder, link, BOT_UA)
    shop.order(700, now + timedelta(minutes=1), phone="09123456789")
    assert credits(factory) == []  # a preview is no click (order 700 had no cart token)
    tap(client, recorder, link)
    shop.order(701, now + timedelta(minutes=2), phone="۰۹۱۲۳۴۵۶۷۸۹")
    [credit] = credits(factory)
    assert (credit.basis, credit.message_id, credit.revenue) == ("click", link.message_id, 6_000_000)
    with factory() as session:
        assert session.get(Campaign, credit.campaign_id).kind == "abandoned_cart"
    assert credit.variant is None and credit.removed_at is None


def test_the_cart_token_is_definitive_even_without_a_click(shop, factory, now):
    link = reminded(shop, now)
    shop.order(702, now, cart_token="attr-cart-0001", phone="09350000000")  # another phone
    [credit] = credits(factory)
    assert (credit.basis, credit.message_id) == ("cart_token", link.message_id)


def test_no_click_no_token_no_credit(shop, factory, now):
    reminded(shop, now)
    shop.order(703, now)
    assert credits(factory) == []


def test_a_click_outside_the_window_does_not_count(shop, client, recorder, factory, now):
    link = reminded(shop, now)
    tap(client, recorder, link)
    store_settings(factory, shop.store.id, attribution_window_days=1)
    shop.order(704, now + timedelta(days=1, minutes=5))
    assert credits(factory) == []


def test_only_purchases_count_and_a_cancellation_removes_the_credit(shop, client, recorder,
                                                                   factory, now):
    link = reminded(shop, now)
    tap(client, recorder, link)
    at = now + timedelta(minutes=1)
    shop.order(705, at, status="pending")
    assert credits(factory) == []
    shop.order(705, at + timedelta(seconds=1), status="processing")
    [credit] = credits(factory)
    shop.order(705, at + timedelta(seconds=2), status="cancelled")
    [credit] = credits(factory)
    assert credit.removed_at is not None and credit.removed_reason == "order cancelled"
    shop.order(705, at + timedelta(seconds=3), status="completed")
    [credit] = credits(factory)
    assert credit.removed_at is None and credit.message_id == link.message_id


def test_a_refund_removes_the_credit(shop, client, recorder, factory, now):
    link = reminded(shop, now)
    tap(client, recorder, link)
    shop.order(706, now + timedelta(minutes=1))
    shop.order(706, now + timedelta(minutes=2), status="refunded")
    [credit] = credits(factory)
    assert credit.removed_reason == "order refunded"


def test_the_recommended_product_bought_credits_the_cross_sell(shop, factory, now):
    shop.product(11, cross_sells=[12], name="چای سبز")
    shop.product(12, name="قوری")
    set_campaign(factory, shop.store.id, "post_purchase_survey", active=False)
    shop.set_step("cross_sell", 1, delay_minutes=60)
    shop.order(710, now - timedelta(hours=3), status="completed")
    shop.tick(now - timedelta(hours=2, minutes=55))
    shop.tick(now - timedelta(hours=1))
    [sms] = shop.sms()
    link = shop.link(sms.text)
    assert (link.kind, link.product_wc_id) == ("product", 12)
    shop.order(711, now, items=((12, 1),))
    [credit] = credits(factory)
    assert (credit.basis, credit.message_id, credit.cross_sell_purchase) == (
        "cross_sell", link.message_id, True)


def test_a_replayed_order_never_credits_twice(shop, client, recorder, factory, now):
    link = reminded(shop, now)
    tap(client, recorder, link)
    for seconds in (60, 61, 62):
        shop.order(720, now + timedelta(seconds=seconds))
    assert len(credits(factory)) == 1


def test_a_personal_coupon_used_in_the_order_credits_its_message(shop, factory, now):
    from app.campaigns.models import Coupon
    from app.commerce.fake_woocommerce import FakeWooCommerce

    key, secret = "ck_" + "a1" * 20, "cs_" + "b2" * 20
    with FakeWooCommerce(consumer_key=key, consumer_secret=secret) as woo:
        store_settings(factory, shop.store.id, url=woo.base_url, wc_consumer_key=key,
                       wc_consumer_secret=secret)
        shop.set_step("abandoned_cart", 1, coupon={
            "mode": "personal", "discount_type": "percent", "amount": "10", "expires_days": 3,
            "on_failure": "hold"}, template="کد تخفیف شما: {{ coupon_code }} {{ link }}")
        shop.cart("coupon-cart-01", now - timedelta(hours=3))
        shop.tick(now - timedelta(minutes=90))
        shop.tick(now - timedelta(minutes=89))
    [sms] = shop.sms()
    with factory() as session:
        [coupon] = session.scalars(select(Coupon)).all()
    assert coupon.code.upper() in sms.text
    # Another phone, no cart token, no click: only the code ties the order to the SMS.
    shop.order(730, now, phone="09350000001", coupons=[coupon.code.upper()])
    [credit] = credits(factory)
    assert (credit.basis, credit.message_id) == ("coupon", coupon.message_id)


# A lost order: placed, left unpaid at the bank's page, reminded, then paid. The same order, so
# its credit goes to its own reminders, which went out after it was placed.

def placed_and_reminded(shop, now, wc_id=740, steps_sent=1, **kwargs) -> tuple:
    """A lost order placed a day and a half before `now`; its first `steps_sent` reminders went
    out on time (+30 min, +1 day, +3 days). Returns when it was placed and the messages' ids."""
    placed = now - timedelta(hours=36)
    delays = (timedelta(minutes=30), timedelta(days=1), timedelta(days=3))
    return placed, lost_order(shop, wc_id, placed,
                              sent=tuple(placed + d for d in delays[:steps_sent]), **kwargs)


def test_a_lost_order_paid_after_its_first_reminder_is_credited_to_it(shop, factory, now):
    placed, [first, _, _] = placed_and_reminded(shop, now, total="1250000")
    shop.order(740, now, placed=placed, total="1250000")
    [credit] = credits(factory)
    assert (credit.basis, credit.message_id, credit.revenue) == ("lost_order", first, 12_500_000)
    with factory() as session:
        assert session.get(Campaign, credit.campaign_id).kind == "lost_order"


def test_paid_after_the_second_reminder_credits_the_second(shop, factory, now):
    placed, [_, second, _] = placed_and_reminded(shop, now, steps_sent=2)
    shop.order(740, now + timedelta(hours=1), placed=placed)
    [credit] = credits(factory)
    assert (credit.basis, credit.message_id) == ("lost_order", second)


def test_on_hold_after_a_reminder_counts_from_when_it_came_in(shop, factory, now):
    """A bank transfer: on hold, with no payment date; the reminders before it count."""
    placed, [first, _, _] = placed_and_reminded(shop, now)
    shop.order(740, placed + timedelta(hours=2), placed=placed, status="on-hold")
    [credit] = credits(factory)
    assert (credit.basis, credit.message_id) == ("lost_order", first)


def test_paid_before_any_reminder_went_out_is_not_the_lost_order_campaigns(shop, factory, now):
    link = reminded(shop, now, token="lost-cart-0001")  # the cart it was placed from
    lost_order(shop, 742, now)  # its first reminder is still due, at +30 min
    shop.order(742, now + timedelta(minutes=10), placed=now, cart_token="lost-cart-0001")
    [credit] = credits(factory)  # the cart's reminder brought it, before it was placed
    assert (credit.basis, credit.message_id) == ("cart_token", link.message_id)


def test_paid_before_any_reminder_and_nothing_else_is_no_credit(shop, factory, now):
    lost_order(shop, 743, now)
    shop.order(743, now + timedelta(minutes=10), placed=now)
    assert credits(factory) == []


def test_only_its_own_reminders_credit_a_lost_order(shop, factory, now):
    """The same customer left two orders unpaid: each is credited to its own reminders."""
    placed, [first, _, _] = placed_and_reminded(shop, now, wc_id=744)
    later = now - timedelta(hours=2)
    lost_order(shop, 745, later, sent=(later + timedelta(minutes=30),))
    shop.order(744, now, placed=placed)
    [credit] = credits(factory)
    assert credit.message_id == first


def test_a_lost_order_paid_after_the_window_is_not_credited(shop, factory, now):
    store_settings(factory, shop.store.id, attribution_window_days=1)
    placed, _ = placed_and_reminded(shop, now)
    shop.order(740, placed + timedelta(days=1, hours=1), placed=placed)
    assert credits(factory) == []


def test_refunding_a_recovered_lost_order_takes_its_revenue_out_of_the_report(
        shop, client, factory, now):
    placed, [first, _, _] = placed_and_reminded(shop, now)
    campaign_id = shop.campaign("lost_order").id

    def revenue() -> int:
        response = client.get(f"/api/v1/reports/campaigns/{campaign_id}",
                              params={"from": "2026-11-20", "to": "2026-11-30"},
                              headers=bearer(shop.store))
        assert response.status_code == 200, response.text
        return response.json()["campaign"]["revenue"]

    shop.order(740, now, placed=placed)
    assert revenue() == 6_000_000
    shop.order(740, now + timedelta(days=2), placed=placed, status="refunded")
    [credit] = credits(factory)
    assert credit.removed_reason == "order refunded" and credit.message_id == first
    assert revenue() == 0
    shop.order(740, now + timedelta(days=3), placed=placed)  # paid again: the credit is back
    [credit] = credits(factory)
    assert credit.removed_at is None and credit.message_id == first
    assert revenue() == 6_000_000


def test_revenue_follows_each_orders_state_and_the_report_says_what_was_taken_back(
        shop, client, factory, now):
    """Four carts reminded and bought through their restore links (toman 600,000 each, the
    store's currency): one kept, one partly refunded, one refunded, one cancelled after
    payment. The report counts exactly what a hand count gives."""
    for n in range(4):
        shop.cart(f"honest-cart-{n}", now - timedelta(hours=3), phone=f"0912100000{n}")
    shop.tick(now - timedelta(minutes=90))
    assert len(shop.sms()) == 4
    paid = now + timedelta(minutes=5)
    for n in range(4):
        shop.order(760 + n, paid, phone=f"0912100000{n}", cart_token=f"honest-cart-{n}")
    later = paid + timedelta(days=1)
    shop.order(761, later, phone="09121000001", cart_token="honest-cart-1", refunds=("100000",))
    shop.order(762, later, phone="09121000002", cart_token="honest-cart-2", status="refunded",
               refunds=("600000",))
    shop.order(763, later, phone="09121000003", cart_token="honest-cart-3", status="cancelled")

    response = client.get("/api/v1/reports/summary", params={"from": "2026-11-20",
                                                             "to": "2026-11-30"},
                          headers=bearer(shop.store))
    assert response.status_code == 200, response.text
    totals = response.json()["totals"]
    # Rial: 6,000,000 kept + (6,000,000 − 1,000,000) partly refunded.
    assert (totals["orders"], totals["revenue"]) == (2, 11_000_000)
    # 1,000,000 of the partial refund + 6,000,000 refunded + 6,000,000 cancelled.
    assert totals["revenue_taken_back"] == 13_000_000
    # A removed credit keeps what it was worth when it was taken back.
    assert sorted((c.revenue, c.refunded, c.removed_reason or "") for c in credits(factory)) == [
        (5_000_000, 1_000_000, ""), (6_000_000, 0, ""), (6_000_000, 0, "order cancelled"),
        (6_000_000, 0, "order refunded")]
