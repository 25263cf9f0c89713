"""Triggers: find carts and orders that should enter a campaign, and enroll them once.

Enrolling writes the enrollment and all its messages with their due_at. The unique
(campaign, subject) constraint, not a check in Python, is what keeps a second scheduler or a
replayed webhook from enrolling twice: a conflicting insert is skipped.
"""

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from app.campaigns.lifecycle import exit_enrollment
from app.campaigns.models import (
    ABANDONED_CART,
    CROSS_SELL,
    LOST_ORDER,
    POST_PURCHASE_SURVEY,
    WIN_BACK,
    Campaign,
    CampaignStep,
    Enrollment,
    Message,
)
from app.campaigns.reasons import Reason
from app.commerce.models import Cart, Order
from app.commerce.service import UNPAID_STATUSES
from app.contacts.models import Contact

BATCH = 500
# A cart quiet for longer than this when first seen abandoned is history, not a lead.
CART_LOOKBACK = timedelta(days=1)
# Likewise an order unpaid for longer than this when first seen lost.
ORDER_LOOKBACK = timedelta(days=1)
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


def enroll(session: Session, campaign: Campaign, *, subject_type: str, subject_id: int,
           contact_id: int, anchor_at: datetime) -> Enrollment | None:
    """Enroll one subject and schedule its messages; None if it already was enrolled."""
    steps = session.scalars(select(CampaignStep).where(CampaignStep.campaign_id == campaign.id,
                                                       CampaignStep.deleted_at.is_(None))
                            .order_by(CampaignStep.position)).all()
    try:
        with session.begin_nested():
            enrollment = Enrollment(store_id=campaign.store_id, campaign_id=campaign.id,
                                    subject_type=subject_type, subject_id=subject_id,
                                    contact_id=contact_id, anchor_at=anchor_at, status="active",
                                    control=in_control(campaign, contact_id))
            session.add(enrollment)
            session.flush()
            session.add_all(Message(
                store_id=campaign.store_id, campaign_id=campaign.id, enrollment_id=enrollment.id,
                step_id=step.id, contact_id=contact_id, promotional=campaign.promotional,
                due_at=anchor_at + timedelta(minutes=step.delay_minutes), status="scheduled",
                latest_at=latest_at(anchor_at, step),
            ) for step in steps)
            session.flush()
    except IntegrityError:
        return None
    return enrollment


def _not_enrolled(campaign: Campaign, subject_type: str, subject_id_column):
    return ~exists().where(Enrollment.campaign_id == campaign.id,
                           Enrollment.subject_type == subject_type,
                           Enrollment.subject_id == subject_id_column)


def _reachable(contact_id_column):
    return exists().where(Contact.id == contact_id_column, Contact.opted_out_at.is_(None))


def enroll_abandoned_carts(session: Session, campaign: Campaign, now: datetime) -> int:
    """Carts with a phone, items and no purchase, quiet for the campaign's inactivity time."""
    purchased_since = exists().where(
        Order.store_id == Cart.store_id, Order.contact_id == Cart.contact_id,
        Order.purchased.is_(True), Order.created_gmt >= Cart.modified_gmt)
    # A cart whose order already has a lost-order sequence is followed there, not here.
    in_lost_order = exists().where(
        Enrollment.subject_type == "order", Enrollment.subject_id == Cart.order_id,
        Enrollment.campaign_id.in_(select(Campaign.id).where(Campaign.kind == LOST_ORDER)))
    carts = session.execute(
        select(Cart.id, Cart.contact_id, Cart.modified_gmt)
        .where(Cart.store_id == campaign.store_id, Cart.contact_id.is_not(None),
               Cart.converted_at.is_(None), Cart.total > 0, ~in_lost_order,
               Cart.modified_gmt <= now - timedelta(minutes=campaign.trigger_minutes),
               Cart.modified_gmt > now - timedelta(minutes=campaign.trigger_minutes) - CART_LOOKBACK,
               _not_enrolled(campaign, "cart", Cart.id), _reachable(Cart.contact_id),
               ~purchased_since)
        .order_by(Cart.id).limit(BATCH)
    ).all()
    # The sequence counts from the shopper's last activity: "+1 hour" means an hour after it.
    return sum(enroll(session, campaign, subject_type="cart", subject_id=cart_id,
                      contact_id=contact_id, anchor_at=modified) is not None
               for cart_id, contact_id, modified in carts)


def enroll_completed_orders(session: Session, campaign: Campaign, now: datetime) -> int:
    """Orders that reached "completed" since the campaign exists (never the store's history).

    One per customer in ONCE_PER_CUSTOMER: a later order within it is enrolled too (so it is
    never looked at again) but its messages are skipped at once, with the reason."""
    orders = session.execute(
        select(Order.id, Order.contact_id, Order.completed_gmt, Order.modified_gmt)
        .where(Order.store_id == campaign.store_id, Order.contact_id.is_not(None),
               Order.status == "completed", Order.deleted_at.is_(None),
               Order.created_at >= campaign.created_at,
               _not_enrolled(campaign, "order", Order.id), _reachable(Order.contact_id))
        .order_by(Order.id).limit(BATCH)
    ).all()
    enrolled = 0
    for order_id, contact_id, completed, modified in orders:
        anchor = completed or modified or now
        asked = _asked_within(session, campaign, contact_id, anchor)
        enrollment = enroll(session, campaign, subject_type="order", subject_id=order_id,
                            contact_id=contact_id, anchor_at=anchor)
        if enrollment is None:
            continue
        if asked:
            exit_enrollment(session, enrollment, Reason.ONCE_PER_CUSTOMER, now)
        else:
            enrolled += 1
    return enrolled


def _asked_within(session: Session, campaign: Campaign, contact_id: int | None,
                  anchor: datetime) -> bool:
    """The customer has this campaign's sequence for another order near `anchor`: one still
    running, or one whose message went out."""
    # A control message withheld counts as gone out: control contacts are asked as often.
    went_out = exists().where(Message.enrollment_id == Enrollment.id,
                              or_(Message.sent_at.is_not(None), Message.withheld_at.is_not(None)))
    return session.scalar(select(exists().where(
        Enrollment.campaign_id == campaign.id, Enrollment.contact_id == contact_id,
        Enrollment.anchor_at > anchor - ONCE_PER_CUSTOMER,
        Enrollment.anchor_at < anchor + ONCE_PER_CUSTOMER,
        or_(Enrollment.status == "active", went_out)))) or False


def enroll_lapsed_customers(session: Session, campaign: Campaign, now: datetime) -> int:
    """Contacts whose last purchase is older than the campaign's silence; subject = that order."""
    last = (select(Order.contact_id, func.max(Order.created_gmt).label("last_at"))
            .where(Order.store_id == campaign.store_id, Order.purchased.is_(True),
                   Order.deleted_at.is_(None), Order.contact_id.is_not(None))
            .group_by(Order.contact_id).subquery())
    cutoff = now - timedelta(minutes=campaign.trigger_minutes)
    orders = session.execute(
        select(Order.id, Order.contact_id, Order.created_gmt)
        .join(last, and_(last.c.contact_id == Order.contact_id,
                         last.c.last_at == Order.created_gmt))
        .where(Order.store_id == campaign.store_id, Order.purchased.is_(True),
               Order.deleted_at.is_(None), last.c.last_at <= cutoff,
               _not_enrolled(campaign, "order", Order.id), _reachable(Order.contact_id))
        .order_by(Order.id).limit(BATCH)
    ).all()
    silence = timedelta(minutes=campaign.trigger_minutes)
    return sum(enroll(session, campaign, subject_type="order", subject_id=order_id,
                      contact_id=contact_id, anchor_at=created + silence) is not None
               for order_id, contact_id, created in orders)


def enroll_lost_orders(session: Session, campaign: Campaign, now: datetime) -> int:
    """Orders placed and left unpaid (pending or failed at the bank, or cancelled by
    WooCommerce's hold-stock timer) for the campaign's wait, since the campaign exists.

    One sequence per customer and attempt: an order with a later order of the same customer (a
    retry, or a purchase) is not enrolled, and enrolling a newer attempt ends the older one's
    sequence. The cart the order was placed from leaves its abandoned-cart sequence: one
    sequence per purchase attempt.
    """
    wait = timedelta(minutes=campaign.trigger_minutes)
    later = aliased(Order)
    newer_attempt = exists().where(
        later.store_id == Order.store_id, later.contact_id == Order.contact_id,
        later.created_gmt > Order.created_gmt, later.deleted_at.is_(None))
    orders = session.execute(
        select(Order.id, Order.contact_id, Order.created_gmt, Order.cart_token)
        .where(Order.store_id == campaign.store_id, Order.contact_id.is_not(None),
               or_(Order.status.in_(UNPAID_STATUSES), Order.unpaid_cancelled.is_(True)),
               Order.purchased.is_(False), Order.deleted_at.is_(None),
               Order.created_gmt <= now - wait, Order.created_gmt > now - wait - ORDER_LOOKBACK,
               Order.created_at >= campaign.created_at, ~newer_attempt,
               _not_enrolled(campaign, "order", Order.id), _reachable(Order.contact_id))
        .order_by(Order.id).limit(BATCH)).all()
    enrolled = 0
    for order_id, contact_id, created, cart_token in orders:
        if contact_id is None or created is None:  # the query's conditions: for the types
            continue
        enrollment = enroll(session, campaign, subject_type="order", subject_id=order_id,
                            contact_id=contact_id, anchor_at=created)
        if enrollment is None:
            continue
        enrolled += 1
        _hand_over(session, enrollment, store_id=campaign.store_id, cart_token=cart_token,
                   now=now)
    return enrolled


def _hand_over(session: Session, enrollment: Enrollment, *, store_id: int,
               cart_token: str | None, now: datetime) -> None:
    """A new lost-order sequence ends the customer's older one and its cart's sequence."""
    older = (select(Enrollment).join(Campaign, Campaign.id == Enrollment.campaign_id)
             .where(Campaign.store_id == store_id, Campaign.kind == LOST_ORDER,
                    Enrollment.contact_id == enrollment.contact_id,
                    Enrollment.status == "active", Enrollment.id != enrollment.id))
    for other in session.scalars(older):
        exit_enrollment(session, other, Reason.SUPERSEDED, now)
    placed_from = [Cart.order_id == enrollment.subject_id]
    if cart_token:
        placed_from.append(Cart.token == cart_token)
    carts = select(Cart.id).where(Cart.store_id == store_id, or_(*placed_from))
    for cart_enrollment in session.scalars(
            select(Enrollment).join(Campaign, Campaign.id == Enrollment.campaign_id)
            .where(Campaign.kind == ABANDONED_CART, Enrollment.subject_type == "cart",
                   Enrollment.subject_id.in_(carts), Enrollment.status == "active")):
        exit_enrollment(session, cart_enrollment, Reason.ORDER_PLACED, now)


TRIGGERS = {
    ABANDONED_CART: enroll_abandoned_carts,
    POST_PURCHASE_SURVEY: enroll_completed_orders,
    CROSS_SELL: enroll_completed_orders,
    WIN_BACK: enroll_lapsed_customers,
    LOST_ORDER: enroll_lost_orders,
}


def run_triggers(session: Session, now: datetime) -> int:
    campaigns = session.scalars(select(Campaign).where(Campaign.active.is_(True))
                                .order_by(Campaign.id)).all()
    return sum(TRIGGERS[c.kind](session, c, now) for c in campaigns if c.kind in TRIGGERS)
