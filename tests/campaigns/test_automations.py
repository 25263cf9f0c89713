"""Automations composed from parts (issue 22): a campaign's conditions choose who of its
trigger's subjects enters, its exit conditions end a sequence early, and the fixed campaigns
every store has are presets of it. Told through the store's webhooks and the admin API."""

from datetime import timedelta

from sqlalchemy import select

from app.campaigns.models import Campaign, Enrollment, Message
from tests.campaigns.shop import tehran
from tests.factories import store_settings
from tests.helpers import error_of
from tests.links.test_story import PHONE_UA

DAY = timedelta(days=1)


def _campaign_id(api, kind: str) -> int:
    return next(c["id"] for c in api.get("/api/v1/campaigns").json()["items"] if c["kind"] == kind)


def given(parts: dict) -> dict:
    """What a campaign's conditions or exits set (the answer lists every field)."""
    return {k: v for k, v in parts.items() if v not in (None, [], False)}


def _enrollments(shop, kind: str) -> list[tuple[int, str, str | None, int]]:
    """(subject id, status, exit reason, messages) of the campaign's enrollments."""
    with shop.factory() as session:
        rows = session.execute(
            select(Enrollment.subject_id, Enrollment.status, Enrollment.exit_reason,
                   select(Message.id).where(Message.enrollment_id == Enrollment.id)
                   .correlate(Enrollment).exists())
            .join(Campaign, Campaign.id == Enrollment.campaign_id)
            .where(Campaign.kind == kind).order_by(Enrollment.id)).all()
        from app.commerce.models import Order
        wc = dict(session.execute(select(Order.id, Order.wc_id)).all())
    return [(wc.get(subject), status, reason, has) for subject, status, reason, has in rows]


def test_every_campaign_shows_its_trigger_and_a_new_store_has_the_five_presets(api):
    items = api.get("/api/v1/campaigns").json()["items"]
    assert {c["kind"]: c["trigger"] for c in items} == {
        "abandoned_cart": "cart_abandoned", "post_purchase_survey": "order_completed",
        "cross_sell": "order_completed", "win_back": "no_purchase", "lost_order": "order_lost"}
    assert all(given(c["conditions"]) == {} and given(c["exits"]) == {} for c in items)


def test_a_product_condition_enrols_only_orders_that_hold_it(shop, api):
    survey = _campaign_id(api, "post_purchase_survey")
    changed = api.patch(f"/api/v1/campaigns/{survey}", json={"conditions": {"products": ["۱۲"]}})
    assert changed.status_code == 200, changed.text
    assert given(changed.json()["conditions"]) == {"products": [12]}
    at = tehran("2026-11-24T10:00")
    shop.order(601, at, status="completed", items=((11, 1),))
    shop.order(602, at, status="completed", items=((11, 1), (12, 1)), phone="09350000002")
    shop.tick(at + timedelta(minutes=5))
    shop.tick(at + timedelta(minutes=10))  # looked at once: not enrolled again
    assert _enrollments(shop, "post_purchase_survey") == [
        (601, "exited", "conditions_not_met", False), (602, "active", None, True)]


def test_first_or_repeat_order_and_a_total_in_persian_digits(shop, api):
    survey = _campaign_id(api, "post_purchase_survey")
    assert api.patch(f"/api/v1/campaigns/{survey}", json={"conditions": {
        "order": "repeat", "total_min": "۷۰۰٬۰۰۰"}}).status_code == 200
    at = tehran("2026-11-24T10:00")
    shop.order(701, at - 40 * DAY, status="completed", total="800000")  # A's first order
    shop.order(702, at, status="completed", total="800000")  # A again: a repeat, 800,000
    shop.order(703, at, status="completed", total="650000", phone="09350000003")
    shop.order(704, at - 40 * DAY, status="completed", phone="09350000004")
    shop.order(705, at, status="completed", total="650000", phone="09350000004")  # too small
    shop.tick(at + timedelta(minutes=5))
    assert sorted(_enrollments(shop, "post_purchase_survey")) == [
        (701, "exited", "conditions_not_met", False), (702, "active", None, True),
        (703, "exited", "conditions_not_met", False),
        (704, "exited", "conditions_not_met", False),
        (705, "exited", "conditions_not_met", False)]


def test_a_segment_condition_and_a_segment_in_use_cannot_be_deleted(shop, api, other_api):
    segment = api.post("/api/v1/segments", json={
        "name": "خریداران دوباره", "definition": {"purchases": {"orders_min": 2}}}).json()
    theirs = other_api.post("/api/v1/segments", json={"name": "x"}).json()
    survey = _campaign_id(api, "post_purchase_survey")
    refused = api.patch(f"/api/v1/campaigns/{survey}",
                        json={"conditions": {"segment_id": theirs["id"]}})
    assert refused.status_code == 422
    assert error_of(refused)["code"] == "invalid_campaign"
    assert api.patch(f"/api/v1/campaigns/{survey}",
                     json={"conditions": {"segment_id": segment["id"]}}).status_code == 200
    at = tehran("2026-11-24T10:00")
    shop.order(801, at - 40 * DAY, status="completed")  # A's first: not in the segment yet
    shop.tick(at - 40 * DAY + timedelta(minutes=5))
    shop.order(802, at, status="completed")  # A's second paid order: in the segment now
    shop.order(803, at, status="completed", phone="09350000005")  # one order: not in it
    shop.tick(at + timedelta(minutes=5))
    assert sorted(_enrollments(shop, "post_purchase_survey")) == [
        (801, "exited", "conditions_not_met", False), (802, "active", None, True),
        (803, "exited", "conditions_not_met", False)]
    in_use = api.delete(f"/api/v1/segments/{segment['id']}")
    assert in_use.status_code == 409 and error_of(in_use)["code"] == "segment_in_use"
    assert api.patch(f"/api/v1/campaigns/{survey}", json={"conditions": {}}).status_code == 200
    assert api.delete(f"/api/v1/segments/{segment['id']}").status_code == 200


def test_the_built_in_kinds_keep_their_trigger(api):
    refused = api.post("/api/v1/campaigns", json={
        "kind": "abandoned_cart", "name": "سبد", "trigger": "order_completed"})
    assert refused.status_code == 422 and error_of(refused)["code"] == "invalid_campaign"
    bad = api.post("/api/v1/campaigns", json={
        "kind": "cross_sell", "name": "x", "conditions": {"total_min": 9, "total_max": 1}})
    assert bad.status_code == 422
    made = api.post("/api/v1/campaigns", json={
        "kind": "cross_sell", "name": "مکمل چای", "conditions": {"categories": [15]},
        "exits": {"purchased": True}})
    assert made.status_code == 201, made.text
    assert (made.json()["trigger"], given(made.json()["conditions"]),
            given(made.json()["exits"])) == (
        "order_completed", {"categories": [15]}, {"purchased": True})


def test_a_tap_on_the_link_ends_the_sequence_when_the_exit_says_so(shop, api, client,
                                                                    live_server):
    store_settings(shop.factory, shop.store.id, send_from_minute=0, send_until_minute=24 * 60)
    cart = _campaign_id(api, "abandoned_cart")
    assert api.patch(f"/api/v1/campaigns/{cart}",
                     json={"exits": {"clicked": True}}).status_code == 200
    at = tehran("2026-11-24T10:00")
    shop.cart("tapped-cart-001", at)
    shop.cart("quiet-cart-0002", at, phone="09350000006")
    shop.tick(at + timedelta(hours=1, minutes=5))
    first, _ = shop.sms()
    assert client.get(f"/{shop.link(first.text).code}",
                      headers={"User-Agent": PHONE_UA}).status_code == 302
    live_server.app.state.click_recorder.flush()
    shop.tick(at + DAY + timedelta(hours=2))  # past the first's day under the frequency cap
    by_cart = {}
    for message in shop.messages("abandoned_cart"):
        by_cart.setdefault(message.contact_id, []).append((message.status, message.reason))
    tapped, quiet = by_cart.values()
    assert tapped == [("delivered", None), ("skipped", "clicked"), ("skipped", "clicked")]
    assert quiet[:2] == [("delivered", None), ("delivered", None)]


def test_a_purchase_exit_ends_a_sequence_whose_trigger_does_not(shop, api):
    survey = _campaign_id(api, "post_purchase_survey")
    assert api.patch(f"/api/v1/campaigns/{survey}",
                     json={"exits": {"purchased": True}}).status_code == 200
    at = tehran("2026-11-24T10:00")
    shop.order(901, at, status="completed")
    shop.tick(at + timedelta(minutes=5))
    shop.order(902, at + DAY, status="processing")  # bought again before the survey went out
    shop.tick(at + 3 * DAY + timedelta(minutes=5))
    assert [(m.status, m.reason) for m in shop.messages("post_purchase_survey")] == [
        ("skipped", "purchased")]
