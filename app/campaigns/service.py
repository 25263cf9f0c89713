"""The campaign engine's entry points: sending what is due, purchases from ingest, pause and
resume. The scheduler (app/scheduler.py) runs them as jobs."""

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from app.billing.models import CHARGE, LedgerEntry
from app.campaigns.dispatch import send_batch
from app.campaigns.lifecycle import claim_due, exit_enrollment, release_held
from app.campaigns.models import (
    BROADCAST,
    CART_ABANDONED,
    NO_PURCHASE,
    ORDER_LOST,
    SCHEDULED,
    Campaign,
    Enrollment,
    Message,
)
from app.campaigns.reasons import Reason
from app.commerce.models import Cart, Order
from app.contacts.models import Contact
from app.errors import NotFound
from app.ops.fanout import DEADLINE, Deadline

# One batch: what one sendarray call takes (app/messaging/gateway.py), claimed at once.
SEND_BATCH = 200
# A sender in a worker hands over to a successor at the back of the queue after this long, so
# the scheduler's jobs (a «stop» read, the reaper) never wait long behind a drain for a worker.
SENDER_BUDGET = 5.0
# A checkout's last cart update can land a moment after the order itself.
CART_ORDER_SLACK = timedelta(minutes=10)


def send_due(factory: sessionmaker[Session], gateways, now: datetime | Callable[[], datetime],
             *, worker: str | None = None, budget: float | None = None,
             batch: int = SEND_BATCH,
             deadline: Deadline = DEADLINE) -> tuple[int, dict[str, int], bool]:
    """Claim a batch of what is due and send it, batch after batch, until nothing is due or
    `budget` seconds are spent; returns how many were claimed, how many ended in each status,
    and whether more may be due.

    The claim and the send are one process's: the batch is claimed under its liveness token
    (`worker`, app/ops/liveness.py), so if the process dies the reaper frees the batch at its
    next round, and no claim ever waits in a queue. `now` is a moment, or the clock to read
    before each batch (a drain that lasts minutes claims what fell due meanwhile).
    """
    clock = now if callable(now) else (lambda: now)
    started = time.monotonic()
    claimed = 0
    outcome: dict[str, int] = {}
    while True:
        at = clock()
        ids = claim_due(factory, at, limit=batch, worker=worker)
        if not ids:
            return claimed, outcome, False
        claimed += len(ids)
        for status, n in send_batch(factory, gateways, ids, at, deadline=deadline).items():
            outcome[status] = outcome.get(status, 0) + n
        if budget is not None and time.monotonic() - started >= budget:
            return claimed, outcome, True


def oldest_due(session: Session, now: datetime) -> datetime | None:
    """When the oldest scheduled message still waiting to go out was due (None: none is)."""
    return session.scalar(select(func.min(Message.due_at))
                          .where(Message.status == SCHEDULED, Message.due_at <= now))


def on_order(session: Session, *, store_id: int, wc_id: int, now: datetime) -> int:
    """A purchase ends what it answers: the abandoned carts of its cart token or its buyer, a
    win-back waiting for that buyer, and the buyer's lost-order sequence. Returns how many enrollments it ended."""
    order = session.scalar(select(Order).where(Order.store_id == store_id, Order.wc_id == wc_id))
    if order is None or not order.purchased:
        return 0
    bought_at = order.created_gmt or now
    matches = []
    if order.cart_token:
        matches.append(Cart.token == order.cart_token)
    if order.contact_id:
        matches.append((Cart.contact_id == order.contact_id)
                       & (Cart.modified_gmt <= bought_at + CART_ORDER_SLACK))
    cart_ids = []
    if matches:
        carts = session.scalars(select(Cart).where(Cart.store_id == store_id,
                                                   Cart.converted_at.is_(None), or_(*matches)))
        for cart in carts:
            cart.converted_at = now
            cart_ids.append(cart.id)
    ended = 0
    active = (select(Enrollment).join(Campaign, Campaign.id == Enrollment.campaign_id)
              .where(Enrollment.store_id == store_id, Enrollment.status == "active"))
    if cart_ids:
        for enrollment in session.scalars(active.where(
                Campaign.trigger == CART_ABANDONED, Enrollment.subject_type == "cart",
                Enrollment.subject_id.in_(cart_ids))):
            exit_enrollment(session, enrollment, Reason.PURCHASED, now)
            ended += 1
    if order.contact_id:
        for enrollment in session.scalars(active.where(
                Campaign.trigger == NO_PURCHASE, Enrollment.contact_id == order.contact_id,
                Enrollment.subject_id != order.id)):
            exit_enrollment(session, enrollment, Reason.PURCHASED_AGAIN, now)
            ended += 1
    # A lost order paid at last, or any order the same customer paid for since.
    lost = [Enrollment.subject_id == order.id]
    if order.contact_id:
        lost.append(Enrollment.contact_id == order.contact_id)
    for enrollment in session.scalars(active.where(Campaign.trigger == ORDER_LOST, or_(*lost))):
        exit_enrollment(session, enrollment, Reason.PURCHASED, now)
        ended += 1
    session.flush()
    return ended


def message_subject(session: Session, *, message_id: int) -> tuple[int, str, int] | None:
    """(store id, subject type, subject id) of a message that went out, or None: the order a
    survey link is about (app/surveys). A message still scheduled, held or never sent opens
    nothing: its link reached nobody."""
    row = session.execute(
        select(Message.store_id, Enrollment.subject_type, Enrollment.subject_id)
        .join(Enrollment, Enrollment.id == Message.enrollment_id)
        .where(Message.id == message_id, Message.sent_at.is_not(None))).first()
    return (row[0], row[1], row[2]) if row else None


def platform_senders(session: Session, phones: list[str]) -> dict[str, set[int]]:
    """For each phone (E.164), the stores that have texted it through the platform's account:
    those charged for a message to it. Handed to the replies reader (app/messaging/inbound.py)
    by the scheduler: a «۱۱» on the platform's shared line stops them all."""
    if not phones:
        return {}
    rows = session.execute(
        select(Contact.phone, LedgerEntry.store_id).distinct()
        .join(Message, Message.id == LedgerEntry.message_id)
        .join(Contact, Contact.id == Message.contact_id)
        .where(LedgerEntry.kind == CHARGE, Contact.phone.in_(phones)))
    found: dict[str, set[int]] = {}
    for phone, store_id in rows:
        found.setdefault(phone, set()).add(store_id)
    return found


def campaign_of_store(session: Session, *, store_id: int, campaign_id: int,
                      include_deleted: bool = False) -> Campaign:
    """The store's campaign, or NotFound: another store's is as unknown as a missing one. A
    deleted campaign is found only where its history is asked for (`include_deleted`)."""
    # A broadcast's hidden campaign is its broadcast's (app/broadcasts): not a campaign here.
    query = select(Campaign).where(Campaign.id == campaign_id, Campaign.store_id == store_id,
                                   Campaign.kind != BROADCAST)
    if not include_deleted:
        query = query.where(Campaign.deleted_at.is_(None))
    campaign = session.scalar(query)
    if campaign is None:
        raise NotFound(f"no campaign with id {campaign_id}", code="campaign_not_found")
    return campaign


def set_campaign_active(session: Session, *, store_id: int, campaign_id: int, active: bool,
                        now: datetime) -> Campaign:
    campaign = campaign_of_store(session, store_id=store_id, campaign_id=campaign_id,
                                 include_deleted=True)
    campaign.active = active
    if active:  # held messages go out at the next tick, subject to every rule again
        release_held(session, Message.campaign_id == campaign.id, reason=Reason.CAMPAIGN_RESUMED)
    session.flush()
    return campaign
