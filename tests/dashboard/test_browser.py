"""The panel in real headless Chromium (Debian's package, driven by Playwright): what a merchant
does with it, at a phone's width and a laptop's. Every page is photographed into
tests/artifacts/screenshots/<backend>/ and must log no error in the browser console, lay out
right to left and never be wider than the screen.

Without /usr/bin/chromium these tests skip, except in CI (CI=true), where they fail.
"""

from pathlib import Path

import pytest
from sqlalchemy import select

try:  # the browser fixture skips (or fails in CI) without Playwright
    from playwright.sync_api import expect
except ImportError:
    expect = None

from app.campaigns.models import CampaignStep
from app.contacts.models import Contact
from app.db import unit_of_work
from app.messaging.models import ConsoleSms
from tests.dashboard.conftest import sms_code
from tests.dashboard.seed import CAMPAIGN_PERIOD, CUSTOMER_PHONE, seed_campaign_history

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}


class Merchant:
    """One browser tab of a merchant, with everything the console said."""

    def __init__(self, browser, base_url: str, viewport: dict):
        self.base_url = base_url
        self.context = browser.new_context(viewport=viewport, locale="fa-IR",
                                           device_scale_factor=1)
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.errors: list[str] = []
        self.page.on("console", lambda msg: self.errors.append(f"console: {msg.text}")
                     if msg.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))

    def go(self, path: str):
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.status < 400, (path, response and response.status)
        return self.page

    def sign_in(self, phone: str, factory) -> None:
        """The phone, then the code of the SMS the console gateway recorded, as a person
        types them."""
        self.go("/panel/login")
        self.page.fill("#phone", phone)
        self.page.click("button[type=submit]")
        self.page.wait_for_url("**/panel/login/code")
        self.page.fill("#code", sms_code(factory, phone))
        self.page.click("button[type=submit]")
        self.page.wait_for_url(self.base_url + "/panel")

    def layout_problems(self) -> list[str]:
        return self.page.evaluate("""() => {
            const found = [];
            const root = document.documentElement;
            if (root.dir !== "rtl") found.push("not rtl");
            if (root.scrollWidth > root.clientWidth + 1)
                found.push(`page is ${root.scrollWidth}px wide in a ${root.clientWidth}px screen`);
            return found;
        }""")

    def close(self):
        self.context.close()


@pytest.fixture
def merchant_at(browser, live_server, seeded, factory):
    opened = []

    def open_at(viewport: dict) -> Merchant:
        merchant = Merchant(browser, live_server.url, viewport)
        merchant.sign_in(seeded.store.owner_phone, factory)
        opened.append(merchant)
        return merchant

    yield open_at
    for merchant in opened:
        assert merchant.errors == [], merchant.errors
        merchant.close()


@pytest.fixture
def merchant(merchant_at) -> Merchant:
    return merchant_at(DESKTOP)


def _first_step(factory, campaign_id: int) -> CampaignStep:
    with factory() as session:
        return session.scalars(select(CampaignStep).where(CampaignStep.campaign_id == campaign_id)
                               .order_by(CampaignStep.position)).first()


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_every_page_lays_out_right_to_left_without_errors(width, merchant_at, seeded, factory,
                                                         database_url, screenshots):
    merchant = merchant_at(PHONE if width == "phone" else DESKTOP)
    cart = seeded.campaign_ids["abandoned_cart"]
    step = _first_step(factory, cart)
    pages = [("home", "/panel"), ("campaigns", "/panel/campaigns"),
             ("campaign", f"/panel/campaigns/{cart}"),
             ("step-editor", f"/panel/campaigns/{cart}/steps/{step.id}"),
             ("activity-messages", "/panel/activity"),
             ("activity-upcoming", "/panel/activity?tab=upcoming"),
             ("activity-surveys", "/panel/activity?tab=surveys"),
             ("contacts", "/panel/contacts"), ("contact", f"/panel/contacts/{seeded.contact_id}"),
             ("settings", "/panel/settings"), ("retention", "/panel/retention"),
             ("reorders", "/panel/reorders?days=30")]
    folder = screenshots / database_url.split(":")[0].split("+")[0]
    folder.mkdir(exist_ok=True)
    for name, path in pages:
        page = merchant.go(path)
        page.wait_for_load_state("networkidle")
        assert merchant.layout_problems() == [], (name, width)
        page.screenshot(path=folder / f"{name}-{width}.png", full_page=True)
    # And the sign-in page, signed out.
    merchant.page.click("text=خروج")
    merchant.page.wait_for_url("**/panel/login?reason=signed_out")
    assert merchant.layout_problems() == []
    merchant.page.screenshot(path=folder / f"login-{width}.png", full_page=True)


def test_the_home_figures_match_the_seeded_shop(merchant):
    page = merchant.page
    figures = {name: page.inner_text(f"#fig-{name}").strip() for name in
               ("revenue", "orders", "sent", "cost", "ros", "click-rate", "opt-outs")}
    assert figures == {"revenue": "۸۰۰٬۰۰۰ تومان", "orders": "۲", "sent": "۴",
                       "cost": "۷۱۰ تومان", "ros": "بیش از ۱۰۰ برابر", "click-rate": "۷۵٪",
                       "opt-outs": "۱"}
    assert page.locator("svg.plot rect.bar.revenue").count() == 30
    rows = page.locator("#campaign-table tbody tr")
    assert "سبد رهاشده" in rows.first.inner_text()
    page.click("text=۷ روز اخیر")
    page.wait_for_url("**/panel?days=7")
    assert page.locator("svg.plot rect.bar.revenue").count() == 7


def test_a_test_sms_reaches_the_gateway(merchant, seeded, factory):
    cart = seeded.campaign_ids["abandoned_cart"]
    step = _first_step(factory, cart)
    page = merchant.go(f"/panel/campaigns/{cart}/steps/{step.id}")
    page.fill("#phone", "۰۹۱۲ ۷۶۵ ۴۳۲۱")
    page.click("#test-send button[type=submit]")
    page.wait_for_url("**ok=test_sent#test-send")
    assert "پیامک آزمایشی فرستاده شد" in page.inner_text(".alert.ok")
    with factory() as session:
        [sms] = session.scalars(select(ConsoleSms).where(
            ConsoleSms.receptor == "+989127654321")).all()
    assert sms.receptor == "+989127654321" and "عزیز" in sms.text


def test_opt_a_contact_out(merchant, seeded, factory):
    page = merchant.go("/panel/contacts")
    page.fill("#phone", "۰۹۳۵ ۱۱۱ ۲۲۳۳")
    page.click("form.search button[type=submit]")
    page.click(f"a[href='/panel/contacts/{seeded.contact_id}']")
    assert page.inner_text("#consent") == "عضو"
    page.click("#opt-out")
    page.wait_for_url("**ok=opted_out")
    assert page.inner_text("#consent") == "لغو عضویت"
    with factory() as session:
        contact = session.scalar(select(Contact).where(Contact.phone == CUSTOMER_PHONE))
    assert contact.opted_out_at is not None


def test_forms_explain_mistakes_in_persian(merchant, browser, live_server):
    page = merchant.go("/panel/settings")
    page.fill("#send_from", "۲۵:۰۰")
    page.fill("#cap_per_day", "سه")
    page.click("#sending button[type=submit]")
    errors = page.locator("#sending .field-error").all_inner_texts()
    assert "ساعت را به شکل ۰۹:۰۰ بنویسید (از ۰۰:۰۰ تا ۲۴:۰۰)." in errors
    assert "یک عدد صحیح بنویسید (مثلاً ۳)." in errors
    assert "فرم ذخیره نشد" in page.inner_text("#sending .alert.error")
    # Signing in with a landline, in another browser: said next to the field, kept as typed.
    stranger = browser.new_context(viewport=PHONE)
    try:
        tab = stranger.new_page()
        tab.goto(live_server.url + "/panel/login")
        tab.fill("#phone", "۰۲۱ ۴۴۵۵ ۶۶۷۷")
        tab.click("button[type=submit]")
        assert "این شمارهٔ موبایل معتبر نیست" in tab.inner_text("#phone-error .field-error")
        assert tab.input_value("#phone") == "۰۲۱ ۴۴۵۵ ۶۶۷۷"
    finally:
        stranger.close()


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_a_campaigns_figures_fit_the_screen_and_its_csv_downloads(width, merchant_at, seeded,
                                                                  factory, database_url,
                                                                  screenshots):
    with unit_of_work(factory) as session:
        seed_campaign_history(session, seeded.store.id)
    merchant = merchant_at(PHONE if width == "phone" else DESKTOP)
    cart = seeded.campaign_ids["abandoned_cart"]
    page = merchant.go(f"/panel/campaigns/{cart}")
    # The merchant types the period in Jalali, in Persian digits.
    page.fill("#report form.period input[name=from]", CAMPAIGN_PERIOD["from"])
    page.fill("#report form.period input[name=to]", CAMPAIGN_PERIOD["to"])
    page.click("#report form.period button[type=submit]")
    page.wait_for_url(f"**/panel/campaigns/{cart}?from=*")
    assert page.inner_text("#fig-revenue .now") == "۶۰۰٬۰۰۰ تومان"
    assert page.inner_text("#fig-revenue .was") == "۱۰۰٬۰۰۰ تومان"
    assert page.inner_text("#fig-return_on_spend .now") == "۲۰ برابر"
    assert page.locator("#step-table tr.variant").count() == 2
    assert merchant.layout_problems() == [], width
    # Every figure and row inside the screen (the phone's table heads are hidden: each cell
    # carries its own); at a phone's width the table stacks, on a laptop it fits its card.
    assert page.evaluate("""() => {
        const wrap = document.querySelector("#report .table-wrap");
        const outside = [...document.querySelectorAll("#report *")].filter(e => {
            const r = e.getBoundingClientRect();
            return r.width && !e.closest("thead")
                && (r.left < -1 || r.right > document.documentElement.clientWidth + 1);
        }).map(e => e.tagName + "." + e.className);
        return {outside, scrolls: wrap.scrollWidth > wrap.clientWidth + 1};
    }""") == {"outside": [], "scrolls": False}
    folder = screenshots / database_url.split(":")[0].split("+")[0]
    folder.mkdir(exist_ok=True)
    page.screenshot(path=folder / f"campaign-report-{width}.png", full_page=True)
    with page.expect_download() as download:
        page.click("#csv-messages")
    assert download.value.suggested_filename == (
        f"bazgasht-campaign-{cart}-messages-2025-09-11-2025-09-20.csv")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert len(text.strip().splitlines()) == 1 + 6  # the header and c1-c6


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_sign_in_with_a_phone_and_the_sms_code_and_manage_people(width, browser, live_server,
                                                                 seeded, factory, screenshots,
                                                                 database_url):
    """The owner signs in by typing their phone and the code in Persian digits, adds a
    colleague, and ends the colleague's session: the colleague's browser is out at once."""
    folder = screenshots / database_url.split(":")[0].split("+")[0]
    folder.mkdir(exist_ok=True)
    viewport = PHONE if width == "phone" else DESKTOP
    owner = Merchant(browser, live_server.url, viewport)
    colleague = Merchant(browser, live_server.url, viewport)
    try:
        page = owner.go("/panel/login")
        assert owner.layout_problems() == []
        page.screenshot(path=folder / f"sign-in-phone-{width}.png", full_page=True)
        national = "0" + seeded.store.owner_phone[3:]
        page.fill("#phone", national.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")))
        page.click("button[type=submit]")
        page.wait_for_url("**/panel/login/code")
        assert "کد شش‌رقمی ورود برایش پیامک شد" in page.inner_text("#code-sent")
        page.fill("#code", "۰۰۰۰۰۰" if sms_code(factory, seeded.store.owner_phone) != "000000"
                  else "۱۱۱۱۱۱")
        page.click("form[action='/panel/login/code'] button[type=submit]")
        expect(page.locator("#code-error .field-error")).to_contain_text("این کد درست نیست")
        assert owner.layout_problems() == []
        page.screenshot(path=folder / f"sign-in-code-{width}.png", full_page=True)
        code = sms_code(factory, seeded.store.owner_phone)
        page.fill("#code", code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")))
        page.click("form[action='/panel/login/code'] button[type=submit]")
        page.wait_for_url(live_server.url + "/panel")

        page.click("nav >> text=افراد")
        page.wait_for_url("**/panel/people")
        page.fill("#name", "رضا")
        page.fill("#phone", "۰۹۱۲ ۷۶۵ ۴۳۲۱")
        page.click("#add-member button[type=submit]")
        page.wait_for_url("**/panel/people?ok=added")
        assert "رضا" in page.inner_text("#members")

        colleague.sign_in("+989127654321", factory)
        page.reload()
        assert page.locator("#sessions tbody tr").count() == 2
        assert owner.layout_problems() == []
        page.screenshot(path=folder / f"people-{width}.png", full_page=True)
        page.locator("#sessions tbody tr", has_text="رضا").locator("button.end-session").click()
        page.wait_for_url("**/panel/people?ok=ended")
        assert page.locator("#sessions tbody tr").count() == 1
        colleague.page.goto(live_server.url + "/panel/campaigns")
        colleague.page.wait_for_url("**/panel/login?reason=ended&next=%2Fpanel%2Fcampaigns")
        assert "این نشست پایان داده شد" in colleague.page.inner_text("main")
        assert owner.errors == [] and colleague.errors == []
    finally:
        owner.close()
        colleague.close()
