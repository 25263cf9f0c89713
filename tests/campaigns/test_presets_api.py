"""The preset catalog over the admin API (`/api/v1/presets`): a store reads every preset with
its trigger, steps and texts, and adds one as a new campaign, paused; a second copy of a kind
the store runs already is named apart and waits until the running one is paused."""

from datetime import UTC, datetime

from app.campaigns.presets import PRESETS
from app.messaging.render import default_template
from tests.helpers import error_of

AT = datetime(2026, 12, 8, 9, 30, tzinfo=UTC)


def _names(api) -> list[tuple[str, str, bool]]:
    return [(c["kind"], c["name"], c["active"]) for c in api.get("/api/v1/campaigns").json()["items"]]


def test_the_catalog_lists_every_preset_with_its_trigger_steps_and_texts(api):
    listed = api.get("/api/v1/presets")
    assert listed.status_code == 200, listed.text
    items = {p["kind"]: p for p in listed.json()["items"]}
    assert list(items) == list(PRESETS)  # every preset, in the catalog's order
    for kind, preset in PRESETS.items():
        item = items[kind]
        assert (item["name"], item["trigger"], item["trigger_minutes"], item["promotional"],
                item["default"]) == (preset.name, preset.trigger, preset.trigger_minutes,
                                     preset.promotional, preset.default)
        assert [s["delay_minutes"] for s in item["steps"]] == preset.delays
        assert [s["template"] for s in item["steps"]] == [
            default_template(f"{kind}_{i}") for i in range(1, len(preset.delays) + 1)]
    cart = items["abandoned_cart"]
    assert cart["name"] == "سبد رهاشده" and cart["trigger"] == "cart_abandoned"
    assert [s["delay_minutes"] for s in cart["steps"]] == [60, 1440, 4320]
    assert "{{ link }}" in cart["steps"][0]["template"]


def test_adding_a_preset_makes_a_paused_campaign_named_apart_from_the_running_one(api, clock):
    clock.set(AT)
    before = _names(api)
    added = api.post("/api/v1/presets/abandoned_cart")
    assert added.status_code == 201, added.text
    body = added.json()
    assert (body["kind"], body["name"], body["active"], body["trigger"]) == (
        "abandoned_cart", "سبد رهاشده ۲", False, "cart_abandoned")
    assert body["created_at"].startswith("2026-12-08T09:30")
    assert [s["delay_minutes"] for s in body["steps"]] == PRESETS["abandoned_cart"].delays
    assert _names(api) == before + [("abandoned_cart", "سبد رهاشده ۲", False)]
    assert api.get(f"/api/v1/campaigns/{body['id']}").json() == body

    # One active campaign per kind: the running one first.
    resumed = api.post(f"/api/v1/campaigns/{body['id']}/resume")
    assert resumed.status_code == 409 and error_of(resumed)["code"] == "kind_already_active"
    first = next(c["id"] for c in api.get("/api/v1/campaigns").json()["items"]
                 if c["name"] == "سبد رهاشده")
    assert api.post(f"/api/v1/campaigns/{first}/pause").status_code == 200
    assert api.post(f"/api/v1/campaigns/{body['id']}/resume").json()["active"] is True

    third = api.post("/api/v1/presets/abandoned_cart").json()
    assert (third["name"], third["active"]) == ("سبد رهاشده ۳", False)


def test_a_preset_the_store_lacks_keeps_its_own_name(api):
    """A store whose win-back campaign was deleted adds it again under the preset's name."""
    win_back = next(c["id"] for c in api.get("/api/v1/campaigns").json()["items"]
                    if c["kind"] == "win_back")
    assert api.delete(f"/api/v1/campaigns/{win_back}").status_code == 200
    added = api.post("/api/v1/presets/win_back").json()
    assert (added["name"], added["active"], added["trigger"]) == (
        "بازگرداندن مشتری", False, "no_purchase")


def test_an_unknown_preset_is_404_and_adds_nothing(api):
    before = _names(api)
    for kind in ("nope", "ABANDONED_CART", "x" * 40):
        response = api.post(f"/api/v1/presets/{kind}")
        assert response.status_code == 404, response.text
        assert error_of(response)["code"] == "preset_not_found"
    assert _names(api) == before


def test_a_preset_added_by_one_store_is_the_other_stores_business_only(api, other_api):
    before = _names(api)
    assert other_api.post("/api/v1/presets/cross_sell").status_code == 201
    assert _names(api) == before
    assert ("cross_sell", "پیشنهاد محصول مکمل ۲", False) in _names(other_api)


def test_the_catalog_needs_the_stores_key(client):
    assert client.get("/api/v1/presets").status_code == 401
    assert client.post("/api/v1/presets/win_back").status_code == 401
