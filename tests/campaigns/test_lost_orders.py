"""Lost orders: an order left unpaid at the bank's page gets its reminders, and nobody who paid.

Every order here is the real order.created delivery WooCommerce 10 sent for order 13 (pending,
«علی رضایی», phone typed in Persian digits), with its status, dates and ids moved to the story's
times: what a store sends when a customer leaves at the payment page, pays, or is cancelled by
the hold-stock timer.
"""

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.campaigns.models import Enrollment
from tests.campaigns.shop import Shop, gmt, tehran
from tests.helpers import capture, deliver

PLACED = tehran("2026-11-24T10:00")  # a Tuesday, inside the default sending window
PAY_PAGE = "https://shop.example/checkout/order-pay/{id}/?pay_for_order=true&key=wc_order_x{id}"


def order(shop: Shop, fixtures_dir, wc_id: int, at: datetime, *, status="pending",
          paid: datetime | None = None, modified: datetime | None = None,
          created_via="checkout", phone=None, email=None, cart_token=None) -> None:
    """WooCommerce's delivery of order `wc_id` as it is at `modified` (default: `at`)."""
    _, body = capture(fixtures_dir, "010_order.created.json")
    payload = json.loads(body)
    payload.update(
        id=wc_id, number=str(wc_id), status=status, created_via=created_via,
        payment_url=PAY_PAGE.format(id=wc_id), date_created_gmt=gmt(at),
        date_modified_gmt=gmt(modified or at), date_paid_gmt=gmt(paid) if paid else None,
        meta_data=[{"id": 1, "key": "_bazgasht_cart_token", "value": cart_token}]
        if cart_token else [])
    if phone:
        payload["billing"]["phone"] = phone
    if email:
        payload["billing"]["email"] = email
    response = deliver(shop.client, shop.store, "order.updated", payload)
    assert response.status_code == 200, response.text
    shop.apply(modified or at)


def lost(shop: Shop) -> list[tuple[str, str | None]]:
    return [(m.status, m.reason) for m in shop.messages("lost_order")]


@pytest.mark.parametrize("status", ["pending", "failed"])
def test_an_unpaid_order_gets_its_three_reminders_in_sending_hours(shop, fixtures_dir, status):
    shop.set_step("lost_order", 2, coupon={"mode": "fixed", "code": "off5"})
    order(shop, fixtures_dir, 101, PLACED, status=status)
    shop.tick(PLACED + timedelta(minutes=29))
    assert shop.sms() == []  # not lost yet: the bank's page may still answer
    shop.tick(PLACED + timedelta(minutes=30))
    [first] = shop.sms()
    assert first.receptor == "+989123456789" and first.text.startswith("علی عزیز، سفارش ۱۰۱")
    assert first.text.endswith("لغو۱۱")
    link = shop.link(first.text)
    assert link.kind == "order" and link.target.startswith(PAY_PAGE.format(id=101))
    # The next two: a day later (with the discount code), three days later; each at most two
    # parts with its link and the opt-out line. A day after placing it is 23.5 hours after the
    # first reminder: the store's cap (1 SMS per 24 hours) moves the second to 10:30.
    shop.tick(tehran("2026-11-25T10:00"))
    assert lost(shop)[1] == ("scheduled", "frequency_cap")
    shop.tick(tehran("2026-11-25T10:30"))
    shop.tick(tehran("2026-11-27T10:00"))
    texts = [s.text for s in shop.sms()]
    assert len(texts) == 3 and "off5" in texts[1] and texts[2].startswith("آخرین فرصت علی")
    assert all(m.parts <= 2 for m in shop.messages("lost_order"))
    sent = [m.sent_at.astimezone(PLACED.tzinfo) for m in shop.messages("lost_order")]
    assert [(at.day, at.hour) for at in sent] == [(24, 10), (25, 10), (27, 10)]


def test_the_night_moves_a_reminder_to_the_morning(shop, fixtures_dir):
    late = tehran("2026-11-24T20:45")
    order(shop, fixtures_dir, 102, late)
    shop.tick(late + timedelta(minutes=30))  # 21:15: past the store's window (09:00–21:00)
    assert shop.sms() == [] and lost(shop)[0] == ("scheduled", "quiet_hours")
    shop.tick(tehran("2026-11-25T09:00"))
    assert len(shop.sms()) == 1


def test_paid_before_the_first_reminder_gets_none(shop, fixtures_dir):
    order(shop, fixtures_dir, 103, PLACED)
    order(shop, fixtures_dir, 103, PLACED, status="processing",
          paid=PLACED + timedelta(minutes=12), modified=PLACED + timedelta(minutes=12))
    for at in (PLACED + timedelta(minutes=30), tehran("2026-11-25T10:00"),
               tehran("2026-11-27T10:00")):
        shop.tick(at)
    assert shop.sms() == [] and lost(shop) == []


def test_paid_after_the_first_reminder_gets_no_more(shop, fixtures_dir):
    order(shop, fixtures_dir, 104, PLACED)
    shop.tick(PLACED + timedelta(minutes=30))
    order(shop, fixtures_dir, 104, PLACED, status="processing",
          paid=PLACED + timedelta(hours=2), modified=PLACED + timedelta(hours=2))
    shop.tick(tehran("2026-11-25T10:00"))
    shop.tick(tehran("2026-11-27T10:00"))
    assert len(shop.sms()) == 1
    assert lost(shop) == [("delivered", None), ("skipped", "purchased"), ("skipped", "purchased")]


def test_a_later_paid_order_by_the_same_email_ends_it(shop, fixtures_dir):
    """The customer paid with another phone number: the email tells it is them."""
    order(shop, fixtures_dir, 105, PLACED, email="ali@example.test")
    shop.tick(PLACED + timedelta(minutes=30))
    order(shop, fixtures_dir, 106, PLACED + timedelta(hours=3), status="processing",
          paid=PLACED + timedelta(hours=3), phone="09351112233", email="ali@example.test")
    shop.tick(tehran("2026-11-25T10:00"))
    assert len(shop.sms()) == 1
    assert lost(shop)[1:] == [("skipped", "purchased")] * 2


@pytest.mark.parametrize("status", ["on-hold", "processing", "completed", "checkout-draft"])
def test_placed_orders_are_never_lost_ones(shop, fixtures_dir, status):
    """Bank transfer awaiting its money (on-hold) and cash on delivery (processing) are placed
    orders; a checkout draft is no signal at all."""
    order(shop, fixtures_dir, 107, PLACED, status=status, created_via="store-api")
    for at in (PLACED + timedelta(minutes=30), tehran("2026-11-25T10:00")):
        shop.tick(at)
    assert shop.sms() == [] and lost(shop) == []


def test_cancelled_by_the_hold_stock_timer_is_still_lost_and_links_to_a_refilled_cart(
        shop, fixtures_dir):
    order(shop, fixtures_dir, 108, PLACED)
    shop.tick(PLACED + timedelta(minutes=30))
    order(shop, fixtures_dir, 108, PLACED, status="cancelled",
          modified=PLACED + timedelta(minutes=60))  # "Unpaid order cancelled - time limit reached"
    shop.set_step("lost_order", 2, coupon=None)
    shop.tick(tehran("2026-11-25T10:30"))  # a day after, and 24 hours after the first (the cap)
    first, second = shop.sms()
    assert shop.link(first.text).target.startswith(PAY_PAGE.format(id=108))
    # Its payment page is gone: two products (11 ×2, 12 ×1) are too many for WooCommerce's own
    # add-to-cart link, so the store's home (the plugin's restore needs the cart it came from).
    assert shop.link(second.text).target.startswith("https://shop.example")
    assert "order-pay" not in shop.link(second.text).target


def test_cancelled_by_the_merchant_after_it_was_placed_ends_it(shop, fixtures_dir):
    order(shop, fixtures_dir, 109, PLACED)
    shop.tick(PLACED + timedelta(minutes=30))
    order(shop, fixtures_dir, 109, PLACED, status="refunded", paid=None,
          modified=PLACED + timedelta(hours=5))
    shop.tick(tehran("2026-11-25T10:00"))
    assert len(shop.sms()) == 1
    assert lost(shop)[1] == ("skipped", "order_changed")


def test_three_unpaid_attempts_in_an_hour_get_one_sequence_for_the_latest(shop, fixtures_dir):
    for n, minutes in enumerate((0, 20, 40)):
        order(shop, fixtures_dir, 110 + n, PLACED + timedelta(minutes=minutes))
        shop.tick(PLACED + timedelta(minutes=minutes + 10))
    for minutes in (30, 50, 70):
        shop.tick(PLACED + timedelta(minutes=minutes))
    [sms] = shop.sms()
    assert "۱۱۲" in sms.text  # the latest attempt, order 112
    with shop.factory() as session:
        assert len(session.scalars(select(Enrollment)).all()) == 1


def test_a_newer_attempt_the_next_day_takes_over_the_sequence(shop, fixtures_dir):
    order(shop, fixtures_dir, 120, PLACED)
    shop.tick(PLACED + timedelta(minutes=30))
    order(shop, fixtures_dir, 121, tehran("2026-11-25T09:00"))
    shop.tick(tehran("2026-11-25T09:30"))
    shop.tick(tehran("2026-11-25T10:00"))  # the first order's second step would be due now
    shop.tick(tehran("2026-11-25T10:30"))  # 24 hours after the first reminder (the cap)
    texts = [s.text for s in shop.sms()]
    assert len(texts) == 2 and "۱۲۰" in texts[0] and "۱۲۱" in texts[1]
    older = [m for m in shop.messages("lost_order") if m.status == "skipped"]
    assert {m.reason for m in older} == {"superseded"} and len(older) == 2


def test_the_cart_sequence_hands_over_to_the_lost_order(shop, fixtures_dir):
    """The shopper left a cart (companion plugin), then placed an order from it and left at the
    bank: one sequence for one purchase attempt, the lost order's."""
    shop.set_step("lost_order", 2, coupon={"mode": "fixed", "code": "off5"})
    shop.cart("lost-cart-0001", PLACED - timedelta(minutes=5))
    order(shop, fixtures_dir, 130, PLACED, cart_token="lost-cart-0001")
    for at in (PLACED + timedelta(minutes=30), PLACED + timedelta(minutes=60),
               tehran("2026-11-25T10:30")):
        shop.tick(at)
    kinds = {m.campaign_id for m in shop.messages() if m.sent_at is not None}
    assert kinds == {shop.campaign("lost_order").id}
    assert len(shop.sms()) == 2  # the lost order's first two steps, no cart reminder
    assert {(m.status, m.reason) for m in shop.messages("abandoned_cart")} <= {
        ("skipped", "order_placed")}


def test_an_opted_out_customer_gets_nothing(shop, fixtures_dir, client):
    order(shop, fixtures_dir, 140, PLACED)
    shop.tick(PLACED + timedelta(minutes=30))
    from tests.factories import set_contact
    set_contact(shop.factory, shop.store.id, "+989123456789", opted_out_at=PLACED)
    shop.tick(tehran("2026-11-25T10:00"))
    assert len(shop.sms()) == 1 and lost(shop)[1] == ("skipped", "opted_out")


def test_the_second_reminder_carries_a_personal_code_made_in_the_store(shop, fixtures_dir):
    """The default second step: a single-use 5% code made in the store (its REST keys given),
    for this customer's email, shown in the SMS."""
    from app.commerce.fake_woocommerce import FakeWooCommerce
    from tests.factories import store_settings

    with FakeWooCommerce(consumer_key="ck_" + "a" * 40, consumer_secret="cs_" + "b" * 40) as woo:
        store_settings(shop.factory, shop.store.id, url=woo.base_url,
                       wc_consumer_key="ck_" + "a" * 40, wc_consumer_secret="cs_" + "b" * 40)
        order(shop, fixtures_dir, 150, PLACED)
        shop.tick(PLACED + timedelta(minutes=30))
        shop.tick(tehran("2026-11-25T09:50"))  # due within the coupon lead: made ahead
        shop.tick(tehran("2026-11-25T10:30"))
        [made] = woo.coupons
    assert (made["discount_type"], made["amount"]) == ("percent", "5.00")
    assert made["email_restrictions"] == []  # a guest can apply it in the cart
    second = shop.sms()[1].text
    assert made["code"].upper() in second and "تخفیف" in second


def test_the_report_counts_what_the_reminders_truly_recovered(shop, fixtures_dir, client):
    """Four lost orders through the real trigger: one paid after the first reminder, one after
    the second, one paid and then refunded, one never paid. The campaign's report: four lost,
    two recovered, and exactly the two paid orders' totals (2,200,000 Toman each in the capture,
    22,000,000 Rial)."""
    from tests.helpers import bearer

    shop.set_step("lost_order", 2, coupon={"mode": "fixed", "code": "off5"})
    phones = {201: "09121110001", 202: "09121110002", 203: "09121110003", 204: "09121110004"}
    for wc_id, phone in phones.items():
        order(shop, fixtures_dir, wc_id, PLACED, phone=phone, email=f"c{wc_id}@example.test")
    shop.tick(PLACED + timedelta(minutes=30))
    paid_at = {201: PLACED + timedelta(hours=2), 203: PLACED + timedelta(hours=3)}
    for wc_id, at in paid_at.items():
        order(shop, fixtures_dir, wc_id, PLACED, status="processing", paid=at, modified=at,
              phone=phones[wc_id], email=f"c{wc_id}@example.test")
    shop.tick(tehran("2026-11-25T10:30"))
    later = tehran("2026-11-25T15:00")
    order(shop, fixtures_dir, 202, PLACED, status="processing", paid=later, modified=later,
          phone=phones[202], email="c202@example.test")
    refunded = tehran("2026-11-26T12:00")
    order(shop, fixtures_dir, 203, PLACED, status="refunded", paid=paid_at[203],
          modified=refunded, phone=phones[203], email="c203@example.test")
    response = shop.client.get(f"/api/v1/reports/campaigns/{shop.campaign('lost_order').id}",
                               params={"from": "2026-11-01", "to": "2026-11-30"},
                               headers=bearer(shop.store))
    assert response.status_code == 200, response.text
    row = response.json()["campaign"]
    assert (row["lost_orders"], row["orders"], row["revenue"]) == (4, 2, 2 * 22_000_000)
    by_step = {s["position"]: (s["orders"], s["revenue"]) for s in row["steps"]}
    assert by_step[1] == (1, 22_000_000) and by_step[2] == (1, 22_000_000)
