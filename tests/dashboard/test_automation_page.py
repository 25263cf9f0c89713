"""A campaign's page as an automation: it says what starts the campaign, and the merchant sets
who enters (a segment, products, categories, a total, first or repeat order) and what ends it
early (a purchase, a click) in Persian forms that go through the API's rules; the preset
gallery adds a ready automation, paused."""

import html
import re

import httpx
import pytest
from sqlalchemy import select

from app.campaigns.content import sample_link
from app.campaigns.models import Campaign
from app.campaigns.presets import PRESETS
from app.commerce.models import Product
from app.db import unit_of_work
from app.digits import latin_digits, persian_digits
from app.http import tls
from tests.dashboard.test_panel import location, text_of
from tests.dashboard.test_segments_page import field_error
from tests.helpers import bearer

EMPTY = {"segment_id": "", "products": "", "categories": "", "total_min": "", "total_max": "",
         "order": ""}


@pytest.fixture
def api(live_server, seeded):
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10,
                      headers=bearer(seeded.store)) as client:
        yield client


@pytest.fixture
def products(factory, seeded):
    """Two products the store's webhooks brought, one of them filed under «چای سیاه» (15)."""
    with unit_of_work(factory) as session:
        session.add_all([
            Product(store_id=seeded.store.id, wc_id=12, name="چای ارل گری",
                    categories=[{"id": 15, "name": "چای سیاه"}]),
            Product(store_id=seeded.store.id, wc_id=13, name="دمنوش بابونه", categories=[])])


def _conditions(factory, campaign_id: int) -> tuple[dict, dict]:
    with factory() as session:
        campaign = session.get_one(Campaign, campaign_id)
        return campaign.conditions, campaign.exits


def test_the_page_says_what_starts_each_campaign(panel, seeded):
    cart = panel.get(f"/panel/campaigns/{seeded.campaign_ids['abandoned_cart']}")
    starts = re.search(r'<p id="trigger-sentence">(.*?)</p>', cart.text, re.S)[1]
    assert text_of(httpx.Response(200, text=starts)) == \
        "شروع: وقتی سبد خریدی ۱ ساعت بی‌تغییر بماند و سفارشی از آن ثبت نشود."
    win_back = text_of(panel.get(f"/panel/campaigns/{seeded.campaign_ids['win_back']}"))
    assert "شروع: وقتی از آخرین خرید مشتری ۶۰ روز بگذرد و دوباره نخریده باشد." in win_back
    survey = text_of(panel.get(f"/panel/campaigns/{seeded.campaign_ids['post_purchase_survey']}"))
    assert "شروع: وقتی سفارشی تکمیل شود." in survey
    # When each form applies, in a sentence.
    assert "این شرط‌ها از این پس در لحظهٔ شروع بررسی می‌شوند" in survey
    assert "پیش از هر پیامکی از این کمپین که هنوز فرستاده نشده بررسی می‌شود" in survey


def test_conditions_in_persian_digits_are_saved_as_the_api_reads_them(panel, seeded, factory,
                                                                      api, products):
    everyone = api.post("/api/v1/segments", json={"name": "همه"}).json()
    size = api.post("/api/v1/segments/preview", json={"definition": {}}).json()["size"]
    assert size > 0
    survey = seeded.campaign_ids["post_purchase_survey"]
    page = panel.get(f"/panel/campaigns/{survey}")
    assert f'<option value="{everyone["id"]}">همه ({persian_digits(size)} نفر)</option>' \
        in page.text

    saved = panel.post(f"/panel/campaigns/{survey}/conditions", EMPTY | {
        "segment_id": str(everyone["id"]), "products": "۱۲، ۹۹", "categories": "١٥",
        "total_min": "۵۰۰٬۰۰۰", "order": "repeat"})
    assert location(saved) == f"/panel/campaigns/{survey}?ok=conditions_saved#conditions"
    expected = {"segment_id": everyone["id"], "products": [12, 99], "categories": [15],
                "total_min": 500_000, "order": "repeat"}
    assert _conditions(factory, survey)[0] == expected
    from_api = api.get(f"/api/v1/campaigns/{survey}").json()["conditions"]
    assert {k: v for k, v in from_api.items() if v not in (None, [])} == expected

    shown = panel.get(f"/panel/campaigns/{survey}", ok="conditions_saved")
    assert "شرط‌های ورود ذخیره شد" in shown.text
    assert f'<option value="{everyone["id"]}" selected>' in shown.text
    assert 'value="۱۲، ۹۹"' in shown.text and 'value="۱۵"' in shown.text
    assert 'value="۵۰۰٬۰۰۰"' in shown.text
    assert re.search(r'value="repeat" checked', shown.text)
    products_names = text_of(httpx.Response(200, text=re.search(
        r'<ul class="known-names" id="products-names">.*?</ul>', shown.text, re.S)[0]))
    assert products_names == "۱۲ چای ارل گری ۹۹ نامش را نمی‌دانیم (هنوز از فروشگاه نرسیده)"
    assert "۱۵ چای سیاه" in text_of(httpx.Response(200, text=re.search(
        r'<ul class="known-names" id="categories-names">.*?</ul>', shown.text, re.S)[0]))

    # A segment a campaign names cannot be deleted meanwhile.
    assert api.delete(f"/api/v1/segments/{everyone['id']}").status_code == 409

    cleared = panel.post(f"/panel/campaigns/{survey}/conditions", EMPTY)
    assert location(cleared).endswith("?ok=conditions_saved#conditions")
    assert _conditions(factory, survey)[0] == {}


def test_wrong_conditions_are_explained_in_persian_and_change_nothing(panel, seeded, factory,
                                                                      live_server):
    survey = seeded.campaign_ids["post_purchase_survey"]
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10,
                      headers=bearer(seeded.other)) as other_api:
        foreign = other_api.post("/api/v1/segments", json={"name": "دیگری"}).json()["id"]
    panel.get(f"/panel/campaigns/{survey}")
    refused = panel.post(f"/panel/campaigns/{survey}/conditions", EMPTY | {
        "segment_id": str(foreign), "products": "۱۲ چای", "total_min": "۹۰۰٬۰۰۰",
        "total_max": "۱۰۰", "order": "first"})
    assert refused.status_code == 200
    assert "فرم ذخیره نشد" in refused.text
    assert field_error(refused.text, "products").startswith("فقط شناسه‌های عددی ووکامرس")
    assert field_error(refused.text, "total_max").startswith("این مقدار نباید از «حداقل» کمتر")
    assert "این گروه در فروشگاه شما نیست" in refused.text
    assert 'value="۱۲ چای"' in refused.text and 'value="۹۰۰٬۰۰۰"' in refused.text  # kept
    assert re.search(r'value="first" checked', refused.text)
    assert _conditions(factory, survey)[0] == {}

    too_many = panel.post(f"/panel/campaigns/{survey}/conditions", EMPTY | {
        "categories": "، ".join(map(str, range(1, 202)))})
    assert field_error(too_many.text, "categories") == "حداکثر ۲۰۰ شناسه مجاز است."
    negative = panel.post(f"/panel/campaigns/{survey}/conditions", EMPTY | {"total_min": "-۵"})
    assert field_error(negative.text, "total_min").startswith("عددی از ۰ تا")
    assert _conditions(factory, survey)[0] == {}


def test_exits_are_ticked_and_unticked(panel, seeded, factory):
    cart = seeded.campaign_ids["abandoned_cart"]
    page = panel.get(f"/panel/campaigns/{cart}")
    assert "خرید مشتری این کمپین را همیشه تمام می‌کند" in page.text  # a cart's trigger does
    saved = panel.post(f"/panel/campaigns/{cart}/exits", {"purchased": "on", "clicked": "on"})
    assert location(saved) == f"/panel/campaigns/{cart}?ok=exits_saved#exits"
    assert _conditions(factory, cart)[1] == {"purchased": True, "clicked": True}
    shown = panel.get(f"/panel/campaigns/{cart}").text
    assert 'id="exit-purchased" checked' in shown and 'id="exit-clicked" checked' in shown
    panel.post(f"/panel/campaigns/{cart}/exits", {"clicked": "on"})
    assert _conditions(factory, cart)[1] == {"clicked": True}
    panel.post(f"/panel/campaigns/{cart}/exits", {})
    assert _conditions(factory, cart)[1] == {}


def test_another_stores_campaign_has_no_conditions_here(panel, seeded, factory):
    other = seeded.other_campaign_id
    panel.get("/panel/campaigns")
    assert panel.post(f"/panel/campaigns/{other}/conditions",
                      EMPTY | {"order": "first"}).status_code == 404
    assert panel.post(f"/panel/campaigns/{other}/exits", {"clicked": "on"}).status_code == 404
    assert _conditions(factory, other) == ({}, {})


def test_the_gallery_shows_every_preset_and_adds_one_paused(panel, seeded, factory):
    listing = panel.get("/panel/campaigns")
    assert 'href="/panel/presets" id="add-from-preset"' in listing.text
    gallery = panel.get("/panel/presets")
    assert gallery.status_code == 200 and "افزودن اتوماسیون از الگو" in gallery.text
    for kind, preset in PRESETS.items():
        card = re.search(rf'<article class="card preset" id="preset-{kind}">.*?</article>',
                         gallery.text, re.S)[0]
        words = html.unescape(text_of(httpx.Response(200, text=card)))
        assert preset.name in words and "شروع: وقتی" in words
        assert words.count("مرحلهٔ ") == len(preset.delays)
        # The first SMS as the customer reads it: rendered on the sample subject, no {{ … }}.
        first = html.unescape(re.search(rf'id="first-text-{kind}">(.*?)</div>', card, re.S)[1])
        assert "{" not in first and "چای‌خانه" in first and sample_link(kind) in first, first
        assert first.endswith("\nلغو۱۱") == preset.promotional, first
    cart_card = text_of(httpx.Response(200, text=re.search(
        r'id="preset-abandoned_cart">.*?</article>', gallery.text, re.S)[0]))
    assert "مرحلهٔ ۱ — ۱ ساعت پس از شروع مرحلهٔ ۲ — ۱ روز پس از شروع" in cart_card
    assert "۱ کمپین از این الگو دارید" in cart_card
    texts = {kind: html.unescape(re.search(rf'id="first-text-{kind}">(.*?)</div>', gallery.text,
                                           re.S)[1]) for kind in PRESETS}
    assert texts["abandoned_cart"] == ("سارا عزیز، سبد خریدت در چای‌خانه منتظرته! تکمیلش کن: "
                                       f"{sample_link('abandoned_cart')}\nلغو۱۱")
    # The sample's product, and the shape of a personal code with its Jalali expiry.
    assert "وقت تهیهٔ دوبارهٔ فنجان سرامیکی نزدیکه" in texts["replenishment"]
    assert re.search(r"کد K7PMX2QA هدیهٔ چای‌خانه برای خرید بعدیته، تا 14\d\d/\d\d/\d\d:",
                     latin_digits(texts["survey_reward"])), texts["survey_reward"]
    # What starts each, with its settings.
    assert "شروع: وقتی مشتری به نظرسنجی پس از خرید پاسخ دهد، با هر امتیازی." in text_of(
        gallery)
    assert "شروع: وقتی زمان خرید دوبارهٔ کالایی که مشتری خریده برسد؛ ۳ روز پیش از آن روز." \
        in text_of(gallery)

    added = panel.post("/panel/presets/abandoned_cart")
    campaign_id = int(re.fullmatch(r"/panel/campaigns/(\d+)\?ok=preset_added",
                                   location(added))[1])
    with factory() as session:
        campaign = session.get_one(Campaign, campaign_id)
        assert (campaign.store_id, campaign.kind, campaign.name, campaign.active) == (
            seeded.store.id, "abandoned_cart", "سبد رهاشده ۲", False)
    page = panel.get(f"/panel/campaigns/{campaign_id}", ok="preset_added")
    assert "اتوماسیون از الگو ساخته شد و فعلاً متوقف است" in page.text
    # Resuming it while the built-in one runs: the one-active-per-kind rule, in Persian.
    resumed = panel.post(f"/panel/campaigns/{campaign_id}/resume", {"back": "campaign"})
    assert "error=kind_already_active" in location(resumed)
    assert "کمپین فعال دیگری از همین نوع هست" in panel.get(location(resumed)).text

    assert panel.post("/panel/presets/no_such_preset").status_code == 404
    with factory() as session:
        assert session.scalar(select(Campaign.id).where(
            Campaign.store_id == seeded.store.id, Campaign.kind == "abandoned_cart",
            Campaign.id != campaign_id, Campaign.active.is_(False))) is None
