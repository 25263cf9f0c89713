"""Money as a Persian reader sees it (app/messaging/persian.py): in the store's unit, «٬» between
thousands, at most one decimal after a Persian «٫», never a Latin "." or ","."""

import pytest

from app.messaging.persian import money, unit


@pytest.mark.parametrize("rial, currency, shown", [
    (22_000_000, "IRT", "۲٬۲۰۰٬۰۰۰ تومان"),
    (22_000_000, "IRR", "۲۲٬۰۰۰٬۰۰۰ ریال"), (0, "IRT", "۰ تومان"),
    (355, "IRT", "۳۵٫۵ تومان"),              # an SMS price of 71 rial × 5 parts
    (5, "IRT", "۰٫۵ تومان"), (12_345, "IRT", "۱٬۲۳۴٫۵ تومان"),
    (12_345_000, "IRHT", "۱٬۲۳۴٫۵ هزار تومان"), (12_000, "irht", "۱٫۲ هزار تومان"),
    (10 ** 17 + 10, "IRT", "۱۰٬۰۰۰٬۰۰۰٬۰۰۰٬۰۰۰٬۰۰۱ تومان"),  # exact, not through a float
    (None, "IRT", "")])
def test_money(rial, currency, shown):
    assert money(rial, currency) == shown
    assert "." not in shown and "," not in shown


def test_an_unknown_currency_reads_in_rial():
    assert unit("XYZ") == ("ریال", 1)
    assert money(1_500, "XYZ") == "۱٬۵۰۰ ریال"
