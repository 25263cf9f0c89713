"""Writing an SMS in Persian words, in real headless Chromium: variables are named chips picked
from a menu, the merchant never sees a brace, and the stored text stays the template the API
takes. Texts the chips cannot say stay in a plain text box; a text too long, or quoting a coupon
the step does not have, is refused and kept, never cut.

Without /usr/bin/chromium these tests skip, except in CI (CI=true), where they fail.
"""

import pytest
from sqlalchemy import update

try:  # the browser fixture skips (or fails in CI) without Playwright
    from playwright.sync_api import expect
except ImportError:
    expect = None

from app.campaigns.checks import MAX_TEXT
from app.campaigns.models import CampaignStep
from app.db import unit_of_work
from tests.dashboard.test_browser import (  # noqa: F401 (merchant, merchant_at: fixtures)
    DESKTOP,
    PHONE,
    Merchant,
    _first_step,
    merchant,
    merchant_at,
)

CART_REMINDER = '{{ first_name or "مشتری" }} عزیز، سبد خریدت در {{ store_name }} منتظرته! تکمیلش کن: {{ link }}'


@pytest.fixture
def laptop(request) -> Merchant:
    """test_browser.py's merchant: signed in, at a laptop's width."""
    return request.getfixturevalue("merchant")


@pytest.fixture
def tab_at(request):
    """test_browser.py's merchant_at: a signed-in tab at a width."""
    return request.getfixturevalue("merchant_at")


def persian(number: int) -> str:
    """1234 → «۱٬۲۳۴», as the panel writes numbers."""
    return f"{number:,}".replace(",", "٬").translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


def _open_editor(tab: Merchant, seeded, factory, template: str | None = None):
    cart = seeded.campaign_ids["abandoned_cart"]
    step = _first_step(factory, cart)
    if template is not None:
        with unit_of_work(factory) as session:
            session.execute(update(CampaignStep).where(CampaignStep.id == step.id)
                            .values(template=template))
    page = tab.go(f"/panel/campaigns/{cart}/steps/{step.id}")
    return page, step


def _photograph(page, screenshots, database_url: str, name: str) -> None:
    folder = screenshots / database_url.split(":")[0].split("+")[0]
    folder.mkdir(exist_ok=True)
    page.locator("#step-form").screenshot(path=folder / f"{name}.png")


def _stored(factory, step_id: int) -> CampaignStep:
    with factory() as session:
        return session.get(CampaignStep, step_id)


def _pick(page, box: str, label: str) -> None:
    """Open the variable menu under a text box and choose one."""
    tools = page.locator(f"{box} ~ .chip-tools")
    tools.locator("summary").click()
    tools.locator(".chip-option", has_text=label).click()


def _paste(page, box: str, text: str) -> None:
    """What pasting from the clipboard does (the headless browser has no clipboard)."""
    page.evaluate("""([box, text]) => {
        const editor = document.querySelector(box);
        editor.focus();
        const data = new DataTransfer();
        data.setData("text/plain", text);
        editor.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true,
                                                          cancelable: true}));
    }""", [box, text])


def _clear(page, box: str) -> None:
    page.click(box)
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")


def test_write_a_text_with_chips_save_it_and_find_the_same_chips(laptop, seeded, factory):
    page, step = _open_editor(laptop, seeded, factory)
    assert _stored(factory, step.id).template == CART_REMINDER
    box = ".text-field[data-field=template] .chip-editor"
    # The saved text reads as words and chips: no brace anywhere.
    chips = page.locator(f"{box} .chip")
    assert [chips.nth(i).get_attribute("data-var") for i in range(chips.count())] == [
        "first_name", "store_name", "link"]
    assert "نام مشتری" in chips.first.inner_text() and "«مشتری»" in chips.first.inner_text()
    assert "{" not in page.inner_text(box) and page.locator("#template").is_hidden()
    # Write a new one: words, a chip from the menu, more words, the link.
    _clear(page, box)
    page.keyboard.type("سلام ")
    _pick(page, box, "نام مشتری")
    page.keyboard.type("جان، سبدت منتظره:")
    _pick(page, box, "لینک")
    expected = 'سلام {{ first_name or "مشتری" }} جان، سبدت منتظره: {{ link }}'
    assert page.input_value("#template").strip() == expected
    bubble = page.locator("#preview-template .sms-bubble")
    expect(bubble).to_contain_text("سلام سارا جان، سبدت منتظره: http")
    counter = page.inner_text("#preview-template .counter")
    assert "بخش" in counter and "تومان" in counter
    # Far from the cap, no size is shown (the preview counts the characters).
    assert page.inner_text(".text-field[data-field=template] .text-size") == ""
    # The name chip's word for a customer without a name.
    page.locator(f"{box} .chip", has_text="نام مشتری").click()
    page.fill(".text-field[data-field=template] .chip-fallback input", "دوست من")
    expected = expected.replace('"مشتری"', '"دوست من"')
    assert page.input_value("#template").strip() == expected
    page.click("button[value=save]")
    page.wait_for_url(f"**/steps/{step.id}?ok=saved")
    assert _stored(factory, step.id).template == expected
    # Reloaded: the same chips, the same words around them.
    chips = page.locator(f"{box} .chip")
    assert chips.count() == 2 and "یا «دوست من»" in chips.first.inner_text()
    assert page.inner_text(box).startswith("سلام نام مشتری")


def test_the_preview_follows_the_chips_and_a_coupon(laptop, seeded, factory):
    page, step = _open_editor(laptop, seeded, factory)
    box = ".text-field[data-field=template] .chip-editor"
    assert page.locator("button[value=preview]").is_hidden()  # JavaScript previews live
    _clear(page, box)
    page.keyboard.type("کد")
    _pick(page, box, "کد تخفیف")
    page.keyboard.type("برای تو:")
    _pick(page, box, "لینک")
    # No coupon yet: the preview says it will be refused.
    expect(page.locator("#preview-template .text-note.blocking")).to_contain_text(
        "این مرحله کد تخفیف ندارد")
    page.check("input[name=coupon_mode][value=fixed]")
    page.fill("#coupon_code", "yalda")
    page.dispatch_event("#coupon_code", "change")
    expect(page.locator("#preview-template .sms-bubble")).to_contain_text("کد yalda برای تو")
    expect(page.locator("#preview-template .text-note.blocking")).to_have_count(0)
    page.fill("#delay_value", "۲")
    page.select_option("select[name=delay_unit]", "hours")
    page.click("button[value=save]")
    page.wait_for_url(f"**/steps/{step.id}?ok=saved")
    saved = _stored(factory, step.id)
    assert saved.delay_minutes == 120 and saved.coupon == {"mode": "fixed", "code": "yalda"}
    assert saved.template == "کد {{ coupon_code }} برای تو: {{ link }}"


def test_a_coupon_chip_without_a_coupon_is_refused_and_kept(laptop, seeded, factory):
    page, step = _open_editor(laptop, seeded, factory)
    box = ".text-field[data-field=template] .chip-editor"
    page.click(box)
    page.keyboard.press("End")
    _pick(page, box, "کد تخفیف")
    page.click("button[value=save]")
    page.wait_for_load_state("networkidle")
    errors = page.locator(".text-field[data-field=template] > .field-error")
    expect(errors).to_have_count(1)
    assert "این مرحله کد تخفیف ندارد" in errors.inner_text()
    assert page.locator("body").inner_text().count("این مرحله کد تخفیف ندارد") == 1  # once
    assert page.locator(f"{box} .chip", has_text="کد تخفیف").count() == 1  # kept as typed
    assert _stored(factory, step.id).template == CART_REMINDER


def test_a_very_long_text_is_refused_with_its_length_never_cut(laptop, seeded, factory,
                                                               screenshots, database_url):
    page, step = _open_editor(laptop, seeded, factory)
    box = ".text-field[data-field=template] .chip-editor"
    long_text = ("سبد خرید شما هنوز منتظر است و ما آن را برایتان نگه داشته‌ایم. " * 40)[:2000]
    _clear(page, box)
    size = page.locator(".text-field[data-field=template] .text-size")
    _paste(page, box, long_text[:600])  # near the cap: its size shows
    assert size.inner_text() == "اندازهٔ متن: ۶۰۰ از ۶۷۰"
    expect(size).to_have_class("text-size")
    _paste(page, box, long_text[600:])
    expect(size).to_have_class("text-size over")
    assert "۶۷۰" in size.inner_text() and "ذخیره نمی‌شود" in size.inner_text()
    assert len(page.input_value("#template").strip()) == len(long_text.strip())  # all of it
    expect(page.locator("#preview-template")).to_contain_text("حداکثر ۶۷۰ نویسه")
    page.click("button[value=save]")
    page.wait_for_load_state("networkidle")
    assert "?ok=saved" not in page.url
    error = page.locator(".text-field[data-field=template] > .field-error")
    expect(error).to_have_count(1)
    assert f"متن پیامک {persian(len(long_text.strip()))} نویسه است" in error.inner_text()
    assert page.locator("body").inner_text().count("حداکثر ۶۷۰ نویسه") == 1  # said once
    # The text came back whole, for the merchant to shorten.
    assert page.input_value("#template").strip() == long_text.strip()
    assert page.eval_on_selector(box, "e => e.textContent").strip() == long_text.strip()
    assert _stored(factory, step.id).template == CART_REMINDER
    assert len(long_text) > MAX_TEXT
    _photograph(page, screenshots, database_url, "step-editor-too-long")


def test_a_text_the_chips_cannot_say_stays_a_plain_text_box(laptop, seeded, factory,
                                                            screenshots, database_url):
    raw = '{% if first_name %}{{ first_name }} عزیز، {% endif %}سبدت منتظره: {{ link }}'
    page, step = _open_editor(laptop, seeded, factory, template=raw)
    field = page.locator(".text-field[data-field=template]")
    assert field.locator(".chip-editor").count() == 0
    assert page.input_value("#template") == raw and page.locator("#template").is_visible()
    assert "متن خام" in field.locator(".raw-note").inner_text()
    # The menu still works: it writes the variable as the template says it.
    page.click("#template")
    page.keyboard.press("Control+End")
    _pick(page, "#template", "نام فروشگاه")
    assert page.input_value("#template") == raw + "{{ store_name }}"
    expect(page.locator("#preview-template .sms-bubble")).to_contain_text("منتظره: http")
    page.click("button[value=save]")
    page.wait_for_url(f"**/steps/{step.id}?ok=saved")
    assert _stored(factory, step.id).template == raw + "{{ store_name }}"
    _photograph(page, screenshots, database_url, "step-editor-plain-box")


def test_ab_variants_get_the_same_editor(laptop, seeded, factory):
    page, step = _open_editor(laptop, seeded, factory)
    page.fill("input[name=variant_name]", "الف")
    box = ".text-field[data-field=variant_0] .chip-editor"
    page.click(box)
    page.keyboard.type("تخفیف ویژهٔ")
    _pick(page, box, "نام فروشگاه")
    page.keyboard.type("برای تو")
    # No link in it: saved, with a word beside it.
    expect(page.locator("#preview-variant_0 .text-note")).to_contain_text("«لینک» ندارد")
    page.click("button[value=save]")
    page.wait_for_url(f"**/steps/{step.id}?ok=saved")
    assert _stored(factory, step.id).variants == [
        {"name": "الف", "template": "تخفیف ویژهٔ {{ store_name }} برای تو", "weight": 50}]
    expect(page.locator("#preview-variant_0 .text-note")).to_contain_text("«لینک» ندارد")


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_the_editor_with_its_chips_and_menu_fits_the_screen(width, tab_at, seeded, factory,
                                                            database_url, screenshots):
    tab = tab_at(PHONE if width == "phone" else DESKTOP)
    page, _ = _open_editor(tab, seeded, factory)
    tools = page.locator("#template ~ .chip-tools")
    tools.locator("summary").click()
    expect(tools.locator(".chip-option").first).to_be_visible()
    # The campaign's own variables only: a cart reminder has no order number.
    options = tools.locator(".chip-option").all_inner_texts()
    assert "مبلغ سبد" in options and "شمارهٔ سفارش" not in options
    page.locator(".text-field[data-field=template] .chip", has_text="نام مشتری").click()
    expect(page.locator(".text-field[data-field=template] .chip-fallback input")).to_have_value(
        "مشتری")
    assert tab.layout_problems() == [], width
    assert page.evaluate("""() => [...document.querySelectorAll(
            ".chip-editor, .chip, .chip-option, .chip-fallback input")].filter(e => {
        const r = e.getBoundingClientRect();
        return r.left < -1 || r.right > document.documentElement.clientWidth + 1;
    }).length""") == 0
    _photograph(page, screenshots, database_url, f"step-editor-chips-{width}")
