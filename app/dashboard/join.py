"""Join links: how the first person gets into a store's panel without the API key.

A link (/panel/join/<token>) is valid for seven days and for one use. Opening it asks for a
phone and a name and sends that phone a code like any sign-in; the code typed makes the phone
an owner of the store and signs it in, and the link is used up. `bazgasht serve` prints one for
the demo store it creates; `bazgasht store join-link --store N` makes one for any store.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.dashboard.models import PanelJoinLink
from app.db import rowcount
from app.stores.models import Store

LIFETIME = timedelta(days=7)
_MAX_TOKEN = 100


def _id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_link(session: Session, *, store_id: int, now: datetime) -> str:
    """A new join link's token (only its hash is kept)."""
    token = secrets.token_urlsafe(24)
    session.add(PanelJoinLink(id=_id(token), store_id=store_id, created_at=now,
                              expires_at=now + LIFETIME))
    session.flush()
    return token


def link_path(token: str) -> str:
    return f"/panel/join/{token}"


def find(session: Session, token: str, *, now: datetime) -> tuple[PanelJoinLink, Store] | None:
    """The link of a token and its store, while it can still be used."""
    if not token or len(token) > _MAX_TOKEN or not token.isascii():
        return None
    found = session.execute(select(PanelJoinLink, Store)
                            .join(Store, Store.id == PanelJoinLink.store_id)
                            .where(PanelJoinLink.id == _id(token))).first()
    if found is None:
        return None
    link, store = found
    if link.used_at is not None or now >= link.expires_at or not store.enabled:
        return None
    return link, store


def use(session: Session, join_id: str, *, now: datetime) -> PanelJoinLink | None:
    """Use the link up; None if it was used (or ran out) meanwhile."""
    used = rowcount(session.execute(update(PanelJoinLink).where(
        PanelJoinLink.id == join_id, PanelJoinLink.used_at.is_(None),
        PanelJoinLink.expires_at > now).values(used_at=now)))
    return session.get(PanelJoinLink, join_id) if used else None
