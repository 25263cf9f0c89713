"""True incremental lift: did the campaign bring sales that would not have come anyway?

A campaign with a control share (`campaigns.control_percent`) draws some of its enrollments
into a control group: enrolled like the rest, checked like the rest, never sent to
(app/campaigns/guard.py). Comparing what the two groups bought afterwards answers what
attribution cannot: a customer credited to a reminder may well have come back without it.

Intent to treat: every enrollment whose anchor (the moment its steps count from) is in the
period counts in its group, whether or not its messages went out (a purchase that ended the
sequence early is exactly the outcome). An enrollment converted when its contact has an order
that is a purchase now (`purchased`, not deleted: not cancelled, refunded, failed or trashed
since) placed from its anchor until the campaign's last step delay plus the store's
attribution window after it; its revenue is those orders' totals less what their refunds gave
back (the rule attribution uses). The last days of a period still grow while those windows run.

Intervals are 95%, two-sided: the conversion-rate difference by the unpooled (Wald) normal
interval; revenue per enrollment by Welch's interval for a difference of means (Student's t with
Welch–Satterthwaite degrees of freedom). Incremental orders and revenue scale those by the
treated enrollments: what the treated group got beyond what it would have got as control.
"""

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Float, Interval, and_, case, cast, func, literal_column, select
from sqlalchemy.orm import Session

from app.campaigns.models import BROADCAST, Campaign, CampaignStep, Enrollment
from app.commerce.models import Order
from app.digits import persian_digits
from app.reports.period import Period
from app.reports.stats import MIN_EXPECTED
from app.stores.models import Store

CONFIDENCE = 0.95
Z = 1.959963984540054  # the standard normal's 97.5th percentile: two-sided 95%
MIN_CONTACTS = 100  # enrollments per group before any interval is given

NO_CONTROL = "no_control"
NOT_ENOUGH_DATA = "not_enough_data"
SIGNIFICANT = "significant"
NOT_SIGNIFICANT = "not_significant"


@dataclass(frozen=True)
class Group:
    """One side's enrollments: how many, how many converted, their orders, and the sum and sum
    of squares of revenue per enrollment (Rial; squares as floats, they pass 2⁶³)."""

    contacts: int = 0
    converted: int = 0
    orders: int = 0
    revenue: int = 0
    revenue_squares: float = 0.0

    @property
    def rate(self) -> float:
        return self.converted / self.contacts if self.contacts else 0.0

    @property
    def mean(self) -> float:
        return self.revenue / self.contacts if self.contacts else 0.0

    @property
    def variance(self) -> float:
        """The sample variance of revenue per enrollment."""
        if self.contacts < 2:
            return 0.0
        spread = self.revenue_squares - self.contacts * self.mean ** 2
        return max(spread, 0.0) / (self.contacts - 1)

    def out(self) -> dict:
        return {"contacts": self.contacts, "converted": self.converted,
                "conversion_rate": round(self.rate, 4) if self.contacts else None,
                "orders": self.orders, "revenue": self.revenue,
                "revenue_per_contact": round(self.mean) if self.contacts else None}


def t_quantile(df: float) -> float:
    """Student's t 97.5th percentile (two-sided 95%) for `df` degrees of freedom: the
    Cornish–Fisher expansion around Z, within 10⁻³ from 5 degrees of freedom up (a group of
    MIN_CONTACTS always has more)."""
    g = ((Z ** 3 + Z) / 4,
         (5 * Z ** 5 + 16 * Z ** 3 + 3 * Z) / 96,
         (3 * Z ** 7 + 19 * Z ** 5 + 17 * Z ** 3 - 15 * Z) / 384,
         (79 * Z ** 9 + 776 * Z ** 7 + 1482 * Z ** 5 - 1920 * Z ** 3 - 945 * Z) / 92160)
    return Z + sum(term / df ** (i + 1) for i, term in enumerate(g))


def rate_difference(treated: Group, control: Group) -> tuple[float, float, float]:
    """(estimate, low, high): treated's conversion rate less control's, unpooled Wald."""
    d = treated.rate - control.rate
    se = math.sqrt(treated.rate * (1 - treated.rate) / treated.contacts
                   + control.rate * (1 - control.rate) / control.contacts)
    return d, d - Z * se, d + Z * se


def mean_difference(treated: Group, control: Group) -> tuple[float, float, float]:
    """(estimate, low, high): treated's revenue per enrollment less control's, Welch."""
    d = treated.mean - control.mean
    a, b = treated.variance / treated.contacts, control.variance / control.contacts
    if a + b == 0:
        return d, d, d
    df = (a + b) ** 2 / (a ** 2 / (treated.contacts - 1) + b ** 2 / (control.contacts - 1))
    half = t_quantile(df) * math.sqrt(a + b)
    return d, d - half, d + half


def enough(treated: Group, control: Group) -> bool:
    """As stats.py asks of A/B arms: enough enrollments in each group, and enough conversions
    and non-conversions expected in each under "no difference", for the normal intervals."""
    total = treated.contacts + control.contacts
    if total == 0:
        return False
    pooled = (treated.converted + control.converted) / total
    return all(g.contacts >= MIN_CONTACTS and g.contacts * pooled >= MIN_EXPECTED
               and g.contacts * (1 - pooled) >= MIN_EXPECTED for g in (treated, control))


def _fa(value: float) -> str:
    return persian_digits(f"{round(value):,}".replace(",", "٬"))


def _orders_in_words(low: float, high: float) -> str:
    """«بین ۵ و ۲۰ سفارش بیشتر», «بین ۳ و ۹ سفارش کمتر», «از ۳ سفارش کمتر تا ۱۲ سفارش بیشتر»."""
    if low >= 0:
        return f"بین {_fa(low)} و {_fa(high)} سفارش بیشتر"
    if high <= 0:
        return f"بین {_fa(-high)} و {_fa(-low)} سفارش کمتر"
    return f"از {_fa(-low)} سفارش کمتر تا {_fa(high)} سفارش بیشتر"


def _message(verdict: str, campaign: Campaign, treated: Group, control: Group,
             orders: tuple[float, float, float] | None) -> str:
    """One plain Persian sentence for the merchant, about the campaign or the broadcast."""
    noun, settings = (("ارسال گروهی", "فرم ارسال گروهی") if campaign.kind == BROADCAST
                      else ("کمپین", "تنظیمات کمپین"))
    if verdict == NO_CONTROL:
        if not campaign.control_percent:
            return (f"گروه کنترل این {noun} خاموش است، پس اثر واقعی آن سنجیده نمی‌شود؛ برای "
                    f"سنجش، در {settings} درصدی از مخاطبان را کنار بگذارید.")
        return (f"در این بازه هنوز کسی در گروه کنترل این {noun} نیست؛ هنوز چیزی برای مقایسه "
                "نیست.")
    if verdict == NOT_ENOUGH_DATA or orders is None:
        return (f"نمونه برای نتیجه‌گیری کوچک است ({_fa(control.contacts)} نفر در گروه کنترل و "
                f"{_fa(treated.contacts)} نفر در گروه پیامک): از این اعداد هنوز نمی‌شود گفت "
                f"{noun} فروش را بیشتر کرده یا نه؛ دست‌کم {_fa(MIN_CONTACTS)} نفر در هر گروه "
                "و چند خرید در هر دو لازم است.")
    _, low, high = orders
    words = _orders_in_words(low, high)
    if verdict == SIGNIFICANT and low > 0:
        return (f"این {noun} واقعاً فروش آورده است: با اطمینان ۹۵٪، {words} از آنچه بی پیامک "
                "می‌شد.")
    if verdict == SIGNIFICANT:
        return (f"مشتریانی که پیامک گرفتند کمتر از گروه کنترل خریدند ({words}، با اطمینان "
                f"۹۵٪)؛ متن و زمان پیامک‌های این {noun} را بازبینی کنید.")
    return (f"هنوز نمی‌توان گفت این {noun} فروش را بیشتر کرده است: اثر آن با اطمینان ۹۵٪ "
            f"{words} است و «بی‌اثر» را هم در بر می‌گیرد.")


def _interval(values: tuple[float, float, float], scale: float, digits: int | None) -> dict:
    estimate, low, high = (v * scale for v in values)
    if digits is None:
        return {"estimate": round(estimate), "low": round(low), "high": round(high)}
    return {"estimate": round(estimate, digits), "low": round(low, digits),
            "high": round(high, digits)}


def compare(campaign: Campaign, treated: Group, control: Group, *,
            window_days: float) -> dict[str, Any]:
    """The lift block of the campaign report, from the two groups' figures."""
    out: dict[str, Any] = {"control_percent": campaign.control_percent,
                           "window_days": window_days, "confidence": CONFIDENCE,
                           "treated": treated.out(), "control": control.out(),
                           "conversion_rate_difference": None, "incremental_orders": None,
                           "incremental_revenue": None}
    if control.contacts == 0:
        verdict = NO_CONTROL
    elif not enough(treated, control):
        verdict = NOT_ENOUGH_DATA
    else:
        rates = rate_difference(treated, control)
        out["conversion_rate_difference"] = _interval(rates, 1, 4)
        out["incremental_orders"] = _interval(rates, treated.contacts, 1)
        out["incremental_revenue"] = _interval(mean_difference(treated, control),
                                               treated.contacts, None)
        verdict = SIGNIFICANT if rates[1] > 0 or rates[2] < 0 else NOT_SIGNIFICANT
        orders = (rates[0] * treated.contacts, rates[1] * treated.contacts,
                  rates[2] * treated.contacts)
        return out | {"verdict": verdict,
                      "message": _message(verdict, campaign, treated, control, orders)}
    return out | {"verdict": verdict,
                  "message": _message(verdict, campaign, treated, control, None)}


def _later(column, seconds: int, dialect: str):
    """`column` + `seconds`, as SQL. SQLite keeps naive UTC text with microseconds
    ("2026-11-24 06:30:00.000000") and its date functions round to milliseconds: the whole
    seconds are added to the text before the point and the fraction put back as it was."""
    if dialect == "postgresql":
        return column + literal_column(f"interval '{int(seconds)} seconds'", type_=Interval)
    return func.strftime("%Y-%m-%d %H:%M:%S", func.substr(column, 1, 19),
                         literal_column(f"'+{int(seconds)} seconds'")).op("||")(
                             func.substr(column, 20))


def window_seconds(session: Session, campaign: Campaign, store: Store) -> int:
    """How long after its anchor an enrollment's purchases count: the campaign's last step
    delay (live steps) plus the store's attribution window."""
    last = session.scalar(select(func.max(CampaignStep.delay_minutes))
                          .where(CampaignStep.campaign_id == campaign.id,
                                 CampaignStep.deleted_at.is_(None))) or 0
    return last * 60 + store.attribution_window_days * 86_400


def groups(session: Session, *, store: Store, period: Period, campaign: Campaign,
           seconds: int) -> dict[bool, Group]:
    """Treated (False) and control (True) figures of the enrollments anchored in the period:
    each enrollment's orders and revenue in SQL, then summed per group."""
    total = func.coalesce(Order.total, 0)
    net = total - case((Order.refunded > total, total), else_=Order.refunded)
    dialect = session.get_bind().dialect.name
    per = (select(Enrollment.control.label("control"), func.count(Order.id).label("orders"),
                  func.coalesce(func.sum(net), 0).label("revenue"))
           .select_from(Enrollment)
           .outerjoin(Order, and_(
               Order.contact_id == Enrollment.contact_id, Order.store_id == store.id,
               Order.purchased.is_(True), Order.deleted_at.is_(None),
               Order.created_gmt >= Enrollment.anchor_at,
               Order.created_gmt <= _later(Enrollment.anchor_at, seconds, dialect),
               # The same bounds for all: the store's orders of the period and its windows
               # only (by its (store, created) index), never its whole history.
               Order.created_gmt >= period.since,
               Order.created_gmt <= period.until + timedelta(seconds=seconds)))
           .where(Enrollment.campaign_id == campaign.id, Enrollment.anchor_at >= period.since,
                  Enrollment.anchor_at < period.until)
           .group_by(Enrollment.id, Enrollment.control).subquery())
    revenue = cast(per.c.revenue, Float)
    found = {bool(control): Group(int(n), int(converted or 0), int(orders or 0),
                                  int(money or 0), float(squares or 0))
             for control, n, converted, orders, money, squares in session.execute(
                 select(per.c.control, func.count(),
                        func.sum(case((per.c.orders > 0, 1), else_=0)), func.sum(per.c.orders),
                        func.sum(per.c.revenue), func.sum(revenue * revenue))
                 .group_by(per.c.control))}
    return {side: found.get(side, Group()) for side in (False, True)}


def campaign_lift(session: Session, *, store: Store, period: Period,
                  campaign: Campaign) -> dict[str, Any]:
    """The campaign's lift over the period (see the module's docstring)."""
    seconds = window_seconds(session, campaign, store)
    found = groups(session, store=store, period=period, campaign=campaign, seconds=seconds)
    days = seconds / 86_400
    return compare(campaign, found[False], found[True],
                   window_days=int(days) if days == int(days) else round(days, 2))
