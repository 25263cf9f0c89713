"""The daily rollup of reports: a year's report sums a few thousand rows instead of reading a
year of messages, and stays exact.

`report_days` holds, per store-local day (of `sent_at`) and campaign, step and A/B variant, what
the messages that went out that day count (statuses, parts, cost, clicks, credited orders), made
by the very queries that compute a report from the raw tables (service.message_figures). A
report adds up the rows of its days that are rolled up and not dirty, and reads the other days
raw: so at every moment it equals the report computed from the raw tables alone.

Staleness is never trusted to timing: every writer that changes what a day counts marks that
day dirty in the same transaction (app/report_marks: why a mark is a row per transaction). The
job deletes exactly the marks it read before reading the raw tables, so a mark written meanwhile
survives and the day is rolled up again next round.

Days never rolled up (history before the rollup existed, a new store, a store whose timezone
changed) need no marks: `report_watermarks` says through which local day, in which timezone, a
store has rows. Later days are read raw, and each round rolls up to yesterday, a month at a
time. A timezone change makes the watermark's timezone wrong, so the store reads raw until the
job has rebuilt it; a new price per part needs nothing (estimated costs are kept as parts).

Known limit, shared with the raw queries: clicks and credits are bounded below by the first day
of the period read (repository.SKEW, one day), so one made more than a day before its message's
`sent_at` (clocks gone wrong) counts differently by day than by month.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from app.campaigns.models import Message
from app.clock import local_today
from app.db import unit_of_work
from app.report_marks.marks import local_day as _day_of
from app.report_marks.models import ReportDirtyDay
from app.reports.models import FIGURES, ReportDay, ReportWatermark
from app.reports.period import Period, as_date, local_day
from app.stores.models import Store

log = logging.getLogger(__name__)

CHUNK_DAYS = 31  # days rolled up per transaction while catching up
MAX_MARKS = 5000  # dirty marks taken per store per transaction
_COST = {"cost_estimated_parts": "estimated_parts", "cost_estimated": "estimated",
         "cost_reported": "reported", "cost_ledger": "ledger"}


# ---- reading ----

def _spans(days: Iterable[date]) -> list[tuple[date, date]]:
    """Runs of consecutive days: [(first, last), …]."""
    spans: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if spans and spans[-1][1] + timedelta(days=1) == day:
            spans[-1] = (spans[-1][0], day)
        else:
            spans.append((day, day))
    return spans


def _add(f, values, price: int) -> None:
    for name, value in zip(FIGURES, values, strict=True):
        value = int(value or 0)
        if name == "cost_known":
            f.cost.rial += value
        elif name == "cost_estimated_parts":
            f.cost.estimated_parts += value
            f.cost.rial += value * price
        elif name in _COST:
            setattr(f.cost, _COST[name], getattr(f.cost, _COST[name]) + value)
        else:
            setattr(f, name, getattr(f, name) + value)


def collect(session: Session, store: Store, period: Period, figures: dict, *, daily: bool,
            campaign_id: int | None, raw: Callable[[Period], None]) -> None:
    """Add to `figures` what went out in the period: per local day (`daily`) or per (campaign,
    step, variant), from the rollup for the days it holds and are not dirty, and through `raw`
    (which adds the raw tables' figures of a period) for the others."""
    mark = session.execute(select(ReportWatermark.through, ReportWatermark.timezone)
                           .where(ReportWatermark.store_id == store.id)).first()
    if mark is None or mark.timezone != store.timezone or mark.through < period.first_day:
        raw(period)
        return
    through = min(mark.through, period.last_day)
    dirty = sorted(set(session.scalars(
        select(ReportDirtyDay.day).where(ReportDirtyDay.store_id == store.id,
                                         ReportDirtyDay.day >= period.first_day,
                                         ReportDirtyDay.day <= through))))
    keys = ((ReportDay.day,) if daily
            else (ReportDay.campaign_id, ReportDay.step_id, ReportDay.variant))
    conditions = [ReportDay.store_id == store.id, ReportDay.day >= period.first_day,
                  ReportDay.day <= through]
    if dirty:
        conditions.append(ReportDay.day.not_in(dirty))
    if campaign_id is not None:
        conditions.append(ReportDay.campaign_id == campaign_id)
    for row in session.execute(select(*keys, *(func.sum(getattr(ReportDay, name))
                                               for name in FIGURES))
                               .where(*conditions).group_by(*keys)):
        key = (as_date(row[0]),) if daily else (row[0], row[1], row[2] or None)
        _add(figures[key], row[len(keys):], store.sms_price_per_part)
    later = [through + timedelta(days=n + 1) for n in range((period.last_day - through).days)]
    for first, last in _spans([*dirty, *later]):
        raw(Period(first, last, period.tz))


# ---- the job ----

def _rows(session: Session, store: Store, days: list[date]) -> list[dict]:
    """The rollup rows of these days, from the raw tables."""
    from app.reports.service import KEY, Figures, message_figures  # service reads through us

    dialect = session.get_bind().dialect.name
    rows = []
    for first, last in _spans(days):
        period = Period(first, last, store.timezone)
        figures: dict[tuple, Figures] = defaultdict(Figures)
        message_figures(session, store, period,
                        (local_day(Message.sent_at, period, dialect), *KEY), (), figures)
        for (day, campaign_id, step_id, variant), f in figures.items():
            c = f.cost
            rows.append({
                "store_id": store.id, "day": as_date(day), "campaign_id": campaign_id,
                "step_id": step_id, "variant": variant or "",
                "cost_known": c.rial - c.estimated_parts * store.sms_price_per_part,
                "cost_estimated_parts": c.estimated_parts, "cost_estimated": c.estimated,
                "cost_reported": c.reported, "cost_ledger": c.ledger,
                **{name: getattr(f, name) for name in FIGURES if not name.startswith("cost_")}})
    return rows


def _roll_store(session: Session, store: Store, now: datetime) -> tuple[int, bool]:
    """One step of one store's rollup, in the caller's transaction: dirty days rolled up
    again, the watermark moved on by up to CHUNK_DAYS. Returns (days rolled up, done)."""
    yesterday = local_today(store.timezone, now) - timedelta(days=1)
    mark = session.get(ReportWatermark, store.id)
    if mark is None or mark.timezone != store.timezone:  # never rolled up, or in another zone
        session.execute(delete(ReportDay).where(ReportDay.store_id == store.id))
        first = session.scalar(select(func.min(Message.sent_at))
                               .where(Message.store_id == store.id))
        start = _day_of(first, store.timezone) - timedelta(days=1) if first else yesterday
        if mark is None:
            mark = ReportWatermark(store_id=store.id, through=start, timezone=store.timezone)
            session.add(mark)
        else:
            mark.through, mark.timezone = start, store.timezone
    # The marks are read before the raw tables: a writer that commits later left a mark that
    # this transaction neither sees nor deletes.
    marks = session.execute(select(ReportDirtyDay.id, ReportDirtyDay.day)
                            .where(ReportDirtyDay.store_id == store.id)
                            .order_by(ReportDirtyDay.id).limit(MAX_MARKS)).all()
    through = max(mark.through, min(yesterday, mark.through + timedelta(days=CHUNK_DAYS)))
    days = sorted({day for _, day in marks if day <= through}
                  | {mark.through + timedelta(days=n + 1)
                     for n in range((through - mark.through).days)})
    if days:
        session.execute(delete(ReportDay).where(ReportDay.store_id == store.id,
                                                ReportDay.day.in_(days)))
        rows = _rows(session, store, days)
        for i in range(0, len(rows), 1000):
            session.execute(insert(ReportDay), rows[i:i + 1000])
    if marks:
        ids = [mark_id for mark_id, _ in marks]
        for i in range(0, len(ids), 1000):
            session.execute(delete(ReportDirtyDay).where(ReportDirtyDay.id.in_(ids[i:i + 1000])))
    mark.through = through
    return len(days), through >= yesterday and len(marks) < MAX_MARKS


def roll_up(factory: sessionmaker[Session], now: datetime, *,
            store_ids: list[int] | None = None) -> int:
    """The `report_rollup` job: every store's dirty days rolled up again, and its rollup brought
    up to yesterday (a month per transaction). Returns how many days were rolled up."""
    with factory() as session:
        query = (select(Store.id, Store.timezone, ReportWatermark.through,
                        ReportWatermark.timezone.label("built_in"))
                 .outerjoin(ReportWatermark, ReportWatermark.store_id == Store.id)
                 .order_by(Store.id))
        if store_ids is not None:
            query = query.where(Store.id.in_(store_ids))
        stores = session.execute(query).all()
        dirty = set(session.scalars(select(ReportDirtyDay.store_id).distinct()))
    total = 0
    for store_id, tz, through, built_in in stores:
        yesterday = local_today(tz, now) - timedelta(days=1)
        if built_in == tz and through is not None and through >= yesterday \
                and store_id not in dirty:
            continue
        done = False
        while not done:
            with unit_of_work(factory) as session:
                store = session.get_one(Store, store_id)
                days, done = _roll_store(session, store, now)
            total += days
    return total


def forget(session: Session, store_id: int | None = None) -> None:
    """Drop a store's rollup (every store's: None); it is rebuilt from the raw tables."""
    for table in (ReportDay, ReportDirtyDay, ReportWatermark):
        query = delete(table)
        if store_id is not None:
            query = query.where(table.store_id == store_id)
        session.execute(query)
