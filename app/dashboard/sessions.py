"""Panel sessions as rows: one per signed-in browser of a member.

The cookie holds a random token; the row's id is the token's sha256, so neither the database
nor its backups hold anything a browser could present. Every request looks its row up: a
session ended (signing out, an owner on the people page), expired (seven days after signing
in), of a member removed or of a store disabled opens nothing, at once.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.dashboard.models import PanelMember, PanelSession
from app.db import rowcount
from app.stores.models import Store

LIFETIME = timedelta(days=7)  # a merchant signs in about once a week
SEEN_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often
MAX_USER_AGENT = 200
_MAX_TOKEN = 100


class LoginRequired(Exception):
    """No valid session: the handler sends the browser to the sign-in page with this reason."""

    def __init__(self, reason: str = "required"):
        super().__init__(reason)
        self.reason = reason


def session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Found:
    row: PanelSession
    member: PanelMember
    store: Store


def open_session(session: Session, member: PanelMember, *, user_agent: str,
                 now: datetime) -> str:
    """A new session for the member; returns the token for the cookie (never stored)."""
    token = secrets.token_urlsafe(32)
    # Sessions of this member long over need no row any more.
    session.execute(delete(PanelSession).where(PanelSession.member_id == member.id,
                                               PanelSession.expires_at < now - LIFETIME))
    session.add(PanelSession(id=session_id(token), member_id=member.id, store_id=member.store_id,
                             created_at=now, last_seen_at=now, expires_at=now + LIFETIME,
                             user_agent=user_agent[:MAX_USER_AGENT]))
    member.last_signed_in_at = now
    session.flush()
    return token


def read_session(session: Session, token: str | None, *, now: datetime) -> Found:
    """The session of a cookie's token, or LoginRequired saying why not."""
    if not token:
        raise LoginRequired()
    if len(token) > _MAX_TOKEN or not token.isascii():
        raise LoginRequired("invalid")
    found = session.execute(
        select(PanelSession, PanelMember, Store)
        .join(PanelMember, PanelMember.id == PanelSession.member_id)
        .join(Store, Store.id == PanelMember.store_id)
        .where(PanelSession.id == session_id(token))).first()
    if found is None:  # never made, or its member was removed (the row went with them)
        raise LoginRequired("invalid")
    row, member, store = found
    if row.revoked_at is not None:
        raise LoginRequired("ended")
    if now >= row.expires_at:
        raise LoginRequired("expired")
    if not store.enabled:
        raise LoginRequired("disabled")
    if now - row.last_seen_at >= SEEN_EVERY:
        session.execute(update(PanelSession).where(PanelSession.id == row.id)
                        .values(last_seen_at=now))
    return Found(row=row, member=member, store=store)


def end_session(session: Session, *, store_id: int, id_: str, now: datetime) -> bool:
    """End one of the store's sessions; False if it has no such live session."""
    ended = session.execute(update(PanelSession).where(
        PanelSession.id == id_, PanelSession.store_id == store_id,
        PanelSession.revoked_at.is_(None)).values(revoked_at=now))
    return bool(rowcount(ended))


def end_member_sessions(session: Session, member_id: int) -> None:
    session.execute(delete(PanelSession).where(PanelSession.member_id == member_id))


def live_sessions(session: Session, store_id: int, *,
                  now: datetime) -> list[tuple[PanelSession, PanelMember]]:
    """The store's sessions that still open the panel, the most recently seen first."""
    return list(session.execute(
        select(PanelSession, PanelMember).join(PanelMember,
                                               PanelMember.id == PanelSession.member_id)
        .where(PanelSession.store_id == store_id, PanelSession.revoked_at.is_(None),
               PanelSession.expires_at > now)
        .order_by(PanelSession.last_seen_at.desc(), PanelSession.id)))
