"""A campaign's conditions, exits and trigger settings in real Chromium at a phone's width
(390×844): the merchant chooses a segment, types products and a total in Persian digits, saves,
and sees the names of the products beside their ids; sets a replenishment's days before, a
custom order status, the products a purchase starts on; the page stays within the screen, right
to left. Then the preset gallery, at the same width, its first texts as the customer reads
them."""

import httpx

from app.campaigns.models import Campaign
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
    assert page.inner_text("#first-text-abandoned_cart").startswith(
        "سارا عزیز، سبد خریدت در چای‌خانه منتظرته!")
    assert merchant.layout_problems() == []
    page.screenshot(path=folder / "presets-phone.png", full_page=True)
    page.click("#add-win_back")
    page.wait_for_url("**/panel/campaigns/*?ok=preset_added")
    assert "بازگرداندن مشتری ۲" in page.inner_text("h1")
    assert merchant.layout_problems() == []


def test_a_merchant_sets_what_starts_an_automation_on_a_phone(merchant_at, seeded,  # noqa: F811
                                                              factory, live_server, screenshots,
                                                              database_url):
    """From the gallery (its first texts as the customer reads them) to a replenishment's days
    before, a custom order status and products bought with their names, a wrong id answered
    next to its field: all within a phone's screen."""
    with unit_of_work(factory) as session:
        session.add(Product(store_id=seeded.store.id, wc_id=12, name="چای ارل گری",
                            categories=[]))
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10,
                      headers=bearer(seeded.store)) as api:
        shipped, bought = (api.post("/api/v1/campaigns", json={
            "kind": "thank_you", "name": name, "trigger": trigger, "trigger_params": params,
        }).json()["id"] for name, trigger, params in [
            ("تشکر پس از ارسال", "order_status", {"status": "processing"}),
            ("تشکر خرید چای", "product_bought", {"categories": [15]})])
    folder = screenshots / database_url.split(":")[0].split("+")[0]
    folder.mkdir(exist_ok=True)
    merchant = merchant_at(PHONE)

    page = merchant.go("/panel/presets")
    first = page.inner_text("#first-text-replenishment")
    assert "{" not in first and "وقت تهیهٔ دوبارهٔ فنجان سرامیکی نزدیکه" in first
    assert merchant.layout_problems() == []
    page.click("#add-replenishment")
    page.wait_for_url("**/panel/campaigns/*?ok=preset_added")
    page.fill("#days_before", "۵")
    page.click("#save-trigger-params")
    page.wait_for_url("**/panel/campaigns/*?ok=trigger_saved#trigger-params")
    assert "؛ ۵ روز پیش از آن روز" in page.inner_text("#trigger-sentence")
    assert page.input_value("#days_before") == "۵"
    assert merchant.layout_problems() == []

    page = merchant.go(f"/panel/campaigns/{shipped}")
    page.select_option("#status", "custom")
    page.fill("#status_custom", "wc-shipped")
    page.click("#save-trigger-params")
    page.wait_for_url(f"**/panel/campaigns/{shipped}?ok=trigger_saved#trigger-params")
    assert "«shipped»" in page.inner_text("#trigger-sentence")
    assert page.locator("#status option:checked").inner_text() == "وضعیت دیگری (نامکش را بنویسید)"
    assert merchant.layout_problems() == []
    page.locator("#trigger-params").screenshot(path=folder / "trigger-status-phone.png")

    page = merchant.go(f"/panel/campaigns/{bought}")
    page.fill("#trigger_products", "۱۲، ۹۹")
    page.click("#save-trigger-params")
    page.wait_for_url(f"**/panel/campaigns/{bought}?ok=trigger_saved#trigger-params")
    assert _params(factory, bought) == {"products": [12, 99], "categories": [15]}
    assert "چای ارل گری" in page.inner_text("#trigger_products-names")
    page.fill("#trigger_categories", "۱۵ چای")
    page.click("#save-trigger-params")
    page.wait_for_load_state()
    assert page.inner_text("#trigger-params .field-error").startswith("فقط شناسه‌های عددی")
    assert _params(factory, bought) == {"products": [12, 99], "categories": [15]}
    assert merchant.layout_problems() == []
    page.screenshot(path=folder / "campaign-trigger-params-phone.png", full_page=True)
    page.locator("#trigger-params").screenshot(path=folder / "trigger-products-phone.png")


def _params(factory, campaign_id: int) -> dict:
    with factory() as session:
        return session.get_one(Campaign, campaign_id).trigger_params
