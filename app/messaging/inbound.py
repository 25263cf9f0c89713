"""Replies to a store's line: kept first, then read for «11» (stop) and «12» (start again)."""

import logging
import re
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.contacts.phones import InvalidPhone, normalize_phone
from app.contacts.service import set_consent
from app.db import unit_of_work
from app.digits import latin_digits
from app.messaging.gateway import GatewayError, Inbound
from app.messaging.models import InboundSms
from app.messaging.providers import PROVIDERS
from app.ops.fanout import DEADLINE, Deadline, fan_out
from app.stores.models import Store

log = logging.getLogger(__name__)

_NOISE = re.compile(r"[\s\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff.,!؟?،:;\-_*#()\[\]\"']+")
_ARABIC_FORMS = str.maketrans({"ي": "ی", "ك": "ک", "ى": "ی"})

OPT_OUT_WORDS = frozenset({"11", "لغو", "لغو11", "11لغو", "stop", "unsubscribe", "انصراف",
                           "لغوعضویت", "off"})
OPT_IN_WORDS = frozenset({"12", "start", "شروع"})

# The platform's shared line, read beside the stores' own lines (no store has id 0).
PLATFORM_LINE = 0


def classify(text: str) -> str:
    """'opt_out', 'opt_in' or 'none' for a customer's reply, in any digits or spelling."""
    word = _NOISE.sub("", latin_digits(text).translate(_ARABIC_FORMS)).lower()
    if word in OPT_OUT_WORDS:
        return "opt_out"
    if word in OPT_IN_WORDS:
        return "opt_in"
    return "none"


def keep(session: Session, store_id: int, messages: list[Inbound]) -> int:
    """Store replies as read from the gateway, once each (reading twice adds nothing); returns
    how many were new. Counted from RETURNING: psycopg reports no rowcount (-1) for this
    INSERT."""
    if not messages:
        return 0
    rows = [dict(store_id=store_id, gateway_id=m.gateway_id, sender=m.sender[:32],
                 line=m.line[:32], text=m.text, received_at=m.received_at) for m in messages]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(InboundSms).values(rows).on_conflict_do_nothing(
        index_elements=["store_id", "gateway_id"]).returning(InboundSms.id)
    return len(session.execute(stmt).all())


def newest_kept(factory, store_id: int) -> str | None:
    """The gateway id of the reply to the store's line kept last: where a provider read by
    cursor goes on from, in a process that has not read that line yet."""
    with factory() as session:
        return session.scalar(select(InboundSms.gateway_id).where(InboundSms.store_id == store_id)
                              .order_by(InboundSms.id.desc()).limit(1))


def unprocessed(session: Session, limit: int = 500) -> list[InboundSms]:
    return list(session.scalars(select(InboundSms).where(InboundSms.processed_at.is_(None))
                                .order_by(InboundSms.id).limit(limit).with_for_update(skip_locked=True)))


# (session, phones in E.164) → {phone: ids of the stores that texted it on the platform's line}
PlatformSenders = Callable[[Session, list[str]], dict[str, set[int]]]


def keep_platform(session: Session, messages: list[Inbound],
                  platform_senders: PlatformSenders) -> int:
    """Store replies to the platform's shared line once for each pay-as-you-go store that has
    sent to that phone through the platform's account: «11» there stops them all. A reply from
    a phone no store has texted there is dropped (there is nothing to stop)."""
    by_phone: dict[str, list[Inbound]] = {}
    for message in messages:
        try:
            by_phone.setdefault(normalize_phone(message.sender).e164, []).append(message)
        except InvalidPhone:
            log.info("platform line: reply from an invalid number dropped")
    senders = platform_senders(session, list(by_phone))
    kept = 0
    for phone, replies in by_phone.items():
        for store_id in sorted(senders.get(phone, ())):
            kept += keep(session, store_id, replies)
    return kept


def read_replies(factory, gateways, now, *, platform_senders: PlatformSenders | None = None,
                 deadline: Deadline = DEADLINE) -> int:
    """Fetch replies from every store's line and the platform's, keep them, then act on them;
    returns how many.

    Lines are read side by side (app/ops/fanout.py): one line that does not answer delays no
    other. What a line's read returns is kept by that read itself, even after the deadline:
    Kavenegar marks replies read as it answers, so a read that is not kept would lose them.
    The platform's line is read when `platform_senders` (the campaign engine's) is given."""
    with factory() as session:
        stores = {s.id: s for s in session.scalars(
            select(Store).where(Store.sms_provider.in_(PROVIDERS),
                                Store.sms_sender.is_not(None)))}

    def read(store_id: int) -> int:
        if store_id == PLATFORM_LINE:
            gateway, since = gateways.platform(), None
        else:
            gateway, since = gateways.for_store(stores[store_id]), newest_kept(factory, store_id)
        try:
            replies = gateway.receive(since)
        except GatewayError as exc:
            log.warning("store %s: cannot read replies: %s", store_id, exc)
            return 0
        with unit_of_work(factory) as session:  # kept before anything acts on them
            if store_id == PLATFORM_LINE and platform_senders is not None:
                return keep_platform(session, replies, platform_senders)
            return keep(session, store_id, replies)

    lines = [PLATFORM_LINE] if platform_senders else []
    fan_out(read, [*lines, *stores], what="replies", deadline=deadline)
    handled = 0
    with unit_of_work(factory) as session:
        for reply in unprocessed(session):
            act_on(session, reply, now)
            handled += 1
    return handled


def act_on(session: Session, reply: InboundSms, now) -> None:
    """Read one kept reply for «11» or «12» and record the contact's consent; marked processed
    either way (a sender that is no phone is kept, and nothing else happens)."""
    reply.action = classify(reply.text)
    if reply.action != "none":
        contact = set_consent(session, store_id=reply.store_id, raw_phone=reply.sender,
                              opted_in=reply.action == "opt_in", source="sms reply", now=now)
        log.info("store %s: reply from …%s: %s", reply.store_id, reply.sender[-4:],
                 reply.action if contact else f"{reply.action} (invalid phone)")
    reply.processed_at = now


def take_pushed(session: Session, store_id: int, message: Inbound, now) -> bool:
    """A reply the gateway pushed to us as it arrived: kept exactly as a polled one (the same
    gateway id, so reading it again later, or a second push, adds nothing) and acted on at
    once, so a «۱۱» stops the very next send instead of waiting for the replies job. Returns
    whether it was new.

    A row the replies job holds (it read the same reply first and is acting on it) is skipped,
    not waited for: that job records it."""
    new = keep(session, store_id, [message]) > 0
    reply = session.scalar(select(InboundSms).where(
        InboundSms.store_id == store_id, InboundSms.gateway_id == message.gateway_id,
        InboundSms.processed_at.is_(None)).with_for_update(skip_locked=True))
    if reply is not None:
        act_on(session, reply, now)
    return new
