"""In Chromium: a new store's checklist, which a merchant follows to a test SMS, and a paused
store's banner, at a phone's width and a laptop's (screenshots in tests/artifacts)."""

import pytest

from app.db import unit_of_work
from app.messaging.models import ConsoleSms
from app.stores.models import Store
from tests.dashboard.test_browser import DESKTOP, PHONE, Merchant, merchant_at  # noqa: F401 (fixture)
from tests.helpers import create_store


@pytest.fixture
def newcomer_at(browser, live_server, factory):
    with unit_of_work(factory) as session:
        store = create_store(session, name="گل‌فروشی تازه", url="https://shop.example")
    opened = []

    def open_at(viewport: dict) -> Merchant:
        merchant = Merchant(browser, live_server.url, viewport)
        merchant.sign_in(store.owner_phone, factory)
        opened.append(merchant)
        return merchant

    yield open_at
    for merchant in opened:
        assert merchant.errors == [], merchant.errors
        merchant.close()


def _folder(screenshots, database_url):
    folder = screenshots / database_url.split(":")[0].split("+")[0]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _fits(merchant: Merchant) -> None:
    assert merchant.layout_problems() == []


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_a_new_merchant_follows_the_checklist_to_a_test_sms(width, newcomer_at, factory,
                                                           database_url, screenshots):
    merchant = newcomer_at(PHONE if width == "phone" else DESKTOP)
    page = merchant.page
    checklist = page.locator("#checklist")
    assert checklist.is_visible()
    assert page.locator("#check-connect .tick").inner_text() == ""
    assert page.locator("#check-hours .tick").inner_text() == "✓"
    _fits(merchant)
    page.screenshot(path=_folder(screenshots, database_url) / f"checklist-{width}.png",
                    full_page=True)

    page.click("#checklist-test-sms")
    page.wait_for_url("**/steps/*")
    page.fill("#test-send #phone", "۰۹۱۲ ۷۶۵ ۴۳۲۱")
    page.click("#test-send button[type=submit]")
    page.wait_for_url("**ok=test_sent*")
    with factory() as session:
        assert session.query(ConsoleSms).filter_by(receptor="+989127654321").count() == 1

    merchant.go("/panel")
    assert page.locator("#check-test_sms .tick").inner_text() == "✓"


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_a_paused_store_sees_why_on_every_page(width, merchant_at, seeded, factory, clock,  # noqa: F811
                                               database_url, screenshots):
    with unit_of_work(factory) as session:
        store = session.get(Store, seeded.store.id)
        store.sending_paused_at = clock.now()
        store.sending_paused_reason = "418: credit is not enough"
    merchant = merchant_at(PHONE if width == "phone" else DESKTOP)
    for path in ("/panel", "/panel/campaigns", "/panel/settings"):
        merchant.go(path)
        banner = merchant.page.locator("#banner-paused")
        assert banner.is_visible() and "متوقف" in banner.inner_text()
        _fits(merchant)
    merchant.go("/panel/campaigns")
    merchant.page.screenshot(path=_folder(screenshots, database_url) / f"banner-{width}.png")
