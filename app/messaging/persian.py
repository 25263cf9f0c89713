"""What a Persian reader sees: Persian digits, Jalali dates, money in rial or toman."""

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import jdatetime

from app.digits import persian_digits, persian_number

# Display unit per store currency: amounts are kept in rial (see app.commerce.money).
_UNIT = {"IRR": ("ریال", 1), "IRT": ("تومان", 10), "IRHR": ("هزار ریال", 1_000),
         "IRHT": ("هزار تومان", 10_000)}


def jalali_date(at: datetime, tz: str = "Asia/Tehran") -> str:
    """1405/09/02 in Persian digits, in the store's timezone."""
    return _jalali(at.astimezone(ZoneInfo(tz)).date())


@lru_cache(maxsize=1024)
def _jalali(day: date) -> str:
    # Every message of a send batch asks for the same day: converted once.
    return persian_digits(jdatetime.date.fromgregorian(date=day).strftime("%Y/%m/%d"))


def unit(currency: str) -> tuple[str, int]:
    """The store's display unit and how many rial make one: "IRT" → ("تومان", 10)."""
    return _UNIT.get(currency.upper(), ("ریال", 1))


def money(amount_rial: int | None, currency: str = "IRT") -> str:
    """22000000 rial in an IRT store → «۲٬۲۰۰٬۰۰۰ تومان»; 355 rial → «۳۵٫۵ تومان» (one decimal
    at most, with the Persian «٫»)."""
    if amount_rial is None:
        return ""
    name, factor = unit(currency)
    if amount_rial % factor == 0:
        shown = persian_number(amount_rial // factor)
    else:
        shown = persian_number(amount_rial / factor, 1).removesuffix("٫۰")
    return f"{shown} {name}"
