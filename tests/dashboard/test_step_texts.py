"""The step editor's texts over HTTP: what is refused is said once, in Persian, next to the text,
which comes back whole; what is only worth knowing is said beside a saved text; the page hands
the chip editor its chips, or leaves a text it cannot say in the plain box."""

import html
import json
import re

from app.campaigns.models import CampaignStep
from tests.dashboard.test_panel import _first_step, _step_form, location

COUPON_TEXT = "با کد {{ coupon_code }} بخر: {{ link }}"


def _editor(panel, seeded, factory) -> tuple[str, CampaignStep]:
    campaign = seeded.campaign_ids["abandoned_cart"]
    step = _first_step(factory, campaign)
    url = f"/panel/campaigns/{campaign}/steps/{step.id}"
    panel.get(url)
    return url, step


def _text_errors(page: str, field: str = "template") -> list[str]:
    """The errors shown next to one text box (its .text-field)."""
    box = page.split(f'<div class="text-field" data-field="{field}">', 1)[1]
    box = box.split('<div class="preview"', 1)[0]
    return [html.unescape(m) for m in re.findall(r'class="field-error"[^>]*>(.*?)</p>', box, re.S)]


def _unchanged(factory, step: CampaignStep) -> bool:
    with factory() as session:
        return session.get(CampaignStep, step.id).template == step.template


def test_a_coupon_without_a_coupon_is_refused_once_in_persian(panel, seeded, factory):
    url, step = _editor(panel, seeded, factory)
    refused = panel.post(url, _step_form(template=COUPON_TEXT))
    assert refused.status_code == 200 and "location" not in refused.headers
    [error] = _text_errors(refused.text)
    assert "این مرحله کد تخفیف ندارد" in error
    assert refused.text.count("این مرحله کد تخفیف ندارد") == 1  # not again in the preview
    assert "coupon_code" not in error and "uses" not in refused.text
    assert _unchanged(factory, step)
    saved = panel.post(url, _step_form(template=COUPON_TEXT, coupon_mode="fixed",
                                       coupon_code="off5"))
    assert location(saved) == f"{url}?ok=saved"


def test_a_long_text_is_refused_whole_never_cut(panel, seeded, factory):
    url, step = _editor(panel, seeded, factory)
    editor = panel.get(url).text
    assert "maxlength=\"1000\"" not in editor
    text = "سبدت هنوز منتظرته. " * 105 + "{{ link }}"  # 2,005 characters
    refused = panel.post(url, _step_form(template=text))
    [error] = _text_errors(refused.text)
    assert error == ("متن پیامک ۲٬۰۰۵ نویسه است؛ حداکثر ۶۷۰ نویسه (۱۰ بخش پیامک فارسی) مجاز "
                     "است. کوتاهش کنید؛ چیزی از متن شما بریده نشده است.")
    assert refused.text.count("حداکثر ۶۷۰ نویسه") == 1
    textarea = re.search(r'<textarea id="template"[^>]*>(.*?)</textarea>', refused.text, re.S)
    assert html.unescape(textarea[1]) == text.strip()  # all of it, to shorten
    assert _unchanged(factory, step)


def test_a_syntax_error_is_said_once_in_persian_only(panel, seeded, factory):
    url, step = _editor(panel, seeded, factory)
    refused = panel.post(url, _step_form(template="سلام {{ first_name"))
    [error] = _text_errors(refused.text)
    assert error == "متن پیامک ایراد دارد: جایی آکولادی باز مانده یا دستوری نیمه‌کاره است."
    assert refused.text.count("متن پیامک ایراد دارد") == 1
    assert not re.search(r"unexpected|expected token|line \d", refused.text)
    unknown = panel.post(url, _step_form(template="سلام {{ nam }} {{ link }}"))
    assert _text_errors(unknown.text) == [
        "متن پیامک ایراد دارد: متغیر «nam» در پیامک‌ها وجود ندارد؛ متغیرها را از فهرست "
        "«افزودن متغیر» بردارید."]
    assert "available:" not in unknown.text
    assert _unchanged(factory, step)


def test_a_variants_problem_is_said_next_to_that_variant(panel, seeded, factory):
    url, step = _editor(panel, seeded, factory)
    refused = panel.post(url, list(_step_form().items()) + [
        ("variant_name", "A"), ("variant_weight", "1"), ("variant_template", "الف {{ link }}"),
        ("variant_name", "B"), ("variant_weight", "1"), ("variant_template", COUPON_TEXT)])
    assert _text_errors(refused.text, "variant_0") == []
    [error] = _text_errors(refused.text, "variant_1")
    assert "این مرحله کد تخفیف ندارد" in error


def test_no_link_and_many_parts_are_saved_with_a_word_beside_them(panel, seeded, factory):
    url, step = _editor(panel, seeded, factory)
    saved = panel.post(url, _step_form(template="سلام {{ first_name }}، سبدت منتظرته."))
    assert location(saved) == f"{url}?ok=saved"
    editor = panel.get(url).text
    assert "این پیامک «لینک» ندارد" in editor
    long = "سبدت هنوز منتظرته و ما برات نگهش داشتیم. " * 6 + "{{ link }}"
    saved = panel.post(url, _step_form(template=long))
    assert location(saved) == f"{url}?ok=saved"
    editor = panel.get(url).text
    assert re.search(r"این پیامک [۴-۹] بخش است \(بیش از ۳ بخش\)", editor)
    assert "«لینک» ندارد" not in editor


def test_the_live_preview_warns_before_the_save(panel, seeded, factory):
    url, step = _editor(panel, seeded, factory)
    fetch = {"X-CSRF-Token": panel.csrf, "X-Requested-With": "fetch"}
    missing = panel.post(f"{url}/preview", _step_form(preview_template=COUPON_TEXT),
                         headers=fetch)
    assert 'class="text-note blocking"' in missing.text and "کد تخفیف ندارد" in missing.text
    fixed = panel.post(f"{url}/preview", _step_form(preview_template=COUPON_TEXT,
                                                    coupon_mode="fixed", coupon_code="off5"),
                       headers=fetch)
    assert "text-note" not in fixed.text and "با کد off5 بخر" in fixed.text


def test_the_editor_hands_its_texts_to_the_chips_or_keeps_them_plain(panel, seeded, factory):
    url, step = _editor(panel, seeded, factory)
    editor = panel.get(url).text
    chips = re.search(r"<textarea id=\"template\"[^>]*data-chips='([^']*)'", editor)
    assert json.loads(html.unescape(chips[1]))[:2] == [
        {"var": "first_name", "fallback": "مشتری"}, {"text": " عزیز، سبد خریدت در "}]
    assert 'src="/panel/static/editor.js?v=' in editor
    raw = "{% if first_name %}{{ first_name }} عزیز، {% endif %}سبدت منتظره: {{ link }}"
    assert location(panel.post(url, _step_form(template=raw))) == f"{url}?ok=saved"
    editor = panel.get(url).text
    assert not re.search(r'<textarea id="template"[^>]*data-chips', editor)
    assert "{% if first_name %}" in html.unescape(editor)


def test_a_new_step_copies_the_last_ones_coupon_with_its_text(panel, seeded, factory):
    campaign = seeded.campaign_ids["lost_order"]
    steps = panel.get(f"/panel/campaigns/{campaign}")
    assert steps.status_code == 200
    with factory() as session:
        last = session.query(CampaignStep).filter_by(campaign_id=campaign).order_by(
            CampaignStep.position.desc()).first()
        last.template, last.coupon = COUPON_TEXT, {"mode": "fixed", "code": "off5"}
        session.commit()
    added = panel.post(f"/panel/campaigns/{campaign}/steps")
    assert "/steps/" in location(added) and location(added).endswith("?ok=added")
    with factory() as session:
        new = session.query(CampaignStep).filter_by(campaign_id=campaign).order_by(
            CampaignStep.position.desc()).first()
    assert new.template == COUPON_TEXT and new.coupon == {"mode": "fixed", "code": "off5"}
