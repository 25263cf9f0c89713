"""Every default template renders in Persian, with Persian digits, Jalali dates and a part count."""

import re
from datetime import datetime, timezone

import pytest
from jinja2.exceptions import SecurityError

from app.campaigns.presets import PRESETS
from app.digits import persian_digits
from app.messaging.persian import jalali_date, money
from app.messaging.render import TemplateProblem, default_template, render, validate
from app.messaging.segments import count_segments

CONTEXT = {"first_name": "علی", "store_name": "چای‌خانه", "link": "https://bz.example/a1B2c3d",
           "coupon_code": "off5", "product_name": "قوری چینی", "cart_items": "چای سبز",
           "cart_total": money(5_500_000, "IRT"), "order_number": persian_digits(13)}
TEMPLATE_NAMES = [f"{p.kind}_{n}" for p in PRESETS.values()
                  for n in range(1, len(p.delays) + 1)]


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_each_default_template_renders_in_persian_within_two_parts(name):
    source = default_template(name)
    validate(source)
    text = render(source, CONTEXT)
    assert "{{" not in text and "https://bz.example/a1B2c3d" in text
    assert any("\u0600" <= ch <= "\u06ff" for ch in text)
    segments = count_segments(text)
    assert segments.encoding == "ucs2" and segments.parts <= 2, (text, segments)


def test_a_missing_first_name_falls_back_to_a_polite_address():
    text = render(default_template("abandoned_cart_1"), CONTEXT | {"first_name": ""})
    assert text.startswith("مشتری عزیز")


def test_coupon_appears_in_the_discount_step():
    assert "off5" in render(default_template("lost_order_2"), CONTEXT)


def test_filters_give_persian_digits_money_and_jalali_dates():
    source = "{{ order_number | fa }} {{ 22000000 | money('IRT') }} {{ when | jalali }}"
    # `when` is not a template variable: filters are checked directly here.
    assert persian_digits("Order 13") == "Order ۱۳"
    assert money(22_000_000, "IRT") == "۲٬۲۰۰٬۰۰۰ تومان"
    assert money(22_000_000, "IRR") == "۲۲٬۰۰۰٬۰۰۰ ریال"
    assert money(25_000, "IRT") == "۲٬۵۰۰ تومان"
    # 2026-11-23 21:00 UTC is already 24 November in Tehran: 3 Azar 1405.
    assert jalali_date(datetime(2026, 11, 23, 21, 0, tzinfo=timezone.utc)) == "۱۴۰۵/۰۹/۰۳"
    with pytest.raises(TemplateProblem, match="when"):
        validate(source)


@pytest.mark.parametrize("source,problem", [
    ("سلام {{ first_name ", "line 1"),
    ("{{ password }}", re.escape("unknown variable(s): password")),
    ("{% for x in cart_items %}{{ x.__class__ }}{% endfor %}", None),
])
def test_invalid_templates_are_rejected_with_the_reason(source, problem):
    if problem is None:  # valid syntax and variables: the sandbox stops it at render time
        validate(source)
        with pytest.raises(SecurityError):
            render(source, CONTEXT | {"cart_items": ["a"]})
        return
    with pytest.raises(TemplateProblem, match=problem):
        validate(source)


@pytest.mark.parametrize("text,encoding,parts", [
    ("a" * 160, "gsm7", 1),
    ("a" * 161, "gsm7", 2),
    ("a" * 306, "gsm7", 2),
    ("a" * 307, "gsm7", 3),
    ("€" * 80, "gsm7", 1),      # the euro sign takes two septets
    ("€" * 81, "gsm7", 2),
    ("س" * 70, "ucs2", 1),
    ("س" * 71, "ucs2", 2),
    ("س" * 134, "ucs2", 2),
    ("س" * 135, "ucs2", 3),
    ("a" * 69 + "س", "ucs2", 1),  # one Persian letter makes the whole text UCS-2
])
def test_segment_counts(text, encoding, parts):
    segments = count_segments(text)
    assert (segments.encoding, segments.parts) == (encoding, parts)


def test_a_template_nested_beyond_reason_is_a_problem_not_a_crash():
    with pytest.raises(TemplateProblem, match="nested too deeply"):
        validate("{" * 999)  # within the length limit (MAX_SOURCE)
