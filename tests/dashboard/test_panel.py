"""The merchant panel over real HTTP: signing in and out, sessions and CSRF, what each page shows
of the seeded shop, and every form's Persian answer to a wrong value."""

import re
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from sqlalchemy import select

from app.admin.models import TestSend
from app.admin.preview import TEST_SEND_LOCALID_BASE
from app.campaigns.models import Campaign, CampaignStep
from app.contacts.models import Contact
from app.dashboard.auth import COOKIE
from app.dashboard.numbers import times
from app.messaging.fake_kavenegar import DEFAULT_LINE
from app.messaging.models import ConsoleSms
from app.stores.models import Store
from tests.campaigns import lost_orders
from tests.dashboard.seed import OPTED_OUT_PHONE
from tests.helpers import live_kavenegar


def location(response: httpx.Response) -> str:
    assert response.status_code in (303, 307), (response.status_code, response.text[:500])
    return response.headers["location"]


def text_of(response: httpx.Response) -> str:
    """The page's visible text, roughly: tags out, whitespace folded."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.text).split())


def campaign_row(home: httpx.Response, campaign_id: int) -> str:
    """The visible text of the home page's row of one campaign."""
    row = re.search(rf'<tr>\s*<td class="name" data-label="کمپین">'
                    rf'<a href="/panel/campaigns/{campaign_id}">.*?</tr>', home.text, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", row[0]).split())


# -- signing in and out ---------------------------------------------------------------------------

def test_a_forged_or_foreign_cookie_is_no_session(anonymous, seeded):
    anonymous.sign_in(seeded.store)
    mine = anonymous.http.cookies[COOKIE]
    assert len(mine) >= 43  # 256 random bits; the database holds only their hash
    for forged in (mine[:-3] + "abc", "x" * 43, f"{seeded.other.id}.{mine}", "x" * 500):
        anonymous.http.cookies.clear()
        anonymous.http.cookies.set(COOKIE, forged, path="/panel")
        assert location(anonymous.get("/panel")).startswith("/panel/login?reason=invalid")
    anonymous.http.cookies.clear()
    anonymous.http.cookies.set(COOKIE, mine, path="/panel")
    assert anonymous.get("/panel").status_code == 200


def test_rotating_the_api_key_leaves_panel_sessions_alone(panel, seeded, live_server):
    """The panel is entered with members' phones: a new API key changes nothing there."""
    rotated = httpx.post(f"{live_server.url}/api/v1/store/api-key",
                         headers={"Authorization": f"Bearer {seeded.store.api_key}"})
    assert rotated.status_code == 200
    assert panel.get("/panel/campaigns").status_code == 200


def test_rotating_from_the_panel_shows_the_new_key_once_and_keeps_this_session(panel, seeded,
                                                                               live_server):
    panel.get("/panel/settings")
    shown = panel.post("/panel/settings/api-key/rotate")
    new_key = re.search(r'<code id="new-api-key">([^<]+)</code>', shown.text)[1]
    assert new_key != seeded.store.api_key and shown.headers["cache-control"] == "no-store"
    assert panel.get("/panel/settings").status_code == 200  # this session goes on
    assert new_key not in panel.get("/panel/settings").text  # and the key is not shown again
    api = httpx.get(f"{live_server.url}/api/v1/store",
                    headers={"Authorization": f"Bearer {seeded.store.api_key}"})
    assert api.status_code == 401


def test_sign_out(panel):
    out = panel.post("/panel/logout")
    assert location(out) == "/panel/login?reason=signed_out"
    assert COOKIE not in panel.http.cookies
    assert location(panel.get("/panel")).startswith("/panel/login")


def test_every_post_needs_the_csrf_token_and_the_same_origin(panel, seeded):
    campaign = seeded.campaign_ids["abandoned_cart"]
    refused = panel.post(f"/panel/campaigns/{campaign}/pause", csrf="")
    assert refused.status_code == 403 and "فرم منقضی شده است" in refused.text
    forged = panel.post(f"/panel/campaigns/{campaign}/pause",
                        headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    login = panel.http.post("/panel/login", data={"phone": seeded.store.owner_phone,
                                                  "csrf": "x"})
    assert login.status_code == 403 and "فرم ورود منقضی شده بود" in login.text


def test_pages_send_strict_security_headers_and_versioned_assets(panel):
    page = panel.get("/panel")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    css = re.search(r'href="(/panel/static/panel\.css\?v=[0-9a-f]+)"', page.text)[1]
    asset = panel.http.get(css)
    assert asset.status_code == 200 and asset.headers["content-type"].startswith("text/css")
    assert "immutable" in asset.headers["cache-control"]
    assert panel.http.get("/panel/static/nothing.js").status_code == 404
    unknown = panel.get("/panel/nothing/here")
    assert unknown.status_code == 404 and "پیدا نشد" in unknown.text  # the panel's page, not JSON
    assert panel.get("/panel/campaigns/").headers["location"] == "/panel/campaigns"
    assert "http://" not in re.sub(r'href="http[^"]*"', "", page.text).split("<main>")[0]


# -- home -----------------------------------------------------------------------------------------

def test_home_shows_the_periods_figures_in_persian(panel):
    home = panel.get("/panel")
    body = text_of(home)
    assert re.search(r'id="fig-revenue">۸۰۰٬۰۰۰ تومان<', home.text)
    assert re.search(r'id="fig-orders">۲<', home.text)
    assert re.search(r'id="fig-sent">۴<', home.text)
    assert re.search(r'id="fig-cost">۷۱۰ تومان<', home.text)
    assert re.search(r'id="fig-ros">بیش از ۱۰۰ برابر<', home.text)  # 1,126.8: a tiny cost
    assert re.search(r'id="fig-click-rate">۷۵٪<', home.text)
    assert re.search(r'id="fig-opt-outs">۱<', home.text)
    assert "سبد رهاشده" in body and "پیشنهاد محصول مکمل" in body
    # The chart: one bar per day, Jalali labels, nothing of the other shop.
    assert home.text.count('class="bar revenue"') == 30
    assert re.search(r"<title>۱۴\d\d/\d\d/\d\d: ۳۰۰٬۰۰۰ تومان</title>", home.text)
    assert "۹٬۹۰۰٬۰۰۰" not in home.text and "9001" not in home.text


def test_home_takes_a_jalali_period_and_refuses_a_wrong_one_in_persian(panel):
    week = panel.get("/panel", days="7")
    assert week.text.count('class="bar revenue"') == 7
    wrong = panel.get("/panel", **{"from": "۱۴۰۵/۱۳/۴۰"})
    assert wrong.status_code == 200 and "تاریخ را به شکل ۱۴۰۵/۰۹/۰۱" in wrong.text
    backwards = panel.get("/panel", **{"from": "1405/09/10", "to": "1405/09/01"})
    assert "بازه درست نیست" in backwards.text
    jalali = panel.get("/panel", **{"from": "۱۴۰۵/۰۹/۰۱", "to": "۱۴۰۵/۰۹/۰۵"})
    assert "از <b>۱۴۰۵/۰۹/۰۱</b> تا <b>۱۴۰۵/۰۹/۰۵</b> (۵ روز)" in jalali.text
    # Five days drawn, or, with nothing in them (the shop's days are counted back from today),
    # said to be empty.
    assert (jalali.text.count('class="bar revenue"') == 5) != (
        "در این بازه هنوز درآمدی از پیامک‌ها نیست." in jalali.text)


def test_home_shows_a_lost_order_campaigns_lost_orders_beside_what_it_recovered(anonymous,
                                                                               shop):
    lost_orders.november(shop)  # six lost in November, three recovered (tests/campaigns)
    anonymous.sign_in(shop.store)
    home = anonymous.get("/panel", **{"from": "1405/08/10", "to": "1405/09/09"})
    lost, cart = (campaign_row(home, shop.campaign(kind).id)
                  for kind in ("lost_order", "abandoned_cart"))
    assert "۳ از ۶ سفارش پرداخت‌نشده" in lost and "۴٬۶۰۰٬۰۰۰ تومان" in lost
    assert "پرداخت‌نشده" not in cart  # the other kinds have no lost orders


# -- campaigns --------------------------------------------------------------------------------

def test_pause_and_resume_a_campaign(panel, seeded, factory):
    campaign = seeded.campaign_ids["abandoned_cart"]
    listing = panel.get("/panel/campaigns")
    assert "سبد رهاشده" in listing.text and "بازگرداندن مشتری" in listing.text
    assert location(panel.post(f"/panel/campaigns/{campaign}/pause")).endswith(
        f"?ok=paused&campaign={campaign}")
    with factory() as session:
        assert session.get(Campaign, campaign).active is False
    assert "کمپین متوقف شد" in panel.get("/panel/campaigns", ok="paused").text
    assert location(panel.post(f"/panel/campaigns/{campaign}/resume", {"back": "campaign"})) \
        == f"/panel/campaigns/{campaign}?ok=resumed&campaign={campaign}"
    with factory() as session:
        assert session.get(Campaign, campaign).active is True


def test_another_stores_campaign_is_not_found(panel, seeded):
    other = seeded.other_campaign_id
    page = panel.get(f"/panel/campaigns/{other}")
    assert page.status_code == 404 and "پیدا نشد" in page.text
    assert panel.post(f"/panel/campaigns/{other}/pause").status_code == 404
    assert panel.get("/panel/campaigns/abc").status_code == 404


def _first_step(factory, campaign_id: int) -> CampaignStep:
    with factory() as session:
        return session.scalars(select(CampaignStep).where(CampaignStep.campaign_id == campaign_id)
                               .order_by(CampaignStep.position)).first()


def _step_form(**changes) -> dict:
    return {"delay_value": "2", "delay_unit": "hours", "template": "سلام {{ first_name }} {{ link }}",
            "coupon_mode": "none", "discount_type": "percent", "expires_days": "3",
            "on_failure": "hold", "action": "save"} | changes


def test_edit_a_step_with_persian_digits_and_a_personal_coupon(panel, seeded, factory):
    campaign = seeded.campaign_ids["abandoned_cart"]
    step = _first_step(factory, campaign)
    url = f"/panel/campaigns/{campaign}/steps/{step.id}"
    editor = panel.get(url)
    assert editor.status_code == 200 and "هزینهٔ تخمینی" in editor.text
    assert 'id="within_value" name="within_value" value="۱۲"' in editor.text  # hours
    saved = panel.post(url, _step_form(delay_value="۳", coupon_mode="personal", amount="۱۰",
                                       expires_days="۵", within_value="۶", within_unit="hours"))
    assert location(saved) == f"{url}?ok=saved"
    with factory() as session:
        stored = session.get(CampaignStep, step.id)
        assert stored.delay_minutes == 180 and stored.template.startswith("سلام")
        assert stored.send_within_minutes == 360
        assert stored.coupon["mode"] == "personal" and stored.coupon["amount"] == "10"
        assert stored.coupon["expires_days"] == 5


def test_a_fixed_code_is_looked_up_in_the_store_when_the_step_is_saved(panel, seeded, factory):
    """With the store's REST keys the code must exist there (refused in Persian if not);
    without them it is saved, and the editor says it could not be checked."""
    from app.commerce.fake_woocommerce import FakeWooCommerce
    from tests.factories import store_settings

    campaign = seeded.campaign_ids["abandoned_cart"]
    step = _first_step(factory, campaign)
    url = f"/panel/campaigns/{campaign}/steps/{step.id}"
    with FakeWooCommerce() as woo:
        store_settings(factory, seeded.store.id, url=woo.base_url,
                       wc_consumer_key=woo.consumer_key, wc_consumer_secret=woo.consumer_secret)
        panel.get(url)
        refused = panel.post(url, _step_form(coupon_mode="fixed", coupon_code="off5"))
        assert refused.status_code == 200 and "?ok=saved" not in refused.headers.get("location", "")
        assert "این کد تخفیف در فروشگاه ووکامرس شما نیست" in refused.text
        assert "does not exist in the store" in refused.text
        woo.add_coupon("off5", amount="5")
        saved = panel.post(url, _step_form(coupon_mode="fixed", coupon_code="off5"))
        assert location(saved) == f"{url}?ok=saved"
        assert 'id="unchecked-codes"' not in panel.get(url).text
    store_settings(factory, seeded.store.id, wc_consumer_key=None, wc_consumer_secret=None)
    saved = panel.post(url, _step_form(coupon_mode="fixed", coupon_code="nowhere7"))
    assert location(saved) == f"{url}?ok=saved"
    editor = panel.get(saved.headers["location"])
    assert 'id="unchecked-codes"' in editor.text and "nowhere7" in editor.text
    assert 'id="unchecked-codes"' in panel.get(f"/panel/campaigns/{campaign}").text


def test_the_step_form_answers_in_persian(panel, seeded, factory):
    campaign = seeded.campaign_ids["abandoned_cart"]
    step = _first_step(factory, campaign)
    url = f"/panel/campaigns/{campaign}/steps/{step.id}"
    panel.get(url)
    refused = panel.post(url, _step_form(delay_value="دو", template="",
                                         coupon_mode="fixed", coupon_code="off 5"))
    assert refused.status_code == 200
    for words in ("یک عدد صحیح بنویسید", "این خانه را پر کنید", "کد تخفیف نباید فاصله داشته باشد"):
        assert words in refused.text
    assert 'value="دو"' in refused.text  # the form comes back as the merchant left it
    unknown = panel.post(url, _step_form(template="سلام {{ nam }}"))
    assert unknown.status_code == 200 and "متن پیامک ایراد دارد" in unknown.text
    variants = panel.post(url, list(_step_form().items()) + [
        ("variant_name", "A"), ("variant_weight", "0"), ("variant_template", "الف {{ link }}"),
        ("variant_name", "A"), ("variant_weight", "0"), ("variant_template", "ب {{ link }}")])
    assert "نام «A» دو بار آمده است" in variants.text
    with factory() as session:
        assert session.get(CampaignStep, step.id).template == step.template


def test_ab_variants_are_saved_and_previewed(panel, seeded, factory):
    campaign = seeded.campaign_ids["abandoned_cart"]
    step = _first_step(factory, campaign)
    url = f"/panel/campaigns/{campaign}/steps/{step.id}"
    panel.get(url)
    saved = panel.post(url, list(_step_form().items()) + [
        ("variant_name", "A"), ("variant_weight", "۷۰"), ("variant_template", "الف {{ link }}"),
        ("variant_name", "B"), ("variant_weight", "30"), ("variant_template", "ب {{ store_name }}"),
        ("variant_name", ""), ("variant_weight", "50"), ("variant_template", "")])
    assert location(saved) == f"{url}?ok=saved"
    with factory() as session:
        assert session.get(CampaignStep, step.id).variants == [
            {"name": "A", "template": "الف {{ link }}", "weight": 70},
            {"name": "B", "template": "ب {{ store_name }}", "weight": 30}]
    editor = panel.get(url)
    assert "ب چای‌خانه" in editor.text  # variant B's preview, rendered server-side


def test_the_live_preview_renders_the_typed_text_with_sample_data(panel, seeded, factory,
                                                                  live_server):
    campaign = seeded.campaign_ids["abandoned_cart"]
    step = _first_step(factory, campaign)
    url = f"/panel/campaigns/{campaign}/steps/{step.id}/preview"
    panel.get(f"/panel/campaigns/{campaign}/steps/{step.id}")
    fragment = panel.post(url, _step_form(preview_template="{{ first_name }} جان، کد {{ coupon_code }}",
                                          coupon_mode="fixed", coupon_code="off5"),
                          headers={"X-CSRF-Token": panel.csrf, "X-Requested-With": "fetch"})
    assert fragment.status_code == 200
    assert "جان، کد off5" in fragment.text and "لغو۱۱" in fragment.text
    assert re.search(r'class="parts">[۱-۹] بخش', fragment.text)
    assert "هزینهٔ تخمینی" in fragment.text
    broken = panel.post(url, _step_form(preview_template="{{ first_name"))
    assert "متن پیامک ایراد دارد" in broken.text
    anonymous = httpx.post(f"{live_server.url}{url}",
                           headers={"X-Requested-With": "fetch"})
    assert anonymous.status_code == 401


def test_a_test_sms_goes_through_the_stores_gateway(panel, seeded, factory):
    campaign = seeded.campaign_ids["abandoned_cart"]
    step = _first_step(factory, campaign)
    url = f"/panel/campaigns/{campaign}/steps/{step.id}"
    panel.get(url)
    sent = panel.post(f"{url}/test-send", {"phone": "۰۹۱۲ ۷۶۵ ۴۳۲۱"})
    assert location(sent) == f"{url}?ok=test_sent#test-send"
    with factory() as session:
        [row] = session.scalars(select(TestSend)).all()
        [sms] = session.scalars(select(ConsoleSms).where(
            ConsoleSms.localid == str(TEST_SEND_LOCALID_BASE + row.id))).all()
    assert sms.receptor == "+989127654321" and sms.localid == str(TEST_SEND_LOCALID_BASE + row.id)
    assert "لغو۱۱" in sms.text
    bad = panel.post(f"{url}/test-send", {"phone": "021-4455"})
    assert bad.status_code == 200 and "این شمارهٔ موبایل معتبر نیست" in bad.text
    opted = panel.post(f"{url}/test-send", {"phone": OPTED_OUT_PHONE})
    assert "لغو عضویت کرده است" in opted.text


# -- activity ---------------------------------------------------------------------------------

def test_the_message_log_shows_who_status_click_and_order(panel):
    log = panel.get("/panel/activity")
    assert log.status_code == 200
    body = text_of(log)
    assert "۰۹۳۵ ۱۱۱ ۲۲۳۳" in body and "سارا محمدی" in body
    assert "سفارش ۱۴۰۱" in body and "۵۰۰٬۰۰۰ تومان" in body
    assert "رسید" in body and "✔ ۱" in body
    only_skipped = panel.get("/panel/activity", tab="messages", status="skipped")
    assert only_skipped.text.count('<li class="msg"') == 1
    assert "مخاطب لغو عضویت کرده است" in text_of(only_skipped)


def test_upcoming_and_held_with_when_and_why(panel):
    page = text_of(panel.get("/panel/activity", tab="upcoming"))
    assert "در نوبت" in page and "فروشگاه نتوانست کد تخفیف را بسازد" in page
    assert "the store did not answer" in page  # the particulars, folded under «جزئیات فنی»
    assert "در انتظار زمان این مرحله" in page  # the scheduled one waits for its step's time
    assert "مخاطب لغو عضویت کرده است" not in page  # skipped: in the log, not here


def test_survey_answers_with_ratings_and_comments(panel):
    page = panel.get("/panel/activity", tab="surveys")
    assert "بسته دیر رسید" in page.text and 'aria-label="۲ از ۵"' in page.text


# -- contacts ---------------------------------------------------------------------------------

def test_find_a_phone_in_any_digits_see_its_history_and_opt_it_out(panel, seeded, factory):
    for typed in ("۰۹۳۵۱۱۱۲۲۳۳", "+98 935 111 2233", "٠٩٣٥١١١٢٢٣٣", "9351112233"):
        found = panel.get("/panel/contacts", phone=typed)
        assert f"/panel/contacts/{seeded.contact_id}" in found.text, typed
    missing = panel.get("/panel/contacts", phone="09350000000")
    assert "این شماره در فروشگاه شما نیست" in missing.text
    wrong = panel.get("/panel/contacts", phone="12")
    assert "این شمارهٔ موبایل معتبر نیست" in wrong.text

    history = panel.get(f"/panel/contacts/{seeded.contact_id}")
    assert "سبد خریدت در چای‌خانه منتظرته" in history.text and "۱۴۰۱" in history.text
    out = panel.post(f"/panel/contacts/{seeded.contact_id}/opt-out")
    assert location(out) == f"/panel/contacts/{seeded.contact_id}?ok=opted_out"
    with factory() as session:
        contact = session.get(Contact, seeded.contact_id)
        assert contact.opted_out_at is not None and contact.opt_out_source == "merchant"
    page = panel.get(f"/panel/contacts/{seeded.contact_id}", ok="opted_out")
    assert "لغو عضویت شد" in page.text and "به دست فروشنده" in page.text
    back = panel.post(f"/panel/contacts/{seeded.contact_id}/opt-in")
    assert location(back).endswith("?ok=opted_in")


def test_opt_out_an_unknown_phone(panel, factory, seeded):
    panel.get("/panel/contacts")
    refused = panel.post("/panel/contacts/opt-out", {"opt_out_phone": "abc"})
    assert refused.status_code == 200 and "این شمارهٔ موبایل معتبر نیست" in refused.text
    done = panel.post("/panel/contacts/opt-out", {"opt_out_phone": "۰۹۱۹ ۸۸۸ ۷۷۶۶"})
    assert "ok=opted_out" in location(done)
    with factory() as session:
        contact = session.scalar(select(Contact).where(Contact.phone == "+989198887766"))
    assert contact.store_id == seeded.store.id and contact.opted_out_at is not None


# -- settings ---------------------------------------------------------------------------------

def test_sending_rules_are_saved_and_wrong_ones_explained_in_persian(panel, seeded, factory):
    settings = panel.get("/panel/settings")
    assert "/webhooks/woocommerce/" in settings.text
    assert seeded.store.webhook_secret not in settings.text  # only on request
    form = [("send_from", "۱۰:۰۰"), ("send_until", "22:30"), ("cap_per_day", "۲"),
            ("cap_per_week", "5"), ("attribution_window_days", "7"), ("opt_out_text", "لغو۱۱"),
            ("weekday", "5"), ("weekday", "6"), ("weekday", "0")]
    assert location(panel.post("/panel/settings/sending", form)) == \
        "/panel/settings?ok=sending#sending"
    with factory() as session:
        store = session.get(Store, seeded.store.id)
        assert (store.send_from_minute, store.send_until_minute) == (600, 1350)
        assert store.send_weekdays == [0, 5, 6] and store.cap_per_day == 2
        assert store.attribution_window_days == 7
    wrong = panel.post("/panel/settings/sending", [
        ("send_from", "22:00"), ("send_until", "۹"), ("cap_per_day", "5"), ("cap_per_week", "2"),
        ("attribution_window_days", "200"), ("opt_out_text", "")])
    assert wrong.status_code == 200
    for words in ("ساعت شروع ارسال باید پیش از ساعت پایان آن باشد",
                  "دست‌کم یک روز هفته را برای ارسال انتخاب کنید",
                  "سقف هفتگی نباید از سقف روزانه کمتر باشد", "عددی از ۱ تا ۹۰ بنویسید",
                  "این خانه را پر کنید"):
        assert words in wrong.text, words
    assert 'value="۲۲:۰۰"' in wrong.text


def test_the_panel_says_when_woocommerce_signs_with_another_secret(panel, seeded, client,
                                                                    live_server):
    from tests.helpers import deliver

    page = panel.get("/panel/settings")
    assert 'id="rejected-deliveries"' not in page.text and 'id="webhook-topics"' in page.text
    deliver(client, seeded.store, "order.updated", {"id": 1}, secret="an-old-secret")
    live_server.app.state.rejection_recorder.flush()
    page = panel.get("/panel/settings")
    assert 'id="rejected-deliveries"' in page.text and "امضای نادرست" in page.text
    assert "کلید را در هر وب‌هوک دوباره وارد کنید" in page.text


def test_the_webhook_secret_and_plugin_code_are_shown_only_when_asked(panel, seeded):
    from app.stores.plugin import CONNECTION_PREFIX

    page = panel.get("/panel/settings")
    assert seeded.store.webhook_secret not in page.text and CONNECTION_PREFIX not in page.text
    assert 'href="/plugin/bazgasht.zip"' in page.text  # the plugin is one click away
    shown = panel.post("/panel/settings/webhook/show")
    assert seeded.store.webhook_secret in shown.text and "گام به گام" in shown.text
    assert 'id="connection-code">' + CONNECTION_PREFIX in shown.text


def test_gateway_credentials_are_write_only(panel, seeded, factory):
    panel.get("/panel/settings")
    missing = panel.post("/panel/settings/gateway", {"sms_provider": "kavenegar"})
    assert missing.status_code == 200 and "این خانه را پر کنید" in missing.text
    saved = panel.post("/panel/settings/gateway", {"sms_provider": "kavenegar",
                                                   "sms_api_key": "secret-kavenegar-key-1",
                                                   "sms_sender": "۱۰۰۰۴۳۴۶"})
    assert "ok=gateway" in location(saved)
    page = panel.get("/panel/settings")
    assert "secret-kavenegar-key-1" not in page.text and "ثبت شده" in page.text
    with factory() as session:
        store = session.get(Store, seeded.store.id)
        assert store.sms_api_key == "secret-kavenegar-key-1" and store.sms_sender == "10004346"
    # An empty key keeps the one stored.
    panel.post("/panel/settings/gateway", {"sms_provider": "kavenegar", "sms_sender": "10004346"})
    with factory() as session:
        assert session.get(Store, seeded.store.id).sms_api_key == "secret-kavenegar-key-1"


def test_a_second_provider_is_named_and_removed_in_the_gateway_form(panel, seeded, factory):
    panel.get("/panel/settings")
    first = {"sms_provider": "kavenegar", "sms_api_key": "secret-kavenegar-key-1",
             "sms_sender": "10004346"}
    same = panel.post("/panel/settings/gateway", first | {"sms_fallback_provider": "kavenegar",
                                                          "sms_fallback_api_key": "x" * 12})
    assert same.status_code == 200 and "سرویس دوم باید سرویسی جز سرویس اول باشد" in same.text
    keyless = panel.post("/panel/settings/gateway", first | {"sms_fallback_provider": "smsir"})
    assert keyless.status_code == 200 and "این خانه را پر کنید" in keyless.text
    saved = panel.post("/panel/settings/gateway", first | {
        "sms_fallback_provider": "smsir", "sms_fallback_api_key": "secret-smsir-key-22",
        "sms_fallback_sender": "۳۰۰۰۴۵۰۵"})
    assert "ok=gateway" in location(saved)
    page = panel.get("/panel/settings")
    assert "secret-smsir-key-22" not in page.text
    with factory() as session:
        store = session.get(Store, seeded.store.id)
        assert (store.sms_fallback_provider, store.sms_fallback_api_key,
                store.sms_fallback_sender) == ("smsir", "secret-smsir-key-22", "30004505")
    panel.post("/panel/settings/gateway", first | {"sms_fallback_provider": ""})
    with factory() as session:
        store = session.get(Store, seeded.store.id)
        assert (store.sms_fallback_provider, store.sms_fallback_api_key) == (None, None)


def test_with_kavenegar_the_gateway_section_shows_the_receive_url_and_where_to_paste_it(
        panel, seeded, live_server):
    from app import server_key
    from app.messaging.kavenegar_push import receive_url

    assert 'id="receive-url"' not in panel.get("/panel/settings").text  # the console: none
    panel.post("/panel/settings/gateway", {"sms_provider": "kavenegar",
                                           "sms_api_key": "secret-kavenegar-key-1",
                                           "sms_sender": "10004346"})
    page = panel.get("/panel/settings")
    url = receive_url(live_server.url, server_key.of_app(live_server.app), seeded.store.id)
    assert f'id="receive-url">{url}</code>' in page.text
    assert "URL دریافت لحظه‌ای" in page.text and "پنل کاوه‌نگار" in page.text


def test_woocommerce_keys_are_checked_and_write_only(panel, seeded, factory):
    panel.get("/panel/settings")
    wrong = panel.post("/panel/settings/woocommerce", {"wc_consumer_key": "abc12345",
                                                       "wc_consumer_secret": ""})
    assert "کلید مصرف‌کننده با ck_ شروع می‌شود" in wrong.text and "این خانه را پر کنید" in wrong.text
    key, secret = "ck_" + "a1" * 20, "cs_" + "b2" * 20
    saved = panel.post("/panel/settings/woocommerce", {"wc_consumer_key": key,
                                                       "wc_consumer_secret": secret})
    assert "ok=woocommerce" in location(saved)
    page = panel.get("/panel/settings")
    assert key not in page.text and secret not in page.text


KEY = "panel-kavenegar-key-01"


@pytest.fixture
def kavenegar(live_server):
    with live_kavenegar(live_server, KEY, credit=123_450_000) as fake:
        yield fake


def test_check_connection_shows_the_remaining_credit(panel, kavenegar):
    panel.get("/panel/settings")
    console = panel.post("/panel/settings/gateway/check")
    assert "درگاه آزمایشی است" in console.text
    panel.post("/panel/settings/gateway", {"sms_provider": "kavenegar", "sms_api_key": KEY,
                                           "sms_sender": DEFAULT_LINE})
    checked = panel.post("/panel/settings/gateway/check")
    assert "اعتبار باقی‌ماندهٔ حساب" in checked.text and "۱۲٬۳۴۵٬۰۰۰ تومان" in checked.text
    panel.post("/panel/settings/gateway", {"sms_provider": "kavenegar",
                                           "sms_api_key": "wrong-key-123"})
    refused = panel.post("/panel/settings/gateway/check")
    assert "اتصال برقرار نشد" in refused.text and "wrong-key-123" not in refused.text


def test_check_connection_asks_the_second_provider_too(panel, kavenegar, live_server):
    from app.messaging.fake_smsir import FakeSmsIr
    from app.messaging.gateway import Gateways

    state = live_server.app.state
    with FakeSmsIr(api_key="panel-smsir-key-0001") as smsir:
        own, state.gateways = state.gateways, Gateways(
            state.sessionmaker, kavenegar_base_url=kavenegar.base_url,
            base_urls={"smsir": f"{smsir.base_url}/v1"}, read_timeout=2)
        try:
            panel.get("/panel/settings")
            panel.post("/panel/settings/gateway", {
                "sms_provider": "kavenegar", "sms_api_key": KEY, "sms_sender": DEFAULT_LINE,
                "sms_fallback_provider": "smsir", "sms_fallback_api_key": "not-its-key-0001"})
            checked = panel.post("/panel/settings/gateway/check")
        finally:
            state.gateways = own
    second = text_of(checked).split("سرویس دوم (")[-1]
    assert "اعتبار باقی‌ماندهٔ حساب" in checked.text  # the first answers
    assert "اتصال برقرار نشد" in second and "not-its-key-0001" not in checked.text


def test_a_campaign_with_a_personal_code_says_it_needs_the_stores_keys(panel, seeded, factory):
    """The lost-order campaign's second step makes a personal code through the store's REST
    keys: until they are saved, its page says why that step's SMS waits."""
    from app.db import unit_of_work
    from tests.factories import store_settings

    campaign = seeded.campaign_ids["abandoned_cart"]
    with unit_of_work(factory) as session:
        step = session.scalars(select(CampaignStep).where(
            CampaignStep.campaign_id == campaign).order_by(CampaignStep.position)).first()
        step.coupon = {"mode": "personal", "discount_type": "percent", "amount": "5"}
    page = text_of(panel.get(f"/panel/campaigns/{campaign}"))
    assert "کلیدها را در تنظیمات" in page
    store_settings(factory, seeded.store.id, wc_consumer_key="ck_" + "a" * 40,
                   wc_consumer_secret="cs_" + "b" * 40)
    assert "کلیدها را در تنظیمات" not in text_of(panel.get(f"/panel/campaigns/{campaign}"))


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example",
                                    "/\\/evil.example", "javascript:alert(1)", "/panel@evil.example",
                                    "\t//evil.example"])
def test_signing_in_never_redirects_off_the_panel(anonymous, seeded, target):
    where = location(anonymous.sign_in(seeded.store, next=target))
    # Where a browser goes: resolved against the panel's own address, it stays there.
    resolved = urlsplit(urljoin("https://bazgasht.test/panel/login", where))
    assert (resolved.scheme, resolved.netloc) == ("https", "bazgasht.test"), where
    assert resolved.path.startswith("/panel"), where


@pytest.mark.parametrize("ratio, shown", [
    (None, "—"),                      # nothing spent: no ratio to speak of
    (0.0, "۰ برابر"), (0.45, "۰٫۵ برابر"), (2.5, "۲٫۵ برابر"), (23.4, "۲۳ برابر"),
    (99.6, "۱۰۰ برابر"), (100, "بیش از ۱۰۰ برابر"), (2316.0, "بیش از ۱۰۰ برابر")])
def test_return_on_spend_reads_as_a_merchant_would_say_it(ratio, shown):
    assert times(ratio) == shown
