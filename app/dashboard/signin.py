"""Signing in to the panel: a phone asks for a code, the code typed names the members it opens.

Every phone asked about gets the same answer and a code row; only a member's phone (or one
given through a join link) is sent the SMS, so the page tells nobody who is a member. Each
request for a code counts against hourly caps per phone and per address (app/ratelimit.py).
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.dashboard import codes, join, members
from app.dashboard.models import PanelMember
from app.ratelimit import LOGIN_CODES_PER_IP, LOGIN_CODES_PER_PHONE, Limiter
from app.stores.models import Store


@dataclass(frozen=True)
class Asked:
    """What asking for a code did: sent one (`issued`; `deliver`: an SMS is due), or not yet
    (`wait`: seconds until a new code, the last one is still on its way), or refused
    (`limited`: seconds until the hourly cap lets this phone or address ask again)."""

    issued: codes.Issued | None = None
    deliver: bool = False
    wait: int | None = None
    limited: int | None = None


def ask_code(session: Session, key: bytes, limiter: Limiter, *, phone: str, ip: str,
             now: datetime, join_id: str | None = None, name: str | None = None) -> Asked:
    wait = codes.resend_wait(session, phone, now=now)
    if wait:
        return Asked(wait=wait)
    limited = max(limiter.exhausted(LOGIN_CODES_PER_IP, ip, now=now) or 0,
                  limiter.exhausted(LOGIN_CODES_PER_PHONE, phone, now=now) or 0)
    if limited:
        return Asked(limited=limited)
    limiter.hit(LOGIN_CODES_PER_IP, ip, now=now)
    limiter.hit(LOGIN_CODES_PER_PHONE, phone, now=now)
    issued = codes.issue(session, key, phone=phone, now=now, join_id=join_id, name=name)
    deliver = join_id is not None or bool(members.memberships(session, phone))
    return Asked(issued=issued, deliver=deliver)


class JoinLinkUsed(Exception):
    """The join link a code was asked through was used (or ran out) before the code was typed."""


def members_of_code(session: Session, key: bytes, *, phone: str, typed: str,
                    now: datetime) -> list[tuple[PanelMember, Store]]:
    """The members (with their stores) the code typed for this phone opens; codes.CodeRefused
    or JoinLinkUsed if none. A code asked through a join link makes the phone an owner."""
    row = codes.verify(session, key, phone=phone, typed=typed, now=now)
    if row.join_id is None:
        return members.memberships(session, phone)
    link = join.use(session, row.join_id, now=now)
    if link is None:
        raise JoinLinkUsed()
    member = members.make_owner(session, store_id=link.store_id, phone=phone,
                                name=row.name or phone, now=now)
    return [(member, session.get_one(Store, link.store_id))]
