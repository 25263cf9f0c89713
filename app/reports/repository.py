"""The SQL behind reports. Read-only: reports never write what they report on.

A message belongs to a report period by when it went out (`sent_at`), or, if it never went out
(scheduled, held, skipped, refused by the gateway), by when it was due (`due_at`). Its clicks,
orders and cost are counted with it, whenever they happened. Every query takes the grouping
expressions (`by`: the message's campaign, step and variant, or its local day) and extra
conditions on the message (`where`: one campaign), and returns rows of `by` + figures. Lost
orders belong to the period they were placed in.

Clicks and credits always come after the message went out, so their own timestamps bound the
rows to read (`SKEW` absorbs clocks that differ between machines and resends): that keeps each
query proportional to the period, not to the store's history.
"""

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import Row, and_, case, func, select
from sqlalchemy.orm import Session, aliased

from app.campaigns.models import (
    ABANDONED_CART,
    BROADCAST,
    Attribution,
    Campaign,
    CampaignStep,
    Enrollment,
    Message,
)
from app.campaigns.reasons import Reason
from app.commerce.models import Order
from app.contacts.models import Contact
from app.links.models import Link
from app.reports.period import Period
from app.surveys.models import SurveyAnswer

BLOCKED_BY_RECEIVER = 14  # Kavenegar: the receiver blocks advertising lines
SKEW = timedelta(days=1)


def _went_out_in(period: Period):
    return (Message.sent_at >= period.since, Message.sent_at < period.until)


def went_out(session: Session, *, store_id: int, period: Period, by, where=()) -> list[Row]:
    """Messages sent (or being sent) in the period: by + (status, count, blocked, parts)."""
    blocked = func.sum(case((Message.delivery_status == BLOCKED_BY_RECEIVER, 1), else_=0))
    return session.execute(
        select(*by, Message.status, func.count(), blocked, func.sum(Message.parts))
        .where(Message.store_id == store_id, *_went_out_in(period), *where)
        .group_by(*by, Message.status)).all()


def not_sent(session: Session, *, store_id: int, period: Period, by, where=()) -> list[Row]:
    """Messages that have not gone out, due in the period: by + (status, count, of them
    skipped as too late)."""
    too_late = func.sum(case((Message.reason == Reason.TOO_LATE, 1), else_=0))
    return session.execute(
        select(*by, Message.status, func.count(), too_late)
        .where(Message.store_id == store_id, Message.sent_at.is_(None),
               Message.due_at >= period.since, Message.due_at < period.until, *where)
        .group_by(*by, Message.status)).all()


def clicked(session: Session, *, store_id: int, period: Period, by, where=()) -> list[Row]:
    """Messages sent in the period whose link a person (not a bot) followed: by + (count,)."""
    # A semi-join: the period's messages (from the index) probe the links clicked since then;
    # looking each clicked link's message up instead costs a random read per click.
    clicked_links = select(Link.message_id).where(Link.store_id == store_id,
                                                  Link.first_clicked_at >= period.since - SKEW)
    return session.execute(
        select(*by, func.count())
        .where(Message.store_id == store_id, *_went_out_in(period),
               Message.id.in_(clicked_links), *where)
        .group_by(*by)).all()


def credited(session: Session, *, store_id: int, period: Period, by, where=()) -> list[Row]:
    """Orders credited to messages sent in the period: by + (orders, revenue, recovered carts,
    cross-sell purchases, revenue taken back). A credit removed since (the order cancelled,
    refunded, trashed) counts only in what was taken back, with its whole revenue; a kept one
    with what partial refunds gave back."""
    kept = Attribution.removed_at.is_(None)
    orders = func.sum(case((kept, 1), else_=0))
    revenue = func.sum(case((kept, Attribution.revenue), else_=0))
    recovered = func.sum(case((kept & (Campaign.kind == ABANDONED_CART), 1), else_=0))
    cross_sell = func.sum(case((kept & Attribution.cross_sell_purchase, 1), else_=0))
    taken_back = func.sum(case((kept, Attribution.refunded),
                               else_=Attribution.revenue + Attribution.refunded))
    return session.execute(
        select(*by, orders, revenue, recovered, cross_sell, taken_back)
        .select_from(Attribution).join(Message, Message.id == Attribution.message_id)
        .join(Campaign, Campaign.id == Attribution.campaign_id)
        .where(Attribution.store_id == store_id,
               Attribution.attributed_at >= period.since - SKEW, *_went_out_in(period), *where)
        .group_by(*by)).all()


def lost_orders(session: Session, *, store_id: int, period: Period,
                campaign_ids: list[int]) -> Sequence[Row]:
    """Orders placed in the period that these lost-order campaigns enrolled: (campaign id,
    count). An order is enrolled at most once per campaign, so each counts once."""
    # The one query here not bounded by the period alone: enrollments have no index by date, so
    # the campaign's lost orders of all time come from their (campaign, subject) key, read from
    # the index alone (PostgreSQL: about 15 ms for 66,000, joined with a month's 16,000 orders).
    return session.execute(
        select(Enrollment.campaign_id, func.count())
        .select_from(Order)
        .join(Enrollment, and_(Enrollment.subject_type == "order",
                               Enrollment.subject_id == Order.id))
        .where(Order.store_id == store_id, Order.created_gmt >= period.since,
               Order.created_gmt < period.until, Enrollment.campaign_id.in_(campaign_ids))
        .group_by(Enrollment.campaign_id)).all()


def _opted_out_in(period: Period):
    return (Contact.opted_out_at >= period.since, Contact.opted_out_at < period.until)


def opt_outs_by_source(session: Session, *, store_id: int, period: Period) -> list[Row]:
    """Contacts opted out in the period (and still opted out): (source, count)."""
    return session.execute(
        select(Contact.opt_out_source, func.count())
        .where(Contact.store_id == store_id, *_opted_out_in(period))
        .group_by(Contact.opt_out_source)).all()


def opt_outs_after(session: Session, *, store_id: int, period: Period, by, where=()) -> list[Row]:
    """Contacts opted out in the period, credited to the last message they got before it:
    by + (count,). `by` and `where` apply to that message."""
    earlier = aliased(Message)
    last_message = (select(earlier.id)
                    .where(earlier.contact_id == Contact.id,
                           earlier.sent_at <= Contact.opted_out_at)
                    .order_by(earlier.sent_at.desc(), earlier.id.desc()).limit(1)
                    .correlate(Contact).scalar_subquery())
    return session.execute(
        select(*by, func.count())
        .select_from(Contact).join(Message, Message.id == last_message)
        .where(Contact.store_id == store_id, *_opted_out_in(period), *where)
        .group_by(*by)).all()


def _answered_in(period: Period):
    return (SurveyAnswer.answered_at >= period.since, SurveyAnswer.answered_at < period.until)


def survey_ratings(session: Session, *, store_id: int, period: Period, where=()) -> list[Row]:
    """Survey answers given in the period: (rating, count). With `where`, only answers that
    came through a message matching it."""
    query = select(SurveyAnswer.rating, func.count()).where(SurveyAnswer.store_id == store_id,
                                                            *_answered_in(period))
    if where:
        query = query.join(Message, Message.id == SurveyAnswer.message_id).where(*where)
    return session.execute(query.group_by(SurveyAnswer.rating)).all()


def survey_answers_by(session: Session, *, store_id: int, period: Period, by,
                      where=()) -> list[Row]:
    """Answers given in the period through a survey SMS: by + (answers, sum of ratings)."""
    return session.execute(
        select(*by, func.count(), func.sum(SurveyAnswer.rating))
        .select_from(SurveyAnswer).join(Message, Message.id == SurveyAnswer.message_id)
        .where(SurveyAnswer.store_id == store_id, *_answered_in(period), *where)
        .group_by(*by)).all()


def latest_comments(session: Session, *, store_id: int, period: Period, limit: int,
                    where=()) -> list[Row]:
    """The newest answers with a comment: (answered_at, rating, comment, order number)."""
    query = (select(SurveyAnswer.answered_at, SurveyAnswer.rating, SurveyAnswer.comment,
                    Order.number, Order.wc_id)
             .join(Order, Order.id == SurveyAnswer.order_id)
             .where(SurveyAnswer.store_id == store_id, *_answered_in(period),
                    SurveyAnswer.comment.is_not(None), SurveyAnswer.comment != ""))
    if where:
        query = query.join(Message, Message.id == SurveyAnswer.message_id).where(*where)
    return session.execute(query.order_by(SurveyAnswer.answered_at.desc(), SurveyAnswer.id.desc())
                           .limit(limit)).all()


def campaigns_with_steps(session: Session, *, store_id: int,
                         campaign_id: int | None = None) -> list[tuple[Campaign, list[CampaignStep]]]:
    # Broadcasts have their own rows (broadcast_campaigns) and report (app/broadcasts).
    query = select(Campaign).where(Campaign.store_id == store_id,
                                   Campaign.kind != BROADCAST).order_by(Campaign.id)
    if campaign_id is not None:
        query = query.where(Campaign.id == campaign_id)
    campaigns = session.scalars(query).all()
    steps: dict[int, list[CampaignStep]] = {c.id: [] for c in campaigns}
    if campaigns:
        for step in session.scalars(select(CampaignStep)
                                    .where(CampaignStep.campaign_id.in_(list(steps)))
                                    .order_by(CampaignStep.campaign_id, CampaignStep.position)):
            steps[step.campaign_id].append(step)
    return [(c, steps[c.id]) for c in campaigns]


def broadcast_campaigns(session: Session, *, store_id: int,
                        campaign_ids: list[int]) -> Sequence[Campaign]:
    """Of these campaigns, the store's broadcasts' hidden ones, oldest first."""
    if not campaign_ids:
        return []
    return session.scalars(select(Campaign).where(
        Campaign.store_id == store_id, Campaign.kind == BROADCAST,
        Campaign.id.in_(campaign_ids)).order_by(Campaign.id)).all()


# ---- exports: one page at a time, keyset on (date, id) ----

def message_page(session: Session, *, store_id: int, period: Period, went: bool, after,
                 limit: int, where=()) -> list[Row]:
    """A page of the period's messages that went out (by sent_at) or did not (by due_at),
    after the (date, id) key `after`, with their campaign, step, contact and link."""
    at = Message.sent_at if went else Message.due_at
    conditions = [Message.store_id == store_id, at >= period.since, at < period.until, *where]
    if not went:
        conditions.append(Message.sent_at.is_(None))
    if after is not None:
        # The plain bound lets the index range start at the key; the OR makes it exact.
        conditions += [at >= after[0], (at > after[0]) | and_(at == after[0], Message.id > after[1])]
    return session.execute(
        select(Message, Campaign.kind, Campaign.name, CampaignStep.position, Contact.phone,
               Contact.first_name, Contact.last_name, Link.first_clicked_at, Link.human_clicks)
        .join(Campaign, Campaign.id == Message.campaign_id)
        .join(CampaignStep, CampaignStep.id == Message.step_id)
        .join(Contact, Contact.id == Message.contact_id)
        .outerjoin(Link, Link.message_id == Message.id)
        .where(*conditions).order_by(at, Message.id).limit(limit)).all()


def credits_of(session: Session, *, message_ids: list[int]) -> list[Row]:
    """The orders credited to these messages (credits not removed): (message id, order
    number, revenue), oldest first."""
    return session.execute(
        select(Attribution.message_id, Order.number, Attribution.revenue)
        .join(Order, Order.id == Attribution.order_id)
        .where(Attribution.message_id.in_(message_ids), Attribution.removed_at.is_(None))
        .order_by(Attribution.id)).all()


def credit_page(session: Session, *, store_id: int, period: Period, after_id: int, limit: int,
                where=()) -> list[Row]:
    """A page of the orders credited to messages sent in the period, by credit id."""
    return session.execute(
        select(Attribution, Order, Message.sent_at, Message.variant, Campaign.kind, Campaign.name,
               CampaignStep.position, Contact.phone, Link.first_clicked_at)
        .join(Message, Message.id == Attribution.message_id)
        .join(Order, Order.id == Attribution.order_id)
        .join(Campaign, Campaign.id == Attribution.campaign_id)
        .join(CampaignStep, CampaignStep.id == Attribution.step_id)
        .join(Contact, Contact.id == Message.contact_id)
        .outerjoin(Link, Link.message_id == Message.id)
        .where(Attribution.store_id == store_id, Attribution.removed_at.is_(None),
               Attribution.attributed_at >= period.since - SKEW, Attribution.id > after_id,
               *_went_out_in(period), *where)
        .order_by(Attribution.id).limit(limit)).all()
