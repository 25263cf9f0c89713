"""A campaign's trigger settings on its page: the order status it waits for (one of
WooCommerce's, by its Persian name, or a custom one typed), the products and categories bought
(ids with their names), the survey ratings that start it, the days before a reorder day. Each
form saves through the API's rules, reads Persian digits, answers a wrong value in Persian next
to its field and changes nothing; another store's campaigns and products stay out of reach."""

import re

import httpx
import pytest

from app.campaigns.models import Campaign
from app.commerce.models import Product
from app.db import unit_of_work
from app.http import tls
from tests.dashboard.test_automation_page import api  # noqa: F401
from tests.dashboard.test_panel import location, text_of
from tests.dashboard.test_segments_page import field_error
from tests.helpers import bearer


def params_of(factory, campaign_id: int) -> dict:
    with factory() as session:
        return session.get_one(Campaign, campaign_id).trigger_params


def made(api, kind: str, **fields) -> int:  # noqa: F811
    """A paused campaign of `kind` made through the admin API."""
    response = api.post("/api/v1/campaigns", json={"kind": kind, "name": f"{kind} آزمایشی"}
                        | fields)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def sentence(page: httpx.Response) -> str:
    found = re.search(r'<p id="trigger-sentence">(.*?)</p>', page.text, re.S)[1]
    return text_of(httpx.Response(200, text=found))


def select_error(html: str, field: str) -> str:
    """The Persian problem shown right after a select."""
    found = re.search(rf'<select id="{field}"[^>]*>.*?</select>\s*'
                      r'<p class="field-error" role="alert">([^<]+)', html, re.S)
    assert found, f"no problem next to {field}"
    return found[1].strip()


def chosen(html: str, field: str) -> str:
    select = re.search(rf'<select id="{field}"[^>]*>(.*?)</select>', html, re.S)[1]
    return re.search(r'<option value="([^"]*)" selected>', select)[1]


def test_an_order_status_is_chosen_by_its_persian_name_or_typed(panel, seeded, factory, api):  # noqa: F811
    campaign = made(api, "thank_you", trigger="order_status",
                    trigger_params={"status": "processing"})
    url = f"/panel/campaigns/{campaign}"
    page = panel.get(url)
    assert sentence(page) == "شروع: وقتی وضعیت سفارشی به وضعیت تعیین‌شده برسد: «در حال انجام»."
    assert chosen(page.text, "status") == "processing"
    assert '<option value="on-hold">در انتظار بررسی</option>' in page.text
    assert '<option value="trash"' not in page.text  # a trashed order is deleted here

    typed = panel.post(f"{url}/trigger", {"status": "custom", "status_custom": "WC-Shipped"})
    assert location(typed) == f"{url}?ok=trigger_saved#trigger-params"
    assert params_of(factory, campaign) == {"status": "shipped"}
    assert api.get(f"/api/v1/campaigns/{campaign}").json()["trigger_params"] == {
        "status": "shipped"}
    page = panel.get(url, ok="trigger_saved")
    assert "تنظیم شروع ذخیره شد" in page.text
    assert chosen(page.text, "status") == "custom"
    assert 'id="status_custom" name="status_custom" dir="ltr" value="shipped"' in page.text
    assert sentence(page) == "شروع: وقتی وضعیت سفارشی به وضعیت تعیین‌شده برسد: «shipped»."

    # A status of the list wins over a custom one left typed in its box.
    panel.post(f"{url}/trigger", {"status": "completed", "status_custom": "shipped"})
    assert params_of(factory, campaign) == {"status": "completed"}
    page = panel.get(url)
    assert chosen(page.text, "status") == "completed"
    assert 'value=""' in re.search(r'<input id="status_custom"[^>]*>', page.text)[0]


@pytest.mark.parametrize("custom,problem", [
    ("ارسال شده", "نامک وضعیت فقط حرف لاتین، رقم، - و _ دارد"),
    ("in transit", "نامک وضعیت فقط حرف لاتین، رقم، - و _ دارد"),
    ("  ", "این خانه را پر کنید."),
    ("x" * 65, "حداکثر ۶۴ نویسه مجاز است."),
])
def test_a_wrong_custom_status_is_explained_and_changes_nothing(panel, seeded, factory, api,  # noqa: F811
                                                                custom, problem):
    campaign = made(api, "thank_you", trigger="order_status",
                    trigger_params={"status": "processing"})
    panel.get(f"/panel/campaigns/{campaign}")
    refused = panel.post(f"/panel/campaigns/{campaign}/trigger",
                         {"status": "custom", "status_custom": custom})
    assert refused.status_code == 200 and "فرم ذخیره نشد" in refused.text
    assert field_error(refused.text, "status_custom").startswith(problem)
    assert chosen(refused.text, "status") == "custom"  # what was typed is kept
    assert params_of(factory, campaign) == {"status": "processing"}


def test_products_bought_are_ids_with_their_names_in_any_digits(panel, seeded, factory, api):  # noqa: F811
    with unit_of_work(factory) as session:
        session.add_all([
            Product(store_id=seeded.store.id, wc_id=12, name="چای ارل گری",
                    categories=[{"id": 15, "name": "چای سیاه"}]),
            # Another store's product with id 77: never named on this store's page.
            Product(store_id=seeded.other.id, wc_id=77, name="قهوهٔ ترک",
                    categories=[{"id": 16, "name": "قهوه"}])])
    campaign = made(api, "thank_you", trigger="product_bought",
                    trigger_params={"products": [12]})
    url = f"/panel/campaigns/{campaign}"
    page = panel.get(url)
    assert sentence(page) == "شروع: وقتی مشتری کالای تعیین‌شده‌ای را بخرد (کالای ۱۲)."
    assert 'id="trigger_products" name="trigger_products" inputmode="numeric" value="۱۲"' \
        in page.text

    saved = panel.post(f"{url}/trigger", {"trigger_products": "۱۲، 77",
                                          "trigger_categories": "١٥ ۱۶"})
    assert location(saved) == f"{url}?ok=trigger_saved#trigger-params"
    assert params_of(factory, campaign) == {"products": [12, 77], "categories": [15, 16]}
    page = panel.get(url)
    names = text_of(httpx.Response(200, text=re.search(
        r'<ul class="known-names" id="trigger_products-names">.*?</ul>', page.text, re.S)[0]))
    assert names == "۱۲ چای ارل گری ۷۷ نامش را نمی‌دانیم (هنوز از فروشگاه نرسیده)"
    categories = text_of(httpx.Response(200, text=re.search(
        r'<ul class="known-names" id="trigger_categories-names">.*?</ul>', page.text, re.S)[0]))
    assert categories == "۱۵ چای سیاه ۱۶ نامش را نمی‌دانیم (هنوز از فروشگاه نرسیده)"
    assert "قهوهٔ ترک" not in page.text
    assert sentence(page) == ("شروع: وقتی مشتری کالای تعیین‌شده‌ای را بخرد (کالای ۱۲، ۷۷ یا "
                              "کالایی از دستهٔ ۱۵، ۱۶).")

    # Categories alone are enough.
    panel.post(f"{url}/trigger", {"trigger_products": "", "trigger_categories": "۱۵"})
    assert params_of(factory, campaign) == {"products": [], "categories": [15]}

    for form, field, problem in [
        ({"trigger_products": "", "trigger_categories": " "}, "trigger_products",
         "دست‌کم یک شناسهٔ کالا یا یک شناسهٔ دسته بنویسید"),
        ({"trigger_products": "۱۲ چای", "trigger_categories": ""}, "trigger_products",
         "فقط شناسه‌های عددی ووکامرس"),
        ({"trigger_products": "0", "trigger_categories": ""}, "trigger_products",
         "فقط شناسه‌های عددی ووکامرس"),
        ({"trigger_products": "", "trigger_categories": "، ".join(map(str, range(1, 202)))},
         "trigger_categories", "حداکثر ۲۰۰ شناسه مجاز است."),
    ]:
        refused = panel.post(f"{url}/trigger", form)
        assert refused.status_code == 200 and "فرم ذخیره نشد" in refused.text
        assert field_error(refused.text, field).startswith(problem), form
        assert params_of(factory, campaign) == {"products": [], "categories": [15]}
    kept = panel.post(f"{url}/trigger", {"trigger_products": "۱۲ چای"})
    assert 'name="trigger_products" inputmode="numeric" value="۱۲ چای"' in kept.text


def test_a_survey_rewards_rating_range(panel, seeded, factory):
    added = panel.post("/panel/presets/survey_reward")
    campaign = int(re.search(r"/panel/campaigns/(\d+)", location(added))[1])
    url = f"/panel/campaigns/{campaign}"
    page = panel.get(url)
    assert sentence(page) == "شروع: وقتی مشتری به نظرسنجی پس از خرید پاسخ دهد، با هر امتیازی."
    assert (chosen(page.text, "rating_min"), chosen(page.text, "rating_max")) == ("1", "5")
    assert '<option value="4">۴ ستاره</option>' in page.text

    saved = panel.post(f"{url}/trigger", {"rating_min": "۴", "rating_max": "5"})
    assert location(saved) == f"{url}?ok=trigger_saved#trigger-params"
    assert params_of(factory, campaign) == {"rating_min": 4, "rating_max": 5}
    page = panel.get(url)
    assert sentence(page) == ("شروع: وقتی مشتری به نظرسنجی پس از خرید پاسخ دهد، با امتیاز ۴ "
                              "تا ۵ ستاره.")
    assert (chosen(page.text, "rating_min"), chosen(page.text, "rating_max")) == ("4", "5")

    upside_down = panel.post(f"{url}/trigger", {"rating_min": "۵", "rating_max": "۲"})
    assert select_error(upside_down.text, "rating_max").startswith(
        "بیشترین امتیاز نباید از کمترین امتیاز کمتر باشد")
    assert (chosen(upside_down.text, "rating_min"), chosen(upside_down.text, "rating_max")) \
        == ("5", "2")
    six = panel.post(f"{url}/trigger", {"rating_min": "6", "rating_max": "5"})
    assert select_error(six.text, "rating_min") == "عددی از ۱ تا ۵ بنویسید."
    missing = panel.post(f"{url}/trigger", {"rating_min": "1"})
    assert select_error(missing.text, "rating_max") == "این خانه را پر کنید."
    assert params_of(factory, campaign) == {"rating_min": 4, "rating_max": 5}


def test_a_replenishments_days_before_in_persian_digits(panel, seeded, factory, api):  # noqa: F811
    added = panel.post("/panel/presets/replenishment")
    campaign = int(re.search(r"/panel/campaigns/(\d+)", location(added))[1])
    url = f"/panel/campaigns/{campaign}"
    page = panel.get(url)
    assert sentence(page) == ("شروع: وقتی زمان خرید دوبارهٔ کالایی که مشتری خریده برسد؛ ۳ روز "
                              "پیش از آن روز.")
    assert 'id="days_before" name="days_before" inputmode="numeric" class="short" value="۳"' \
        in page.text

    assert location(panel.post(f"{url}/trigger", {"days_before": "۷"})).endswith(
        "?ok=trigger_saved#trigger-params")
    assert params_of(factory, campaign) == {"days_before": 7}
    assert api.get(f"/api/v1/campaigns/{campaign}").json()["trigger_params"] == {
        "days_before": 7}
    panel.post(f"{url}/trigger", {"days_before": "٠"})  # Arabic-Indic zero: the day itself
    assert params_of(factory, campaign) == {"days_before": 0}
    assert sentence(panel.get(url)).endswith("برسد؛ همان روز.")

    for typed, problem in [("۳۱", "عددی از ۰ تا ۳۰ بنویسید."), ("-۱", "عددی از ۰ تا ۳۰ بنویسید."),
                           ("سه", "یک عدد صحیح بنویسید (مثلاً ۳)."),
                           ("", "این خانه را پر کنید.")]:
        refused = panel.post(f"{url}/trigger", {"days_before": typed})
        assert refused.status_code == 200 and "فرم ذخیره نشد" in refused.text
        assert field_error(refused.text, "days_before") == problem, typed
        assert f'name="days_before" inputmode="numeric" class="short" value="{typed}"' \
            in refused.text
    assert params_of(factory, campaign) == {"days_before": 0}
    # Without this session's CSRF token: refused, nothing saved.
    assert panel.post(f"{url}/trigger", {"days_before": "۹"}, csrf="").status_code == 403
    assert params_of(factory, campaign) == {"days_before": 0}


def test_a_trigger_without_settings_has_no_form(panel, seeded, factory):
    cart = seeded.campaign_ids["abandoned_cart"]
    page = panel.get(f"/panel/campaigns/{cart}")
    assert 'id="trigger-params"' not in page.text
    assert panel.post(f"/panel/campaigns/{cart}/trigger", {"days_before": "3"}).status_code \
        == 404
    assert params_of(factory, cart) == {}


def test_another_stores_campaign_is_not_found(panel, seeded, factory, live_server):
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10,
                      headers=bearer(seeded.other)) as other_api:
        theirs = made(other_api, "replenishment")
    panel.get("/panel/campaigns")
    assert panel.get(f"/panel/campaigns/{theirs}").status_code == 404
    assert panel.post(f"/panel/campaigns/{theirs}/trigger", {"days_before": "9"}).status_code \
        == 404
    assert params_of(factory, theirs) == {"days_before": 3}
