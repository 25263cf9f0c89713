"""The message log in real Chromium, as a merchant uses it on a phone and on a laptop: a full page
of messages stays a few screens tall, the search folds away on a phone, a phone number typed in
Persian digits finds its messages, a long text opens from its two lines."""

import pytest

from app.db import unit_of_work
from tests.dashboard.test_browser import DESKTOP, PHONE, Merchant, merchant_at  # noqa: F401
from tests.reports.history import History

LONG_TEXT = ("پیمان عزیز، سبد خریدت در چای‌خانه هنوز منتظرته: چای سبز، قوری چینی و فنجان "
             "سرامیکی. با کد تخفیف YALDA تا پایان هفته ده درصد کمتر بپرداز و ارسال رایگان "
             "بگیر. برای تکمیل خرید روی پیوند بزن: https://bz.example/AbCd123\nلغو۱۱")


@pytest.fixture
def busy_log(seeded, factory) -> list[int]:
    """Thirty more messages with long texts: more than a page."""
    with unit_of_work(factory) as session:
        h = History(session, seeded.store.id)
        peyman = h.contact(first_name="پیمان", last_name="کاظمی")
        peyman.phone = "+989190001111"
        others = [h.contact(first_name=name) for name in ("نگار", "حمید", "مینا")]
        session.flush()
        ids = [h.message("abandoned_cart", 1 + day % 2, status="delivered" if day % 3 else "failed",
                         sent=f"2025-11-{day:02d} 12:00", contact=peyman if day % 2 else
                         others[day % 3], text=LONG_TEXT,
                         reason=None if day % 3 else "gateway_refused",
                         reason_detail=None if day % 3 else "411: receptor is invalid").id
               for day in range(1, 31)]
        return ids


def page_height(merchant: Merchant) -> int:
    return merchant.page.evaluate("() => document.documentElement.scrollHeight")


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_search_the_log_by_a_phone_typed_in_persian_digits(width, merchant_at,  # noqa: F811
                                                           busy_log, screenshots, database_url):
    merchant = merchant_at(PHONE if width == "phone" else DESKTOP)
    folder = screenshots / database_url.split(":")[0].split("+")[0]
    folder.mkdir(exist_ok=True)
    page = merchant.go("/panel/activity")
    cards = page.locator("#message-log li.msg")
    assert cards.count() == 25
    assert merchant.layout_problems() == []
    assert page_height(merchant) < (4000 if width == "phone" else 2500)
    page.screenshot(path=folder / f"activity-log-{width}.png", full_page=True)

    box = page.locator("#log-search")
    if width == "phone":  # folded until asked for
        assert not box.is_visible()
        page.click("label.fold-button")
    assert box.is_visible()
    page.fill("#q", "۰۹۱۹ ۰۰۰ ۱۱۱۱")
    page.fill("#from", "۱۴۰۴/۰۸/۲۰")  # 11 November 2025
    page.click("#log-search button[type=submit]")
    page.wait_for_url("**/panel/activity?*q=*")
    # Peyman has the odd days of November 2025: from the 11th on, ten.
    assert cards.count() == 10
    assert all("۰۹۱۹ ۰۰۰ ۱۱۱۱" in text for text in cards.all_inner_texts())
    assert "۲ فیلتر" in page.inner_text("label.fold-button") or width == "desktop"
    assert merchant.layout_problems() == []

    first = cards.first
    summary = first.locator("details.msg-text summary")
    assert summary.bounding_box()["height"] < 60  # two lines of text, not the whole SMS
    summary.click()
    assert first.locator("details.msg-text .sms-text").is_visible()
    assert "ارسال رایگان" in first.locator(".sms-text").inner_text()
    assert merchant.layout_problems() == []
    page.screenshot(path=folder / f"activity-search-{width}.png", full_page=True)


def test_a_wrong_date_is_explained_beside_its_field_in_chromium(merchant_at,  # noqa: F811
                                                                busy_log, screenshots,
                                                                database_url):
    merchant = merchant_at(PHONE)
    page = merchant.go("/panel/activity?from=۱۴۰۴/۱۳/۴۰")
    assert page.locator("#log-search").is_visible()  # unfolded: it has something to say
    error = page.locator("#log-search .field-error")
    assert "تاریخ را به شکل" in error.inner_text()
    assert merchant.layout_problems() == []
    folder = screenshots / database_url.split(":")[0].split("+")[0]
    folder.mkdir(exist_ok=True)
    page.screenshot(path=folder / "activity-bad-date-phone.png", full_page=True)


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_upcoming_says_when_and_why(width, merchant_at, seeded, screenshots,  # noqa: F811
                                    database_url):
    merchant = merchant_at(PHONE if width == "phone" else DESKTOP)
    page = merchant.go("/panel/activity?tab=upcoming")
    scheduled = page.locator("#upcoming-scheduled li.msg")
    held = page.locator("#upcoming-held li.msg")
    assert scheduled.count() == 1 and held.count() == 1
    assert "در انتظار زمان این مرحله" in scheduled.first.inner_text()
    assert "فروشگاه نتوانست کد تخفیف را بسازد" in held.first.inner_text()
    assert merchant.layout_problems() == []
    folder = screenshots / database_url.split(":")[0].split("+")[0]
    folder.mkdir(exist_ok=True)
    page.screenshot(path=folder / f"activity-upcoming-cards-{width}.png", full_page=True)
