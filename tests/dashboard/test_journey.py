"""A new merchant's first hour, in Chromium, with the panel alone: join by the link the platform
gave (a phone, the SMS code), connect the store in
one click (its WooCommerce is a fake on loopback that approves at once), see the plugin's first
cart arrive, enter the SMS gateway and send a test SMS (Kavenegar is a fake on loopback too) —
until the checklist gives way to the connection's health box. Photographed at both sizes."""

import pytest

from app.commerce.fake_woocommerce import FakeWooCommerce
from app.commerce.topics import WEBHOOK_TOPICS
from app.dashboard import join
from app.db import unit_of_work
from app.digits import persian_digits
from app.onboarding import open_store
from app.stores.schemas import StoreCreate
from tests.dashboard.conftest import sms_code
from tests.dashboard.test_browser import DESKTOP, PHONE, Merchant
from tests.helpers import StoreCreds, deliver, live_kavenegar

KAVENEGAR_KEY = "6A2F4B7C9D0E1F2A3B4C5D6E7F8A9B0C1D2E3F4A5B6C"


@pytest.fixture
def woo(clock):
    with FakeWooCommerce(clock=clock) as fake:
        fake.require_https_callback = False  # the live server is plain http on loopback
        yield fake


@pytest.fixture
def new_shop(factory, woo, clock):
    """A store just made by the platform: no member yet, a join link for its first owner."""
    with unit_of_work(factory) as session:
        store, _ = open_store(session, StoreCreate(name="گل‌فروشی تازه", url=woo.base_url))
        token = join.new_link(session, store_id=store.id, now=clock.now())
        return StoreCreds(store.id, "", store.webhook_secret), f"/panel/join/{token}"


def _ticked(merchant: Merchant, key: str) -> bool:
    return merchant.page.locator(f"#check-{key}").get_attribute("class") == "done"


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_a_new_merchant_reaches_a_connected_store_and_a_sent_test_sms(
        width, browser, live_server, new_shop, woo, client, factory, database_url, screenshots):
    folder = screenshots / database_url.split(":")[0].split("+")[0]
    folder.mkdir(parents=True, exist_ok=True)
    merchant = Merchant(browser, live_server.url, PHONE if width == "phone" else DESKTOP)
    try:
        shop, join_link = new_shop
        merchant.go(join_link)
        page = merchant.page
        page.fill("#name", "نگار")
        page.fill("#phone", "۰۹۳۵ ۰۰۰ ۱۲۳۴")
        page.click("button[type=submit]")
        page.wait_for_url("**/panel/login/code")
        page.fill("#code", persian_digits(sms_code(factory, "+989350001234")))
        page.click("button[type=submit]")
        page.wait_for_url(merchant.base_url + "/panel")
        assert not _ticked(merchant, "connect")

        # One click: off to the store's WooCommerce, approved there, back to the settings.
        page.click("#checklist-connect")
        page.wait_for_url("**/panel/settings?connect=done*")
        assert page.locator("#connect-done").is_visible()
        assert woo.issued_keys, "WooCommerce made no key"
        merchant.go("/panel")
        assert _ticked(merchant, "connect") and not _ticked(merchant, "plugin")

        # The companion plugin's first cart.
        assert deliver(client, shop, "bazgasht_cart.updated",
                       {"token": "t-1", "phone": "09121234567"}).status_code == 200
        merchant.go("/panel")
        assert _ticked(merchant, "plugin")
        page.screenshot(path=folder / f"journey-checklist-{width}.png", full_page=True)

        with live_kavenegar(live_server, KAVENEGAR_KEY) as kavenegar:
            page.click("#check-gateway a")
            page.wait_for_url("**/panel/settings#gateway")
            page.select_option("#sms_provider", "kavenegar")
            page.fill("#sms_api_key", KAVENEGAR_KEY)
            page.fill("#sms_sender", "۱۰۰۰۴۳۴۶")
            page.click("#gateway button.primary")
            page.wait_for_url("**/panel/settings?ok=*")
            merchant.go("/panel")
            assert _ticked(merchant, "gateway")

            page.click("#checklist-test-sms")
            page.wait_for_url("**/steps/*")
            page.fill("#test-send #phone", "۰۹۱۲ ۷۶۵ ۴۳۲۱")
            page.click("#test-send button[type=submit]")
            page.wait_for_url("**ok=test_sent*")
            [sms] = kavenegar.messages
            assert sms.receptor == "+989127654321" and "گل‌فروشی تازه" in sms.message

        merchant.go("/panel")
        assert page.locator("#checklist").count() == 0
        health = page.locator("#health")
        assert health.is_visible() and "کاوه‌نگار" in health.inner_text()
        assert health.locator("#health-topics .badge.on").count() == len(WEBHOOK_TOPICS)
        assert merchant.layout_problems() == []
        page.screenshot(path=folder / f"journey-health-{width}.png", full_page=True)
        assert merchant.errors == [], merchant.errors
    finally:
        merchant.close()
