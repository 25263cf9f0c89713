"""A campaign's conditions and exits in real Chromium at a phone's width (390×844): the merchant
chooses a segment, types products and a total in Persian digits, saves, and sees the names of
the products beside their ids; the page stays within the screen, right to left. Then the preset
gallery, at the same width."""

import httpx

from app.commerce.models import Product
from app.db import unit_of_work
from app.digits import persian_digits
from app.http import tls
from tests.dashboard.test_automation_page import _conditions
from tests.dashboard.test_browser import PHONE, merchant_at  # noqa: F401
from tests.helpers import bearer


def test_a_merchant_sets_a_campaigns_conditions_on_a_phone(merchant_at, seeded,  # noqa: F811
                                                           factory, live_server, screenshots,
                                                           database_url):
    with unit_of_work(factory) as session:
        session.add(Product(store_id=seeded.store.id, wc_id=12, name="چای ارل گری",
                            categories=[{"id": 15, "name": "چای سیاه"}]))
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10,
                      headers=bearer(seeded.store)) as api:
        segment = api.post("/api/v1/segments", json={"name": "همهٔ مشتریان فروشگاه"}).json()
        size = api.post("/api/v1/segments/preview", json={"definition": {}}).json()["size"]
    folder = screenshots / database_url.split(":")[0].split("+")[0]
    folder.mkdir(exist_ok=True)
    survey = seeded.campaign_ids["post_purchase_survey"]

    merchant = merchant_at(PHONE)
    page = merchant.go(f"/panel/campaigns/{survey}")
    assert "وقتی سفارشی تکمیل شود" in page.inner_text("#trigger-sentence")
    page.select_option("#segment_id", str(segment["id"]))
    page.fill("#products", "۱۲، ۹۹")
    page.fill("#categories", "۱۵")
    page.fill("#total_min", "۵۰۰٬۰۰۰")
    page.check("input[name=order][value=repeat]")
    page.click("#save-conditions")
    page.wait_for_url(f"**/panel/campaigns/{survey}?ok=conditions_saved#conditions")
    assert _conditions(factory, survey)[0] == {
        "segment_id": segment["id"], "products": [12, 99], "categories": [15],
        "total_min": 500_000, "order": "repeat"}
    assert page.input_value("#total_min") == "۵۰۰٬۰۰۰"
    assert page.locator("#segment_id option:checked").inner_text() == \
        f"همهٔ مشتریان فروشگاه ({persian_digits(size)} نفر)"
    assert "چای ارل گری" in page.inner_text("#products-names")
    assert "چای سیاه" in page.inner_text("#categories-names")

    page.check("#exit-clicked")
    page.click("#save-exits")
    page.wait_for_url(f"**/panel/campaigns/{survey}?ok=exits_saved#exits")
    assert page.is_checked("#exit-clicked") and not page.is_checked("#exit-purchased")
    assert merchant.layout_problems() == []
    page.screenshot(path=folder / "campaign-conditions-phone.png", full_page=True)
    page.locator("#conditions").screenshot(path=folder / "campaign-conditions-form-phone.png")

    page = merchant.go("/panel/presets")
    assert page.locator("article.preset").count() >= 5
    assert merchant.layout_problems() == []
    page.screenshot(path=folder / "presets-phone.png", full_page=True)
    page.click("#add-win_back")
    page.wait_for_url("**/panel/campaigns/*?ok=preset_added")
    assert "بازگرداندن مشتری ۲" in page.inner_text("h1")
    assert merchant.layout_problems() == []
