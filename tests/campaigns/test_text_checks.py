"""The checks on a step's texts through the admin API (app/campaigns/checks.py): a text too long
is refused with its length, never cut; the coupon code or its expiry needs a coupon; previews
warn of a text without a link or of many parts."""

import pytest

from app.campaigns.checks import MAX_TEXT
from tests.campaigns.test_editing import campaign_of
from tests.helpers import error_of

COUPON_TEXT = "با کد {{ coupon_code }} تا {{ coupon_expires }} بخر: {{ link }}"
FIXED = {"mode": "fixed", "code": "off5"}


def _step_url(api, kind: str = "abandoned_cart") -> str:
    campaign = campaign_of(api, kind)
    return f"/api/v1/campaigns/{campaign['id']}/steps/{campaign['steps'][0]['id']}"


def test_the_coupon_code_needs_a_coupon(api):
    url = _step_url(api)
    before = api.get(url).json()
    assert before["coupon"] is None
    refused = api.patch(url, json={"template": COUPON_TEXT})
    assert refused.status_code == 422
    error = error_of(refused)
    assert error["code"] == "coupon_missing"
    assert error["message"].startswith("template: uses coupon_code, coupon_expires")
    assert api.get(url).json() == before  # nothing half-written
    saved = api.patch(url, json={"template": COUPON_TEXT, "coupon": FIXED})
    assert saved.status_code == 200 and saved.json()["coupon"] == FIXED
    # Taking the coupon away from a text that quotes it is refused too.
    dropped = api.patch(url, json={"coupon": None})
    assert dropped.status_code == 422 and error_of(dropped)["code"] == "coupon_missing"
    assert api.get(url).json()["coupon"] == FIXED


def test_a_variant_quoting_the_coupons_expiry_needs_a_coupon(api):
    url = _step_url(api)
    refused = api.patch(url, json={"variants": [
        {"name": "A", "template": "سلام {{ link }}", "weight": 1},
        {"name": "B", "template": "تا {{ coupon_expires }}: {{ link }}", "weight": 1}]})
    assert refused.status_code == 422
    error = error_of(refused)
    assert error["code"] == "coupon_missing"
    assert error["message"].startswith("variants[1].template: uses coupon_expires")


def test_a_new_step_or_campaign_quoting_a_coupon_it_lacks_is_refused(api):
    campaign = campaign_of(api, "abandoned_cart")
    added = api.post(f"/api/v1/campaigns/{campaign['id']}/steps",
                     json={"delay_minutes": 4320, "template": COUPON_TEXT})
    assert added.status_code == 422 and error_of(added)["code"] == "coupon_missing"
    created = api.post("/api/v1/campaigns", json={
        "kind": "win_back", "name": "برگرد", "steps": [
            {"delay_minutes": 0, "template": "سلام {{ link }}"},
            {"delay_minutes": 60, "template": COUPON_TEXT}]})
    assert created.status_code == 422
    assert error_of(created)["message"].startswith("steps[1].template: uses coupon_code")
    assert len(api.get(f"/api/v1/campaigns/{campaign['id']}").json()["steps"]) == len(
        campaign["steps"])


@pytest.mark.parametrize("length", [MAX_TEXT + 1, 2000, 5 * MAX_TEXT])
def test_a_text_longer_than_the_cap_is_refused_with_its_length(api, length):
    url = _step_url(api)
    before = api.get(url).json()
    text = "{{ link }}" + "س" * (length - len("{{ link }}"))
    refused = api.patch(url, json={"template": text})
    assert refused.status_code == 422
    error = error_of(refused)
    assert error["code"] == "template_too_long"
    assert error["message"] == (f"template: {length} characters, more than the {MAX_TEXT} a "
                                "step's text may have (10 Persian SMS parts); shorten it")
    assert api.get(url).json() == before


def test_a_text_at_the_cap_is_saved_whole(api):
    url = _step_url(api)
    text = "{{ link }}" + "س" * (MAX_TEXT - len("{{ link }}"))
    saved = api.patch(url, json={"template": text})
    assert saved.status_code == 200 and saved.json()["template"] == text


def test_a_syntax_error_is_one_error_with_its_line(api):
    refused = api.patch(_step_url(api), json={"template": "سلام\n{{ first_name"})
    assert refused.status_code == 422
    error = error_of(refused)
    assert error["code"] == "invalid_template" and error["message"].startswith("template: line 2:")


def _warnings(response) -> dict:
    assert response.status_code == 200, response.text
    return {w["code"]: w for w in response.json()["warnings"]}


def test_previews_warn_of_no_link_many_parts_and_a_missing_coupon(api):
    campaign = campaign_of(api, "abandoned_cart")
    draft = f"/api/v1/campaigns/{campaign['id']}/preview"
    assert _warnings(api.post(draft, json={"template": "سلام {{ first_name }}: {{ link }}"})) == {}
    no_link = _warnings(api.post(draft, json={"template": "سلام {{ first_name }}"}))
    assert set(no_link) == {"no_link"} and no_link["no_link"]["blocking"] is False
    long = api.post(draft, json={"template": "سبدت منتظرته. " * 20 + "{{ link }}"})
    many = _warnings(long)
    assert set(many) == {"many_parts"} and long.json()["parts"] > 3
    assert many["many_parts"]["message"].startswith(f"{long.json()['parts']} SMS parts")
    missing = _warnings(api.post(draft, json={"template": COUPON_TEXT}))
    assert missing["coupon_missing"]["blocking"] is True
    fixed = _warnings(api.post(draft, json={"template": COUPON_TEXT, "coupon": FIXED}))
    assert set(fixed) == {"expiry_empty"}  # a fixed code has no expiry
    step = api.post(f"{_step_url(api)}/preview", json={"template": "سلام"})
    assert set(_warnings(step)) == {"no_link"}
