"""Every figure the panel writes (app/dashboard/numbers.py): Persian digits, «٬» and «٫», one
decimal only below 10, no «۰٫۰», and «—» where there is nothing to say."""

import pytest

from app.dashboard.numbers import change, compact, number, percent, times


@pytest.mark.parametrize("value, decimals, shown", [
    (0, 0, "۰"), (7, 0, "۷"), (1234, 0, "۱٬۲۳۴"), (1234567.4, 0, "۱٬۲۳۴٬۵۶۷"),
    (2.25, 1, "۲٫۲"), (4.0, 1, "۴٫۰"), (None, 0, "—"), (-1500, 0, "-۱٬۵۰۰")])
def test_numbers(value, decimals, shown):
    assert number(value, decimals) == shown


@pytest.mark.parametrize("rate, shown", [
    (None, "—"), (0, "۰٪"), (0.0, "۰٪"),          # none: «۰٪», never «۰٫۰٪»
    (0.0003, "زیر ۰٫۱٪"),                         # some, but too little to write
    (0.001, "۰٫۱٪"), (0.075, "۷٫۵٪"), (0.05, "۵٪"), (0.0996, "۱۰٪"),
    (0.256, "۲۶٪"), (0.1, "۱۰٪"), (1, "۱۰۰٪"), (2.5, "۲۵۰٪")])
def test_percentages_have_a_persian_decimal_and_only_below_ten(rate, shown):
    assert percent(rate) == shown


@pytest.mark.parametrize("ratio, shown", [
    (None, "—"),                                   # nothing spent
    (0, "۰ برابر"), (0.01, "زیر ۰٫۱ برابر"), (0.45, "۰٫۵ برابر"), (1, "۱ برابر"),
    (2.5, "۲٫۵ برابر"), (3.96, "۴ برابر"), (23.4, "۲۳ برابر"), (99.4, "۹۹ برابر"),
    (100, "بیش از ۱۰۰ برابر"), (2316, "بیش از ۱۰۰ برابر")])
def test_return_on_spend(ratio, shown):
    assert times(ratio) == shown
    assert "×" not in shown and "." not in shown and "," not in shown


@pytest.mark.parametrize("value, shown", [
    (0, "۰"), (0.5, "۰٫۵"), (9.96, "۱۰"), (950, "۹۵۰"), (999.6, "۱ هزار"), (1_000, "۱ هزار"),
    (1_500, "۱٫۵ هزار"), (12_345, "۱۲ هزار"), (800_000, "۸۰۰ هزار"), (999_700, "۱ میلیون"),
    (1_234_567, "۱٫۲ میلیون"), (25_000_000, "۲۵ میلیون"), (2_500_000_000, "۲٫۵ میلیارد"),
    (3_000_000_000_000, "۳٬۰۰۰ میلیارد")])
def test_large_amounts_in_short_words(value, shown):
    assert compact(value) == shown


@pytest.mark.parametrize("now, before, shown", [
    (5, 4, "▲ ۲۵٪"), (4, 5, "▼ ۲۰٪"), (3, 3, "۰٪"), (1.0005, 1, "۰٪"), (1.07, 1, "▲ ۷٪"),
    (1.075, 1, "▲ ۷٫۵٪"), (1, 0, "—"), (None, 1, "—")])
def test_changes(now, before, shown):
    assert change(now, before) == shown
