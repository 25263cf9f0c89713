"""Previews on the store's real customers (issue 22, point 6): who an automation would take
(`POST /api/v1/campaigns/{id}/audience`), counted by hand on a few scripted orders, with the
conditions and trigger params saved or only tried; and a step's SMS for a real order naming the
product its trigger would choose."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.campaigns.models import Campaign, Enrollment
from app.campaigns.presets import DEFAULT_COUPONS
from app.commerce.models import Order
from app.contacts.models import Contact
from app.db import unit_of_work
from app.messaging.render import default_template
from tests.campaigns.shop import tehran
from tests.factories import set_contact
from tests.helpers import bearer, create_store, error_of

TEA, COFFEE, TEAPOT = 11, 12, 13
NOW = tehran("2026-12-01T12:00")
DAY = timedelta(days=1)
A, B, C, D, E = (f"0935000000{i}" for i in range(1, 6))


def masked(phone: str) -> str:
    return "+989*****" + phone[-4:]


def paused(api, kind: str, **fields) -> dict:
    """An automation of `kind` made through the API, paused (nobody is enrolled), with the
    preset's first text."""
    made = api.post("/api/v1/campaigns", json={
        "kind": kind, "name": f"{kind} {len(fields)}", "active": False,
        "steps": [{"delay_minutes": 0, "template": default_template(f"{kind}_1"),
                   "coupon": DEFAULT_COUPONS.get((kind, 1))}]} | fields)
    assert made.status_code == 201, made.text
    return made.json()


def order_id(factory, wc_id: int) -> int:
    with factory() as session:
        return session.scalar(select(Order.id).where(Order.wc_id == wc_id))


@pytest.fixture
def orders(shop, factory):
    """Six orders of the last 40 days, as the store's webhooks told them:

    701 A completed 5 days ago, 60,000 toman of tea (A's first)
    702 B completed 10 days ago, 200,000 of coffee (B's first)
    703 C completed 40 days ago (before the 30 days), 600,000
    704 D processing 3 days ago (paid, not completed), tea
    705 B completed 2 days ago, 90,000 of a teapot (category 15): B's repeat order
    706 E completed a day ago, opted out since
    """
    shop.product(TEA, name="چای سبز")
    shop.product(COFFEE, name="قهوه")
    shop.product(TEAPOT, name="قوری", categories=(15,))
    shop.order(703, NOW - 40 * DAY, status="completed", phone=C, name="کاوه")
    shop.order(702, NOW - 10 * DAY, status="completed", phone=B, name="بهار",
               items=((COFFEE, 1),), total="200000")
    shop.order(701, NOW - 5 * DAY, status="completed", phone=A, name="آرش",
               items=((TEA, 1),), total="60000")
    shop.order(704, NOW - 3 * DAY, status="processing", phone=D, items=((TEA, 1),))
    shop.order(705, NOW - 2 * DAY, status="completed", phone=B, name="بهار",
               items=((TEAPOT, 1),), total="90000")
    shop.order(706, NOW - DAY, status="completed", phone=E, items=((TEA, 1),))
    set_contact(factory, shop.store.id, "+98" + E[1:], opted_out_at=NOW - DAY)
    shop.clock.set(NOW)


def enrollments(factory) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(Enrollment))


def test_who_a_thank_you_on_completed_orders_would_take(api, orders, factory):
    thanks = paused(api, "thank_you")
    url = f"/api/v1/campaigns/{thanks['id']}/audience"
    everyone = api.post(url).json()
    assert (everyone["trigger"], everyone["days"], everyone["looked_at"], everyone["passing"],
            everyone["capped"], everyone["cap"]) == ("order_completed", 30, 3, 3, False, 5000)
    assert [e["order_number"] for e in everyone["first"]] == ["705", "701", "702"]  # newest first
    first = everyone["first"][0]
    assert (first["phone"], first["name"], first["total"], first["subject_type"]) == (
        masked(B), "بهار", 900_000, "order")  # 90,000 toman in rial
    assert first["subject_id"] == order_id(factory, 705)

    def passing(**body) -> list[str]:
        found = api.post(url, json=body)
        assert found.status_code == 200, found.text
        return [e["order_number"] for e in found.json()["first"]]

    assert passing(conditions={"order": "repeat"}) == ["705"]
    assert passing(conditions={"order": "first"}) == ["701", "702"]
    assert passing(conditions={"total_min": "۸۰٬۰۰۰"}) == ["705", "702"]
    assert passing(conditions={"categories": [15]}) == ["705"]
    assert passing(conditions={"products": [TEA, COFFEE], "total_max": 100_000}) == ["701"]
    assert passing(days="۳") == ["705"]
    assert passing(days=45) == ["705", "701", "702", "703"]
    # Tried, never saved; nobody enrolled.
    with factory() as session:
        assert session.get_one(Campaign, thanks["id"]).conditions == {}
    assert enrollments(factory) == 0


def test_the_saved_conditions_and_a_segment_are_what_enrolment_checks(api, orders, factory):
    loyal = api.post("/api/v1/segments", json={
        "name": "دوبار خریده", "definition": {"purchases": {"orders_min": 2}}}).json()
    survey = [c for c in api.get("/api/v1/campaigns").json()["items"]
              if c["kind"] == "post_purchase_survey"][0]
    assert api.patch(f"/api/v1/campaigns/{survey['id']}",
                     json={"conditions": {"segment_id": loyal["id"]}}).status_code == 200
    found = api.post(f"/api/v1/campaigns/{survey['id']}/audience").json()
    # B alone bought twice: both their orders pass, A's does not.
    assert (found["looked_at"], found["passing"]) == (3, 2)
    assert [e["order_number"] for e in found["first"]] == ["705", "702"]
    tried = api.post(f"/api/v1/campaigns/{survey['id']}/audience", json={"conditions": {}})
    assert tried.json()["passing"] == 3  # no conditions tried: all three


def test_product_bought_params_tried_and_the_product_each_order_names(api, orders):
    bought = paused(api, "thank_you", trigger="product_bought",
                    trigger_params={"products": [COFFEE]})
    url = f"/api/v1/campaigns/{bought['id']}/audience"
    saved = api.post(url).json()
    assert [(e["order_number"], e["product_wc_id"], e["product_name"])
            for e in saved["first"]] == [("702", COFFEE, "قهوه")]
    tried = api.post(url, json={"trigger_params": {"categories": ["۱۵"], "products": [TEA]}})
    # Paid orders (processing counts) of the last 30 days holding tea or a category-15
    # product; E opted out.
    assert [(e["order_number"], e["product_wc_id"]) for e in tried.json()["first"]] == [
        ("705", TEAPOT), ("704", TEA), ("701", TEA)]


def test_bad_input_is_a_clear_422_and_other_stores_ids_are_unknown(api, orders, factory,
                                                                  other_store):
    thanks = paused(api, "thank_you")
    url = f"/api/v1/campaigns/{thanks['id']}/audience"
    for body, code in [({"days": 0}, "invalid_request"), ({"days": "سی"}, "invalid_request"),
                       ({"days": 366}, "invalid_request"),
                       ({"conditions": {"colour": "red"}}, "invalid_request"),
                       ({"conditions": {"total_min": 5, "total_max": 1}}, "invalid_request"),
                       ({"conditions": {"segment_id": 999}}, "invalid_campaign"),
                       ({"trigger_params": {"status": "shipped"}}, "invalid_trigger_params")]:
        response = api.post(url, json=body)
        assert response.status_code == 422, (body, response.text)
        assert error_of(response)["code"] == code, body
    with unit_of_work(factory) as session:
        theirs = session.scalars(select(Campaign.id).where(
            Campaign.store_id == other_store.id)).first()
    assert api.post(f"/api/v1/campaigns/{theirs}/audience").status_code == 404
    assert api.post(url, headers=bearer(other_store)).status_code == 404
    # Another store's segment is no segment here.
    with unit_of_work(factory) as session:
        other = create_store(session, name="سوم", url="https://third.example")
    their_segment = api.post("/api/v1/segments", json={"name": "همه"},
                             headers=bearer(other)).json()
    refused = api.post(url, json={"conditions": {"segment_id": their_segment["id"]}})
    assert refused.status_code == 422 and error_of(refused)["code"] == "invalid_campaign"
    assert enrollments(factory) == 0


def test_who_is_due_for_a_reorder_now_and_the_product_a_preview_names(shop, api, factory):
    shop.product(TEA, name="چای سبز")
    shop.product(COFFEE, name="قهوه")
    # F buys tea every 30 days: due today. Their last order also holds coffee, first, which
    # nobody ever bought twice (no prediction): the reminder names the tea.
    shop.order(801, tehran("2026-10-02T10:00"), phone=A, name="فرهاد", items=((TEA, 1),))
    shop.order(802, tehran("2026-11-01T10:00"), phone=A, name="فرهاد",
               items=((COFFEE, 1), (TEA, 1)))
    # G bought tea once, 11 days ago: the store's median (30 days) says in 19 days.
    shop.order(803, tehran("2026-11-20T10:00"), phone=B, name="گلی", items=((TEA, 1),))
    shop.clock.set(NOW)
    remind = paused(api, "replenishment")
    url = f"/api/v1/campaigns/{remind['id']}/audience"
    due = api.post(url).json()
    assert (due["trigger"], due["days"], due["since"], due["looked_at"], due["passing"]) == (
        "reorder_due", None, None, 1, 1)
    [entry] = due["first"]
    assert (entry["order_number"], entry["product_wc_id"], entry["product_name"],
            entry["phone"]) == ("802", TEA, "چای سبز", masked(A))
    assert entry["at"].startswith("2026-11-27T20:30")  # 3 days before, Tehran's midnight
    wider = api.post(url, json={"trigger_params": {"days_before": "۲۰"}}).json()
    assert [e["order_number"] for e in wider["first"]] == ["802", "803"]

    step = remind["steps"][0]["id"]
    preview = api.post(f"/api/v1/campaigns/{remind['id']}/steps/{step}/preview",
                       json={"order_id": order_id(factory, 802)})
    assert preview.status_code == 200, preview.text
    assert "وقت تهیهٔ دوبارهٔ چای سبز نزدیکه" in preview.json()["text"]
    assert preview.json()["subject"] == f"order {order_id(factory, 802)}"
    # G's tea is due next (in 19 days): a preview of their order names it.
    later = api.post(f"/api/v1/campaigns/{remind['id']}/steps/{step}/preview",
                     json={"order_id": order_id(factory, 803)}).json()
    assert "دوبارهٔ چای سبز" in later["text"]
    assert enrollments(factory) == 0


def test_a_product_bought_preview_names_the_product_it_matched(shop, api, factory):
    shop.product(TEA, name="چای سبز")
    shop.product(COFFEE, name="قهوه")
    shop.order(601, NOW - DAY, items=((TEA, 1), (COFFEE, 2)))
    shop.clock.set(NOW)
    bought = paused(api, "thank_you", trigger="product_bought",
                    trigger_params={"products": [COFFEE]})
    step = bought["steps"][0]["id"]
    body = api.post(f"/api/v1/campaigns/{bought['id']}/steps/{step}/preview",
                    json={"order_id": order_id(factory, 601)}).json()
    assert "نکات نگهداری قهوه" in body["text"]  # not the order's first product, the tea
    on_completion = paused(api, "thank_you")  # no product chosen: the order's first
    first = api.post(f"/api/v1/campaigns/{on_completion['id']}/steps/"
                     f"{on_completion['steps'][0]['id']}/preview",
                     json={"order_id": order_id(factory, 601)}).json()
    assert "نکات نگهداری چای سبز" in first["text"]


def test_a_survey_reward_previews_on_a_real_order(shop, api, factory):
    shop.order(901, NOW - DAY, status="completed", name="سحر")
    shop.clock.set(NOW)
    reward = paused(api, "survey_reward")
    url = f"/api/v1/campaigns/{reward['id']}/steps/{reward['steps'][0]['id']}/preview"
    body = api.post(url, json={"order_id": order_id(factory, 901)})
    assert body.status_code == 200, body.text
    text = body.json()["text"]
    assert text.startswith("سحر عزیز، ممنون از نظرت! کد K7PMX2QA") and "لغو۱۱" in text
    assert api.post(url, json={"order_id": 10**9}).status_code == 404
    assert error_of(api.post(url, json={"cart_id": 1}))["code"] == "subject_mismatch"


def test_an_opted_out_customer_is_never_in_the_audience(api, orders, factory):
    """Checked against the contact as it is now: E opted out after their order."""
    with factory() as session:
        assert session.scalar(select(Contact.opted_out_at).where(
            Contact.phone == "+98" + E[1:])) is not None
    found = api.post(f"/api/v1/campaigns/{paused(api, 'thank_you')['id']}/audience",
                     json={"days": 2}).json()
    assert [e["order_number"] for e in found["first"]] == ["705"]
    assert found["looked_at"] == 1


def built_in(api, kind: str) -> int:
    return next(c["id"] for c in api.get("/api/v1/campaigns").json()["items"]
                if c["kind"] == kind)


def test_carts_unpaid_orders_and_lapsed_customers_in_their_windows(shop, api):
    # Carts: quiet 2 hours (in), quiet 20 minutes (the hour not up yet), quiet 2 hours but
    # paid for since (out), quiet 40 days (before the window).
    shop.cart("cart-quiet", NOW - timedelta(hours=2), phone=A, name="آرش")
    shop.cart("cart-fresh", NOW - timedelta(minutes=20), phone=B)
    shop.cart("cart-paid", NOW - timedelta(hours=2), phone=C)
    shop.order(951, NOW - timedelta(hours=1), phone=C)
    shop.cart("cart-old", NOW - 40 * DAY, phone=D)
    # Unpaid orders: placed a day ago (in), 10 minutes ago (the 30 minutes not up yet).
    shop.order(961, NOW - DAY, status="pending", phone=E, total="300000")
    shop.order(962, NOW - timedelta(minutes=10), status="pending", phone="09350000006")
    # Last purchases: 70 days ago (its 60 days ran out 10 days ago: in), 100 days ago (ran out
    # 40 days ago), 10 days ago (not yet).
    shop.order(971, NOW - 70 * DAY, phone="09350000007", name="هما")
    shop.order(972, NOW - 100 * DAY, phone="09350000008")
    shop.order(973, NOW - 10 * DAY, phone="09350000009")
    shop.clock.set(NOW)

    carts = api.post(f"/api/v1/campaigns/{built_in(api, 'abandoned_cart')}/audience").json()
    assert (carts["looked_at"], carts["passing"]) == (1, 1)
    [cart] = carts["first"]
    assert (cart["subject_type"], cart["name"], cart["phone"], cart["order_number"],
            cart["total"]) == ("cart", "آرش رضایی", masked(A), None, 5_500_000)
    lost = api.post(f"/api/v1/campaigns/{built_in(api, 'lost_order')}/audience").json()
    assert [(e["order_number"], e["total"]) for e in lost["first"]] == [("961", 3_000_000)]
    lapsed = api.post(f"/api/v1/campaigns/{built_in(api, 'win_back')}/audience").json()
    assert [(e["order_number"], e["name"]) for e in lapsed["first"]] == [("971", "هما")]
    assert lapsed["first"][0]["at"].startswith("2026-11-21T08:30")  # 70 − 60 days: 10 ago
    assert api.post(f"/api/v1/campaigns/{built_in(api, 'win_back')}/audience",
                    json={"days": 45}).json()["passing"] == 2
