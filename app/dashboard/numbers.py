"""How the panel writes a figure in Persian: counts, percentages, return on spend, the change from
the previous period and the short form of large amounts on a chart. Persian digits, «٬» between
thousands, «٫» before decimals; one decimal only where it tells something (below 10), never a
trailing «٫۰»; «—» where there is nothing to say.

Money itself is written by app.messaging.persian.money (the SMS texts use it too).
"""

from app.digits import persian_number

ROI_CAP = 100  # past this the ratio says more about a tiny cost than about the campaign
_SCALES = ((1, ""), (1_000, "هزار"), (1_000_000, "میلیون"), (1_000_000_000, "میلیارد"))


def number(value, decimals: int = 0) -> str:
    """12345.6 → «۱۲٬۳۴۶»; number(2.25, 1) → «۲٫۲»; None → «—»."""
    if value is None:
        return "—"
    return persian_number(value, decimals)


def _short(value: float) -> str:
    """One decimal below 10, none from 10 up, and no «٫۰»: 2.5 → «۲٫۵», 4.0 → «۴», 23.4 → «۲۳»."""
    return persian_number(value, 1 if round(value, 1) < 10 else 0).removesuffix("٫۰")


def percent(rate) -> str:
    """A share (0.256) as «۲۶٪»; «۷٫۵٪» below 10%; «۰٪» for none; «زیر ۰٫۱٪» for a share too
    small to show but not nothing; «—» when there is no base."""
    if rate is None:
        return "—"
    share = rate * 100
    if 0 < share < 0.05:
        return "زیر ۰٫۱٪"
    return f"{_short(share)}٪"


def times(ratio) -> str:
    """Revenue per rial spent, as a merchant reads it: «۲٫۵ برابر», «۲۳ برابر», «بیش از ۱۰۰
    برابر»; «—» when nothing was spent."""
    if ratio is None:
        return "—"
    if ratio >= ROI_CAP:
        return f"بیش از {number(ROI_CAP)} برابر"
    if 0 < ratio < 0.05:
        return "زیر ۰٫۱ برابر"
    return f"{_short(ratio)} برابر"


def change(current, previous) -> str:
    """How far a figure moved from the previous period: «▲ ۲۵٪», «▼ ۱۰٪», «۰٪»; «—» when the
    previous period had none (growth from nothing is no percentage)."""
    if current is None or not previous:
        return "—"
    moved = (current - previous) / previous * 100
    shown = _short(abs(moved))
    if shown == "۰":
        return "۰٪"
    return f"{'▲' if moved > 0 else '▼'} {shown}٪"


def compact(value: float) -> str:
    """A large amount in a few characters, for a chart: 800000 → «۸۰۰ هزار», 1234567 → «۱٫۲
    میلیون», 2.5e9 → «۲٫۵ میلیارد»; below a thousand as it is (950 → «۹۵۰», 0.5 → «۰٫۵»)."""
    at = 0
    while at + 1 < len(_SCALES) and value >= _SCALES[at + 1][0]:
        at += 1
    if at + 1 < len(_SCALES) and round(value / _SCALES[at][0]) >= 1000:
        at += 1  # 999,700 is «۱ میلیون», not «۱٬۰۰۰ هزار»
    scale, name = _SCALES[at]
    return f"{_short(value / scale)} {name}".rstrip()
