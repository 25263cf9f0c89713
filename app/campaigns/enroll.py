"""Triggers: find carts and orders that should enter a campaign, and enroll them once.

Enrolling writes the enrollments and all their messages with their due_at, a campaign's batch
at a time: one INSERT for the enrollments, one for their messages. The unique (campaign,
subject) constraint, not a check in Python, is what keeps a second scheduler or a replayed
webhook from enrolling twice: a conflicting row is skipped (ON CONFLICT DO NOTHING), and so are
its messages.
"""

import hashlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from sqlalchemy import and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from app.campaigns import conditions, replenish
from app.campaigns.lifecycle import exit_enrollment
from app.campaigns.models import (
    CART_ABANDONED,
    NO_PURCHASE,
    ORDER_COMPLETED,
    ORDER_LOST,
    ORDER_STATUS,
    PRODUCT_BOUGHT,
    REORDER_DUE,
    SCHEDULED,
    SURVEY_ANSWERED,
    Campaign,
    CampaignStep,
    Enrollment,
    Message,
)
from app.campaigns.reasons import Reason
from app.campaigns.schemas import (
    OrderStatusParams,
    ProductBoughtParams,
    ReorderDueParams,
    SurveyAnsweredParams,
)
from app.clock import local_today
from app.commerce.models import Cart, Order
from app.commerce.service import UNPAID_STATUSES
from app.contacts.models import Contact
from app.db import in_ids, insert_rows, unit_of_work
from app.segments.facts import products_in_categories
from app.stores.models import Store
from app.surveys.models import SurveyAnswer

# Subjects a trigger takes per campaign and round: a round's transaction stays short, and
# dispatch sees its messages when it commits.
BATCH = 500
# enroll_due runs rounds for at most this long (a monotonic clock's seconds), then leaves the
# rest to the next tick (15 s in production), so the job's lock is never held for long.
BUDGET_SECONDS = 10.0
# A cart quiet for longer than this when first seen abandoned is history, not a lead.
CART_LOOKBACK = timedelta(days=1)
# Likewise an order unpaid for longer than this when first seen lost.
ORDER_LOOKBACK = timedelta(days=1)
# The reorder_due trigger reads the store's purchases at most this often per campaign (and on
# the first tick of each store-local day, when reminders turn due): predictions move only when
# orders arrive or a day passes, and a reminder is about days, so an order is answered within
# this bound. Every 15 s tick read every paid order of the store before.
REORDER_LOOK_EVERY = timedelta(hours=1)
# A survey or a cross-sell asks a customer once in this long, however many orders they complete:
# two orders completed together got two identical SMS in the same minute.
ONCE_PER_CUSTOMER = timedelta(days=30)

def latest_at(anchor_at: datetime, step: CampaignStep) -> datetime:
    """The last moment the step's message may go out for an enrollment anchored here."""
    return anchor_at + timedelta(minutes=step.delay_minutes + step.send_within_minutes)


# The control draw splits contacts into this many buckets: a percent is 100 of them.
BUCKETS = 10_000


def control_bucket(campaign_id: int, contact_id: int) -> int:
    """The contact's bucket (0 to BUCKETS - 1) in this campaign: a hash, not a random draw, so a
    contact stays on the same side of one campaign however often they are enrolled, and sides
    in two campaigns are independent."""
    digest = hashlib.sha256(f"{campaign_id}:{contact_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def in_control(campaign: Campaign, contact_id: int) -> bool:
    """Drawn into the campaign's control group (as its share stands now: a change applies to
    enrollments from then on)."""
    percent = campaign.control_percent or 0
    return percent > 0 and control_bucket(campaign.id, contact_id) < percent * BUCKETS // 100


class Subject(NamedTuple):
    """A cart or an order a trigger found, and where its sequence counts from."""

    id: int
    contact_id: int
    anchor_at: datetime
    product_wc_id: int | None = None  # the product the sequence is about, if the trigger chose


Params = TypeVar("Params", bound=BaseModel)


def _params(campaign: Campaign, model: type[Params]) -> Params | None:
    """The campaign's trigger params; None if the row holds what the API would refuse (then
    the trigger finds nothing: one bad row must not stop every store's round)."""
    try:
        return model.model_validate(campaign.trigger_params or {})
    except ValidationError:
        return None


@dataclass(frozen=True)
class Batch:
    """What a trigger did with one campaign's batch."""

    processed: int  # subjects it took (enrolled, enrolled and exited at once, or already in)
    enrolled: int  # of those, sequences that run
    last: int | None = None  # the largest subject id it took: the next batch starts after it

    @property
    def full(self) -> bool:
        """It took a whole batch: the campaign may have more waiting."""
        return self.processed >= BATCH


def enroll_all(session: Session, campaign: Campaign, subject_type: str,
               subjects: Sequence[Subject], now: datetime,
               turned_away: frozenset[int] = frozenset()) -> dict[int, int]:
    """Enroll the subjects and schedule their messages, in one INSERT each; returns the new
    enrollments' ids by subject id, of the sequences that run. A subject already enrolled (by
    another scheduler meanwhile, say) conflicts and is left out, messages and all. One that
    fails the campaign's conditions, or that the trigger itself `turned_away` (looked at, not
    for it), is enrolled as exited (the trigger never looks at it again) and gets no
    messages."""
    if not subjects:
        return {}
    failing = conditions.unmet(session, campaign, subject_type, subjects, now) | turned_away
    steps = session.scalars(select(CampaignStep).where(CampaignStep.campaign_id == campaign.id,
                                                       CampaignStep.deleted_at.is_(None))
                            .order_by(CampaignStep.position)).all()
    rows = [dict(store_id=campaign.store_id, campaign_id=campaign.id, subject_type=subject_type,
                 subject_id=s.id, contact_id=s.contact_id, anchor_at=s.anchor_at,
                 status="exited" if s.id in failing else "active",
                 exit_reason=Reason.CONDITIONS_NOT_MET.value if s.id in failing else None,
                 exited_at=now if s.id in failing else None,
                 control=in_control(campaign, s.contact_id), product_wc_id=s.product_wc_id)
            for s in subjects]
    insert_all, parameters = insert_rows(session, Enrollment, rows)
    inserted = session.execute(
        insert_all.on_conflict_do_nothing(index_elements=["campaign_id", "subject_type",
                                                          "subject_id"])
        .returning(Enrollment.subject_id, Enrollment.id), parameters)
    enrolled = {subject_id: enrollment_id for subject_id, enrollment_id in inserted
                if subject_id not in failing}
    # In the batch's order, step by step: message ids follow enrollments, then positions.
    messages = [dict(store_id=campaign.store_id, campaign_id=campaign.id,
                     enrollment_id=enrolled[s.id], step_id=step.id, contact_id=s.contact_id,
                     promotional=campaign.promotional,
                     due_at=s.anchor_at + timedelta(minutes=step.delay_minutes),
                     status=SCHEDULED, latest_at=latest_at(s.anchor_at, step))
                for s in subjects if s.id in enrolled for step in steps]
    if messages:
        session.execute(*insert_rows(session, Message, messages))
    return enrolled


def _loaded(session: Session, ids: Iterable[int]) -> dict[int, Enrollment]:
    """Enrollments (just inserted) as objects, for what acts on one: lifecycle's moves."""
    wanted = list(ids)
    if not wanted:
        return {}
    return {e.id: e for e in session.scalars(select(Enrollment).where(Enrollment.id.in_(wanted)))}


def _not_enrolled(campaign: Campaign, subject_type: str, subject_id_column):
    """Checked candidate by candidate, one probe of the unique index each. OFFSET 0 keeps
    PostgreSQL from turning it into a join planned from the statistics, which lag when a
    campaign's enrollments grow fast (a backlog): believing them few, it compared every
    candidate with every enrollment, 3 s for a batch once 6,000 were in."""
    return ~select(Enrollment.id).where(Enrollment.campaign_id == campaign.id,
                                        Enrollment.subject_type == subject_type,
                                        Enrollment.subject_id == subject_id_column
                                        ).offset(0).exists()


def _after(subject_id_column, after: int | None):
    """The subjects after the previous batch's last (enroll_due's next round of a campaign),
    so a round never reads again the ones enrolled before it.

    The id is written into the statement, not bound: a statement whose text changes is never
    prepared, so PostgreSQL plans it knowing its bounds. A prepared one went to a generic plan,
    which guessed the day's carts few and read them all by time, 40 ms a round at 20,000."""
    if after is None:
        return []
    return [subject_id_column > bindparam("after", after, literal_execute=True)]


def reachable(contact_id_column):
    """The contact has not opted out (a trigger never takes a subject of one that has)."""
    return exists().where(Contact.id == contact_id_column, Contact.opted_out_at.is_(None))


# What makes a subject of the triggers that need more than a column: one copy each, read by
# enrolment here and by the audience preview (app/campaigns/audience.py).

def bought_since_cart():
    """The cart's shopper paid for an order placed since the cart last changed."""
    return exists().where(
        Order.store_id == Cart.store_id, Order.contact_id == Cart.contact_id,
        Order.purchased.is_(True), Order.created_gmt >= Cart.modified_gmt)


def last_purchases(store_id: int):
    """Each of the store's buyers with when they placed their last paid order (`last_at`)."""
    return (select(Order.contact_id, func.max(Order.created_gmt).label("last_at"))
            .where(Order.store_id == store_id, Order.purchased.is_(True),
                   Order.deleted_at.is_(None), Order.contact_id.is_not(None))
            .group_by(Order.contact_id).subquery())


def left_unpaid():
    """An order lost at the bank's page: unpaid (pending, failed) or cancelled by WooCommerce's
    hold-stock timer, never paid, and its customer placed no order after it (a retry or a
    purchase takes its place)."""
    later = aliased(Order)
    newer_attempt = exists().where(
        later.store_id == Order.store_id, later.contact_id == Order.contact_id,
        later.created_gmt > Order.created_gmt, later.deleted_at.is_(None))
    return and_(or_(Order.status.in_(UNPAID_STATUSES), Order.unpaid_cancelled.is_(True)),
                Order.purchased.is_(False), ~newer_attempt)


def enroll_abandoned_carts(session: Session, campaign: Campaign, now: datetime,
                           after: int | None = None) -> Batch:
    """Carts with a phone, items and no purchase, quiet for the campaign's inactivity time."""
    # A cart whose order already has a lost-order sequence is followed there, not here.
    in_lost_order = exists().where(
        Enrollment.subject_type == "order", Enrollment.subject_id == Cart.order_id,
        Enrollment.campaign_id.in_(select(Campaign.id).where(Campaign.trigger == ORDER_LOST)))
    carts = session.execute(
        select(Cart.id, Cart.contact_id, Cart.modified_gmt)
        .where(Cart.store_id == campaign.store_id, Cart.contact_id.is_not(None),
               Cart.converted_at.is_(None), Cart.total > 0, ~in_lost_order,
               Cart.modified_gmt <= now - timedelta(minutes=campaign.trigger_minutes),
               Cart.modified_gmt > now - timedelta(minutes=campaign.trigger_minutes) - CART_LOOKBACK,
               _not_enrolled(campaign, "cart", Cart.id), reachable(Cart.contact_id),
               ~bought_since_cart(), *_after(Cart.id, after))
        .order_by(Cart.id).limit(BATCH)
    ).all()
    # The sequence counts from the shopper's last activity: "+1 hour" means an hour after it.
    subjects = [Subject(cart_id, contact_id, modified) for cart_id, contact_id, modified in carts
                if contact_id is not None and modified is not None]  # the query's conditions
    return Batch(len(carts), len(enroll_all(session, campaign, "cart", subjects, now)),
                 carts[-1].id if carts else None)


def enroll_completed_orders(session: Session, campaign: Campaign, now: datetime,
                            after: int | None = None) -> Batch:
    """Orders that reached "completed" since the campaign exists (never the store's history).

    One per customer in ONCE_PER_CUSTOMER: a later order within it is enrolled too (so it is
    never looked at again) but its messages are skipped at once, with the reason."""
    orders = session.execute(
        select(Order.id, Order.contact_id, Order.completed_gmt, Order.modified_gmt)
        .where(Order.store_id == campaign.store_id, Order.contact_id.is_not(None),
               Order.status == "completed", Order.deleted_at.is_(None),
               Order.created_at >= campaign.created_at,
               _not_enrolled(campaign, "order", Order.id), reachable(Order.contact_id),
               *_after(Order.id, after))
        .order_by(Order.id).limit(BATCH)
    ).all()
    subjects = [Subject(order_id, contact_id, completed or modified or now)
                for order_id, contact_id, completed, modified in orders
                if contact_id is not None]  # the query's condition
    asked = _asked_within(session, campaign, subjects)
    enrolled = enroll_all(session, campaign, "order", subjects, now)
    exits = _loaded(session, (enrolled[i] for i in asked if i in enrolled))
    for enrollment in sorted(exits.values(), key=lambda e: e.id):
        exit_enrollment(session, enrollment, Reason.ONCE_PER_CUSTOMER, now)
    return Batch(len(orders), len(enrolled) - len(exits), orders[-1].id if orders else None)


def _asked_within(session: Session, campaign: Campaign, subjects: Sequence[Subject]) -> set[int]:
    """The subjects whose customer has this campaign's sequence for another order near theirs
    (within ONCE_PER_CUSTOMER): one still running, or one whose message went out, or the
    sequence of an order before it in this batch that is not asked itself (in the batch's
    order, as if they had been enrolled one by one)."""
    if not subjects:
        return set()
    # A control message withheld counts as gone out: control contacts are asked as often.
    went_out = exists().where(Message.enrollment_id == Enrollment.id,
                              or_(Message.sent_at.is_not(None), Message.withheld_at.is_not(None)))
    near = (select(Enrollment.contact_id, Enrollment.anchor_at)
            .where(Enrollment.campaign_id == campaign.id,
                   Enrollment.contact_id.in_({s.contact_id for s in subjects}),
                   Enrollment.anchor_at > min(s.anchor_at for s in subjects) - ONCE_PER_CUSTOMER,
                   Enrollment.anchor_at < max(s.anchor_at for s in subjects) + ONCE_PER_CUSTOMER,
                   or_(Enrollment.status == "active", went_out)))
    anchors: dict[int, list[datetime]] = defaultdict(list)
    for contact_id, anchor_at in session.execute(near):
        anchors[contact_id].append(anchor_at)
    asked = set()
    for subject in subjects:
        theirs = anchors[subject.contact_id]
        if any(abs(subject.anchor_at - anchor) < ONCE_PER_CUSTOMER for anchor in theirs):
            asked.add(subject.id)  # enrolled too (never looked at again), exited at once
        else:
            theirs.append(subject.anchor_at)  # its sequence runs: it asks
    return asked


def enroll_lapsed_customers(session: Session, campaign: Campaign, now: datetime,
                            after: int | None = None) -> Batch:
    """Contacts whose last purchase is older than the campaign's silence; subject = that order."""
    last = last_purchases(campaign.store_id)
    cutoff = now - timedelta(minutes=campaign.trigger_minutes)
    orders = session.execute(
        select(Order.id, Order.contact_id, Order.created_gmt)
        .join(last, and_(last.c.contact_id == Order.contact_id,
                         last.c.last_at == Order.created_gmt))
        .where(Order.store_id == campaign.store_id, Order.purchased.is_(True),
               Order.deleted_at.is_(None), last.c.last_at <= cutoff,
               _not_enrolled(campaign, "order", Order.id), reachable(Order.contact_id),
               *_after(Order.id, after))
        .order_by(Order.id).limit(BATCH)
    ).all()
    silence = timedelta(minutes=campaign.trigger_minutes)
    subjects = [Subject(order_id, contact_id, created + silence)
                for order_id, contact_id, created in orders
                if contact_id is not None and created is not None]  # the query's conditions
    return Batch(len(orders), len(enroll_all(session, campaign, "order", subjects, now)),
                 orders[-1].id if orders else None)


def enroll_lost_orders(session: Session, campaign: Campaign, now: datetime,
                       after: int | None = None) -> Batch:
    """Orders placed and left unpaid (pending or failed at the bank, or cancelled by
    WooCommerce's hold-stock timer) for the campaign's wait, since the campaign exists.

    One sequence per customer and attempt: an order with a later order of the same customer (a
    retry, or a purchase) is not enrolled, and enrolling a newer attempt ends the older one's
    sequence. The cart the order was placed from leaves its abandoned-cart sequence: one
    sequence per purchase attempt.
    """
    wait = timedelta(minutes=campaign.trigger_minutes)
    orders = session.execute(
        select(Order.id, Order.contact_id, Order.created_gmt, Order.cart_token)
        .where(Order.store_id == campaign.store_id, Order.contact_id.is_not(None),
               left_unpaid(), Order.deleted_at.is_(None),
               Order.created_gmt <= now - wait, Order.created_gmt > now - wait - ORDER_LOOKBACK,
               Order.created_at >= campaign.created_at,
               _not_enrolled(campaign, "order", Order.id), reachable(Order.contact_id),
               *_after(Order.id, after))
        .order_by(Order.id).limit(BATCH)).all()
    subjects = [Subject(order_id, contact_id, created)
                for order_id, contact_id, created, _ in orders
                if contact_id is not None and created is not None]  # the query's conditions
    tokens = {order_id: cart_token for order_id, _, _, cart_token in orders}
    enrolled = enroll_all(session, campaign, "order", subjects, now)
    loaded = _loaded(session, enrolled.values())
    for subject in subjects:  # in the batch's order, as if enrolled one by one
        if subject.id in enrolled:
            _hand_over(session, loaded[enrolled[subject.id]], store_id=campaign.store_id,
                       cart_token=tokens[subject.id], now=now)
    return Batch(len(orders), len(enrolled), orders[-1].id if orders else None)


def _hand_over(session: Session, enrollment: Enrollment, *, store_id: int,
               cart_token: str | None, now: datetime) -> None:
    """A new lost-order sequence ends the customer's older one and its cart's sequence.

    Older: enrolled before it, a smaller id (ids grow in the order rows are inserted, a batch's
    in the batch's order), so a later sequence of the same batch is not ended by this one."""
    older = (select(Enrollment).join(Campaign, Campaign.id == Enrollment.campaign_id)
             .where(Campaign.store_id == store_id, Campaign.trigger == ORDER_LOST,
                    Enrollment.contact_id == enrollment.contact_id,
                    Enrollment.status == "active", Enrollment.id < enrollment.id))
    for other in session.scalars(older):
        exit_enrollment(session, other, Reason.SUPERSEDED, now)
    placed_from = [Cart.order_id == enrollment.subject_id]
    if cart_token:
        placed_from.append(Cart.token == cart_token)
    carts = select(Cart.id).where(Cart.store_id == store_id, or_(*placed_from))
    for cart_enrollment in session.scalars(
            select(Enrollment).join(Campaign, Campaign.id == Enrollment.campaign_id)
            .where(Campaign.trigger == CART_ABANDONED, Enrollment.subject_type == "cart",
                   Enrollment.subject_id.in_(carts), Enrollment.status == "active")):
        exit_enrollment(session, cart_enrollment, Reason.ORDER_PLACED, now)


def enroll_status_reached(session: Session, campaign: Campaign, now: datetime,
                          after: int | None = None) -> Batch:
    """Orders in the status trigger_params names (any WooCommerce slug, custom ones too), seen
    in it since the campaign exists. An order row holds its current status only: the sequence
    counts from WooCommerce's last change of the order (the delivery that showed it in that
    status), and an order that passed through the status between two ticks is not seen in it."""
    params = _params(campaign, OrderStatusParams)
    if params is None:
        return Batch(0, 0)
    seen = func.coalesce(Order.modified_gmt, Order.created_at)
    orders = session.execute(
        select(Order.id, Order.contact_id, seen)
        .where(Order.store_id == campaign.store_id, Order.contact_id.is_not(None),
               Order.status == params.status, Order.deleted_at.is_(None),
               seen >= campaign.created_at,
               _not_enrolled(campaign, "order", Order.id), reachable(Order.contact_id),
               *_after(Order.id, after))
        .order_by(Order.id).limit(BATCH)).all()
    subjects = [Subject(order_id, contact_id, at) for order_id, contact_id, at in orders
                if contact_id is not None]  # the query's condition
    return Batch(len(orders), len(enroll_all(session, campaign, "order", subjects, now)),
                 orders[-1].id if orders else None)


def enroll_products_bought(session: Session, campaign: Campaign, now: datetime,
                           after: int | None = None) -> Batch:
    """Orders paid since the campaign exists that hold any of the products (or a product of
    the categories) trigger_params names; the sequence counts from the payment (the placing,
    for one paid later without a date: cash on delivery). The first such product is the one the
    sequence is about. A paid order that holds none is recorded as looked at
    (conditions_not_met), so it is read once."""
    params = _params(campaign, ProductBoughtParams)
    if params is None:
        return Batch(0, 0)
    paid_at = func.coalesce(Order.paid_gmt, Order.created_gmt)
    orders = session.execute(
        select(Order.id, Order.contact_id, paid_at, Order.items)
        .where(Order.store_id == campaign.store_id, Order.contact_id.is_not(None),
               Order.purchased.is_(True), Order.deleted_at.is_(None),
               paid_at >= campaign.created_at,
               _not_enrolled(campaign, "order", Order.id), reachable(Order.contact_id),
               *_after(Order.id, after))
        .order_by(Order.id).limit(BATCH)).all()
    wanted = wanted_products(session, campaign.store_id, params) if orders else set()
    subjects = [Subject(order_id, contact_id, at, conditions.first_held(items, wanted))
                for order_id, contact_id, at, items in orders
                if contact_id is not None and at is not None]  # the query's conditions
    turned_away = frozenset(s.id for s in subjects if s.product_wc_id is None)
    enrolled = enroll_all(session, campaign, "order", subjects, now, turned_away)
    return Batch(len(orders), len(enrolled), orders[-1].id if orders else None)


def wanted_products(session: Session, store_id: int, params: ProductBoughtParams) -> set[int]:
    """The product ids a product_bought trigger looks for: those it names and those of the
    categories it names."""
    wanted = set(params.products)
    if params.categories:
        wanted |= products_in_categories(session, store_id, set(params.categories))
    return wanted


def enroll_survey_answers(session: Session, campaign: Campaign, now: datetime,
                          after: int | None = None) -> Batch:
    """Survey answers given since the campaign exists with a rating within trigger_params'
    rating_min–rating_max; subject = the order answered about, anchor = the answer."""
    params = _params(campaign, SurveyAnsweredParams)
    if params is None:
        return Batch(0, 0)
    answers = session.execute(
        select(SurveyAnswer.order_id, Order.contact_id, SurveyAnswer.answered_at)
        .join(Order, Order.id == SurveyAnswer.order_id)
        .where(SurveyAnswer.store_id == campaign.store_id,
               SurveyAnswer.answered_at >= campaign.created_at,
               SurveyAnswer.rating.between(params.rating_min, params.rating_max),
               Order.contact_id.is_not(None), Order.deleted_at.is_(None),
               _not_enrolled(campaign, "order", SurveyAnswer.order_id),
               reachable(Order.contact_id), *_after(SurveyAnswer.order_id, after))
        .order_by(SurveyAnswer.order_id).limit(BATCH)).all()
    subjects = [Subject(order_id, contact_id, answered) for order_id, contact_id, answered
                in answers if contact_id is not None]  # the query's condition
    return Batch(len(answers), len(enroll_all(session, campaign, "order", subjects, now)),
                 answers[-1].order_id if answers else None)


def enroll_reorders_due(session: Session, campaign: Campaign, now: datetime,
                        after: int | None = None) -> Batch:
    """Customers whose predicted reorder day of a product (app/campaigns/replenish.py: their
    own interval, or the product's store median) is at most trigger_params' days_before away,
    and not lapsed. Subject = their last paid order of that product, once per order: an order
    whose several products are due starts one sequence, about the soonest (the product its
    messages name). The sequence counts from the start of the store-local day the reminder is
    due (predicted day − days_before), or from when the campaign was made, for customers
    already due then.

    Predicting reads the store's purchases (one query), only when the campaign should look
    again (`look_again`): a tick in between reads nothing. A look predicts once; the rounds
    that enroll its later batches (the same `now`) reuse it (`_looked`)."""
    params = _params(campaign, ReorderDueParams)
    if params is None:
        return Batch(0, 0)
    store = session.get_one(Store, campaign.store_id)
    if after is None and not look_again(campaign.trigger_looked_at, store.timezone, now):
        return Batch(0, 0)
    soonest = _looked(campaign.id, now, fresh=after is None, predict=lambda: (
        replenish.soonest_by_order(replenish.due_within(session, store=store, now=now,
                                                        days=params.days_before))))
    candidates = sorted(order_id for order_id in soonest if after is None or order_id > after)
    known = set(session.scalars(select(Enrollment.subject_id).where(
        Enrollment.campaign_id == campaign.id, Enrollment.subject_type == "order",
        in_ids(Enrollment.subject_id, candidates)))) if candidates else set()
    taken = [order_id for order_id in candidates if order_id not in known][:BATCH]
    zone = ZoneInfo(store.timezone)

    def due_from(prediction: replenish.Prediction) -> datetime:
        day = prediction.predicted - timedelta(days=params.days_before)
        return max(datetime(day.year, day.month, day.day, tzinfo=zone), campaign.created_at)

    subjects = [Subject(order_id, soonest[order_id].contact_id, due_from(soonest[order_id]),
                        soonest[order_id].product_id) for order_id in taken]
    batch = Batch(len(taken), len(enroll_all(session, campaign, "order", subjects, now)),
                  taken[-1] if taken else None)
    # Every reminder due now is taken: the look is done. A full batch's rest is taken first,
    # by the next round (or the next tick, which then reads again).
    if not batch.full:
        campaign.trigger_looked_at = now
    return batch


# The predictions of the looks in progress, by (campaign id, the look's `now`): a look with
# thousands of reminders due takes a round per BATCH, and each would otherwise predict the whole
# store again (13 s at 100,000 orders). Only the latest `now` is kept: the next tick predicts
# afresh, and a process that never saw the look's first round predicts for itself. What changed
# meanwhile is met where it matters: enrolment reads who is enrolled afresh, and a customer who
# bought the product again is stopped before the send (guard).
_looks: dict[tuple[int, datetime], dict[int, replenish.Prediction]] = {}
_looks_lock = threading.Lock()


def _looked(campaign_id: int, now: datetime, *, fresh: bool,
            predict: Callable[[], dict[int, replenish.Prediction]]
            ) -> dict[int, replenish.Prediction]:
    key = (campaign_id, now)
    with _looks_lock:
        kept = None if fresh else _looks.get(key)
    if kept is not None:
        return kept
    found = predict()
    with _looks_lock:
        for old in [k for k in _looks if k[1] != now]:
            del _looks[old]
        _looks[key] = found
    return found


def look_again(looked_at: datetime | None, tz: str, now: datetime) -> bool:
    """Whether the reorder_due trigger reads the purchases now: never looked (or its params
    changed), REORDER_LOOK_EVERY since it last did, or a new store-local day (reminders turn
    due at its midnight), or a clock set back."""
    if looked_at is None or not looked_at <= now < looked_at + REORDER_LOOK_EVERY:
        return True
    return local_today(tz, looked_at) != local_today(tz, now)


def product_of(session: Session, campaign: Campaign, order: Order,
               now: datetime) -> int | None:
    """The product a sequence about `order` would name, chosen as the campaign's trigger
    chooses it (for a preview of a real order): product_bought, the order's first product it
    looks for; reorder_due, the order's product due soonest (or due next, if none is yet);
    the others choose none (the message names the order's first)."""
    if campaign.trigger == PRODUCT_BOUGHT:
        bought = _params(campaign, ProductBoughtParams)
        return conditions.first_held(order.items, wanted_products(
            session, campaign.store_id, bought)) if bought is not None else None
    if campaign.trigger == REORDER_DUE:
        store = session.get_one(Store, campaign.store_id)
        found = replenish.next_due(session, store=store, now=now, order_id=order.id)
        return found.product_id if found is not None else None
    return None


TRIGGERS = {
    CART_ABANDONED: enroll_abandoned_carts,
    ORDER_COMPLETED: enroll_completed_orders,
    NO_PURCHASE: enroll_lapsed_customers,
    ORDER_LOST: enroll_lost_orders,
    ORDER_STATUS: enroll_status_reached,
    PRODUCT_BOUGHT: enroll_products_bought,
    SURVEY_ANSWERED: enroll_survey_answers,
    REORDER_DUE: enroll_reorders_due,
}


def enroll_round(session: Session, now: datetime,
                 resume: dict[int, int | None] | None = None) -> dict[int, Batch]:
    """One batch of every active campaign, by campaign id; with `resume`, of its campaigns
    only, each after the subject id given (None: from the start)."""
    # Only the triggers this module knows: a broadcast's campaign is enrolled by its broadcast.
    query = select(Campaign).where(Campaign.active.is_(True),
                                   Campaign.trigger.in_(list(TRIGGERS))).order_by(Campaign.id)
    if resume is not None:
        query = query.where(Campaign.id.in_(list(resume)))
    return {c.id: TRIGGERS[c.trigger](session, c, now, (resume or {}).get(c.id))
            for c in session.scalars(query).all()}


def run_triggers(session: Session, now: datetime) -> int:
    """One round in the caller's transaction; how many sequences it started."""
    return sum(batch.enrolled for batch in enroll_round(session, now).values())


def enroll_due(factory: sessionmaker[Session], now: datetime, *,
               budget_seconds: float = BUDGET_SECONDS,
               on_round: Callable[[int], None] | None = None,
               clock: Callable[[], float] = time.monotonic) -> int:
    """Rounds of enrolment while there is work: each its own transaction, so dispatch sees a
    round's messages as soon as it commits. After the first round (every active campaign),
    only campaigns that filled their batch run again, each from where its batch ended: one
    that took less has nothing more due (a subject that turns due behind that point meanwhile
    waits for the next call). Subjects taken count, not sequences started, so a batch whose
    orders were all skipped (once per customer) is not mistaken for the end. Stops when no
    campaign has more, or when `budget_seconds` of `clock` (monotonic, never the wall clock)
    are spent: the next tick goes on. `on_round(enrolled)` is called after each committed
    round that started sequences. Returns how many it started."""
    ends = clock() + budget_seconds
    enrolled = 0
    resume: dict[int, int | None] | None = None  # every active campaign, from the start
    while True:
        with unit_of_work(factory) as session:
            batches = enroll_round(session, now, resume)
        started = sum(batch.enrolled for batch in batches.values())
        enrolled += started
        if started and on_round is not None:
            on_round(started)
        resume = {campaign_id: batch.last for campaign_id, batch in batches.items()
                  if batch.full}
        if not resume or clock() >= ends:
            return enrolled
