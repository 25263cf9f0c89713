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
  too: one grouped query over the store's purchases (bounded by the store; `created_gmt`
  orders it). Everything else is bounded by the period, or by the period's cohorts.

Months are Jalali calendar months of store-local days, the first and last cut to the period.
Rows are put in a month by comparing their UTC time with the months' UTC bounds (a CASE), so
both databases group the same way and no date arithmetic runs in SQL.
"""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import jdatetime
from sqlalchemy import Row, String, and_, case, cast, func, literal_column, select
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
    until: datetime  # the month's true end (the next month's first midnight), for cohorts
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


def _month_of(column, bounds: list[datetime]) -> ColumnElement:
    """The index of the month a timestamp falls in, given each month's end (excluded): 0 for
    the first; len(bounds) past the last. Only asked of rows at or after the first's start."""
    return case(*[(column < bound, index) for index, bound in enumerate(bounds)],
                else_=len(bounds))


def _customer() -> ColumnElement:
    """Who bought: contact, else WooCommerce customer, else e-mail; NULL for none of them."""
    return case(
        (Order.contact_id.is_not(None),
         literal_column("'c'").concat(cast(Order.contact_id, String))),
        (Order.customer_wc_id.is_not(None),
         literal_column("'w'").concat(cast(Order.customer_wc_id, String))),
        (Order.email != literal_column("''"), literal_column("'e'").concat(func.lower(Order.email))),
        else_=None)


_PURCHASE = and_(Order.purchased.is_(True), Order.deleted_at.is_(None))
_TOTAL = func.coalesce(Order.total, 0)
# attribution's _net: what the refunds gave back, at most the total; the rest is revenue.
_GIVEN_BACK = case((Order.refunded > _TOTAL, _TOTAL), else_=Order.refunded)
_NET = _TOTAL - _GIVEN_BACK


# Grouped by position: the month CASE carries its bounds as parameters, and PostgreSQL sees the
# selected and the grouped expression as one only when their text is identical.
_BY_FIRST: ColumnElement = literal_column("1")
_BY_SECOND: ColumnElement = literal_column("2")


def _in(column, since: datetime, until: datetime):
    return (column >= since, column < until)


def _rate(part: int | float, whole: int | float, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


# ---- the SQL ----------------------------------------------------------------------------------

def _orders_by_month(session: Session, store_id: int, period: Period, bounds) -> Sequence[Row]:
    """Per month: purchases, revenue, paid orders (purchases and fully refunded ones), refunded
    orders, gross revenue, refunded amount, purchases with no customer."""
    refunded_fully = Order.status == FULLY_REFUNDED
    paid = _PURCHASE | (refunded_fully & Order.deleted_at.is_(None))
    month = _month_of(Order.created_gmt, bounds)
    return session.execute(
        select(month,
               func.sum(case((_PURCHASE, 1), else_=0)),
               func.sum(case((_PURCHASE, _NET), else_=0)),
               func.sum(case((paid, 1), else_=0)),
               func.sum(case((_PURCHASE, case((_GIVEN_BACK > 0, 1), else_=0)), (paid, 1),
                             else_=0)),
               func.sum(case((paid, _TOTAL), else_=0)),
               func.sum(case((_PURCHASE, _GIVEN_BACK), (paid, _TOTAL), else_=0)),
               func.sum(case((_PURCHASE & _customer().is_(None), 1), else_=0)))
        .where(Order.store_id == store_id, *_in(Order.created_gmt, period.since, period.until))
        .group_by(_BY_FIRST)).all()


def _firsts(store_id: int):
    """Each customer's first purchase ever: (customer, first_at)."""
    customer = _customer()
    return (select(customer.label("customer"), func.min(Order.created_gmt).label("first_at"))
            .where(Order.store_id == store_id, _PURCHASE, customer.is_not(None),
                   Order.created_gmt.is_not(None))
            .group_by(_BY_FIRST).subquery("firsts"))


def _customers_by_month(session: Session, store_id: int, period: Period,
                        bounds) -> list[tuple]:
    """Per month, and for the whole period (month None): customers who bought, and the revenue
    of those whose first purchase came before it (returning customers)."""
    firsts = _firsts(store_id)
    customer = _customer()
    base = (select().select_from(Order).join(firsts, firsts.c.customer == customer)
            .where(Order.store_id == store_id, _PURCHASE,
                   *_in(Order.created_gmt, period.since, period.until)))
    month = _month_of(Order.created_gmt, bounds)
    earlier = _month_of(firsts.c.first_at, bounds) < month
    per_month = session.execute(
        base.add_columns(month, func.count(customer.distinct()),
                         func.sum(case((firsts.c.first_at < period.since, _NET),
                                       (earlier, _NET), else_=0)))
        .group_by(_BY_FIRST)).all()
    whole = session.execute(
        base.add_columns(func.count(customer.distinct()),
                         func.sum(case((firsts.c.first_at < period.since, _NET), else_=0)))
    ).one()
    return [*map(tuple, per_month), (None, *whole)]


def _cohorts(session: Session, store_id: int, period: Period, later_bounds) -> Sequence[Row]:
    """The customers whose first purchase was in the period: per cohort month and month of
    purchase (up to 12 months after the period), their customers and revenue."""
    firsts = _firsts(store_id)
    customer = _customer()
    cohort = _month_of(firsts.c.first_at, later_bounds)
    month = _month_of(Order.created_gmt, later_bounds)
    return session.execute(
        select(cohort, month, func.count(customer.distinct()), func.sum(_NET))
        .select_from(Order).join(firsts, firsts.c.customer == customer)
        .where(Order.store_id == store_id, _PURCHASE,
               Order.created_gmt >= period.since,
               *_in(firsts.c.first_at, period.since, period.until))
        .group_by(_BY_FIRST, _BY_SECOND)).all()


def _second_purchases(session: Session, store_id: int, period: Period) -> Sequence[Row]:
    """(first, second purchase) of each customer whose first or second purchase fell in the
    period and who bought twice."""
    customer = _customer()
    ranked = (select(customer.label("customer"), Order.created_gmt.label("at"),
                     func.row_number().over(partition_by=customer,
                                            order_by=(Order.created_gmt, Order.id)).label("n"),
                     func.min(Order.created_gmt).over(partition_by=customer).label("first_at"))
              .where(Order.store_id == store_id, _PURCHASE, customer.is_not(None),
                     Order.created_gmt.is_not(None))
              .subquery("ranked"))
    return session.execute(
        select(ranked.c.first_at, ranked.c.at)
        .where(ranked.c.n == 2,
               and_(*_in(ranked.c.at, period.since, period.until))
               | and_(*_in(ranked.c.first_at, period.since, period.until)))).all()


def _surveys_by_month(session: Session, store_id: int, period: Period, bounds) -> Sequence[Row]:
    """Per month: survey answers given, the sum of their ratings, and how many rated 4 or 5."""
    month = _month_of(SurveyAnswer.answered_at, bounds)
    return session.execute(
        select(month, func.count(), func.sum(SurveyAnswer.rating),
               func.sum(case((SurveyAnswer.rating >= SATISFIED, 1), else_=0)))
        .where(SurveyAnswer.store_id == store_id,
               *_in(SurveyAnswer.answered_at, period.since, period.until))
        .group_by(_BY_FIRST)).all()


# ---- the report -------------------------------------------------------------------------------

def _bucket(at: datetime, months: list[Month]) -> int | None:
    for index, month in enumerate(months):
        if month.since <= at < month.until:
            return index
    return None


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

    def add_orders(self, figures) -> None:
        (self.orders, self.revenue, self.paid_orders, self.refunded_orders, self.gross_revenue,
         self.refunded_amount, self.orders_without_customer) = (int(f or 0) for f in figures)

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


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / 86400


def retention(session: Session, *, store: Store, period: Period, now: datetime) -> dict:
    """The period's retention figures per Jalali month and in total, its repeat purchases and
    second orders, and the lifetime value of the customers it won (up to `now`)."""
    months = period_months(period)
    bounds = [m.until for m in months]
    rows = [_Row() for _ in months]
    totals = _Row()
    for index, *figures in _orders_by_month(session, store.id, period, bounds):
        rows[index].add_orders(figures)
    for index, answers, rating_sum, satisfied in _surveys_by_month(session, store.id, period,
                                                                  bounds):
        row = rows[index]
        row.survey_answers, row.rating_sum, row.satisfied = (
            int(answers), int(rating_sum or 0), int(satisfied or 0))
    for row in rows:
        totals.add(row)
    for index, customers, returning_revenue in _customers_by_month(session, store.id, period,
                                                                   bounds):
        row = totals if index is None else rows[index]
        row.customers, row.returning_revenue = int(customers), int(returning_revenue or 0)

    # Cohorts: their purchases month by month, up to 12 months after the period's last month.
    later = jalali_months(period.first_day, _months_after(months[-1], max(LIFETIME_MONTHS)),
                          period.zone)
    sizes = [0] * len(months)
    revenue_by_age: list[dict[int, int]] = [{} for _ in months]
    for cohort, month, customers, revenue in _cohorts(session, store.id, period,
                                                      [m.until for m in later]):
        if month == cohort:
            sizes[cohort] = int(customers)
        if month < len(later):
            revenue_by_age[cohort][month - cohort] = int(revenue or 0)
    for index, size in enumerate(sizes):
        rows[index].new_customers = size
    totals.new_customers = sum(sizes)

    pairs = _second_purchases(session, store.id, period)
    repeat = [0] * len(months)
    repeat_90 = [0] * len(months)
    gaps = []
    for first_at, second_at in pairs:
        if period.since <= second_at < period.until:
            gaps.append(_days(second_at - first_at))
        cohort = _bucket(first_at, months)
        if cohort is not None:
            repeat[cohort] += 1
            repeat_90[cohort] += second_at - first_at <= REPEAT_WINDOW
    old_enough = [m.until + REPEAT_WINDOW <= now for m in months]
    cohorts = []
    for index, month in enumerate(months):
        ages = revenue_by_age[index]
        values = []
        for n in LIFETIME_MONTHS:
            ended = index + n < len(later) and later[index + n].until <= now
            revenue = sum(v for age, v in ages.items() if age <= n) if ended else None
            values.append({"months": n, "revenue": revenue,
                           "per_customer": (round(revenue / sizes[index])
                                            if revenue is not None and sizes[index] else None)})
        cohorts.append(month.describe() | {
            "customers": sizes[index], "repeat_customers": repeat[index],
            "repeat_rate": _rate(repeat[index], sizes[index]),
            "repeat_within_90_days": repeat_90[index] if old_enough[index] else None,
            "lifetime_value": values})
    ripe = [i for i in range(len(months)) if old_enough[i]]
    ripe_customers = sum(sizes[i] for i in ripe)
    ripe_repeat = sum(repeat_90[i] for i in ripe)
    return {
        "store": {"id": store.id, "name": store.name, "currency": store.currency,
                  "timezone": store.timezone},
        "range": period.describe(), "amounts_in": "rial",
        "months": [month.describe() | row.out() for month, row in zip(months, rows, strict=True)],
        "totals": totals.out(),
        "repeat_purchase": {
            "customers": totals.new_customers, "repeat_customers": sum(repeat),
            "rate": _rate(sum(repeat), totals.new_customers),
            "within_90_days": {
                "cohorts": [months[i].first_day.isoformat() for i in ripe],
                "customers": ripe_customers, "repeat_customers": ripe_repeat,
                "rate": _rate(ripe_repeat, ripe_customers)}},
        "second_order": {
            "customers": len(gaps),
            "median_days": round(statistics.median(gaps), 1) if gaps else None,
            "average_days": round(statistics.fmean(gaps), 1) if gaps else None},
        "cohorts": cohorts,
    }


def _months_after(month: Month, count: int) -> date:
    """A day in the Jalali month `count` months after `month`."""
    day = jdatetime.date.fromgregorian(date=month.first_day)
    for _ in range(count):
        day = _next_jalali_month(day.replace(day=1))
    return day.togregorian()
