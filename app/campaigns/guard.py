"""Right before a claimed message goes out, everything is checked once more.

The policy is `CHECKS`: small named checks, in order, each answering "proceed" (None) or where
the message goes instead (a `Move`: skipped, held, or scheduled later, with its reason). A
message that passes them all is composed (app/campaigns/compose.py) and, if the store can pay
for it, approved for the gateway.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select, union_all
from sqlalchemy.orm import Session

from app.billing import service as billing
from app.campaigns import lifecycle
from app.campaigns.compose import Uncomposable, choose_variant, compose
from app.campaigns.conditions import first_held
from app.campaigns.content import render_context
from app.campaigns.coupons import gate as coupon_gate
from app.campaigns.lifecycle import Move
from app.campaigns.lookup import LOOKUP_MODE
from app.campaigns.models import (
    CROSS_SELL,
    FAILED,
    HELD,
    NO_PURCHASE,
    ORDER_COMPLETED,
    ORDER_LOST,
    ORDER_STATUS,
    PRODUCT_BOUGHT,
    REORDER_DUE,
    SCHEDULED,
    SKIPPED,
    Campaign,
    CampaignStep,
    Enrollment,
    Message,
)
from app.campaigns.reasons import Reason, SendMode, detail
from app.campaigns.recommend import recommend
from app.campaigns.rules import cap_allows_at, next_allowed_minute
from app.commerce.models import Cart, Order
from app.commerce.service import UNPAID_STATUSES
from app.contacts.models import Contact
from app.db import in_ids
from app.links.models import Click
from app.links.service import preload as preload_links
from app.messaging.gateway import Lookup
from app.stores.models import Store


class Batch:
    """What the checks of one batch read, loaded with a handful of queries for all of it.

    Rows land in the session's identity map, so the checks' session.get() calls cost no SQL;
    purchases and recent sends per contact are kept here (and recent sends grow as the batch
    approves messages, so two messages to one contact in one batch still respect the cap).
    """

    def __init__(self, session: Session, messages: list[Message], now: datetime):
        def load(model, ids):
            ids = set(ids)
            return list(session.scalars(select(model).where(in_ids(model.id, ids)))) if ids else []

        enrollments = load(Enrollment, (m.enrollment_id for m in messages))
        # Held here on purpose: the identity map keeps unchanged objects only weakly, and a
        # row it dropped would be loaded again, one query per message.
        self.rows = [*enrollments,
                     *load(Campaign, (m.campaign_id for m in messages)),
                     *load(Store, (m.store_id for m in messages)),
                     *load(CampaignStep, (m.step_id for m in messages)),
                     *load(Cart, (e.subject_id for e in enrollments if e.subject_type == "cart")),
                     *load(Order, (e.subject_id for e in enrollments if e.subject_type == "order"))]
        preload_links(session, [m.id for m in messages])
        contact_ids = sorted({m.contact_id for m in messages})
        # Locking the contacts serializes every decision about them: the cap counts correctly
        # with several dispatchers, and an opt-out cannot slip between check and send. Always
        # in id order, so two dispatchers cannot deadlock on them.
        self.contacts = {c.id: c for c in session.scalars(
            select(Contact).where(in_ids(Contact.id, contact_ids)).order_by(Contact.id)
            .with_for_update())}
        self.purchases: dict[int, list[datetime]] = {}
        for contact_id, created in session.execute(
                select(Order.contact_id, Order.created_gmt).where(
                    in_ids(Order.contact_id, contact_ids), Order.purchased.is_(True))):
            self.purchases.setdefault(contact_id, []).append(created)
        self.spent: dict[int, int] = {}  # Rial approved per metered store in this batch
        self.sent: dict[int, list[datetime]] = {}
        batch_ids = [m.id for m in messages]
        # A control message withheld counts as sent when it was withheld: other campaigns
        # treat control contacts exactly like the rest (each half read by its own index).
        week_ago = now - timedelta(days=7)
        for contact_id, sent_at in session.execute(union_all(*(
                select(Message.contact_id, at).where(
                    in_ids(Message.contact_id, contact_ids), at > week_ago,
                    ~in_ids(Message.id, batch_ids))
                for at in (Message.sent_at, Message.withheld_at)))):
            self.sent.setdefault(contact_id, []).append(sent_at)

    def afford(self, store: Store, parts: int) -> bool:
        """Pay as you go: the store's balance covers this message after the batch's others."""
        if not billing.metered(store):
            return True
        spent = self.spent.get(store.id, 0) + billing.price(store, parts)
        if store.balance < spent:
            return False
        self.spent[store.id] = spent
        return True

    def purchased_since(self, contact_id: int, since: datetime) -> bool:
        return any(t is not None and t >= since for t in self.purchases.get(contact_id, ()))


@dataclass
class Case:
    """One claimed message and the rows the checks read about it (preloaded by the batch)."""

    session: Session
    batch: Batch
    message: Message
    now: datetime

    def __post_init__(self) -> None:
        get = self.session.get_one  # foreign keys of a locked message: never missing
        self.enrollment = get(Enrollment, self.message.enrollment_id)
        self.campaign = get(Campaign, self.message.campaign_id)
        self.store = get(Store, self.message.store_id)
        self.step = get(CampaignStep, self.message.step_id)
        self.contact = self.batch.contacts[self.message.contact_id]


Check = Callable[[Case], Move | None]


def enrollment_is_active(case: Case) -> Move | None:
    enrollment = case.enrollment
    if enrollment.status != "active":
        return Move(SKIPPED, Reason.ENROLLMENT_ENDED,
                    detail(f"{enrollment.status}: {enrollment.exit_reason}"))
    return None


def contact_is_subscribed(case: Case) -> Move | None:
    return Move(SKIPPED, Reason.OPTED_OUT) if case.contact.opted_out_at is not None else None


def campaign_and_step_exist(case: Case) -> Move | None:
    if case.campaign.deleted_at is not None:
        return Move(SKIPPED, Reason.CAMPAIGN_DELETED)
    if case.step.deleted_at is not None:
        return Move(SKIPPED, Reason.STEP_DELETED)
    return None


def campaign_is_active(case: Case) -> Move | None:
    return None if case.campaign.active else Move(HELD, Reason.CAMPAIGN_PAUSED)


def store_is_sending(case: Case) -> Move | None:
    if case.store.sending_paused_at is not None:
        return Move(HELD, Reason.STORE_PAUSED, case.store.sending_paused_reason)
    return None


def receiver_takes_ads(case: Case) -> Move | None:
    if case.message.promotional and case.contact.promo_blocked_at is not None:
        return Move(SKIPPED, Reason.RECEIVER_BLOCKS_ADS)
    return None


def _subject_ended(case: Case) -> tuple[Reason, str | None] | None:
    """Why the cart or order no longer wants this message, or None."""
    session, batch, enrollment = case.session, case.batch, case.enrollment
    if enrollment.subject_type == "contact":  # a broadcast's: its contact is checked above
        return None
    if enrollment.subject_type == "cart":
        cart = session.get(Cart, enrollment.subject_id)
        # A linked order that is not paid (say, a failed bank payment) is no purchase: the
        # reminders are exactly what such a shopper needs. Purchases set converted_at.
        if cart is None or cart.converted_at:
            return Reason.PURCHASED, None
        if batch.purchased_since(enrollment.contact_id, enrollment.anchor_at):
            return Reason.PURCHASED, None
        if cart.declined_at:
            return Reason.CART_DECLINED, None
        return (Reason.CART_EMPTIED, None) if not cart.total else None
    order = session.get(Order, enrollment.subject_id)
    return _ORDER_ENDED.get(case.campaign.trigger, _order_gone)(case, order)


Ended = tuple[Reason, str | None] | None
# Statuses that undo an order: whatever a sequence about it was saying no longer holds.
UNDONE_STATUSES = frozenset({"refunded", "cancelled", "failed", "trash"})


def _order_gone(case: Case, order: Order | None) -> Ended:
    """Deleted, refunded in full or cancelled: over (unless that status is what the trigger
    waited for, as an order_status automation on «cancelled» does)."""
    if order is None or order.deleted_at is not None:
        return Reason.ORDER_DELETED, None
    awaited = (case.campaign.trigger_params or {}).get("status") \
        if case.campaign.trigger == ORDER_STATUS else None
    if order.status != awaited and (order.status in UNDONE_STATUSES or (
            order.total and order.refunded >= order.total)):
        return Reason.ORDER_CHANGED, order.status
    return None


def _completed_order_ended(case: Case, order: Order | None) -> Ended:
    """A survey or a cross-sell is about a completed order: any other status ends it."""
    if order is None or order.deleted_at is not None:
        return Reason.ORDER_DELETED, None
    return (Reason.ORDER_CHANGED, order.status) if order.status != "completed" else None


def _paid_order_ended(case: Case, order: Order | None) -> Ended:
    """A sequence about what was bought ends when the order is no purchase any more."""
    gone = _order_gone(case, order)
    if gone is None and order is not None and not order.purchased:
        return Reason.ORDER_CHANGED, order.status
    return gone


def _lapsed_ended(case: Case, order: Order | None) -> Ended:
    """A win-back ends with any purchase after the last one it was about."""
    if order is None or case.batch.purchased_since(case.enrollment.contact_id,
                                                   order.created_gmt + timedelta(seconds=1)):
        return Reason.PURCHASED_AGAIN, None
    return None


def _reorder_ended(case: Case, order: Order | None) -> Ended:
    """A reorder reminder is about the product the order bought: buying it again (a later
    paid order holding it) makes it pointless, and its new date is another order's."""
    gone = _paid_order_ended(case, order)
    if gone is not None or order is None:
        return gone
    product = case.enrollment.product_wc_id
    since = order.paid_gmt or order.created_gmt
    for other in case.session.scalars(select(Order).where(
            Order.store_id == order.store_id, Order.contact_id == order.contact_id,
            Order.id != order.id, Order.purchased.is_(True), Order.deleted_at.is_(None))):
        at = other.paid_gmt or other.created_gmt
        if at is not None and since is not None and (at, other.id) > (since, order.id) \
                and product is not None and first_held(other.items, {product}) is not None:
            return Reason.PURCHASED_AGAIN, None
    return None


def _lost_order_ended(case: Case, order: Order | None) -> Ended:
    """Never a reminder to someone who paid: that order, or any order they paid for since (by
    phone or by email). Cancelled by the merchant, refunded: over. Still unpaid, or cancelled by
    WooCommerce's timer while it waited for payment: still lost."""
    if order is None or order.deleted_at is not None:
        return Reason.ORDER_DELETED, None
    if order.purchased or order.paid_gmt is not None:
        return Reason.PURCHASED, None
    since = order.created_gmt or case.enrollment.anchor_at
    if case.batch.purchased_since(case.enrollment.contact_id, since) or (
            order.email and case.session.scalar(select(exists().where(
                Order.store_id == order.store_id, Order.email == order.email,
                Order.purchased.is_(True), Order.created_gmt >= since)))):
        return Reason.PURCHASED, None
    if order.status in UNPAID_STATUSES or order.unpaid_cancelled:
        return None
    return Reason.ORDER_CHANGED, order.status


_ORDER_ENDED: dict[str, Callable[[Case, Order | None], Ended]] = {
    ORDER_LOST: _lost_order_ended, NO_PURCHASE: _lapsed_ended,
    ORDER_COMPLETED: _completed_order_ended, PRODUCT_BOUGHT: _paid_order_ended,
    REORDER_DUE: _reorder_ended,
    # order_status, survey_answered: _order_gone
}


def subject_still_wants_it(case: Case) -> Move | None:
    """A bought cart, an emptied one, a refunded order end the enrollment; a cart changed since
    the sequence began starts it over from the change."""
    ended = _subject_ended(case)
    if ended is not None:
        reason, why = ended
        lifecycle.exit_enrollment(case.session, case.enrollment, reason, case.now, detail=why)
        return Move(SKIPPED, reason, why)
    enrollment = case.enrollment
    if enrollment.subject_type == "cart":
        cart = case.session.get_one(Cart, enrollment.subject_id)
        if cart.modified_gmt and cart.modified_gmt > enrollment.anchor_at:
            lifecycle.postpone(case.session, enrollment, cart.modified_gmt)
            return Move(SCHEDULED, Reason.POSTPONED, due_at=case.message.due_at)
    return None


def no_exit_condition_met(case: Case) -> Move | None:
    """The campaign's own exit conditions (schemas.Exits): a purchase since the trigger fired,
    or a tap on an earlier message's link, ends the sequence."""
    exits, enrollment = case.campaign.exits or {}, case.enrollment
    reason = None
    if exits.get("purchased") and case.batch.purchased_since(enrollment.contact_id,
                                                             enrollment.anchor_at):
        reason = Reason.PURCHASED
    elif exits.get("clicked") and case.session.scalar(select(exists().where(
            Click.message_id == Message.id, Message.enrollment_id == enrollment.id,
            Click.bot.is_(False)))):
        reason = Reason.CLICKED
    if reason is None:
        return None
    lifecycle.exit_enrollment(case.session, enrollment, reason, case.now)
    return Move(SKIPPED, reason)


def something_to_recommend(case: Case) -> Move | None:
    """A cross-sell whose order has no product worth offering is never sent."""
    if case.campaign.kind != CROSS_SELL:
        return None
    order = case.session.get_one(Order, case.enrollment.subject_id)
    return Move(SKIPPED, Reason.NOTHING_TO_RECOMMEND) if recommend(case.session, order) is None \
        else None


def _too_late(case: Case, at: datetime) -> Move | None:
    latest = case.message.latest_at
    if latest is not None and at > latest:
        return Move(SKIPPED, Reason.TOO_LATE,
                    detail(f"due by {latest.isoformat()}, could go at {at.isoformat()}"))
    return None


def not_too_late(case: Case) -> Move | None:
    """Past its step's send-no-later-than: a late reminder annoys more than it recovers."""
    return _too_late(case, case.now)


def held_out_as_control(case: Case) -> Move | None:
    """A control enrollment's message has met every check a treated one meets up to here; where
    a treated one would go on to its coupon, link, cost and SMS, it is skipped instead, at the
    minute the treated one would go out, and counts in the contact's frequency cap from then
    on as if sent. Nothing leaves bazgasht for it."""
    if not case.enrollment.control:
        return None
    later = within_sending_hours(case)
    if later is not None:
        return later
    case.batch.sent.setdefault(case.contact.id, []).append(case.now)
    return Move(SKIPPED, Reason.CONTROL, withheld_at=case.now)


def coupon_is_ready(case: Case) -> Move | None:
    """A personal coupon the store has not confirmed yet: wait; given up: fallback or hold."""
    return coupon_gate(case.session, step=case.step, message=case.message, now=case.now)


def within_sending_hours(case: Case) -> Move | None:
    """The store's quiet hours and weekdays, then the contact's frequency cap (promotional)."""
    store, now = case.store, case.now
    window: dict[str, Any] = dict(tz=store.timezone, start_minute=store.send_from_minute,
                                  end_minute=store.send_until_minute, weekdays=store.send_weekdays)
    at = next_allowed_minute(now, **window)
    why = Reason.QUIET_HOURS
    if case.message.promotional:
        sent = case.batch.sent.get(case.contact.id, [])
        for _ in range(3):  # a cap moved into the night is moved again to the morning
            capped = cap_allows_at(at, sent, per_day=store.cap_per_day, per_week=store.cap_per_week)
            if capped == at:
                break
            why = Reason.FREQUENCY_CAP
            at = next_allowed_minute(capped, **window)
    if at <= now:
        return None
    # Not moved past its send-no-later-than: skipped now, so the panel says so at once.
    return _too_late(case, at) or Move(SCHEDULED, why, due_at=at)


CHECKS: tuple[Check, ...] = (
    enrollment_is_active,
    contact_is_subscribed,
    campaign_and_step_exist,
    campaign_is_active,
    store_is_sending,
    receiver_takes_ads,
    subject_still_wants_it,
    no_exit_condition_met,
    something_to_recommend,
    not_too_late,
    held_out_as_control,  # before the coupon: a control message makes none in the store
    coupon_is_ready,
    within_sending_hours,
)


@dataclass(frozen=True)
class Send:
    """An approved message, ready for its store's gateway."""

    store: Store
    receptor: str
    text: str
    lookup: Lookup | None = None  # lookup mode: sent as this approved template, not as `text`
    first_try: bool = True  # never handed to a gateway before: it may go to a second provider


def decide(case: Case) -> Move | Send:
    """Where a claimed message goes: every check, then its SMS, then its cost."""
    for check in CHECKS:
        to = check(case)
        if to is not None:
            return to
    message, store, step = case.message, case.store, case.step
    message.variant, source = choose_variant(step, seed=message.id)  # before the link: its UTM
    context = render_context(case.session, campaign=case.campaign, step=step, store=store,
                             contact=case.contact, enrollment=case.enrollment, now=case.now,
                             message=message)
    if context is None:
        return Move(SKIPPED, Reason.NOTHING_TO_RECOMMEND)
    try:
        sms = compose(store=store, campaign=case.campaign, step=step, source=source,
                      variant=message.variant, context=context)
    except Uncomposable as exc:  # the step's config waits for the merchant; bad data fails
        return Move(FAILED if exc.reason == Reason.LOOKUP_DATA else HELD, exc.reason,
                    detail(f"step {step.position}: {exc}"))
    if store.sms_template_mode == LOOKUP_MODE:
        if sms.lookup is None:
            return Move(HELD, Reason.LOOKUP_CONFIG,
                        f"step {step.position} has no lookup template; set the step's lookup "
                        f"config, then resume the campaign")
        # The parts are known only from the gateway's answer (it fills the template).
        if not case.batch.afford(store, 1):
            return Move(HELD, Reason.NO_BALANCE)
        message.variant = None
        lifecycle.approve(message, text=sms.lookup.readable(), parts=None, mode=SendMode.LOOKUP,
                          via=store.sms_provider, now=case.now)
    else:
        if not case.batch.afford(store, sms.segments.parts):
            return Move(HELD, Reason.NO_BALANCE)
        lifecycle.approve(message, text=sms.text, parts=sms.segments.parts, mode=SendMode.TEXT,
                          via=store.sms_provider, now=case.now)
    case.batch.sent.setdefault(case.contact.id, []).append(case.now)
    return Send(store=store, receptor=case.contact.phone, text=message.text or "",
                lookup=sms.lookup if store.sms_template_mode == LOOKUP_MODE else None,
                first_try=message.attempts == 1)
