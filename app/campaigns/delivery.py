"""After sending: delivery reports, and stores whose gateway refused them."""

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from app.alerts.models import SENDING_RESUMED
from app.alerts.service import raise_alert
from app.billing import service as billing
from app.campaigns import lifecycle
from app.campaigns.models import SENT, Campaign, Message
from app.campaigns.reasons import Reason
from app.db import unit_of_work
from app.messaging.gateway import BLOCKED_BY_RECEIVER, FINAL_STATUSES, GatewayError
from app.messaging.gateway import DELIVERED as DELIVERED_CODE
from app.ops.fanout import DEADLINE, Deadline, fan_out
from app.stores.models import Store

log = logging.getLogger(__name__)

# Kavenegar keeps statuses for 48 hours; asking more often than this is wasted credit of patience.
POLL_EVERY = timedelta(minutes=5)
POLL_WINDOW = timedelta(hours=48)
# A paused store's gateway is asked again soon after the pause (a top-up is often minutes
# away), then less and less often: after an eighth of the time it has been paused so far (each
# wait about 1.125 times the last), never sooner than FIRST_RECHECK nor later than
# RECHECK_AT_MOST. One account/info call each: about 45 in a paused store's first hour.
FIRST_RECHECK = timedelta(seconds=5)
RECHECK_SHARE = 8
# The job runs every tick: a recheck due a moment after this round (a tick's jitter) is made
# now, not a whole tick later.
RECHECK_SLACK = timedelta(seconds=1)
RECHECK_AT_MOST = timedelta(minutes=5)
POLL_BATCH = 500


def poll_deliveries(factory: sessionmaker[Session], gateways, now: datetime, *,
                    deadline: Deadline = DEADLINE) -> int:
    """Ask each store's gateway how its recent messages fared; returns how many changed (of
    the stores done within `deadline`: app/ops/fanout.py). Each store's answer is
    recorded in a transaction of its own."""
    with factory() as session:
        rows = session.execute(
            select(Message.id, Message.store_id, Message.gateway_id, Message.sent_via)
            .join(Store, Store.id == Message.store_id)
            # Only what the store's providers now sent: one it left has no one to ask.
            .where(Message.status == SENT, Message.gateway_id.is_not(None),
                   or_(Message.sent_via.is_(None), Message.sent_via == Store.sms_provider,
                       Message.sent_via == Store.sms_fallback_provider),
                   Message.sent_at > now - POLL_WINDOW,
                   or_(Message.status_checked_at.is_(None),
                       Message.status_checked_at <= now - POLL_EVERY))
            .order_by(Message.sent_at).limit(POLL_BATCH)).all()
        stores = {s.id: s for s in session.scalars(
            select(Store).where(Store.id.in_({r.store_id for r in rows})))}

    def poll(store_id: int) -> int:
        store, changed = stores[store_id], 0
        mine = [r for r in rows if r.store_id == store_id]
        for via in {r.sent_via for r in mine}:  # each provider asked about its own
            theirs = [r for r in mine if r.sent_via == via]
            gateway = gateways.via(store, via)
            if gateway is None:
                continue
            try:
                found = gateway.statuses([r.gateway_id for r in theirs])
            except GatewayError as exc:  # asked again next round: status_checked_at unchanged
                log.warning("store %s: delivery statuses unavailable: %s", store_id, exc)
                continue
            changed += _record_statuses(factory, {r.id: found.get(r.gateway_id)
                                                  for r in theirs}, now)
        return changed

    return sum(fan_out(poll, stores, what="delivery reports", deadline=deadline))


def _record_statuses(factory: sessionmaker[Session], codes: dict[int, int | None],
                     now: datetime) -> int:
    """One store's delivery statuses, by message id; returns how many became final."""
    changed = 0
    with unit_of_work(factory) as session:
        for message_id, code in codes.items():
            lifecycle.record_delivery(session, message_id, code=code,
                                      delivered=code == DELIVERED_CODE,
                                      final=code in FINAL_STATUSES, now=now)
            changed += code in FINAL_STATUSES
            if code in billing.REFUNDED_STATUSES:  # Kavenegar gives these back: so do we
                billing.refund(session, message_id, code, now)
            if code == BLOCKED_BY_RECEIVER:
                lifecycle.block_promotions(session, message_id, now)
    return changed


def release_funded(session: Session, now: datetime) -> int:
    """Messages held for want of prepaid balance go out again once their store's balance pays
    for a part (a top-up); the guard holds again whatever it still cannot pay for."""
    return lifecycle.release_held(
        session, lifecycle.held_for(Reason.NO_BALANCE),
        Message.store_id.in_(select(Store.id).where(Store.balance >= Store.sms_price_per_part)),
        reason=Reason.BALANCE_TOPPED_UP, due_at=now)


def next_recheck(paused: datetime, checked: datetime | None) -> datetime:
    """When the gateway of a store paused at `paused` and last asked at `checked` is asked
    next: FIRST_RECHECK after the pause, then after an eighth of the time it had been paused at
    the last check (at least FIRST_RECHECK, at most RECHECK_AT_MOST): an outage that ends is
    noticed within an eighth of its length, and a long one costs a call every 5 minutes."""
    if checked is None or checked < paused:  # not asked since this pause began
        return paused + FIRST_RECHECK
    return checked + min(max((checked - paused) / RECHECK_SHARE, FIRST_RECHECK), RECHECK_AT_MOST)


def recheck_paused_stores(factory: sessionmaker[Session], gateways, now: datetime, *,
                          deadline: Deadline = DEADLINE) -> int:
    """Resume stores whose gateway accepts them again (credit topped up, key fixed), and
    messages held for a prepaid balance that was topped up since. Stores are asked side by
    side, within `deadline` (app/ops/fanout.py)."""
    with unit_of_work(factory) as session:
        release_funded(session, now)
    with factory() as session:
        paused = {s.id: s for s in session.scalars(select(Store).where(
            Store.sending_paused_at.is_not(None)))
            if s.sending_paused_at is not None
            and next_recheck(s.sending_paused_at, s.sending_checked_at) <= now + RECHECK_SLACK}

    def recheck(store_id: int) -> int:
        store = paused[store_id]
        try:
            credit = gateways.for_store(store).credit()
            ok = credit is None or credit > 0
        except GatewayError as exc:
            ok, credit = False, None
            log.info("store %s still refused by its gateway: %s", store.id, exc)
        with unit_of_work(factory) as session:
            row = session.get_one(Store, store.id)
            row.sending_checked_at = now
            if not ok:
                return 0
            raise_alert(session, row, SENDING_RESUMED, {
                "paused_at": row.sending_paused_at.isoformat() if row.sending_paused_at else None,
                "credit": credit}, now)
            row.sending_paused_at = row.sending_paused_reason = None
            # What was held for the store goes out again, through every rule once more.
            lifecycle.release_held(session, Message.store_id == store.id,
                                   Message.campaign_id.in_(select(Campaign.id).where(
                                       Campaign.store_id == store.id, Campaign.active.is_(True))),
                                   reason=Reason.STORE_RESUMED, due_at=now)
            return 1

    return sum(fan_out(recheck, paused, what="paused stores", deadline=deadline))
