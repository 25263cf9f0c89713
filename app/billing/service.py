"""The prepaid ledger: top-ups, a charge per sent message, refunds for what the gateway refunds.

Every change locks the store row, appends an entry and moves stores.balance with it, in one
transaction: the balance is always the ledger's sum. A message is charged once (unique per kind
and message) at the store's price per part when it is sent; Kavenegar refunds statuses 13
(failed) and 14 (blocked by the receiver), so do we.
"""

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.billing.models import CHARGE, REFUND, TOPUP, LedgerEntry
from app.db import in_ids
from app.errors import DomainError, NotFound
from app.stores.models import Store

log = logging.getLogger(__name__)

PLATFORM = "platform"
REFUNDED_STATUSES = frozenset({13, 14})


def metered(store: Store) -> bool:
    return store.sms_provider == PLATFORM


def price(store: Store, parts: int) -> int:
    return parts * store.sms_price_per_part


def can_afford(store: Store, parts: int) -> bool:
    return not metered(store) or store.balance >= price(store, parts)


def _locked_store(session: Session, store_id: int) -> Store:
    store = session.scalar(select(Store).where(Store.id == store_id).with_for_update())
    if store is None:
        raise NotFound(f"no store with id {store_id}", code="store_not_found")
    return store


def _append(session: Session, store: Store, kind: str, amount: int, now: datetime,
            **fields) -> LedgerEntry:
    store.balance += amount
    entry = LedgerEntry(store_id=store.id, kind=kind, amount=amount,
                        balance_after=store.balance, created_at=now, **fields)
    session.add(entry)
    return entry


def top_up(session: Session, store_id: int, amount: int, *, note: str,
           now: datetime) -> LedgerEntry:
    """Credit the store; messages held for want of balance go out at the next tick (the
    campaign engine releases them once the balance pays for a part: app/campaigns/delivery.py)."""
    if amount <= 0:
        raise DomainError("amount must be a positive number of Rial", code="invalid_amount",
                          status_code=422)
    store = _locked_store(session, store_id)
    entry = _append(session, store, TOPUP, amount, now, note=note)
    if store.balance > 0:
        store.low_balance_alerted_at = None
    session.flush()
    return entry


def charge_sent(session: Session, sent: list[tuple[int, int, int]], now: datetime) -> int:
    """Charge (store id, message id, parts) of messages just sent through the platform's
    account; already charged messages are skipped. Returns the number of entries written."""
    already = set(session.scalars(select(LedgerEntry.message_id).where(
        LedgerEntry.kind == CHARGE, in_ids(LedgerEntry.message_id, [m for _, m, _ in sent]))))
    written = 0
    for store_id in sorted({s for s, _, _ in sent}):  # id order: no deadlock between workers
        store = _locked_store(session, store_id)
        for _, message_id, parts in (row for row in sent if row[0] == store_id):
            if message_id in already:
                continue
            _append(session, store, CHARGE, -price(store, parts), now, message_id=message_id,
                    parts=parts, note=f"{parts} part(s)")
            written += 1
        if store.balance < store.low_balance_threshold and store.low_balance_alerted_at is None:
            store.low_balance_alerted_at = now
            log.warning("store %s: prepaid balance low (%s Rial)", store.id, store.balance)
    session.flush()
    return written


def charge_alert(session: Session, store_id: int, alert_id: int, parts: int,
                 now: datetime) -> LedgerEntry | None:
    """Charge a merchant alert SMS the platform's account sent, like a campaign message (once
    per alert); None when it was charged already."""
    if session.scalar(select(LedgerEntry.id).where(LedgerEntry.kind == CHARGE,
                                                   LedgerEntry.alert_id == alert_id)):
        return None
    store = _locked_store(session, store_id)
    entry = _append(session, store, CHARGE, -price(store, parts), now, alert_id=alert_id,
                    parts=parts, note=f"alert SMS, {parts} part(s)")
    session.flush()
    return entry


def refund(session: Session, message_id: int, code: int, now: datetime) -> LedgerEntry | None:
    """Give back a message's charge when the gateway refunds its status (13, 14)."""
    if code not in REFUNDED_STATUSES:
        return None
    charge = session.scalar(select(LedgerEntry).where(LedgerEntry.kind == CHARGE,
                                                      LedgerEntry.message_id == message_id))
    if charge is None or session.scalar(select(LedgerEntry.id).where(
            LedgerEntry.kind == REFUND, LedgerEntry.message_id == message_id)):
        return None
    store = _locked_store(session, charge.store_id)
    entry = _append(session, store, REFUND, -charge.amount, now, message_id=message_id,
                    parts=charge.parts, note=f"gateway status {code}")
    session.flush()
    return entry


def entries(session: Session, store_id: int, *, limit: int = 100,
            before_id: int | None = None) -> list[LedgerEntry]:
    query = select(LedgerEntry).where(LedgerEntry.store_id == store_id)
    if before_id is not None:
        query = query.where(LedgerEntry.id < before_id)
    return list(session.scalars(query.order_by(LedgerEntry.id.desc()).limit(limit)))
