"""Claim due messages, check everything once more, send, and record the outcome.

A message moves by conditional updates only: scheduled → sending (claimed) → sent, or back to
scheduled (moved later), held, or skipped with a reason. Nothing is sent while a row lock is held:
the guard's transaction commits first, then the gateway is called with localid = message id.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.billing import service as billing
from app.campaigns.content import message_text
from app.campaigns.coupons import gate as coupon_gate
from app.campaigns.lookup import (
    LOOKUP_MODE,
    NotSendable,
    lookup_for,
    record_lookup_parts,
    settle_lookup_error,
)
from app.campaigns.models import (
    FAILED,
    HELD,
    SCHEDULED,
    SENDING,
    SENT,
    SKIPPED,
    WIN_BACK,
    Campaign,
    CampaignStep,
    Enrollment,
    Message,
)
from app.campaigns.rules import cap_allows_at, next_allowed_minute
from app.commerce.models import Cart, Order
from app.contacts.models import Contact
from app.db import rowcount, unit_of_work
from app.links.service import preload as preload_links
from app.messaging.gateway import (
    LOOKUP_TEXT_PREFIX,
    ErrorKind,
    Gateway,
    GatewayError,
    Lookup,
    SendResult,
)
from app.messaging.segments import count_segments
from app.ops import metrics
from app.ops.fanout import DEADLINE, fan_out
from app.stores.models import Store

log = logging.getLogger(__name__)

CLAIM_BATCH = 500
MAX_ATTEMPTS = 5
STUCK_AFTER = timedelta(minutes=10)


def claim_due(factory: sessionmaker[Session], now: datetime, *, limit: int = CLAIM_BATCH) -> list[int]:
    """Move up to `limit` due messages from scheduled to sending; returns their ids.

    SKIP LOCKED lets several dispatchers claim at once without waiting on, or taking, each
    other's rows (SQLite has one writer at a time and ignores it).
    """
    # A materialized CTE runs the locking SELECT exactly once: as a plain IN (subquery)
    # PostgreSQL may re-run it inside the UPDATE and claim more than `limit` rows.
    due = (select(Message.id)
           .where(Message.status == SCHEDULED, Message.due_at <= now)
           .order_by(Message.due_at).limit(limit)
           .with_for_update(skip_locked=True)
           .cte("due").prefix_with("MATERIALIZED"))
    with unit_of_work(factory) as session:
        return list(session.scalars(
            update(Message)
            # UPDATE … FROM due joins by primary key: the cost follows the due rows, not the
            # table (an IN would hash-join against every scheduled row).
            .where(Message.id == due.c.id, Message.status == SCHEDULED)
            .values(status=SENDING, claimed_at=now, attempts=Message.attempts + 1)
            .returning(Message.id)
            .execution_options(synchronize_session=False)))


@dataclass(frozen=True)
class Send:
    receptor: str
    text: str
    gateway: Gateway
    lookup: Lookup | None = None  # lookup mode: sent as this approved template, not as `text`


def _move(message: Message, status: str, reason: str, due_at: datetime | None = None) -> None:
    message.status, message.reason = status, reason
    if due_at is not None:
        message.due_at = due_at
    message.claimed_at = None


def exit_enrollment(session: Session, enrollment: Enrollment, reason: str,
                    now: datetime) -> None:
    enrollment.status, enrollment.exit_reason, enrollment.exited_at = "exited", reason, now
    session.flush()  # the bulk UPDATE below must see every change made so far
    session.execute(update(Message)
                    .where(Message.enrollment_id == enrollment.id,
                           Message.status.in_([SCHEDULED, HELD]))
                    .values(status=SKIPPED, reason=reason)
                    .execution_options(synchronize_session=False))


def _postpone(session: Session, enrollment: Enrollment, anchor: datetime) -> None:
    """The shopper came back: the sequence starts over from their latest activity."""
    enrollment.anchor_at = anchor
    steps = dict(session.execute(
        select(CampaignStep.id, CampaignStep.delay_minutes)
        .where(CampaignStep.campaign_id == enrollment.campaign_id)).all())
    for message in session.scalars(select(Message).where(
            Message.enrollment_id == enrollment.id,
            Message.status.in_([SCHEDULED, SENDING, HELD]))):
        _move(message, SCHEDULED, "cart changed: postponed",
              anchor + timedelta(minutes=steps[message.step_id]))


class _Batch:
    """What the guards of one batch read, loaded with a handful of queries for all of it.

    Rows land in the session's identity map, so the guards' session.get() calls cost no SQL;
    purchases and recent sends per contact are kept here (and recent sends grow as the batch
    approves messages, so two messages to one contact in one batch still respect the cap).
    """

    def __init__(self, session: Session, messages: list[Message], now: datetime):
        def load(model, ids):
            ids = set(ids)
            return list(session.scalars(select(model).where(model.id.in_(ids)))) if ids else []

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
            select(Contact).where(Contact.id.in_(contact_ids)).order_by(Contact.id)
            .with_for_update())}
        self.purchases: dict[int, list[datetime]] = {}
        for contact_id, created in session.execute(
                select(Order.contact_id, Order.created_gmt).where(
                    Order.contact_id.in_(contact_ids), Order.purchased.is_(True))):
            self.purchases.setdefault(contact_id, []).append(created)
        self.spent: dict[int, int] = {}  # Rial approved per metered store in this batch
        self.sent: dict[int, list[datetime]] = {}
        batch_ids = [m.id for m in messages]
        for contact_id, sent_at in session.execute(
                select(Message.contact_id, Message.sent_at).where(
                    Message.contact_id.in_(contact_ids), Message.sent_at > now - timedelta(days=7),
                    Message.id.not_in(batch_ids))):
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


def _subject_exit_reason(session: Session, batch: _Batch, campaign: Campaign,
                         enrollment: Enrollment) -> str | None:
    """Why the subject no longer wants this message, or None. May postpone a changed cart."""
    if enrollment.subject_type == "cart":
        cart = session.get(Cart, enrollment.subject_id)
        # A linked order that is not paid (say, a failed bank payment) is no purchase: the
        # reminders are exactly what such a shopper needs. Purchases set converted_at.
        if cart is None or cart.converted_at:
            return "purchased"
        if batch.purchased_since(enrollment.contact_id, enrollment.anchor_at):
            return "purchased"
        if not cart.total:
            return "cart emptied"
        if cart.modified_gmt and cart.modified_gmt > enrollment.anchor_at:
            _postpone(session, enrollment, cart.modified_gmt)
            return ""
        return None
    order = session.get(Order, enrollment.subject_id)
    if campaign.kind == WIN_BACK:
        if order is None or batch.purchased_since(enrollment.contact_id,
                                                  order.created_gmt + timedelta(seconds=1)):
            return "purchased again"
        return None
    if order is None or order.deleted_at is not None:
        return "order deleted"
    if order.status != "completed":
        return f"order is {order.status} now"
    return None


def _guard(session: Session, batch: _Batch, message: Message, now: datetime,
           gateways) -> Send | None:
    """Decide, right before sending, what happens to a claimed message."""
    # The batch preloaded these rows (foreign keys of a locked message): no SQL, never missing.
    enrollment = session.get_one(Enrollment, message.enrollment_id)
    campaign = session.get_one(Campaign, message.campaign_id)
    store = session.get_one(Store, message.store_id)
    contact = batch.contacts[message.contact_id]
    if enrollment.status != "active":
        _move(message, SKIPPED, f"enrollment {enrollment.status}: {enrollment.exit_reason}")
        return None
    if contact.opted_out_at is not None:
        _move(message, SKIPPED, "opted out")
        return None
    step = session.get_one(CampaignStep, message.step_id)
    if campaign.deleted_at is not None or step.deleted_at is not None:
        _move(message, SKIPPED, "campaign deleted" if campaign.deleted_at else "step deleted")
        return None
    if not campaign.active:
        _move(message, HELD, "campaign paused")
        return None
    if store.sending_paused_at is not None:
        _move(message, HELD, f"store sending paused: {store.sending_paused_reason}")
        return None
    if message.promotional and contact.promo_blocked_at is not None:
        _move(message, SKIPPED, "the receiver blocks advertising SMS")
        return None
    reason = _subject_exit_reason(session, batch, campaign, enrollment)
    if reason == "":  # postponed: the message was rescheduled
        message.attempts -= 1  # moved, not tried: attempts count gateway calls only
        return None
    if reason:
        exit_enrollment(session, enrollment, reason, now)
        _move(message, SKIPPED, reason)
        return None

    # ---- personal coupons (app/campaigns/coupons.py): not made yet → wait; given up → hold ----
    coupon = coupon_gate(session, step=step, message=message, now=now)
    if coupon is not None:
        if coupon.status == SCHEDULED:
            message.attempts -= 1  # waiting on the store is no send attempt
        _move(message, coupon.status, coupon.reason, coupon.due_at)
        return None
    # ---- end of personal coupons ----
    text = message_text(session, message=message, campaign=campaign, store=store,
                        contact=contact, enrollment=enrollment, now=now)
    if text is None:
        _move(message, SKIPPED, "nothing to recommend")
        return None

    window: dict[str, Any] = dict(tz=store.timezone, start_minute=store.send_from_minute,
                                  end_minute=store.send_until_minute, weekdays=store.send_weekdays)
    at = next_allowed_minute(now, **window)
    why = "quiet hours" if at > now else None
    if message.promotional:
        sent = batch.sent.get(contact.id, [])
        for _ in range(3):  # a cap moved into the night is moved again to the morning
            capped = cap_allows_at(at, sent, per_day=store.cap_per_day, per_week=store.cap_per_week)
            if capped == at:
                break
            why = "frequency cap"
            at = next_allowed_minute(capped, **window)
    if at > now:
        _move(message, SCHEDULED, why, at)
        message.attempts -= 1  # moved, not tried: attempts count gateway calls only
        return None
    # ---- lookup mode (app/campaigns/lookup.py): an approved template, no opt-out line ----
    if store.sms_template_mode == LOOKUP_MODE:
        if not batch.afford(store, 1):  # the parts are known only from the gateway's answer
            _move(message, HELD, billing.NO_BALANCE)
            return None
        lookup = lookup_for(session, message=message, campaign=campaign, store=store,
                            contact=contact, enrollment=enrollment, now=now)
        if isinstance(lookup, NotSendable):
            _move(message, lookup.status, lookup.reason)
            return None
        message.text, message.parts, message.variant = lookup.readable(), None, None
        message.sent_at = now
        batch.sent.setdefault(contact.id, []).append(now)
        return Send(receptor=contact.phone, text=message.text,
                    gateway=gateways.for_store(store), lookup=lookup)
    # ---- end of lookup mode ----
    if message.promotional and store.opt_out_text:
        text = f"{text}\n{store.opt_out_text}"
    parts = count_segments(text).parts
    if not batch.afford(store, parts):
        _move(message, HELD, billing.NO_BALANCE)
        return None
    message.text, message.parts = text, parts
    message.sent_at = now  # counts against the cap from this moment on
    batch.sent.setdefault(contact.id, []).append(now)
    return Send(receptor=contact.phone, text=text, gateway=gateways.for_store(store))


def _guard_batch(factory: sessionmaker[Session], gateways, ids: list[int],
                 now: datetime) -> tuple[dict[str, int], list[tuple[int, Send]]]:
    """One transaction: lock the claimed messages, decide each; returns the counts of those
    not going out and the sends of those that are."""
    outcome: dict[str, int] = {}
    sends: list[tuple[int, Send]] = []
    with unit_of_work(factory) as session:
        messages = session.scalars(select(Message).where(Message.id.in_(ids))
                                   .order_by(Message.id).with_for_update()).all()
        ready = [m for m in messages
                 if m.status == SENDING and m.claimed_at == now and m.sent_at is None]
        for message in messages:
            if message not in ready:
                outcome[message.status] = outcome.get(message.status, 0) + 1
        if not ready:
            return outcome, sends
        batch = _Batch(session, ready, now)
        # No autoflush: the guards only read what the batch preloaded; their changes are
        # written once, at commit, instead of one UPDATE per message.
        with session.no_autoflush:
            for message in ready:
                decision = _guard(session, batch, message, now, gateways)
                if decision is None:
                    outcome[message.status] = outcome.get(message.status, 0) + 1
                    metrics.count_message(message.status, message.reason)  # ops
                else:
                    sends.append((message.id, decision))
    return outcome, sends


def send_batch(factory: sessionmaker[Session], gateways, ids: list[int],
               now: datetime) -> dict[str, int]:
    """Guard, send and record claimed messages; returns how many ended in each status.

    One transaction guards the whole batch, the gateway is called with none open, and one
    transaction records what was sent. `now` is also the claim's mark: a message claimed again
    since (by a later tick, after the reaper) or already approved by another worker (sent_at
    set) is left alone, so a task that Redis delivers twice cannot send twice.
    """
    for attempt in (1, 2):
        try:
            outcome, sends = _guard_batch(factory, gateways, ids, now)
            break
        except IntegrityError as exc:  # a short-link code taken meanwhile: new codes, once
            if attempt == 2:
                raise
            log.warning("guarding a batch conflicted, guarding it again: %s", exc.orig)

    def count(status: str) -> None:
        outcome[status] = outcome.get(status, 0) + 1

    sent = []
    by_gateway: dict[int, list] = {}
    for message_id, decision in sends:
        by_gateway.setdefault(id(decision.gateway), []).append((message_id, decision))
    looked_up = []
    for group in by_gateway.values():
        gateway = group[0][1].gateway
        texts = [(mid, d) for mid, d in group if d.lookup is None]
        lookups = [(mid, d) for mid, d in group if d.lookup is not None]
        # Batched by the gateway (Kavenegar: sendarray of up to 200); one result per message.
        results: list[tuple[tuple[int, Send], SendResult | GatewayError]] = []
        if texts:
            results += zip(texts, gateway.send_many([(mid, d.receptor, d.text)
                                                     for mid, d in texts]), strict=True)
        if lookups:
            results += zip(lookups, gateway.lookup_many([(mid, d.receptor, d.lookup)
                                                         for mid, d in lookups]), strict=True)
        for (message_id, decision), result in results:
            if isinstance(result, GatewayError):
                settled = (settle_lookup_error(factory, message_id, result)
                           if decision.lookup is not None else None)
                status = settled or _after_gateway_error(factory, gateway, message_id, now, result)
                count(status)
                metrics.count_message(status, None, kind=f"gateway_{result.kind}")  # ops
            else:
                sent.append((message_id, result))
                if decision.lookup is not None:
                    looked_up.append((message_id, result))
    # The gateway may have settled a lost answer itself (asked by localid): say so on the row.
    for note in {r.note for _, r in sent}:
        _record_sent(factory, [(mid, r) for mid, r in sent if r.note == note], now, note)
    record_lookup_parts(factory, looked_up)
    for _ in sent:
        count(SENT)
    metrics.count_message(SENT, None, len(sent))  # ops
    return outcome


def send_one(factory: sessionmaker[Session], gateways, message_id: int, now: datetime) -> str:
    """Send one claimed message; returns its status afterwards."""
    [(status, _)] = send_batch(factory, gateways, [message_id], now).items() or [("missing", 0)]
    return status


_SENT = cast(Table, Message.__table__).update().where(
    Message.__table__.c.id == bindparam("message_id"),
    Message.__table__.c.status == SENDING,
).values(status=SENT, gateway_id=bindparam("gateway_id"), cost=bindparam("cost"),
         delivery_status=bindparam("delivery_status"), reason=bindparam("note"))


def _record_sent(factory, sent: list[tuple[int, SendResult]], now: datetime,
                 reason: str | None = None) -> None:
    if not sent:
        return
    with unit_of_work(factory) as session:
        session.connection().execute(_SENT, [
            dict(message_id=message_id, gateway_id=r.gateway_id, cost=r.cost,
                 delivery_status=r.status, note=reason) for message_id, r in sent])
        _charge(session, {message_id: r.parts for message_id, r in sent}, now)


def _charge(session: Session, parts: dict[int, int | None], now: datetime) -> None:
    """Pay as you go: charge what the platform's account just sent (once per message)."""
    rows = session.execute(
        select(Message.store_id, Message.id, Message.parts)
        .join(Store, Store.id == Message.store_id)
        .where(Message.id.in_(list(parts)), Store.sms_provider == billing.PLATFORM)).all()
    if rows:
        billing.charge_sent(session, [(store_id, message_id, parts[message_id] or known or 1)
                                      for store_id, message_id, known in rows], now)


def _after_gateway_error(factory, gateway: Gateway, message_id: int, now: datetime,
                         exc: GatewayError) -> str:
    log.warning("sending message %s failed: %s", message_id, exc)
    if exc.ambiguous:  # it may have gone out: ask before anything is sent again
        try:
            found = gateway.accepted([message_id]).get(message_id)
        except GatewayError:
            found = None
        if found is not None:
            _record_sent(factory, [(message_id, found)], now, "confirmed after a lost answer")
            return SENT
    with unit_of_work(factory) as session:
        message = session.get_one(Message, message_id)  # claimed by this worker: it exists
        if message.status != SENDING:
            return message.status
        message.sent_at = None
        if exc.kind == ErrorKind.STORE:
            store = session.get_one(Store, message.store_id)
            if store.sending_paused_at is None:
                store.sending_paused_at, store.sending_paused_reason = now, str(exc)[:300]
                log.error("store %s: sending paused: %s", store.id, exc)
            _move(message, HELD, f"store sending paused: {str(exc)[:250]}")
        elif exc.kind in (ErrorKind.RECIPIENT, ErrorKind.INVALID) or message.attempts >= MAX_ATTEMPTS:
            _move(message, FAILED, f"gateway: {str(exc)[:280]}")
        else:
            backoff = timedelta(minutes=2 ** message.attempts)
            _move(message, SCHEDULED, f"retrying after gateway error: {str(exc)[:250]}",
                  now + backoff)
        return message.status


def reap(factory: sessionmaker[Session], gateways, now: datetime, *,
         batch: tuple[list[int], datetime] | None = None, deadline: float = DEADLINE) -> int:
    """Resolve messages stuck in "sending" (their worker died): ask the gateway, then decide.

    Accepted by the gateway → sent; never reached it → scheduled again (localid makes even a
    wrong guess harmless at the gateway). The gateway is asked with no transaction open, each
    store's side by side within `deadline` seconds (app/ops/fanout.py), and each store's answer
    recorded in a transaction of its own; a store not asked in time keeps its stalled messages
    for the next round.

    `batch` (ids, claimed_at): one send batch whose worker process is known to be gone (a stopped
    or killed Celery child, workers/tasks.py), resolved at once instead of after STUCK_AFTER.
    """
    stalled = (Message.claimed_at < now - STUCK_AFTER if batch is None  # ops: see `batch`
               else Message.id.in_(batch[0]) & (Message.claimed_at == batch[1]))
    with factory() as session:
        rows = session.execute(
            select(Message.id, Message.claimed_at, Message.store_id, Message.text,
                   Message.sent_at)
            .where(Message.status == SENDING, stalled)
            .order_by(Message.id).limit(CLAIM_BATCH)).all()
        stores = {s.id: s for s in session.scalars(
            select(Store).where(Store.id.in_({r.store_id for r in rows})))}

    def ask(store_id: int) -> int:
        mine = [r for r in rows if r.store_id == store_id]
        try:
            accepted = gateways.for_store(stores[store_id]).accepted([r.id for r in mine])
        except GatewayError as exc:  # cannot tell: leave them for the next round
            log.warning("store %s: cannot ask the gateway about stalled sends: %s", store_id, exc)
            return 0
        return _resolve_stalled(factory, mine, accepted, now)

    return sum(fan_out(ask, stores, what="reaper", deadline=deadline))


def _resolve_stalled(factory: sessionmaker[Session], rows, accepted: dict[int, SendResult],
                     now: datetime) -> int:
    """One store's stalled messages, decided by what its gateway said it took."""
    resolved = 0
    with unit_of_work(factory) as session:
        for row in rows:
            # Only if nobody resolved it meanwhile (same claim still in place).
            still = (Message.id == row.id, Message.status == SENDING,
                     Message.claimed_at == row.claimed_at)
            values: dict[str, object]
            if row.id in accepted:
                found = accepted[row.id]
                values = dict(status=SENT, reason="confirmed by the gateway after a stall",
                              gateway_id=found.gateway_id, cost=found.cost)
            elif row.sent_at is not None and (row.text or "").startswith(LOOKUP_TEXT_PREFIX):
                # A verify/lookup that may have gone out: it has no localid to ask by, so it is
                # never sent again (see app/campaigns/lookup.py settle_lookup_error).
                values = dict(status=FAILED, reason="lookup outcome unknown after a stalled "
                                                    "send: not sent again")
            else:
                values = dict(status=SCHEDULED, reason="returned after a stalled send",
                              due_at=now, sent_at=None, claimed_at=None)
            done = rowcount(session.execute(update(Message).where(*still).values(**values)
                                            .execution_options(synchronize_session=False)))
            if done and row.id in accepted:
                _charge(session, {row.id: accepted[row.id].parts}, now)
            resolved += done
    return resolved
