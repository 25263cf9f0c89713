"""The segments pages in real Chromium, on a phone and on a laptop: a merchant types a group's
conditions in Persian digits, previews it, saves it and finds it in the list."""

from datetime import timedelta

import pytest

from app.digits import persian_digits
from tests.dashboard.test_browser import DESKTOP, PHONE, merchant_at  # noqa: F401
from tests.segments.scripted import NOW, scripted_store


@pytest.fixture
def story(seeded, factory, clock):
    return scripted_store(factory, clock, seeded.store.id, seeded.other.id)


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_a_merchant_previews_and_saves_a_segment(width, merchant_at, story,  # noqa: F811
                                                 screenshots, database_url):
    merchant = merchant_at(PHONE if width == "phone" else DESKTOP)
    folder = screenshots / database_url.split(":")[0].split("+")[0]
    folder.mkdir(exist_ok=True)
    page = merchant.go("/panel/segments")
    page.click("#new-segment")
    page.wait_for_url("**/panel/segments/new")
    assert merchant.layout_problems() == []
    page.screenshot(path=folder / f"segment-new-{width}.png", full_page=True)

    page.fill("#orders_min", "۲")
    page.fill("#last_order_within_days", "۱۸۰")
    page.check("input[name=buyer][value=repeat]")
    page.click("#preview-segment")
    page.wait_for_selector("#segment-size")
    # By hand: the story's reachable repeat buyers whose last order is within 180 days.
    expected = sum(1 for c in story if c.reachable and c.orders >= 2
                   and c.last >= NOW - timedelta(days=180))
    size = page.inner_text("#segment-size")
    assert size == f"{persian_digits(expected)} نفر"
    assert page.locator("#segment-sample tbody tr").count() == min(expected, 20)
    assert page.input_value("#orders_min") == "۲"
    assert merchant.layout_problems() == []
    page.screenshot(path=folder / f"segment-preview-{width}.png", full_page=True)

    page.fill("#name", "مشتریان وفادار")
    page.fill("#orders_max", "۱")
    page.click("#save-segment")
    assert "این مقدار نباید از «حداقل» کمتر باشد" in page.inner_text("#segment-form")
    assert merchant.layout_problems() == []
    page.screenshot(path=folder / f"segment-problem-{width}.png", full_page=True)

    page.fill("#orders_max", "")
    page.click("#save-segment")
    page.wait_for_url("**/panel/segments/*?ok=saved")
    assert page.inner_text("#segment-size") == size
    page.click(".crumbs a[href=\"/panel/segments\"]")
    page.wait_for_url("**/panel/segments")
    row = page.locator("#segments tbody tr").first
    assert "مشتریان وفادار" in row.inner_text() and persian_digits(expected) in row.inner_text()
    assert merchant.layout_problems() == []
    page.screenshot(path=folder / f"segments-{width}.png", full_page=True)
