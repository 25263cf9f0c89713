"""The merchant opens November's report: every figure against a hand count of the history in
conftest.py (Tehran time; price per part 1,500 Rial).

Went out in November (m1-m8, m13, m14), due in November and not gone out (m9-m12):

| msg | campaign / step / variant | status | parts | cost (Rial) | click | credited order |
|---|---|---|---|---|---|---|
| m1 | cart 1 A | delivered, 11-01 00:10 | 1 | 1,200 | yes | 5,000,000 (cart_token) |
| m2 | cart 1 B | delivered | 2 | none: 2 × 1,500 = 3,000 estimated | yes | |
| m3 | cart 1 A | failed, status 14 (blocked) | 1 | 1,300 refunded: 0 | | |
| m4 | cart 1 B | sent | 1 | 1,250 | yes | 2,000,000 (+ 900,000 cancelled: removed) |
| m5 | cart 2 | delivered | 3 | 3,600 | | 1,500,000 (coupon) |
| m6 | survey 1 | delivered | 1 | none: 1,500 estimated | yes | |
| m7 | survey 1 | delivered | 1 | 1,100 | yes | |
| m8 | cross-sell 1 | delivered | 2 | 2,400 | yes | 3,000,000 (cross-sell purchase) |
| m13 | cross-sell 1 | sending (in flight) | (1) | — | | |
| m14 | cart 1 B | delivered, 11-30 23:59 | 1 | 1,200 | bots only | |
| m9 | cart 1 A | failed before sending | | | | |
| m10 | cart 1 A | skipped | | | | |
| m11 | cart 3 | scheduled, due 11-30 23:50 | | | | |
| m12 | cart 2 | held | | | | |

Outside: m15 (10-31 23:59, clicked and credited in November), m16 and m17 (12-01 00:00).
Opt-outs in November: m7's contact (sms reply), m15's contact (sms reply; m15 was a cart 1 A
reminder), a contact the merchant opted out. Survey answers in November: 5 (m6), 2 (m7), 4 (no
message).
"""

from datetime import datetime, timedelta, timezone

import pytest

from tests.factories import set_campaign, store_settings
from tests.reports.conftest import NOVEMBER, headers

ZERO = dict(messages=0, scheduled=0, sending=0, held=0, skipped=0, too_late=0, sent=0,
            delivered=0, failed=0, blocked=0, delivery_rate=None, parts=0, cost=0, cost_estimated_messages=0, clicks=0,
            click_rate=None, orders=0, revenue=0, recovered_carts=0, cross_sell_purchases=0,
            conversion_rate=None, return_on_spend=None, opt_outs=0, survey_answers=0,
            average_rating=None)


def figures(**given) -> dict:
    return ZERO | given


def only_figures(row: dict) -> dict:
    return {k: row[k] for k in ZERO}


TOTALS = figures(
    messages=14, scheduled=1, sending=1, held=1, skipped=1, sent=9, delivered=7, failed=2,
    blocked=1, delivery_rate=0.7778, parts=13,
    cost=1200 + 3000 + 0 + 1250 + 3600 + 1500 + 1100 + 2400 + 1200, cost_estimated_messages=2,
    clicks=6, click_rate=0.6667, orders=4, revenue=11_500_000, recovered_carts=3,
    cross_sell_purchases=1, conversion_rate=0.4444, return_on_spend=754.1, opt_outs=3,
    survey_answers=3, average_rating=3.67)
CART_1_A = figures(messages=4, skipped=1, sent=2, delivered=1, failed=2, blocked=1,
                   delivery_rate=0.5, parts=2, cost=1200, clicks=1, click_rate=0.5, orders=1,
                   revenue=5_000_000, recovered_carts=1, conversion_rate=0.5,
                   return_on_spend=4166.67, opt_outs=1)
CART_1_B = figures(messages=3, sent=3, delivered=2, delivery_rate=0.6667, parts=4, cost=5450,
                   cost_estimated_messages=1, clicks=2, click_rate=0.6667, orders=1,
                   revenue=2_000_000, recovered_carts=1, conversion_rate=0.3333,
                   return_on_spend=366.97)
CART_1 = figures(messages=7, skipped=1, sent=5, delivered=3, failed=2, blocked=1,
                 delivery_rate=0.6, parts=6, cost=6650, cost_estimated_messages=1, clicks=3,
                 click_rate=0.6, orders=2, revenue=7_000_000, recovered_carts=2,
                 conversion_rate=0.4, return_on_spend=1052.63, opt_outs=1)
CART_2 = figures(messages=2, held=1, sent=1, delivered=1, delivery_rate=1.0, parts=3, cost=3600,
                 orders=1, revenue=1_500_000, recovered_carts=1, conversion_rate=1.0,
                 click_rate=0.0, return_on_spend=416.67)
CART_3 = figures(messages=1, scheduled=1)
CART = figures(messages=10, scheduled=1, held=1, skipped=1, sent=6, delivered=4, failed=2,
               blocked=1, delivery_rate=0.6667, parts=9, cost=10250, cost_estimated_messages=1,
               clicks=3, click_rate=0.5, orders=3, revenue=8_500_000, recovered_carts=3,
               conversion_rate=0.5, return_on_spend=829.27, opt_outs=1)
SURVEY = figures(messages=2, sent=2, delivered=2, delivery_rate=1.0, parts=2, cost=2600,
                 cost_estimated_messages=1, clicks=2, click_rate=1.0, conversion_rate=0.0,
                 return_on_spend=0.0, opt_outs=1, survey_answers=2, average_rating=3.5)
CROSS = figures(messages=2, sending=1, sent=1, delivered=1, delivery_rate=1.0, parts=2,
                cost=2400, clicks=1, click_rate=1.0, orders=1, revenue=3_000_000,
                cross_sell_purchases=1, conversion_rate=1.0, return_on_spend=1250.0)


@pytest.fixture
def report(client, seeded):
    response = client.get("/api/v1/reports/summary", params=NOVEMBER,
                          headers=headers(seeded.store))
    assert response.status_code == 200, response.text
    return response.json()


def campaign(report, kind):
    [row] = [c for c in report["campaigns"] if c["kind"] == kind]
    return row


def test_the_store_totals_match_the_hand_count(report, seeded):
    assert only_figures(report["totals"]) == TOTALS
    assert report["cost_source"] == "gateway_and_estimate"
    assert report["price_per_part"] == 1500 and report["amounts_in"] == "rial"
    assert report["store"]["id"] == seeded.store.id
    assert report["range"] == {
        "from": "2026-11-01", "to": "2026-11-30", "from_jalali": "۱۴۰۵/۰۸/۱۰",
        "to_jalali": "۱۴۰۵/۰۹/۰۹", "timezone": "Asia/Tehran",
        "since": "2026-10-31T20:30:00+00:00", "until": "2026-11-30T20:30:00+00:00"}


def test_each_campaign_step_and_variant_matches_the_hand_count(report):
    cart = campaign(report, "abandoned_cart")
    assert only_figures(cart) == CART
    step1, step2, step3 = cart["steps"]
    assert [s["position"] for s in cart["steps"]] == [1, 2, 3]
    assert only_figures(step1) == CART_1
    assert [v["name"] for v in step1["variants"]] == ["A", "B"]
    assert only_figures(step1["variants"][0]) == CART_1_A
    assert only_figures(step1["variants"][1]) == CART_1_B
    assert only_figures(step2) == CART_2 and step2["variants"] == []
    assert only_figures(step3) == CART_3
    assert only_figures(campaign(report, "post_purchase_survey")) == SURVEY
    assert only_figures(campaign(report, "cross_sell")) == CROSS
    win_back = campaign(report, "win_back")
    assert only_figures(win_back) == ZERO and win_back["active"] is False
    # The campaigns add up to the store, except what came without a message.
    for name in ("messages", "sent", "cost", "clicks", "orders", "revenue"):
        assert sum(c[name] for c in report["campaigns"]) == report["totals"][name]


def test_opt_outs_and_survey_answers(report):
    assert report["opt_outs"] == {"total": 3, "by_source": {"sms reply": 2, "merchant": 1},
                                  "after_a_message": 2}
    surveys = report["surveys"]
    assert (surveys["answers"], surveys["average_rating"]) == (3, 3.67)
    assert surveys["ratings"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}
    assert [(c["comment"], c["rating"], c["answered_jalali"])
            for c in surveys["latest_comments"]] == [("دیر رسید", 2, "۱۴۰۵/۰۸/۳۰"),
                                                      ("عالی بود", 5, "۱۴۰۵/۰۸/۲۰")]


def test_one_campaign_alone(client, seeded):
    response = client.get(f"/api/v1/reports/campaigns/{seeded.campaign_ids['post_purchase_survey']}",
                          params=NOVEMBER, headers=headers(seeded.store))
    assert response.status_code == 200, response.text
    body = response.json()
    assert only_figures(body["campaign"]) == SURVEY
    # Only the answers that came through this campaign's SMS.
    assert (body["surveys"]["answers"], body["surveys"]["average_rating"]) == (2, 3.5)
    assert body["cost_source"] == "gateway_and_estimate"


def test_the_period_is_whole_days_in_the_store_timezone(client, seeded):
    """m1 went out at 00:10 on 1 November in Tehran, 20:40 on 31 October in UTC."""
    day = client.get("/api/v1/reports/summary", params={"from": "2026-11-01", "to": "2026-11-01"},
                     headers=headers(seeded.store)).json()
    assert (day["totals"]["sent"], day["totals"]["orders"]) == (1, 1)
    # The same day asked in Jalali, in Persian digits.
    jalali = client.get("/api/v1/reports/summary", params={"from": "۱۴۰۵/۰۸/۱۰", "to": "1405-08-10"},
                        headers=headers(seeded.store)).json()
    assert jalali["range"]["from"] == "2026-11-01" and jalali["totals"] == day["totals"]


def test_a_real_story_through_the_engine(shop, client, live_server, factory):
    """A cart left, reminded by the tick, the link tapped by a person, the order placed with the
    cart token: one sent, one click, one recovered cart, cost estimated from the parts."""
    store_settings(factory, shop.store.id, send_from_minute=0, send_until_minute=24 * 60)
    now = datetime.now(timezone.utc)
    shop.cart("report-cart-1", now - timedelta(hours=3))
    shop.tick(now - timedelta(minutes=90))
    [sms] = shop.sms()
    link = shop.link(sms.text)
    assert client.get(f"/{link.code}", headers={"User-Agent": "Mozilla/5.0 (iPhone)"}
                      ).status_code == 302
    live_server.app.state.click_recorder.flush()
    shop.order(801, now, cart_token="report-cart-1")
    body = client.get("/api/v1/reports/summary", headers=headers(shop.store)).json()
    [message] = [m for m in shop.messages() if m.sent_at is not None]
    totals = body["totals"]
    assert (totals["sent"], totals["clicks"], totals["orders"], totals["recovered_carts"]) == (
        1, 1, 1, 1)
    assert totals["revenue"] == 6_000_000  # 600,000 toman
    assert totals["cost"] == message.parts * 1200 and totals["cost_estimated_messages"] == 1
    assert body["cost_source"] == "estimate"
    # The default period: the last 30 days, today (in Tehran) included.
    first, last = (datetime.fromisoformat(body["range"][k]).date() for k in ("from", "to"))
    tehran_today = {(at + timedelta(hours=3, minutes=30)).date()
                    for at in (now, datetime.now(timezone.utc))}
    assert last in tehran_today and (last - first).days == 29


def test_a_deleted_campaign_keeps_its_history(client, seeded, factory):
    set_campaign(factory, seeded.store.id, "cross_sell",
                 deleted_at=datetime(2026, 12, 2, tzinfo=timezone.utc), active=False)
    body = client.get("/api/v1/reports/summary", params=NOVEMBER,
                      headers=headers(seeded.store)).json()
    cross = campaign(body, "cross_sell")
    assert (cross["deleted"], cross["active"]) == (True, False)
    assert only_figures(cross) == CROSS and only_figures(body["totals"]) == TOTALS
    assert campaign(body, "abandoned_cart")["deleted"] is False
