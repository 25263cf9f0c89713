"""The automation triggers beyond the fixed campaigns' (issue 22) and the presets a store adds:
an order reaching a status, a product bought, a survey answered, a product's predicted reorder
day. Told through the store's webhooks, the survey page, the admin API and the scheduler's
ticks."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.campaigns.models import Attribution, Campaign, Enrollment, Message
from app.campaigns.presets import DEFAULT_COUPONS, PRESETS
from app.commerce.fake_woocommerce import FakeWooCommerce
from app.commerce.models import Order
from app.contacts.models import Contact
from app.messaging.render import default_template
from tests.campaigns.shop import TEHRAN, tehran
from tests.factories import store_settings
from tests.helpers import error_of
from tests.links.test_story import PHONE_UA

DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
TEA, COFFEE, TEAPOT = 11, 12, 13


def automation(api, kind: str, **fields) -> dict:
    """The preset `kind` made through the admin API, running, with the preset's steps (its
    texts and coupons); `fields` override the request's (trigger, trigger_params, …)."""
    preset = PRESETS[kind]
    steps = [{"delay_minutes": delay, "template": default_template(f"{kind}_{n}"),
              "coupon": DEFAULT_COUPONS.get((kind, n))}
             for n, delay in enumerate(preset.delays, start=1)]
    made = api.post("/api/v1/campaigns", json={
        "kind": kind, "name": preset.name, "active": True, "steps": steps} | fields)
    assert made.status_code == 201, made.text
    return made.json()


def enrolled(shop, campaign_id: int) -> list[tuple[int, str, str | None, int | None, int]]:
    """(order wc id, status, exit reason, product, messages) of the campaign's enrollments."""
    with shop.factory() as session:
        wc = dict(session.execute(select(Order.id, Order.wc_id)).all())
        rows = session.execute(
            select(Enrollment.subject_id, Enrollment.status, Enrollment.exit_reason,
                   Enrollment.product_wc_id, Enrollment.id)
            .where(Enrollment.campaign_id == campaign_id).order_by(Enrollment.subject_id)).all()
        counts = {row.id: len(session.scalars(select(Message.id).where(
            Message.enrollment_id == row.id)).all()) for row in rows}
    return [(wc[subject], status, reason, product, counts[eid])
            for subject, status, reason, product, eid in rows]


def sent(shop, campaign_id: int) -> list[tuple[str, str, str]]:
    """(phone, Tehran time it went out, text) of the campaign's SMS that went out."""
    with shop.factory() as session:
        rows = session.execute(
            select(Contact.phone, Message.sent_at, Message.text)
            .join(Contact, Contact.id == Message.contact_id)
            .where(Message.campaign_id == campaign_id, Message.sent_at.is_not(None))
            .order_by(Message.sent_at, Message.id)).all()
    return [(phone, at.astimezone(TEHRAN).strftime("%m-%d %H:%M"), text)
            for phone, at, text in rows]


# -- order_status -------------------------------------------------------------------------------

def test_an_order_reaching_a_custom_status_starts_a_thank_you_once(shop, api):
    shop.product(TEA, name="چای سبز")
    before = tehran("2026-11-24T08:00")
    shop.order(501, before, status="shipped")  # in that status before the automation existed
    made = tehran("2026-11-24T09:00")
    shop.clock.set(made)
    thanks = automation(api, "thank_you", trigger="order_status",
                        trigger_params={"status": "wc-Shipped"})
    assert (thanks["trigger"], thanks["trigger_params"], thanks["promotional"]) == (
        "order_status", {"status": "shipped"}, False)
    at = made + timedelta(hours=1)
    shop.order(502, at, status="shipped", phone="09350000002")
    shop.order(503, at, status="processing", phone="09350000003")
    shop.order(504, at, status="shipped", phone="09350000004")
    shop.order(505, at, status="shipped", phone="09350000005")
    shop.tick(at + 5 * MINUTE)
    shop.tick(at + 10 * MINUTE)  # looked at once: not enrolled again
    shop.order(504, at + timedelta(hours=2), status="completed",
               phone="09350000004")  # delivered meanwhile: still thanked
    shop.order(505, at + timedelta(hours=3), status="refunded", phone="09350000005")
    shop.order(506, at + timedelta(hours=4), status="pending", phone="09350000006")
    shop.order(506, at + timedelta(hours=5), status="shipped", phone="09350000006")
    shop.tick(at + timedelta(hours=5, minutes=5))
    assert enrolled(shop, thanks["id"]) == [
        (502, "active", None, None, 1), (504, "active", None, None, 1),
        (505, "active", None, None, 1), (506, "active", None, None, 1)]
    shop.tick(at + DAY + 5 * MINUTE)  # the step is +1 day
    shop.tick(at + DAY + timedelta(hours=5, minutes=5))
    texts = {phone: text for phone, _, text in sent(shop, thanks["id"])}
    assert sorted(texts) == ["+989350000002", "+989350000004", "+989350000006"]
    assert "نکات نگهداری چای سبز" in texts["+989350000002"]
    assert "لغو" not in texts["+989350000002"]  # not promotional: no opt-out line
    link = shop.link(texts["+989350000002"])
    assert (link.kind, link.product_wc_id) == ("product", None)  # the page, no credit by sending
    assert link.target.startswith("https://shop.example/p/11/")
    refunded = [m for m in shop.messages("thank_you") if m.status == "skipped"]
    assert [(m.reason, m.reason_detail) for m in refunded] == [("order_changed", "refunded")]


def test_an_automation_on_the_cancelled_status_is_not_ended_by_it(shop, api):
    """The status it waited for is no reason to stop (only leaving for another undoing one)."""
    made = tehran("2026-11-24T09:00")
    shop.clock.set(made)
    sorry = automation(api, "thank_you", trigger="order_status",
                       trigger_params={"status": "cancelled"})
    shop.order(511, made + timedelta(hours=1), status="cancelled")
    shop.tick(made + timedelta(hours=1, minutes=5))
    shop.tick(made + DAY + timedelta(hours=1, minutes=5))
    assert [phone for phone, _, _ in sent(shop, sorry["id"])] == ["+989123456789"]


# -- product_bought -----------------------------------------------------------------------------

def test_a_paid_order_holding_a_product_or_a_category_starts_it_once(shop, api):
    shop.product(TEA, name="چای سبز")
    shop.product(COFFEE, name="قهوه")
    shop.product(TEAPOT, name="قوری", categories=(15,))
    made = tehran("2026-11-24T09:00")
    shop.order(600, made - DAY, items=((COFFEE, 1),))  # before the automation
    shop.clock.set(made)
    bought = automation(api, "thank_you", trigger="product_bought",
                        trigger_params={"products": ["۱۲"], "categories": [15]})
    assert bought["trigger_params"] == {"products": [12], "categories": [15]}
    at = made + timedelta(hours=1)
    shop.order(601, at, items=((TEA, 1), (COFFEE, 2)), phone="09350000001")
    shop.order(602, at, items=((TEA, 1),), phone="09350000002")  # none of them
    shop.order(603, at, items=((TEAPOT, 1),), phone="09350000003")  # in the category
    shop.order(604, at, status="pending", items=((COFFEE, 1),), phone="09350000004")
    shop.tick(at + 5 * MINUTE)
    shop.tick(at + 10 * MINUTE)
    assert enrolled(shop, bought["id"]) == [
        (601, "active", None, COFFEE, 1), (602, "exited", "conditions_not_met", None, 0),
        (603, "active", None, TEAPOT, 1)]
    shop.order(604, at + timedelta(hours=2), items=((COFFEE, 1),), phone="09350000004")  # paid
    shop.tick(at + timedelta(hours=2, minutes=5))
    assert [row[0] for row in enrolled(shop, bought["id"])] == [601, 602, 603, 604]
    shop.order(603, at + timedelta(hours=3), status="cancelled", items=((TEAPOT, 1),),
               phone="09350000003")
    shop.tick(at + DAY + timedelta(hours=2, minutes=5))
    texts = {phone: text for phone, _, text in sent(shop, bought["id"])}
    assert sorted(texts) == ["+989350000001", "+989350000004"]
    assert "نکات نگهداری قهوه" in texts["+989350000001"]  # the product it matched, named


# -- survey_answered ----------------------------------------------------------------------------

KEY, SECRET = "ck_" + "5f1e" * 10, "cs_" + "9c3a" * 10


@pytest.fixture
def woo():
    with FakeWooCommerce(consumer_key=KEY, consumer_secret=SECRET) as fake:
        yield fake


def answer(shop, client, sms_text: str, rating: str) -> None:
    """The customer taps the survey SMS's link and answers on the survey page."""
    jump = client.get(f"/{shop.link(sms_text).code}", headers={"User-Agent": PHONE_UA})
    assert jump.status_code == 302
    assert client.post(urlsplit(jump.headers["location"]).path,
                       data={"rating": rating, "comment": ""}).status_code == 200


def test_an_answer_on_the_survey_page_brings_a_personal_code(shop, api, client, woo):
    # The store's REST keys make the code; three SMS a day, so the survey's does not hold
    # the thanks back a day (the frequency cap counts every SMS).
    store_settings(shop.factory, shop.store.id, url=woo.base_url, wc_consumer_key=KEY,
                   wc_consumer_secret=SECRET, cap_per_day=3)
    made = tehran("2026-11-20T09:00")
    shop.clock.set(made)
    reward = automation(api, "survey_reward")
    happy = automation(api, "survey_reward", name="فقط راضی‌ها",
                       trigger_params={"rating_min": "۴", "rating_max": "5"})
    assert (reward["trigger"], reward["trigger_params"], happy["trigger_params"]) == (
        "survey_answered", {"rating_min": 1, "rating_max": 5}, {"rating_min": 4, "rating_max": 5})
    shop.order(9100, tehran("2026-11-20T10:00"), status="completed")
    shop.order(9101, tehran("2026-11-20T10:00"), status="completed", phone="09350000001")
    shop.tick(tehran("2026-11-20T10:05"))
    shop.tick(tehran("2026-11-23T10:00"))  # the surveys go out
    surveys = {s.receptor: s.text for s in shop.sms()}
    shop.clock.set(tehran("2026-11-23T10:30"))
    answer(shop, client, surveys["+989123456789"], "5")
    answer(shop, client, surveys["+989350000001"], "2")
    for minute in range(31, 41):  # enrolled; the codes are made in the store, then sent
        shop.tick(tehran(f"2026-11-23T10:{minute}"))
    assert [row[:3] for row in enrolled(shop, reward["id"])] == [
        (9100, "active", None), (9101, "active", None)]
    assert [row[:3] for row in enrolled(shop, happy["id"])] == [(9100, "active", None)]
    codes = {c["code"].upper() for c in woo.coupons}
    assert len(codes) == 3 and all(c["amount"] == "10.00" for c in woo.coupons)
    got = sent(shop, reward["id"]) + sent(shop, happy["id"])
    assert sorted((phone, at[:5]) for phone, at, _ in got) == [
        ("+989123456789", "11-23"), ("+989123456789", "11-23"), ("+989350000001", "11-23")]
    quoted = set()
    for _, _, text in got:
        assert "ممنون از نظرت" in text and text.endswith("لغو۱۱")
        quoted |= {code for code in codes if f"کد {code} " in text}
    assert quoted == codes  # each message its own code
    shop.tick(tehran("2026-11-24T10:32"))
    assert len(sent(shop, reward["id"])) == 2  # once per answer


# -- reorder_due --------------------------------------------------------------------------------

A, B, C, D, E = "09121000001", "09121000002", "09121000003", "09121000004", "09121000005"
F, G, H = "09121000006", "09121000007", "09121000008"

# Each customer's own history of tea and coffee before the automation (2026-11-01), and what
# they buy during the story. Tea's rebuyers' own intervals: A 30, B 20, C 45, G 40 → median
# 35 (and still 35 after C's and G's reorders: C 40, G 39). Coffee's: F 25, H 20 → 22.5 → 23.
HISTORY = [
    (A, "2026-09-01", TEA), (A, "2026-10-01", TEA), (A, "2026-10-31", TEA),  # 30 days
    (B, "2026-09-20", TEA), (B, "2026-10-10", TEA), (B, "2026-10-30", TEA),  # 20 days
    (C, "2026-09-01", TEA), (C, "2026-10-16", TEA),  # 45 days
    (G, "2026-09-05", TEA), (G, "2026-10-15", TEA),  # 40 days
    (D, "2026-10-20", TEA),  # once: tea's median
    (F, "2026-09-01", COFFEE), (F, "2026-09-26", COFFEE), (F, "2026-10-21", COFFEE),  # 25
    (H, "2026-05-01", COFFEE), (H, "2026-05-21", COFFEE), (H, "2026-06-10", COFFEE),  # lapsed
]
DURING = [
    (B, "2026-11-18T12:00", TEA),  # after its reminder: a new order, a new date (gaps 20, 20, 19)
    (C, "2026-11-20T12:00", TEA),  # before its reminder (11-27): none; next 12-30 (45, 35 → 40)
    (G, "2026-11-21T08:00", TEA),  # on its reminder's day, before it went out at 09:00
]


def test_a_replenishment_reminds_each_customer_days_before_their_own_date_once(shop, api):
    shop.product(TEA, name="چای سبز")
    shop.product(COFFEE, name="قهوه")
    wc_ids = iter(range(3001, 3100))
    for phone, day, product in HISTORY:
        shop.order(next(wc_ids), tehran(f"{day}T10:00"), phone=phone, items=((product, 1),))
    # E: tea and coffee in one order, both once: the medians, 11-29 and 11-17.
    shop.order(next(wc_ids), tehran("2026-10-25T10:00"), phone=E, items=((TEA, 1), (COFFEE, 1)))
    shop.clock.set(tehran("2026-11-01T08:00"))
    reminder = automation(api, "replenishment")
    assert (reminder["trigger"], reminder["trigger_params"]) == ("reorder_due",
                                                                 {"days_before": 3})
    # The scheduler every morning at 9 for 40 days, and once after midnight on G's day; the
    # customers' orders at their times.
    first = tehran("2026-11-01T09:00")
    events = [(first + n * DAY, None, None) for n in range(40)]
    events.append((tehran("2026-11-21T00:05"), None, None))
    events += [(tehran(at), phone, product) for phone, at, product in DURING]
    placed = {}
    for at, phone, product in sorted(events, key=lambda event: event[0]):
        if phone is None:
            shop.tick(at)
        else:
            placed[phone] = next(wc_ids)
            shop.order(placed[phone], at, phone=phone, items=((product, 1),))
    got = [(phone, when, "قهوه" if "قهوه" in text else "چای سبز")
           for phone, when, text in sent(shop, reminder["id"])]
    e164 = {p: "+98" + p[1:] for p in (A, B, C, D, E, F, G, H)}
    assert got == [
        (e164[F], "11-12 09:00", "قهوه"),  # 10-21 + 25 (own) − 3
        (e164[E], "11-14 09:00", "قهوه"),  # 10-25 + 23 (coffee's median) − 3; tea not named
        (e164[B], "11-16 09:00", "چای سبز"),  # 10-30 + 20 − 3
        (e164[D], "11-21 09:00", "چای سبز"),  # 10-20 + 35 (tea's median) − 3
        (e164[A], "11-27 09:00", "چای سبز"),  # 10-31 + 30 − 3
        (e164[B], "12-05 09:00", "چای سبز"),  # 11-18 + 20 − 3
    ]
    assert all(text.endswith("لغو۱۱") and "وقت تهیهٔ دوبارهٔ" in text
               for _, _, text in sent(shop, reminder["id"]))
    with shop.factory() as session:
        g = session.scalar(select(Message).join(Contact, Contact.id == Message.contact_id)
                           .where(Contact.phone == e164[G], Message.campaign_id == reminder["id"]))
        # B's 11-18 order is credited to the reminder that named its tea (a product link).
        credit = session.scalar(select(Attribution).join(Order, Order.id == Attribution.order_id)
                                .where(Order.wc_id == placed[B]))
        first_to_b = session.scalar(
            select(Message.id).join(Contact, Contact.id == Message.contact_id)
            .where(Contact.phone == e164[B], Message.campaign_id == reminder["id"])
            .order_by(Message.id))
    assert (g.status, g.reason) == ("skipped", "purchased_again")
    assert (credit.message_id, credit.basis) == (first_to_b, "cross_sell")


# -- params -------------------------------------------------------------------------------------

@pytest.mark.parametrize("body,code,words", [
    ({"kind": "thank_you", "trigger": "order_status"}, "invalid_trigger_params",
     "trigger_params.status: Field required"),
    ({"kind": "thank_you", "trigger": "order_status", "trigger_params": {"status": "به ارسال"}},
     "invalid_trigger_params", "trigger_params.status: String should match pattern"),
    ({"kind": "thank_you", "trigger": "order_status", "trigger_params": {"status": "x" * 65}},
     "invalid_trigger_params", "trigger_params.status: String should have at most 64"),
    ({"kind": "thank_you", "trigger": "product_bought", "trigger_params": {}},
     "invalid_trigger_params", "trigger_params: give at least one product or category id"),
    ({"kind": "thank_you", "trigger": "product_bought", "trigger_params": {"products": [0]}},
     "invalid_trigger_params", "trigger_params.products.0:"),
    ({"kind": "survey_reward", "trigger_params": {"rating_min": 5, "rating_max": "۲"}},
     "invalid_trigger_params", "rating_min (5) is more than rating_max (2)"),
    ({"kind": "survey_reward", "trigger_params": {"rating_min": 6}},
     "invalid_trigger_params", "trigger_params.rating_min: Input should be less than or equal"),
    ({"kind": "replenishment", "trigger_params": {"days_before": 31}},
     "invalid_trigger_params", "trigger_params.days_before: Input should be less than or equal"),
    ({"kind": "replenishment", "trigger_params": {"days_before": True}},
     "invalid_trigger_params", "trigger_params.days_before: "),
    ({"kind": "thank_you", "trigger_params": {"status": "shipped"}},
     "invalid_trigger_params", "trigger_params.status: not a setting of the order_completed"),
    ({"kind": "replenishment", "trigger": "order_completed"}, "invalid_campaign",
     "send one of reorder_due"),
    ({"kind": "thank_you", "trigger": "cart_abandoned"}, "invalid_campaign",
     "cannot start on cart_abandoned"),
    ({"kind": "thank_you", "trigger": "survey_answered", "trigger_minutes": 60},
     "invalid_campaign", "trigger_minutes: not used by thank_you campaigns on survey_answered"),
    ({"kind": "thank_you", "trigger_params": ["shipped"]}, "invalid_request", "trigger_params"),
    ({"kind": "thank_you", "steps": [{"delay_minutes": 0, "template": "{{ link }}",
                                      "coupon": {"mode": "fixed", "code": "off5"}}]},
     "offer_not_allowed", "steps[0].coupon: a thank_you message is not promotional"),
])
def test_params_that_do_not_fit_the_trigger_are_refused_and_nothing_is_made(
        api, factory, body, code, words):
    refused = api.post("/api/v1/campaigns", json={"name": "x"} | body)
    assert refused.status_code == 422, refused.text
    assert error_of(refused)["code"] == code and words in error_of(refused)["message"], \
        error_of(refused)
    with factory() as session:
        assert session.scalars(select(Campaign).where(Campaign.name == "x")).all() == []


def test_params_are_patched_against_the_campaigns_trigger(api, shop):
    shop.clock.set(tehran("2026-11-20T09:00"))
    reminder = automation(api, "replenishment")
    url = f"/api/v1/campaigns/{reminder['id']}"
    refused = api.patch(url, json={"trigger_params": {"status": "shipped"}})
    assert refused.status_code == 422
    assert error_of(refused)["code"] == "invalid_trigger_params"
    assert api.get(url).json()["trigger_params"] == {"days_before": 3}
    changed = api.patch(url, json={"trigger_params": {"days_before": "۷"}})
    assert changed.status_code == 200 and changed.json()["trigger_params"] == {"days_before": 7}
    # The store's own kinds: several may run at once (the built-ins: one each).
    second = automation(api, "replenishment", name="دوم", trigger_params={"days_before": 0})
    assert second["active"] and api.get(url).json()["active"]


# -- previews -----------------------------------------------------------------------------------

def test_the_new_presets_preview_on_the_sample_and_on_a_real_order(api, shop, factory):
    shop.clock.set(tehran("2026-11-20T09:00"))
    texts = {}
    for kind in ("thank_you", "survey_reward", "replenishment"):
        made = automation(api, kind)
        step = made["steps"][0]["id"]
        body = api.post(f"/api/v1/campaigns/{made['id']}/steps/{step}/preview").json()
        texts[kind] = (body["text"], body["opt_out_line"])
    # The sample customer's order names a product; a personal code shows as its sample.
    assert texts["thank_you"][0].startswith("سارا عزیز، ممنون که از چای‌خانه خرید کردی! "
                                            "نکات نگهداری فنجان سرامیکی")
    assert texts["thank_you"][1] is False and "/SmpProd" in texts["thank_you"][0]
    assert "کد K7PMX2QA هدیهٔ چای‌خانه" in texts["survey_reward"][0]
    assert texts["survey_reward"][1] is True and "/SmpStor" in texts["survey_reward"][0]
    assert "دوبارهٔ فنجان سرامیکی نزدیکه" in texts["replenishment"][0]
    assert texts["replenishment"][1] is True and "/SmpProd" in texts["replenishment"][0]
    # A real order: its first product, by the name the store lists.
    shop.product(TEA, name="چای سبز")
    shop.order(950, tehran("2026-11-20T10:00"), items=((TEA, 1), (COFFEE, 1)))
    with factory() as session:
        order_id = session.scalar(select(Order.id).where(Order.wc_id == 950))
    thanks = next(c for c in api.get("/api/v1/campaigns").json()["items"]
                  if c["kind"] == "thank_you")
    real = api.post(f"/api/v1/campaigns/{thanks['id']}/steps/{thanks['steps'][0]['id']}/preview",
                    json={"order_id": order_id})
    assert real.status_code == 200, real.text
    assert "نکات نگهداری چای سبز" in real.json()["text"]
