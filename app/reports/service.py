"""Reports: what a store's campaigns sent, what that cost, and what it brought back.

Two families of figures, both for a period of whole days in the store's timezone:

- **messages and what they brought**: the messages of the period (those that went out in it, and
  those due in it that have not gone out), with their cost, clicks and orders, whenever the
  click or order happened. So rates are always "of these messages, how many …", and the daily
  series adds up to the totals. The last days of a period still grow while orders come in
  (the attribution window is 5 days by default).
- **what customers did in the period**: opt-outs and survey answers, dated when they happened,
  credited to the step of the message that led to them (the last message before an opt-out;
  the survey SMS whose link was used).
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from app.campaigns.models import (
    DELIVERED,
    FAILED,
    HELD,
    LOST_ORDER,
    SCHEDULED,
    SENDING,
    SKIPPED,
    Campaign,
    CampaignStep,
    Message,
)
from app.campaigns.service import campaign_of_store
from app.digits import persian_digits
from app.reports import repository as repo
from app.reports import rollup, stats
from app.reports.costs import WENT_OUT, Cost, cost_source, sms_costs
from app.reports.lift import campaign_lift
from app.reports.period import Period, as_date, jalali_label, local_day
from app.stores.models import Store

LATEST_COMMENTS = 10
KEY = (Message.campaign_id, Message.step_id, Message.variant)

# The broadcasts that own these hidden campaigns: {campaign id: {"id", "status",
# "scheduled_at"}}. Handed over by the edges (app.state.broadcasts_of): app/broadcasts counts
# its own report here, so reports never import it.
BroadcastsOf = Callable[[Session, Sequence[int]], dict[int, dict]]


def _rate(part: int, whole: int, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


@dataclass
class Figures:
    messages: int = 0
    scheduled: int = 0
    sending: int = 0
    held: int = 0
    skipped: int = 0
    too_late: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    blocked: int = 0
    parts: int = 0
    cost: Cost = field(default_factory=Cost)
    clicks: int = 0
    orders: int = 0
    revenue: int = 0
    revenue_taken_back: int = 0
    recovered_carts: int = 0
    cross_sell_purchases: int = 0
    opt_outs: int = 0
    survey_answers: int = 0
    rating_sum: int = 0

    def add(self, other: "Figures") -> None:
        for name in self.__dataclass_fields__:
            if name == "cost":
                self.cost.add(other.cost)
            else:
                setattr(self, name, getattr(self, name) + getattr(other, name))

    def count_status(self, status: str, count: int, *, went_out: bool) -> None:
        self.messages += count
        if went_out and status in WENT_OUT:
            self.sent += count
            self.delivered += count if status == DELIVERED else 0
            self.failed += count if status == FAILED else 0
        elif status == FAILED:  # refused before it went out
            self.failed += count
        elif status in (SCHEDULED, SENDING, HELD, SKIPPED):  # the field of that name
            setattr(self, status, getattr(self, status) + count)

    def out(self) -> dict:
        return {
            "messages": self.messages, "scheduled": self.scheduled, "sending": self.sending,
            "held": self.held, "skipped": self.skipped, "too_late": self.too_late,
            "sent": self.sent,
            "delivered": self.delivered, "failed": self.failed, "blocked": self.blocked,
            "delivery_rate": _rate(self.delivered, self.sent),
            "parts": self.parts, "cost": self.cost.rial,
            "cost_estimated_messages": self.cost.estimated,
            "clicks": self.clicks, "click_rate": _rate(self.clicks, self.sent),
            "orders": self.orders, "revenue": self.revenue,
            "revenue_taken_back": self.revenue_taken_back,
            "recovered_carts": self.recovered_carts,
            "cross_sell_purchases": self.cross_sell_purchases,
            "conversion_rate": _rate(self.orders, self.sent),
            "return_on_spend": _rate(self.revenue, self.cost.rial, 2),
            "opt_outs": self.opt_outs, "survey_answers": self.survey_answers,
            "average_rating": _rate(self.rating_sum, self.survey_answers, 2),
        }


def _where(campaign_id: int | None) -> tuple:
    return () if campaign_id is None else (Message.campaign_id == campaign_id,)


def _by(session: Session, period: Period, daily: bool) -> tuple:
    if daily:
        return (local_day(Message.sent_at, period, session.get_bind().dialect.name),)
    return KEY


def message_figures(session: Session, store: Store, period: Period, by, where,
                    figures: dict[tuple, Figures]) -> None:
    """Add to `figures` (per key of `by`) what the messages that went out in the period count:
    statuses, parts, cost, clicks and credited orders, from the raw tables. The one definition
    of these figures: the daily rollup (app/reports/rollup.py) is made of its answers."""
    n = len(by)
    args = dict(store_id=store.id, period=period, by=by, where=where)
    for row in repo.went_out(session, **args):
        f = figures[tuple(row[:n])]
        status, count, blocked, parts = row[n:]
        f.count_status(status, count, went_out=True)
        f.blocked += int(blocked or 0)
        f.parts += int(parts or 0) if status in WENT_OUT else 0
    for key, cost in sms_costs(session, store=store, by=by,
                               where=[Message.sent_at >= period.since,
                                      Message.sent_at < period.until, *where]).items():
        figures[key].cost.add(cost)
    for row in repo.clicked(session, **args):
        figures[tuple(row[:n])].clicks += row[n]
    for row in repo.credited(session, **args):
        f = figures[tuple(row[:n])]
        orders, revenue, recovered, cross_sell, taken_back = row[n:]
        f.orders += int(orders or 0)
        f.revenue += int(revenue or 0)
        f.revenue_taken_back += int(taken_back or 0)
        f.recovered_carts += int(recovered or 0)
        f.cross_sell_purchases += int(cross_sell or 0)


def _collect(session: Session, store: Store, period: Period, *, daily: bool = False,
             campaign_id: int | None = None, events: bool, raw: bool = False
             ) -> dict[tuple, Figures]:
    """Figures per (campaign, step, variant), or per local day (`daily`). What went out comes
    from the daily rollup where it is up to date and from the raw tables elsewhere (`raw`: from
    the raw tables only); the events are always read raw."""
    figures: dict[tuple, Figures] = defaultdict(Figures)
    by, where = _by(session, period, daily), _where(campaign_id)
    if raw:
        message_figures(session, store, period, by, where, figures)
    else:
        rollup.collect(session, store, period, figures, daily=daily, campaign_id=campaign_id,
                       raw=lambda part: message_figures(session, store, part, by, where, figures))
    n = len(by)
    args: dict[str, Any] = dict(store_id=store.id, period=period, by=by, where=where)
    if events:
        for row in repo.not_sent(session, **args):
            f = figures[tuple(row[:n])]
            f.count_status(row[n], row[n + 1], went_out=False)
            f.too_late += int(row[n + 2] or 0)
        for row in repo.opt_outs_after(session, **args):
            figures[tuple(row[:n])].opt_outs += row[n]
        for row in repo.survey_answers_by(session, **args):
            f = figures[tuple(row[:n])]
            f.survey_answers += row[n]
            f.rating_sum += int(row[n + 1] or 0)
    return figures


def _variants_of(step: CampaignStep) -> list[str]:
    return [v["name"] for v in step.variants or [] if v.get("name")]


def _lost_orders(session: Session, store: Store, period: Period, campaigns) -> dict[int, int]:
    """Per lost-order campaign, the orders placed in the period that it enrolled: the lost
    orders its orders and revenue were recovered from."""
    ids = [campaign.id for campaign, _ in campaigns if campaign.kind == LOST_ORDER]
    if not ids:
        return {}
    counts = dict(repo.lost_orders(session, store_id=store.id, period=period, campaign_ids=ids))
    return {campaign_id: counts.get(campaign_id, 0) for campaign_id in ids}


def _campaign_rows(campaigns, figures: dict[tuple, Figures],
                   lost_orders: dict[int, int]) -> list[dict]:
    rows = []
    for campaign, steps in campaigns:
        campaign_total = Figures()
        step_rows = []
        for step in steps:
            mine = {key[2]: f for key, f in figures.items() if key[:2] == (campaign.id, step.id)}
            for name in _variants_of(step):
                mine.setdefault(name, Figures())
            step_total = Figures()
            for f in mine.values():
                step_total.add(f)
            campaign_total.add(step_total)
            variants = [] if set(mine) <= {None} else [
                {"name": name} | mine[name].out()
                for name in sorted(mine, key=lambda v: (v is not None, v or ""))]
            step_rows.append({"id": step.id, "position": step.position,
                              "delay_minutes": step.delay_minutes,
                              "deleted": step.deleted_at is not None} | step_total.out()
                             | {"variants": variants})
        rows.append({"id": campaign.id, "kind": campaign.kind, "name": campaign.name,
                     "active": campaign.active, "deleted": campaign.deleted_at is not None}
                    | campaign_total.out()
                    # Null for the kinds that have no lost orders, not a misleading zero.
                    | {"lost_orders": lost_orders.get(campaign.id), "steps": step_rows})
    return rows


def _broadcast_rows(session: Session, store: Store, figures: dict[tuple, Figures],
                    broadcasts_of: BroadcastsOf) -> list[dict]:
    """One row per broadcast that has figures in the period (its messages, or what they
    brought): with the campaigns' rows they add up to the store's totals."""
    totals: dict[int, Figures] = defaultdict(Figures)
    for key, f in figures.items():
        totals[key[0]].add(f)
    hidden = repo.broadcast_campaigns(session, store_id=store.id, campaign_ids=list(totals))
    owners = broadcasts_of(session, [campaign.id for campaign in hidden])
    return [owners[campaign.id] | {"name": campaign.name} | totals[campaign.id].out()
            for campaign in hidden if campaign.id in owners]


def _surveys(session: Session, store: Store, period: Period, where) -> dict:
    ratings = {str(r): 0 for r in range(1, 6)}
    for rating, count in repo.survey_ratings(session, store_id=store.id, period=period,
                                             where=where):
        ratings[str(rating)] += count
    answers = sum(ratings.values())
    rating_sum = sum(int(r) * c for r, c in ratings.items())
    comments = [{"answered_at": at.isoformat(), "answered_jalali": jalali_label(
                    at.astimezone(period.zone).date()),
                 "rating": rating, "comment": comment, "order_number": number or str(wc_id),
                 "order_number_persian": persian_digits(number or wc_id)}
                for at, rating, comment, number, wc_id in repo.latest_comments(
                    session, store_id=store.id, period=period, limit=LATEST_COMMENTS, where=where)]
    return {"answers": answers, "average_rating": _rate(rating_sum, answers, 2),
            "ratings": ratings, "latest_comments": comments}


def _opt_outs(session: Session, store: Store, period: Period, figures: dict) -> dict:
    by_source = {source or "unknown": count for source, count in
                 repo.opt_outs_by_source(session, store_id=store.id, period=period)}
    return {"total": sum(by_source.values()), "by_source": by_source,
            "after_a_message": sum(f.opt_outs for f in figures.values())}


def header(store: Store, period: Period, cost: Cost) -> dict:
    return {"store": {"id": store.id, "name": store.name, "currency": store.currency,
                      "timezone": store.timezone},
            "range": period.describe(), "amounts_in": "rial", "cost_source": cost_source(cost),
            "price_per_part": store.sms_price_per_part}


def summary(session: Session, *, store: Store, period: Period, broadcasts_of: BroadcastsOf,
            raw: bool = False) -> dict:
    """The store's totals, per campaign, step and A/B variant, and per broadcast (the rows'
    message figures add up to the totals). `raw`: from the raw tables only, not the daily
    rollup (the same answer, slower: for checks)."""
    figures = _collect(session, store, period, events=True, raw=raw)
    totals = Figures()
    for f in figures.values():
        totals.add(f)
    opt_outs = _opt_outs(session, store, period, figures)
    surveys = _surveys(session, store, period, ())
    # The store's totals count every opt-out and answer, not only those after a message.
    totals.opt_outs = opt_outs["total"]
    totals.survey_answers = surveys["answers"]
    totals.rating_sum = sum(int(r) * c for r, c in surveys["ratings"].items())
    campaigns = repo.campaigns_with_steps(session, store_id=store.id)
    return header(store, period, totals.cost) | {
        "totals": totals.out(), "opt_outs": opt_outs, "surveys": surveys,
        "campaigns": _campaign_rows(campaigns, figures,
                                    _lost_orders(session, store, period, campaigns)),
        "broadcasts": _broadcast_rows(session, store, figures, broadcasts_of)}


def campaign_figures(session: Session, *, store: Store, campaign_id: int,
                     period: Period) -> Figures:
    """One campaign's totals for the period, from the raw tables (a broadcast's report:
    app/broadcasts, which finds its own hidden campaign)."""
    total = Figures()
    for f in _collect(session, store, period, campaign_id=campaign_id, events=True,
                      raw=True).values():
        total.add(f)
    return total


def store_campaign(session: Session, *, store: Store, campaign_id: int) -> Campaign:
    """The store's campaign, deleted ones too (their history stays in the reports)."""
    return campaign_of_store(session, store_id=store.id, campaign_id=campaign_id,
                             include_deleted=True)


def campaign_report(session: Session, *, store: Store, period: Period,
                    campaign: Campaign, raw: bool = False) -> dict:
    """One campaign (the store's, found by its edge): its totals, steps and variants; opt-outs
    and survey answers after its messages; and its figures in the previous period."""
    where = (Message.campaign_id == campaign.id,)
    figures = _collect(session, store, period, campaign_id=campaign.id, events=True, raw=raw)
    campaigns = repo.campaigns_with_steps(session, store_id=store.id, campaign_id=campaign.id)
    [row] = _campaign_rows(campaigns, figures, _lost_orders(session, store, period, campaigns))
    cost = Cost()
    for f in figures.values():
        cost.add(f.cost)
    return header(store, period, cost) | {"campaign": row,
                                           "surveys": _surveys(session, store, period, where),
                                           "previous": _previous(session, store, period,
                                                                 campaigns, campaign.id, raw),
                                           "lift": campaign_lift(session, store=store,
                                                                 period=period, campaign=campaign)}


def _previous(session: Session, store: Store, period: Period, campaigns, campaign_id: int,
              raw: bool) -> dict:
    """The campaign's row for the days right before the period, as many as it has: the
    comparison a merchant makes ("better than last month?")."""
    before = period.previous()
    figures = _collect(session, store, before, campaign_id=campaign_id, events=True, raw=raw)
    [row] = _campaign_rows(campaigns, figures, _lost_orders(session, store, before, campaigns))
    return {"range": before.describe(), "campaign": row}


def timeseries(session: Session, *, store: Store, period: Period,
               campaign_id: int | None = None, raw: bool = False) -> dict:
    """Per local day: what went out that day, and what those messages brought."""
    if campaign_id is not None:
        campaign_id = store_campaign(session, store=store, campaign_id=campaign_id).id
    by_day = {as_date(key[0]): f for key, f in
              _collect(session, store, period, daily=True, campaign_id=campaign_id,
                       events=False, raw=raw).items()}
    totals, days = Figures(), []
    for d in period.days:
        f = by_day.get(d, Figures())
        totals.add(f)
        days.append(_day_row(d, f))
    return header(store, period, totals.cost) | {
        "campaign_id": campaign_id, "days": days,
        "totals": {k: v for k, v in _day_row(None, totals).items() if k not in ("date", "jalali")}}


def _day_row(day: date | None, f: Figures) -> dict:
    return {"date": day and day.isoformat(), "jalali": day and jalali_label(day),
            "sent": f.sent, "delivered": f.delivered, "clicks": f.clicks, "orders": f.orders,
            "revenue": f.revenue, "cost": f.cost.rial}


def ab_tests(session: Session, *, store: Store, period: Period,
             campaign_id: int | None = None, raw: bool = False) -> dict:
    """Per step with A/B variants: each variant's figures, who leads on clicks and on orders,
    and whether that lead is significant yet."""
    if campaign_id is not None:
        campaign_id = store_campaign(session, store=store, campaign_id=campaign_id).id
    figures = _collect(session, store, period, campaign_id=campaign_id, events=False, raw=raw)
    steps = []
    for campaign, campaign_steps in repo.campaigns_with_steps(session, store_id=store.id,
                                                              campaign_id=campaign_id):
        for step in campaign_steps:
            # Messages without a variant (sent before the test began) are no arm of it.
            arms = {key[2]: f for key, f in figures.items()
                    if key[:2] == (campaign.id, step.id) and key[2] is not None}
            for name in _variants_of(step):
                arms.setdefault(name, Figures())
            if len(arms) < 2:
                continue
            names = sorted(arms)
            steps.append({
                "campaign_id": campaign.id, "campaign_kind": campaign.kind,
                "campaign_name": campaign.name, "step_id": step.id, "position": step.position,
                "variants": [{"name": n, "sent": arms[n].sent, "clicks": arms[n].clicks,
                              "orders": arms[n].orders, "revenue": arms[n].revenue,
                              "click_rate": _rate(arms[n].clicks, arms[n].sent),
                              "conversion_rate": _rate(arms[n].orders, arms[n].sent)}
                             for n in names],
                "clicks": stats.compare([stats.Arm(n, arms[n].sent, arms[n].clicks)
                                         for n in names]).out(),
                "orders": stats.compare([stats.Arm(n, arms[n].sent, arms[n].orders)
                                         for n in names]).out()})
    return {"range": period.describe(),
            "test": {"method": "two-proportion z-test, two-sided, leader against each other "
                               "variant (Bonferroni)", "alpha": stats.ALPHA,
                     "min_sent_per_variant": stats.MIN_SENT,
                     "min_expected_per_variant": stats.MIN_EXPECTED},
            "steps": steps}
