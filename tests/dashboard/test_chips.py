"""A step's text as words and chips, and back (app/dashboard/chips.py): every default text says
the same after the round trip, and what the chips cannot say exactly is left alone."""

from pathlib import Path

import pytest

from app.dashboard.chips import segments_of, template_of
from app.messaging.render import TEMPLATES, render

DEFAULTS = sorted((TEMPLATES / "sms").glob("*.txt"))
SAMPLE = {"first_name": "سارا", "store_name": "چای‌خانه", "link": "https://b.example/AbCd123",
          "coupon_code": "OFF5", "order_number": "۱۲۳"}


def test_there_are_default_texts_to_check():
    assert len(DEFAULTS) >= 9


@pytest.mark.parametrize("path", DEFAULTS, ids=[p.stem for p in DEFAULTS])
def test_every_default_text_round_trips_exactly(path: Path):
    source = path.read_text(encoding="utf-8").strip()
    segments = segments_of(source)
    assert segments is not None and any("var" in s for s in segments)
    assert template_of(segments) == source


def test_a_name_with_its_fallback_is_one_chip():
    source = '{{ first_name or "مشتری" }} عزیز، سبدت در {{ store_name }} منتظرته: {{ link }}'
    assert segments_of(source) == [
        {"var": "first_name", "fallback": "مشتری"}, {"text": " عزیز، سبدت در "},
        {"var": "store_name"}, {"text": " منتظرته: "}, {"var": "link"}]
    # The merchant changes the word: only the word changes.
    segments = segments_of(source)
    segments[0]["fallback"] = "دوست عزیز"
    assert template_of(segments) == source.replace('"مشتری"', '"دوست عزیز"')


@pytest.mark.parametrize("source", [
    "سلام {{ first_name }}! کد {{ coupon_code }} رو در checkout وارد کن (فقط تا Friday)",
    "سفارش {{ order_number }} در https://shop.example/my-account/orders?id=12#top منتظرته",
    "{{ link }}",
    "قیمت‌ها {{ today }} به‌روز شد",
], ids=["latin words", "a url", "a chip alone", "zwnj"])
def test_persian_with_latin_words_and_urls_round_trips(source):
    segments = segments_of(source)
    assert segments is not None and template_of(segments) == source


@pytest.mark.parametrize("typed", ["{{ نام }}", "{% تخفیف %}", "{# یادداشت #}", "آکولاد { و }",
                                   "}} پایان", "ته {", "{{{{", "١٢٣ {٪ ｛｛ x ｝｝"])
def test_braces_the_merchant_types_stay_text(typed):
    """What looks like a tag is written so that it renders as typed, and reads back the same."""
    segments = [{"text": typed + " "}, {"var": "link"}, {"text": " " + typed}]
    template = template_of(segments)
    assert segments_of(template) == segments
    assert render(template, SAMPLE) == " ".join(
        f"{typed} https://b.example/AbCd123 {typed}".split())


def test_a_brace_just_before_a_chip_stays_text():
    segments = [{"text": "کد{"}, {"var": "coupon_code"}, {"text": "}"}]
    template = template_of(segments)
    assert render(template, SAMPLE) == "کد{OFF5}"
    assert segments_of(template) == segments


@pytest.mark.parametrize("source", [
    '{% if first_name %}{{ first_name }} عزیز، {% endif %}سبدت منتظره: {{ link }}',
    "{{ first_name|upper }} {{ link }}",
    "{{ first_name|default('مشتری') }} {{ link }}",
    "{{ cart_total ~ ' تومان' }}",
    "سلام {{ nam }}",
    "سلام {{ first_name",
    "{# یادداشت من #}سلام {{ link }}",
    "{{ first_name or 'مشتری \"عزیز\"' }}",
    "{{ first_name or 5 }}",
    "{% for item in cart_items %}{{ item }}{% endfor %}",
], ids=["if", "filter", "default filter", "concatenation", "unknown variable", "syntax error",
        "comment", "quote in fallback", "number fallback", "loop"])
def test_what_chips_cannot_say_is_left_to_the_text_box(source):
    assert segments_of(source) is None


def test_an_empty_fallback_is_the_variable_alone():
    assert segments_of('{{ first_name or "" }} جان') == [{"var": "first_name"},
                                                        {"text": " جان"}]


def test_spacing_inside_a_tag_is_not_the_merchants_text():
    """`{{first_name}}` and `{{ first_name }}` say the same: read alike, written the standard
    way."""
    assert template_of(segments_of("{{first_name}}، {{link}}")) == "{{ first_name }}، {{ link }}"


def test_a_text_longer_than_the_cap_still_reads_as_chips():
    """A refused text comes back to the merchant as they wrote it, chips and all."""
    source = "سلام " * 400 + "{{ link }}"
    assert template_of(segments_of(source)) == source
