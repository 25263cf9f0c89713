"""Mint a message's short link; resolve a code on the redirect's hot path."""

import hashlib
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import in_ids
from app.links.models import Link
from app.links.samples import is_sample
from app.links.targets import on_site
from app.ratelimit import CLICK_ONCE, Limiter
from app.stores.models import Store

CODE_LENGTH = 7  # 62**7 ≈ 3.5e12 codes: unguessable at any volume we will reach
ALPHABET = string.ascii_letters + string.digits
LIFETIME = timedelta(days=90)
# Single-segment paths the app serves itself: a code never takes one of them.
RESERVED = frozenset({"healthz", "docs", "redoc", "metrics", "favicon", "robots"})


def new_code() -> str:
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        if code.lower() not in RESERVED and not is_sample(code):
            return code


def _known(session: Session) -> dict[int, Link | None]:
    """Links of this session's messages, by message id (None: the message has none yet)."""
    return session.info.setdefault("bazgasht.links", {})


def preload(session: Session, message_ids: list[int]) -> None:
    """Read a batch's existing links in one query, so minting costs no query per message."""
    known = _known(session)
    for link in session.scalars(select(Link).where(in_ids(Link.message_id, message_ids))):
        known[link.message_id] = link
    for message_id in message_ids:
        known.setdefault(message_id, None)


def _new(session: Session) -> list[Link]:
    """Links minted in this session and not written yet (insert_new writes them)."""
    return session.info.setdefault("bazgasht.new_links", [])


def mint(session: Session, *, public_url: str, store_id: int, message_id: int, kind: str,
         target: str, now: datetime, product_wc_id: int | None = None) -> str:
    """The message's short URL: one link per message, reused when the message is rendered
    again (a retried send says the same thing), its target updated if it changed. A new link
    is written by insert_new, with the others of its batch, when the session next flushes.

    Codes are random and not checked first: a collision (1 in 10⁵ at 100 million links) fails
    the unique constraint, and the dispatcher runs the batch's guard again with new codes.
    """
    known = _known(session)
    link = known[message_id] if message_id in known else session.scalar(
        select(Link).where(Link.message_id == message_id))
    if link is None:
        link = Link(code=new_code(), store_id=store_id, message_id=message_id)
        _new(session).append(link)  # not added: written in one executemany by insert_new
    known[message_id] = link
    link.kind, link.target, link.product_wc_id = kind, target, product_wc_id
    link.expires_at = now + LIFETIME
    return f"{public_url}/{link.code}"


_COLUMNS = ("code", "store_id", "message_id", "kind", "target", "product_wc_id", "expires_at")


@event.listens_for(Session, "before_flush")
@event.listens_for(Session, "before_commit")
def insert_new(session: Session, *_) -> None:
    """Before a session writes anything, and before it commits, the links minted in it since:
    one INSERT run for all of them (executemany without RETURNING: nothing reads their ids in
    that session), instead of the ORM's INSERT … RETURNING of every row of the batch, which the
    driver would parse anew each time (too long for its statement cache)."""
    new = session.info.get("bazgasht.new_links")
    if new:
        session.connection().execute(insert(Link), [{c: getattr(link, c) for c in _COLUMNS}
                                                     for link in new])
        new.clear()


@dataclass(frozen=True)
class LinkInfo:
    id: int
    store_id: int
    message_id: int
    target: str
    expires_at: datetime


def resolve(factory: sessionmaker[Session], code: str, public_url: str) -> LinkInfo | None:
    """The link behind a code, if its target is still on the store's site (or ours)."""
    with factory() as session:
        row = session.execute(
            select(Link.id, Link.store_id, Link.message_id, Link.target, Link.expires_at,
                   Store.url).join(Store, Store.id == Link.store_id)
            .where(Link.code == code)).first()
    if row is None or not on_site(row.target, row.url, public_url):
        return None
    return LinkInfo(row.id, row.store_id, row.message_id, row.target, row.expires_at)


def counts_as_click(limiter: Limiter, *, link_id: int, ip: str, user_agent: str, bot: bool,
                    now: datetime) -> bool:
    """A click counts once per link and client (address and user agent; a preview apart from
    a tap) within CLICK_ONCE's window: a script fetching a link over and over inflates
    nothing (it is still redirected)."""
    client = hashlib.sha256(f"{ip}|{user_agent}|{bot}".encode()).hexdigest()[:16]
    return limiter.hit(CLICK_ONCE, f"{link_id}:{client}", now=now) is None
