"""A message's life: the one module that changes `messages.status`.

    scheduled ──claim──▶ sending ──approved, gateway took it──▶ sent ──report──▶ delivered
        ▲  │                 │                                   └──report──▶ failed
        │  └─▶ skipped       ├─▶ scheduled (moved later: quiet hours, cap, a retry)
        │                    ├─▶ held (until the merchant fixes or resumes something)
        └──── held ◀─────────┴─▶ skipped / failed

Every move is a conditional update (or a change to a row this transaction locked): a move whose
precondition no longer holds changes nothing, so two workers never both own a message. Every
move names its cause as a `Reason` with the particulars in `reason_detail`; skipped, sent,
delivered and failed are final. A move of a message that went out (`sent_at` set) marks its day
for the reports' rollup in the same transaction (app/report_marks).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, select, update
from sqlalchemy.orm import Session, object_session, sessionmaker

from app.campaigns.models import (
    DELIVERED,
    FAILED,
    HELD,
    SCHEDULED,
    SENDING,
    SENT,
    SKIPPED,
    CampaignStep,
    Enrollment,
    Message,
)
from app.campaigns.reasons import Reason, SendMode, detail
from app.contacts.models import Contact
from app.db import in_ids, rowcount, unit_of_work
from app.report_marks.marks import mark_dirty

CLAIM_BATCH = 500
FINAL = frozenset({SKIPPED, SENT, DELIVERED, FAILED})
PENDING = (SCHEDULED, HELD)  # not claimed: nobody is deciding about them right now


@dataclass(frozen=True)
class Move:
    """Where a claimed message goes instead of the gateway, and why."""

    status: str  # SKIPPED, HELD, SCHEDULED (moved to `due_at`) or FAILED
    reason: Reason
    detail: str | None = None
    due_at: datetime | None = None
    # Skipped as control: from this moment it counts in the frequency cap as if sent.
    withheld_at: datetime | None = None


def claim_due(factory: sessionmaker[Session], now: datetime, *,
              limit: int = CLAIM_BATCH, worker: str | None = None) -> list[int]:
    """Move up to `limit` due messages from scheduled to sending; returns their ids.

    SKIP LOCKED lets several senders claim at once without waiting on, or taking, each
    other's rows (SQLite has one writer at a time and ignores it). `claimed_at = now` is the
    claim's token: whoever sends the batch checks it is still theirs. `worker` is the claiming
    process's liveness token (app/ops/liveness.py): if it dies, the reaper frees the claim.
    """
    # A materialized CTE runs the locking SELECT exactly once: as a plain IN (subquery)
    # PostgreSQL may re-run it inside the UPDATE and claim more than `limit` rows.
    due = (select(Message.id)
           .where(Message.status == SCHEDULED, Message.due_at <= now)
           .order_by(Message.due_at).limit(limit)
           .with_for_update(skip_locked=True)
           .cte("due").prefix_with("MATERIALIZED"))
    with unit_of_work(factory) as session:
        claimed = session.execute(
            update(Message)
            # UPDATE … FROM due joins by primary key: the cost follows the due rows, not the
            # table (an IN would hash-join against every scheduled row).
            .where(Message.id == due.c.id, Message.status == SCHEDULED)
            .values(status=SENDING, claimed_at=now, claimed_by=worker)
            .returning(Message.id, Message.store_id, Message.sent_at)
            .execution_options(synchronize_session=False)).all()
        # A retry that may have gone out before kept its sent_at: it counts as sending now.
        mark_dirty(session, [(r.store_id, r.sent_at) for r in claimed])
        return [r.id for r in claimed]


def _mark_where(session: Session, *where: ColumnElement[bool]) -> None:
    """Mark the days of the messages matching `where` that went out (before a change that may
    clear their sent_at)."""
    mark_dirty(session, session.execute(
        select(Message.store_id, Message.sent_at).distinct()
        .where(*where, Message.sent_at.is_not(None))).all())


def move(message: Message, to: Move) -> None:
    """A claimed message, locked by this transaction, goes where `to` says instead of out."""
    if message.sent_at is not None:
        mark_dirty(cast(Session, object_session(message)), [(message.store_id, message.sent_at)])
    message.status, message.reason, message.reason_detail = to.status, to.reason, to.detail
    if to.due_at is not None:
        message.due_at = to.due_at
    if to.withheld_at is not None:
        message.withheld_at = to.withheld_at
    message.claimed_at = message.sent_at = message.send_mode = None


def block_promotions(session: Session, message_id: int, now: datetime) -> None:
    """The receiver of this message refuses advertising SMS (the operators' blacklist, *800#):
    its contact gets no promotional SMS again (the guard checks promo_blocked_at)."""
    contact_id = select(Message.contact_id).where(Message.id == message_id).scalar_subquery()
    session.execute(update(Contact).where(Contact.id == contact_id,
                                          Contact.promo_blocked_at.is_(None))
                    .values(promo_blocked_at=now))


def hand_over(session: Session, ids: list[int], *, via: str) -> None:
    """Claimed messages go to provider `via` instead (the store's second one): from now on
    whether they went out, and how they fared, is asked of it."""
    session.execute(update(Message).where(in_ids(Message.id, ids), Message.status == SENDING)
                    .values(sent_via=via))


def approve(message: Message, *, text: str, parts: int | None, mode: SendMode, via: str,
            now: datetime) -> None:
    """A claimed message goes to the gateway of provider `via`: it counts as an attempt, and
    against the cap from this moment on. It stays "sending" until the gateway's answer is
    recorded."""
    message.text, message.parts, message.send_mode = text, parts, mode
    message.sent_via = via
    message.sent_at, message.attempts = now, message.attempts + 1
    mark_dirty(cast(Session, object_session(message)), [(message.store_id, now)])
    message.reason = message.reason_detail = None


def skip_pending(session: Session, *where: ColumnElement[bool], reason: Reason,
                 reason_detail: str | None = None) -> int:
    """Skip the unclaimed messages matching `where` (their enrollment ended, their campaign or
    step was deleted); returns how many."""
    session.flush()  # the bulk UPDATE must see every change made so far
    _mark_where(session, *where, Message.status.in_(PENDING))
    return rowcount(session.execute(
        update(Message).where(*where, Message.status.in_(PENDING))
        .values(status=SKIPPED, reason=reason, reason_detail=reason_detail)
        .execution_options(synchronize_session=False)))


def hold_pending(session: Session, *where: ColumnElement[bool], reason: Reason,
                 reason_detail: str | None = None) -> int:
    """Scheduled (unclaimed) messages matching `where` are held until what `reason` names is
    fixed; returns how many."""
    session.flush()
    _mark_where(session, *where, Message.status == SCHEDULED)
    return rowcount(session.execute(
        update(Message).where(*where, Message.status == SCHEDULED)
        .values(status=HELD, reason=reason, reason_detail=reason_detail)
        .execution_options(synchronize_session=False)))


def release_held(session: Session, *where: ColumnElement[bool], reason: Reason,
                 due_at: datetime | None = None) -> int:
    """Held messages matching `where` are scheduled again (at `due_at` if given), to meet every
    rule once more at the next dispatch; returns how many."""
    values: dict[str, Any] = dict(status=SCHEDULED, reason=reason, reason_detail=None)
    if due_at is not None:
        values["due_at"] = due_at
    _mark_where(session, *where, Message.status == HELD)
    return rowcount(session.execute(
        update(Message).where(*where, Message.status == HELD).values(**values)
        .execution_options(synchronize_session=False)))


def exit_enrollment(session: Session, enrollment: Enrollment, reason: Reason, now: datetime, *,
                    detail: str | None = None) -> None:
    """The sequence ends (a purchase, an emptied cart, …): its unsent messages are skipped."""
    enrollment.status, enrollment.exited_at = "exited", now
    enrollment.exit_reason = f"{reason.value}: {detail}"[:200] if detail else reason.value
    skip_pending(session, Message.enrollment_id == enrollment.id, reason=reason,
                 reason_detail=detail)


def held_for(reason: Reason) -> ColumnElement[bool]:
    return (Message.status == HELD) & (Message.reason == reason)


def postpone(session: Session, enrollment: Enrollment, anchor: datetime) -> None:
    """The shopper came back: the sequence starts over from their latest activity."""
    enrollment.anchor_at = anchor
    steps = {step_id: (delay, within) for step_id, delay, within in session.execute(
        select(CampaignStep.id, CampaignStep.delay_minutes, CampaignStep.send_within_minutes)
        .where(CampaignStep.campaign_id == enrollment.campaign_id)).all()}
    for message in session.scalars(select(Message).where(
            Message.enrollment_id == enrollment.id,
            Message.status.in_([SCHEDULED, SENDING, HELD]))):
        delay, within = steps[message.step_id]
        message.latest_at = anchor + timedelta(minutes=delay + within)
        move(message, Move(SCHEDULED, Reason.POSTPONED, due_at=anchor + timedelta(minutes=delay)))


@dataclass(frozen=True)
class Taken:
    """What the gateway said when it took a message."""

    message_id: int
    gateway_id: str | None
    cost: int | None
    delivery_status: int | None


_SENT = cast(Table, Message.__table__).update().where(
    Message.__table__.c.id == bindparam("message_id"),
    Message.__table__.c.status == SENDING,
).values(status=SENT, gateway_id=bindparam("gateway_id"), cost=bindparam("cost"),
         delivery_status=bindparam("delivery_status"), reason=bindparam("why"))


def mark_sent(session: Session, taken: list[Taken], *, reason: Reason | None = None) -> None:
    """The gateway took these "sending" messages (`reason`: how we learnt it, if not from its
    answer to the send)."""
    if taken:
        session.connection().execute(_SENT, [
            dict(message_id=t.message_id, gateway_id=t.gateway_id, cost=t.cost,
                 delivery_status=t.delivery_status, why=reason.value if reason else None)
            for t in taken])
        _mark_where(session, in_ids(Message.id, [t.message_id for t in taken]))


def settle_sending(session: Session, message_id: int, to: Move, *,
                   claimed_at: datetime | None = None, keep_sent_at: bool = False) -> bool:
    """A "sending" message whose send failed or stalled goes where `to` says, unless someone
    resolved it meanwhile (or, with `claimed_at`, claimed it again). `keep_sent_at`: it may
    have reached the customer, so it still counts against the cap. Returns whether it moved."""
    still = [Message.id == message_id, Message.status == SENDING]
    if claimed_at is not None:
        still.append(Message.claimed_at == claimed_at)
    values: dict[str, Any] = dict(status=to.status, reason=to.reason, reason_detail=to.detail,
                                  claimed_at=None, claimed_by=None)
    if not keep_sent_at:
        values |= dict(sent_at=None, send_mode=None)
    if to.due_at is not None:
        values["due_at"] = to.due_at
    _mark_where(session, *still)  # before: the move may clear sent_at
    return bool(rowcount(session.execute(update(Message).where(*still).values(**values)
                                         .execution_options(synchronize_session=False))))


def confirm_stalled(session: Session, message_id: int, *, claimed_at: datetime,
                    found: Taken) -> bool:
    """The gateway says it took a message whose worker stalled: sent."""
    _mark_where(session, Message.id == message_id, Message.status == SENDING,
                  Message.claimed_at == claimed_at)
    return bool(rowcount(session.execute(
        update(Message).where(Message.id == message_id, Message.status == SENDING,
                              Message.claimed_at == claimed_at)
        .values(status=SENT, reason=Reason.CONFIRMED_AFTER_STALL, reason_detail=None,
                gateway_id=found.gateway_id, cost=found.cost)
        .execution_options(synchronize_session=False))))


def record_delivery(session: Session, message_id: int, *, code: int | None, delivered: bool,
                    final: bool, now: datetime) -> None:
    """A sent message's delivery report: delivered, failed with the gateway's code, or not
    final yet (only when it was asked is recorded)."""
    values: dict[str, Any] = {"status_checked_at": now}
    if code is not None:
        values["delivery_status"] = code
    if delivered:
        values |= {"status": DELIVERED, "delivered_at": now}
    elif final:
        values |= {"status": FAILED, "reason": Reason.NOT_DELIVERED,
                   "reason_detail": detail(f"gateway status {code}")}
    mark_dirty(session, session.execute(  # a refund of its charge follows in this transaction
        update(Message).where(Message.id == message_id, Message.status == SENT)
        .values(**values).returning(Message.store_id, Message.sent_at)
        .execution_options(synchronize_session=False)).all())


def record_parts(session: Session, parts: dict[int, int]) -> None:
    """Parts of sent lookup messages as the gateway's answer shows them (it fills the template;
    we never see the text)."""
    if parts:
        session.connection().execute(
            cast(Table, Message.__table__).update()
            .where(Message.__table__.c.id == bindparam("message_id"))
            .values(parts=bindparam("new_parts")),
            [dict(message_id=mid, new_parts=n) for mid, n in parts.items()])
        _mark_where(session, in_ids(Message.id, parts))
