"""A merchant lists, creates, edits, pauses and deletes campaigns and their steps."""

import pytest
from sqlalchemy import select

from app.campaigns.models import Campaign, Message
from app.campaigns.presets import PRESETS
from tests.campaigns.shop import tehran
from tests.helpers import error_of

STEP = {"delay_minutes": 60, "template": "{{ first_name }}، سبدت منتظرته: {{ link }}"}


def campaign_of(api, kind: str) -> dict:
    [campaign] = [c for c in api.get("/api/v1/campaigns").json()["items"] if c["kind"] == kind]
    return campaign


def test_a_new_store_lists_its_default_campaigns(api):
    response = api.get("/api/v1/campaigns")
    assert response.status_code == 200
    items = response.json()["items"]
    assert [c["kind"] for c in items] == ["abandoned_cart", "post_purchase_survey", "cross_sell",
                                          "win_back", "lost_order"]
    cart = items[0]
    assert cart["active"] is True and cart["promotional"] is True and cart["trigger_minutes"] == 60
    assert [s["delay_minutes"] for s in cart["steps"]] == [60, 1440, 4320]
    # Sent within 12 hours, a day, two days of their due time, or skipped as too late.
    assert [s["send_within_minutes"] for s in cart["steps"]] == [720, 1440, 2880]
    assert cart["steps"][1]["coupon"] is None
    assert items[1]["promotional"] is False  # the survey: no cap, no opt-out line
    lost = items[4]
    assert lost["active"] is True and lost["promotional"] is True and lost["trigger_minutes"] == 30
    assert [s["delay_minutes"] for s in lost["steps"]] == [30, 1440, 4320]
    assert lost["steps"][1]["coupon"]["mode"] == "personal"


def test_create_a_campaign_with_steps_then_read_and_rename_it(api):
    response = api.post("/api/v1/campaigns", json={
        "kind": "win_back", "name": "  دلمان تنگ شده  ", "trigger_minutes": 30 * 24 * 60,
        "steps": [STEP | {"coupon": {"code": "back10"}},
                  {"delay_minutes": 0, "template": "{{ store_name }}: {{ link }}",
                   "variants": [{"name": "A", "template": "الف {{ link }}", "weight": 1},
                                {"name": "B", "template": "ب {{ link }}", "weight": 0}]}]})
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["kind"], created["name"], created["active"]) == ("win_back", "دلمان تنگ شده",
                                                                     False)
    assert created["trigger_minutes"] == 43200 and created["promotional"] is True
    first, second = created["steps"]
    assert (first["position"], second["position"]) == (1, 2)
    assert first["coupon"] == {"mode": "fixed", "code": "back10"}  # normalized
    assert [v["name"] for v in second["variants"]] == ["A", "B"]
    read = api.get(f"/api/v1/campaigns/{created['id']}")
    assert read.status_code == 200 and read.json() == created
    renamed = api.patch(f"/api/v1/campaigns/{created['id']}",
                        json={"name": "بازگشت", "trigger_minutes": 2 * 24 * 60})
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["trigger_minutes"]) == ("بازگشت", 2880)


def test_a_campaign_starts_paused_and_takes_its_kinds_defaults(api):
    created = api.post("/api/v1/campaigns", json={"kind": "cross_sell", "name": "مکمل"}).json()
    assert created["active"] is False and created["trigger_minutes"] == 0 and created["steps"] == []


@pytest.mark.parametrize("body, code, words", [
    ({"kind": "birthday", "name": "x"}, "invalid_request", "kind"),
    ({"kind": "win_back", "name": ""}, "invalid_request", "name"),
    ({"kind": "abandoned_cart", "name": "x", "trigger_minutes": 5}, "invalid_campaign",
     "10–10080 minutes"),
    ({"kind": "cross_sell", "name": "x", "trigger_minutes": 60}, "invalid_campaign",
     "not used by cross_sell"),
    ({"kind": "win_back", "name": "x", "steps": [STEP | {"delay_minutes": -1}]},
     "invalid_request", "steps.0.delay_minutes"),
    ({"kind": "win_back", "name": "x", "steps": [STEP | {"delay_minutes": 200_000}]},
     "invalid_request", "steps.0.delay_minutes"),
    ({"kind": "win_back", "name": "x", "steps": [STEP, STEP | {"template": "سلام\n{{ link }"}]},
     "invalid_template", "steps[1].template: line 2:"),
    ({"kind": "win_back", "name": "x", "steps": [STEP | {"template": "{{ coupon }}"}]},
     "invalid_template", "unknown variable(s): coupon"),
    ({"kind": "win_back", "name": "x", "extra": 1}, "invalid_request", "extra"),
])
def test_a_bad_campaign_is_refused_and_nothing_is_made(api, factory, body, code, words):
    response = api.post("/api/v1/campaigns", json=body)
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["code"] == code and words in error["message"], error
    with factory() as session:
        assert len(session.scalars(select(Campaign)).all()) == len([p for p in PRESETS.values() if p.default])


def test_resume_needs_steps_and_only_one_active_campaign_per_kind(api):
    empty = api.post("/api/v1/campaigns", json={"kind": "abandoned_cart", "name": "دوم"}).json()
    response = api.post(f"/api/v1/campaigns/{empty['id']}/resume")
    assert response.status_code == 409 and error_of(response)["code"] == "campaign_has_no_steps"
    assert api.post(f"/api/v1/campaigns/{empty['id']}/steps", json=STEP).status_code == 201
    response = api.post(f"/api/v1/campaigns/{empty['id']}/resume")
    assert response.status_code == 409 and error_of(response)["code"] == "kind_already_active"
    first = api.get("/api/v1/campaigns").json()["items"][0]
    paused = api.post(f"/api/v1/campaigns/{first['id']}/pause")
    assert paused.status_code == 200 and paused.json()["active"] is False
    resumed = api.post(f"/api/v1/campaigns/{empty['id']}/resume")
    assert resumed.status_code == 200 and resumed.json()["active"] is True
    both = api.post("/api/v1/campaigns", json={"kind": "abandoned_cart", "name": "سوم",
                                               "active": True, "steps": [STEP]})
    assert both.status_code == 409 and error_of(both)["code"] == "kind_already_active"


def test_pausing_holds_due_messages_and_resuming_sends_them(api, shop):
    cart = campaign_of(api, "abandoned_cart")
    shop.cart("pause-cart-0001", tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:00"))
    assert len(shop.sms()) == 1
    assert api.post(f"/api/v1/campaigns/{cart['id']}/pause").json()["active"] is False
    shop.tick(tehran("2026-11-25T10:30"))
    assert len(shop.sms()) == 1
    held = [m for m in shop.messages() if m.status == "held"]
    assert [m.reason for m in held] == ["campaign_paused"]
    assert api.post(f"/api/v1/campaigns/{cart['id']}/resume").json()["active"] is True
    shop.tick(tehran("2026-11-25T11:30"))  # a day after the first: the cap allows it
    assert len(shop.sms()) == 2


def test_deleting_a_campaign_skips_what_it_had_not_sent(api, shop):
    cart = campaign_of(api, "abandoned_cart")
    shop.cart("delete-cart-001", tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:00"))
    assert len(shop.sms()) == 1
    response = api.delete(f"/api/v1/campaigns/{cart['id']}")
    assert response.status_code == 200
    assert response.json() == {"deleted": True, "skipped_messages": 2, "exited_enrollments": 1}
    for day in ("2026-11-25T11:00", "2026-11-28T11:00"):
        shop.tick(tehran(day))
    assert len(shop.sms()) == 1  # nothing more, ever
    statuses = [(m.status, m.reason) for m in shop.messages()]
    assert statuses[1:] == [("skipped", "campaign_deleted")] * 2
    assert statuses[0][0] in ("sent", "delivered")  # its history stays
    assert api.get(f"/api/v1/campaigns/{cart['id']}").status_code == 404
    assert cart["id"] not in [c["id"] for c in api.get("/api/v1/campaigns").json()["items"]]
    again = api.delete(f"/api/v1/campaigns/{cart['id']}")
    assert again.status_code == 404 and error_of(again)["code"] == "campaign_not_found"
    # A new cart enrolls nowhere: the campaign is gone.
    shop.cart("delete-cart-002", tehran("2026-11-28T10:00"))
    shop.tick(tehran("2026-11-28T12:00"))
    assert len(shop.sms()) == 1


def test_steps_are_added_changed_and_deleted(api, shop):
    cart = campaign_of(api, "abandoned_cart")
    base = f"/api/v1/campaigns/{cart['id']}/steps"
    added = api.post(base, json={"delay_minutes": 7 * 24 * 60, "template": "{{ link }}",
                                 "coupon": {"mode": "personal", "discount_type": "percent",
                                            "amount": "۱۰", "on_failure": "fallback",
                                            "fallback_code": "off5"}})
    assert added.status_code == 201, added.text
    step = added.json()
    assert step["position"] == 4
    assert step["coupon"] == {"mode": "personal", "discount_type": "percent", "amount": "10",
                              "expires_days": 3, "on_failure": "fallback",
                              "fallback_code": "off5", "individual_use": True}
    assert api.get(f"{base}/{step['id']}").json() == step
    changed = api.patch(f"{base}/{step['id']}", json={
        "template": "{{ first_name }}: {{ link }}", "coupon": None,
        "variants": [{"name": "کوتاه", "template": "{{ link }}", "weight": 3},
                     {"name": "بلند", "template": "{{ first_name }} {{ link }}", "weight": 1}]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["coupon"] is None and changed.json()["delay_minutes"] == 7 * 24 * 60
    assert [v["weight"] for v in changed.json()["variants"]] == [3, 1]
    assert step["send_within_minutes"] == 2 * 24 * 60  # the kind's default for a 7-day delay
    within = api.patch(f"{base}/{step['id']}", json={"send_within_minutes": 90})
    assert within.status_code == 200 and within.json()["send_within_minutes"] == 90
    for bad in (14, 30 * 24 * 60 + 1, "یک"):
        refused = api.patch(f"{base}/{step['id']}", json={"send_within_minutes": bad})
        assert refused.status_code == 422
        assert error_of(refused)["code"] == "invalid_request", refused.text
    assert api.get(f"{base}/{step['id']}").json()["send_within_minutes"] == 90
    reset = api.patch(f"{base}/{step['id']}", json={"send_within_minutes": None})
    assert reset.json()["send_within_minutes"] == 2 * 24 * 60

    # A cart enrolled now gets four messages; deleting step 3 skips its message.
    shop.cart("steps-cart-0001", tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:00"))
    assert len(shop.messages()) == 4
    third = cart["steps"][2]
    response = api.delete(f"{base}/{third['id']}")
    assert response.status_code == 200 and response.json()["skipped_messages"] == 1
    assert [(m.status, m.reason) for m in shop.messages() if m.step_id == third["id"]] == [
        ("skipped", "step_deleted")]
    assert api.get(f"{base}/{third['id']}").status_code == 404
    positions = [s["position"] for s in api.get(f"/api/v1/campaigns/{cart['id']}").json()["steps"]]
    assert positions == [1, 2, 4]
    # New enrollments no longer get the deleted step.
    shop.cart("steps-cart-0002", tehran("2026-11-24T12:00"))
    shop.tick(tehran("2026-11-24T13:00"))
    with shop.factory() as session:
        steps_of_new = session.scalars(select(Message.step_id).order_by(Message.id)).all()[4:]
    assert third["id"] not in steps_of_new and len(steps_of_new) == 3
    assert api.post(base, json=STEP).json()["position"] == 5  # a deleted step's number stays taken


@pytest.mark.parametrize("patch, code, words", [
    ({"delay_minutes": -5}, "invalid_request", "delay_minutes"),
    ({"delay_minutes": None}, "invalid_step", "delay_minutes: cannot be null"),
    ({"template": "{% if first_name %}سلام"}, "invalid_template", "template: line 1:"),
    ({"template": "{{ cart_total + 1 }}"}, "invalid_template", "cannot be rendered"),
    ({"template": "{{ password }}"}, "invalid_template", "available: cart_items"),
    ({"coupon": {"mode": "personal", "discount_type": "percent", "amount": "150"}},
     "invalid_coupon", "at most 100"),
    ({"coupon": {"mode": "personal", "discount_type": "percent", "amount": "10",
                 "on_failure": "fallback"}}, "invalid_coupon", "fallback_code"),
    ({"coupon": {"mode": "gift"}}, "invalid_coupon", "mode"),
    ({"coupon": {"code": "two words"}}, "invalid_coupon", "spaces"),
    ({"lookup": {"template": "verify", "tokens": {}}}, "invalid_lookup", "tokens.token"),
    ({"lookup": {"template": "verify", "tokens": {"token9": "x"}}}, "invalid_lookup", "token9"),
    ({"lookup": {"template": "verify", "tokens": {"token": "{{ nope }}"}}}, "invalid_lookup",
     "unknown variable"),
    ({"variants": [{"name": "A", "template": "{{ link }}", "weight": 1},
                   {"name": "A", "template": "{{ link }}", "weight": 1}]},
     "invalid_variants", "used twice"),
    ({"variants": [{"name": "A", "template": "{{ link }}", "weight": 0}]},
     "invalid_variants", "add up to 0"),
    ({"variants": [{"name": "A", "template": "{{ link }}", "weight": -1}]},
     "invalid_request", "weight"),
    ({"variants": [{"name": "A", "template": "{{ link", "weight": 1}]},
     "invalid_template", "variants[0].template: line 1:"),
])
def test_a_bad_step_change_is_refused_with_the_field_and_reason(api, patch, code, words):
    cart = campaign_of(api, "abandoned_cart")
    url = f"/api/v1/campaigns/{cart['id']}/steps/{cart['steps'][0]['id']}"
    before = api.get(url).json()
    response = api.patch(url, json=patch)
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["code"] == code and words in error["message"], error
    assert api.get(url).json() == before


def test_the_last_step_of_an_active_campaign_stays(api):
    survey = campaign_of(api, "post_purchase_survey")
    [only] = survey["steps"]
    url = f"/api/v1/campaigns/{survey['id']}/steps/{only['id']}"
    response = api.delete(url)
    assert response.status_code == 409
    assert error_of(response)["code"] == "last_step_of_active_campaign"
    api.post(f"/api/v1/campaigns/{survey['id']}/pause")
    assert api.delete(url).status_code == 200


def test_another_stores_campaigns_and_steps_are_not_found(api, other_api):
    theirs = other_api.get("/api/v1/campaigns").json()["items"][0]
    step = theirs["steps"][0]["id"]
    base = f"/api/v1/campaigns/{theirs['id']}"
    for method, url, body in [
            ("GET", base, None), ("PATCH", base, {"name": "x"}), ("DELETE", base, None),
            ("POST", f"{base}/pause", None), ("POST", f"{base}/resume", None),
            ("POST", f"{base}/steps", STEP), ("GET", f"{base}/steps/{step}", None),
            ("PATCH", f"{base}/steps/{step}", {"delay_minutes": 5}),
            ("DELETE", f"{base}/steps/{step}", None)]:
        response = api.request(method, url, json=body)
        assert response.status_code == 404, (method, url, response.text)
        assert error_of(response)["code"] == "campaign_not_found"
    # Their step under my campaign is not mine either.
    mine = api.get("/api/v1/campaigns").json()["items"][0]
    response = api.get(f"/api/v1/campaigns/{mine['id']}/steps/{step}")
    assert response.status_code == 404 and error_of(response)["code"] == "step_not_found"
    assert other_api.get(base).json()["name"] == theirs["name"]  # untouched
    assert len(other_api.get("/api/v1/campaigns").json()["items"]) == len([p for p in PRESETS.values() if p.default])
