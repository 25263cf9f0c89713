"""Retention: how a store's customers come back, per Jalali month of a period and for cohorts.

Built on the store's mirrored orders, not on messages: these are the figures a store lives by
whether or not a campaign touched the order.

- A **purchase** is an order that is one now: `orders.purchased` (the one rule, kept by
  app/commerce/service.py: paid or processing/completed/on-hold, never cancelled, refunded,
  failed or trashed) and not deleted, as attribution decides (app/campaigns/attribution.py).
  Its **revenue** is its total less what its refunds gave back (attribution's `_net`).
- A **customer** is the order's contact (its phone) when it has one, else its WooCommerce
  customer id, else its billing e-mail (lower-cased). Orders with none of these count in
  orders and revenue, never in customer figures.
- A customer's **first purchase** is the earliest of all their purchases, before the period
  too, so one window runs over the store's purchases (bounded by the store, not the period);
  orders and survey answers are read for the period only.

Months are Jalali calendar months of store-local days, the first and last cut to the period.
Rows are put in a month by comparing their UTC time with the months' UTC bounds (a CASE), so
both databases group the same way; the only date arithmetic in SQL is the seconds from a
first purchase to a second.
"""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import jdatetime
from sqlalchemy import Row, and_, case, func, literal_column, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.commerce.models import Order
from app.digits import persian_digits
from app.reports.period import Period, jalali_label, local_midnight
from app.stores.models import Store
from app.surveys.models import SurveyAnswer

LIFETIME_MONTHS = (1, 2, 3, 6, 12)
REPEAT_WINDOW = timedelta(days=90)
SATISFIED = 4  # ratings 4 and 5
FULLY_REFUNDED = "refunded"  # WooCommerce's status once refunds gave the whole total back


@dataclass(frozen=True)
class Month:
    """A Jalali month, or the part of it inside the period: local days and UTC bounds."""

    first_day: date
    last_day: date
    since: datetime
    until: datetime  # the midnight after its last day (excluded)
    label: str  # «آذر ۱۴۰۵»

    def describe(self) -> dict:
        return {"from": self.first_day.isoformat(), "to": self.last_day.isoformat(),
                "from_jalali": jalali_label(self.first_day),
                "to_jalali": jalali_label(self.last_day), "label": self.label}


def _next_jalali_month(day: jdatetime.date) -> jdatetime.date:
    return jdatetime.date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def jalali_months(first_day: date, count_until: date, zone) -> list[Month]:
    """The Jalali months from the one holding `first_day` through the one holding
    `count_until`; the first starts at `first_day`, each ends where its calendar month ends."""
    months = []
    start = jdatetime.date.fromgregorian(date=first_day)
    while True:
        following = _next_jalali_month(start)
        begin = start.togregorian()
        end = following.togregorian() - timedelta(days=1)
        months.append(Month(begin, end, local_midnight(begin, zone),
                            local_midnight(end + timedelta(days=1), zone),
                            f"{jdatetime.date.j_months_fa[start.month - 1]} "
                            f"{persian_digits(start.year)}"))
        if end >= count_until:
            return months
        start = following


def period_months(period: Period) -> list[Month]:
    """The period's months, the last cut at the period's last day."""
    months = jalali_months(period.first_day, period.last_day, period.zone)
    last = months[-1]
    months[-1] = Month(last.first_day, period.last_day, last.since, period.until, last.label)
    return months


def _month_of(column, since: datetime, ends: list[datetime]) -> ColumnElement:
    """The index of the bucket a timestamp falls in, given each bucket's end (excluded): -1
    before `since`, len(ends) after the last."""
    return case((column < since, -1), *[(column < end, index) for index, end in enumerate(ends)],
                else_=len(ends))


_PURCHASE = and_(Order.purchased.is_(True), Order.deleted_at.is_(None))
_TOTAL = func.coalesce(Order.total, 0)
# attribution's _net: what the refunds gave back, at most the total; the rest is revenue.
_GIVEN_BACK = case((Order.refunded > _TOTAL, _TOTAL), else_=Order.refunded)
_NET = _TOTAL - _GIVEN_BACK
# Who bought: the contact, else the WooCommerce customer, else the e-mail. Three columns rather
# than one text key: sorting by a number first is what keeps the window below fast.
_WHO = (Order.contact_id,
        case((Order.contact_id.is_(None), Order.customer_wc_id)),
        case((Order.contact_id.is_(None) & Order.customer_wc_id.is_(None),
              func.lower(Order.email))))
_HAS_CUSTOMER = (Order.contact_id.is_not(None) | Order.customer_wc_id.is_not(None)
                 | (Order.email != literal_column("''")))
# Grouped by position: the bucket CASE carries its bounds as parameters, and PostgreSQL sees
# the selected and the grouped expression as one only when their text is identical.
_BY: list[ColumnElement] = [literal_column(str(n)) for n in range(1, 5)]


def _rate(part: int | float, whole: int | float, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


# ---- the SQL ----------------------------------------------------------------------------------

def _orders_by_month(session: Session, store_id: int, period: Period, ends) -> Sequence[Row]:
    """Per month: purchases, revenue, paid orders (purchases and fully refunded ones), refunded
    orders, gross revenue, refunded amount, purchases with no customer."""
    kept = Order.deleted_at.is_(None)
    refunded_fully = kept & (Order.status == FULLY_REFUNDED)
    paid = _PURCHASE | refunded_fully
    return session.execute(
        select(_month_of(Order.created_gmt, period.since, ends),
               func.sum(case((_PURCHASE, 1), else_=0)),
               func.sum(case((_PURCHASE, _NET), else_=0)),
               func.sum(case((paid, 1), else_=0)),
               func.sum(case((_PURCHASE, case((_GIVEN_BACK > 0, 1), else_=0)),
                             (refunded_fully, 1), else_=0)),
               func.sum(case((paid, _TOTAL), else_=0)),
               func.sum(case((_PURCHASE, _GIVEN_BACK), (refunded_fully, _TOTAL), else_=0)),
               func.sum(case((_PURCHASE & ~_HAS_CUSTOMER, 1), else_=0)))
        .where(Order.store_id == store_id, Order.created_gmt >= period.since,
               Order.created_gmt < period.until)
        .group_by(_BY[0])).all()


def purchases_by_contact(session: Session, store_id: int, period: Period) -> Sequence[Row]:
    """Each contact's purchases placed in the period, by this module's rules: (contact id,
    purchases, revenue). A segment's report adds up its members' (app/reports/segments.py)."""
    return session.execute(
        select(Order.contact_id, func.count(), func.sum(_NET))
        .where(Order.store_id == store_id, _PURCHASE, Order.contact_id.is_not(None),
               Order.created_gmt >= period.since, Order.created_gmt < period.until)
        .group_by(Order.contact_id)).all()


def _seconds_between(earlier, later, dialect: str) -> ColumnElement:
    """Whole seconds from one timestamp column to another, as SQL (SQLite keeps UTC text)."""
    if dialect == "postgresql":
        return func.round(func.extract("epoch", later - earlier))
    return func.round((func.julianday(later) - func.julianday(earlier)) * 86400)


def _customer_purchases(session: Session, store_id: int, period: Period, ends) -> Sequence[Row]:
    """The purchases of customers from the period's first day on, grouped by (bucket of the
    customer's first purchase ever, bucket of the purchase, and for second purchases the
    seconds since the first): revenue, first purchases, second purchases, customers new to
    the bucket, customers new to the period.

    One window over the store's purchases gives each its rank in its customer's history, the
    customer's first purchase and the one before it: every customer figure comes from it.
    """
    order = (Order.created_gmt, Order.id)
    ranked = (select(Order.created_gmt.label("at"), _NET.label("net"),
                     func.row_number().over(partition_by=_WHO, order_by=order).label("n"),
                     func.lag(Order.created_gmt, type_=Order.created_gmt.type)
                     .over(partition_by=_WHO, order_by=order).label("before"),
                     # The first row of the same window: one pass over the sorted rows.
                     func.first_value(Order.created_gmt, type_=Order.created_gmt.type)
                     .over(partition_by=_WHO, order_by=order).label("first_at"))
              .where(Order.store_id == store_id, _PURCHASE, _HAS_CUSTOMER,
                     Order.created_gmt.is_not(None))
              .subquery("ranked"))
    r = ranked.c
    bucket = _month_of(r.at, period.since, ends)
    gap = _seconds_between(r.first_at, r.at, session.get_bind().dialect.name)
    new_here = case((r.before.is_(None), 1),
                    (_month_of(r.before, period.since, ends) < bucket, 1), else_=0)
    new_in_period = case((r.before.is_(None), 1), (r.before < period.since, 1), else_=0)
    # Core rows: a year of a big store is some ten thousand second purchases.
    return session.connection().execute(
        select(_month_of(r.first_at, period.since, ends), bucket, case((r.n == 2, gap)),
               func.sum(r.net), func.sum(case((r.n == 1, 1), else_=0)),
               func.sum(case((r.n == 2, 1), else_=0)), func.sum(new_here),
               func.sum(new_in_period))
        .where(r.at >= period.since)
        .group_by(*_BY[:3])).all()


def _surveys_by_month(session: Session, store_id: int, period: Period, ends) -> Sequence[Row]:
    """Per month: survey answers given, the sum of their ratings, and how many rated 4 or 5."""
    return session.execute(
        select(_month_of(SurveyAnswer.answered_at, period.since, ends), func.count(),
               func.sum(SurveyAnswer.rating),
               func.sum(case((SurveyAnswer.rating >= SATISFIED, 1), else_=0)))
        .where(SurveyAnswer.store_id == store_id, SurveyAnswer.answered_at >= period.since,
               SurveyAnswer.answered_at < period.until)
        .group_by(_BY[0])).all()


# ---- the report -------------------------------------------------------------------------------

@dataclass
class _Row:
    orders: int = 0
    revenue: int = 0
    paid_orders: int = 0
    refunded_orders: int = 0
    gross_revenue: int = 0
    refunded_amount: int = 0
    orders_without_customer: int = 0
    customers: int = 0
    new_customers: int = 0
    returning_revenue: int = 0
    survey_answers: int = 0
    rating_sum: int = 0
    satisfied: int = 0

    def add(self, other: "_Row") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def out(self) -> dict:
        return {
            "orders": self.orders, "customers": self.customers,
            "new_customers": self.new_customers,
            "returning_customers": self.customers - self.new_customers,
            "orders_without_customer": self.orders_without_customer,
            "revenue": self.revenue, "returning_revenue": self.returning_revenue,
            "returning_revenue_share": _rate(self.returning_revenue, self.revenue),
            "average_order_value": round(self.revenue / self.orders) if self.orders else None,
            "paid_orders": self.paid_orders, "refunded_orders": self.refunded_orders,
            "refund_rate": _rate(self.refunded_orders, self.paid_orders),
            "gross_revenue": self.gross_revenue, "refunded_amount": self.refunded_amount,
            "refunded_share": _rate(self.refunded_amount, self.gross_revenue),
            "survey_answers": self.survey_answers,
            "average_rating": _rate(self.rating_sum, self.survey_answers, 2),
            "satisfied_share": _rate(self.satisfied, self.survey_answers),
        }


@dataclass
class _Cohort:
    customers: int = 0
    repeat: int = 0
    repeat_90: int = 0
    revenue_by_age: dict[int, int] = field(default_factory=dict)


def _tune(session: Session) -> None:
    """PostgreSQL, for this transaction only: no JIT (it compiles a query whose estimated cost
    passes `jit_above_cost`, and these grouped reads over a big store's orders pass it:
    compiling took ~0.9 s of a 1.1 s query that runs in 0.1 s without), and room to sort a
    store's purchases in memory (the default 4 MB spilled 50,000 of them to disk)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '32MB'"))


def retention(session: Session, *, store: Store, period: Period, now: datetime) -> dict:
    """The period's retention figures per Jalali month and in total, its repeat purchases and
    second orders, and the lifetime value of the customers it won (up to `now`)."""
    _tune(session)
    months = period_months(period)
    k = len(months)
    # Calendar months from the period's first to 12 after its last, whole (the first from the
    # period's first day): a cohort's lifetime value is counted month by month in them.
    calendar = jalali_months(period.first_day, _months_after(months[-1], max(LIFETIME_MONTHS)),
                             period.zone)
    # The SQL's buckets: the period's months (the last cut at the period's end), the rest of
    # that calendar month, then the calendar months after it.
    ends = [m.until for m in months] + [m.until for m in calendar[k - 1:]
                                        if m.since <= now]  # none later yet
    rows = [_Row() for _ in months]

    for index, *figures in _orders_by_month(session, store.id, period, ends):
        row = rows[index]
        (row.orders, row.revenue, row.paid_orders, row.refunded_orders, row.gross_revenue,
         row.refunded_amount, row.orders_without_customer) = (int(f or 0) for f in figures)
    for index, answers, rating_sum, satisfied in _surveys_by_month(session, store.id, period,
                                                                  ends):
        row = rows[index]
        row.survey_answers, row.rating_sum, row.satisfied = (
            int(answers), int(rating_sum or 0), int(satisfied or 0))

    cohorts = [_Cohort() for _ in months]
    gaps: list[float] = []
    # Over the whole period: customers and returning revenue are not sums of the months'.
    period_customers = period_returning_revenue = 0
    for (first_bucket, bucket, gap, revenue, firsts, seconds, new_here,
         new_in_period) in _customer_purchases(session, store.id, period, ends):
        revenue = int(revenue or 0)
        if bucket < k:  # a purchase in the period
            rows[bucket].customers += int(new_here)
            period_customers += int(new_in_period)
            if first_bucket < bucket:
                rows[bucket].returning_revenue += revenue
            if first_bucket < 0:
                period_returning_revenue += revenue
        if 0 <= first_bucket < k:
            cohort = cohorts[first_bucket]
            cohort.customers += int(firsts)
            cohort.repeat += int(seconds)
            if bucket < len(ends):
                age = (bucket if bucket < k else bucket - 1) - first_bucket
                cohort.revenue_by_age[age] = cohort.revenue_by_age.get(age, 0) + revenue
        if gap is not None:  # second purchases, `gap` seconds after the first
            if bucket < k:
                gaps += [float(gap) / 86400] * int(seconds)
            if 0 <= first_bucket < k and gap <= REPEAT_WINDOW.total_seconds():
                cohorts[first_bucket].repeat_90 += int(seconds)

    totals = _Row()
    for row, cohort in zip(rows, cohorts, strict=True):
        row.new_customers = cohort.customers
        totals.add(row)
    totals.customers, totals.returning_revenue = period_customers, period_returning_revenue

    old_enough = [m.until + REPEAT_WINDOW <= now for m in months]
    ripe = [i for i in range(k) if old_enough[i]]
    ripe_customers = sum(cohorts[i].customers for i in ripe)
    ripe_repeat = sum(cohorts[i].repeat_90 for i in ripe)
    repeat = sum(c.repeat for c in cohorts)
    return {
        "store": {"id": store.id, "name": store.name, "currency": store.currency,
                  "timezone": store.timezone},
        "range": period.describe(), "amounts_in": "rial",
        "months": [month.describe() | row.out() for month, row in zip(months, rows, strict=True)],
        "totals": totals.out(),
        "repeat_purchase": {
            "customers": totals.new_customers, "repeat_customers": repeat,
            "rate": _rate(repeat, totals.new_customers),
            "within_90_days": {
                "cohorts": [months[i].first_day.isoformat() for i in ripe],
                "customers": ripe_customers, "repeat_customers": ripe_repeat,
                "rate": _rate(ripe_repeat, ripe_customers)}},
        "second_order": {
            "customers": len(gaps),
            "median_days": round(statistics.median(gaps), 1) if gaps else None,
            "average_days": round(statistics.fmean(gaps), 1) if gaps else None},
        "cohorts": [month.describe() | _cohort_out(cohort, index, calendar, now, old_enough[index])
                    for index, (month, cohort) in enumerate(zip(months, cohorts, strict=True))],
    }


def _cohort_out(cohort: _Cohort, index: int, calendar: list[Month], now: datetime,
                old_enough: bool) -> dict:
    values = []
    for n in LIFETIME_MONTHS:
        # By the end of the n-th calendar month after the cohort's: every customer in it had at
        # least n whole months. Unknown until that month has ended.
        ended = calendar[index + n].until <= now
        revenue = sum(v for age, v in cohort.revenue_by_age.items() if age <= n) if ended else None
        values.append({"months": n, "revenue": revenue,
                       "per_customer": (round(revenue / cohort.customers)
                                        if revenue is not None and cohort.customers else None)})
    return {"customers": cohort.customers, "repeat_customers": cohort.repeat,
            "repeat_rate": _rate(cohort.repeat, cohort.customers),
            "repeat_within_90_days": cohort.repeat_90 if old_enough else None,
            "lifetime_value": values}


def _months_after(month: Month, count: int) -> date:
    """A day in the Jalali month `count` months after `month`."""
    day = jdatetime.date.fromgregorian(date=month.first_day)
    for _ in range(count):
        day = _next_jalali_month(day.replace(day=1))
    return day.togregorian()
