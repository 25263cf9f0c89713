"""A store's panel members: who may sign in, with which phone, as owner or member.

One owner of these rules for the panel's people page, the store API (/api/v1/store/members),
the platform's store creation (owner_phone) and join links: a phone is kept in E.164 whatever
digits it was typed with, a phone is a member of a store at most once (a database constraint),
and a store never loses its last owner.
"""

import unicodedata
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.contacts.phones import InvalidPhone, normalize_phone
from app.dashboard import sessions
from app.dashboard.models import MEMBER, OWNER, ROLES, PanelMember
from app.errors import Conflict, DomainError, NotFound
from app.stores.models import Store

MAX_NAME = 100


class InvalidMember(DomainError, status=422, code="invalid_member"):
    pass


class MemberExists(Conflict, code="member_exists"):
    pass


class LastOwner(Conflict, code="last_owner"):
    pass


class MemberNotFound(NotFound, code="member_not_found"):
    pass


def member_phone(text: str) -> str:
    """E.164 of a phone typed any way (Persian, Arabic-Indic or Latin digits; 09…, +98…,
    0098…), or InvalidMember with code invalid_phone."""
    try:
        return normalize_phone(text[:64]).e164
    except InvalidPhone as exc:
        raise InvalidMember(f"phone: {exc.reason} (a mobile number, any digits)",
                            code="invalid_phone") from None


def _name(text: str) -> str:
    name = " ".join(text.split())
    if not name:
        raise InvalidMember("name: must not be blank", code="name_required")
    if len(name) > MAX_NAME:
        raise InvalidMember(f"name: at most {MAX_NAME} characters", code="name_too_long")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):  # ZWNJ (Cf) is Persian
        raise InvalidMember("name: no control characters", code="name_invalid")
    return name


def list_members(session: Session, store_id: int) -> list[PanelMember]:
    return list(session.scalars(select(PanelMember).where(PanelMember.store_id == store_id)
                                .order_by(PanelMember.role.desc(), PanelMember.id)))


def get_member(session: Session, store_id: int, member_id: int) -> PanelMember:
    member = session.get(PanelMember, member_id)
    if member is None or member.store_id != store_id:
        raise MemberNotFound(f"no member {member_id} in this store")
    return member


def add_member(session: Session, *, store_id: int, phone: str, name: str, role: str = MEMBER,
               now: datetime) -> PanelMember:
    e164, name = member_phone(phone), _name(name)
    if role not in ROLES:
        raise InvalidMember(f"role: one of {', '.join(ROLES)}", code="invalid_role")
    member = PanelMember(store_id=store_id, phone=e164, name=name, role=role, created_at=now)
    try:
        with session.begin_nested():
            session.add(member)
    except IntegrityError:
        raise MemberExists(f"{e164} is a member of this store already") from None
    return member


def make_owner(session: Session, *, store_id: int, phone: str, name: str,
               now: datetime) -> PanelMember:
    """The phone as an owner of the store: added, or raised to owner if a member already."""
    e164 = member_phone(phone)
    member = session.scalar(select(PanelMember).where(PanelMember.store_id == store_id,
                                                      PanelMember.phone == e164))
    if member is None:
        return add_member(session, store_id=store_id, phone=e164, name=name, role=OWNER, now=now)
    member.role = OWNER
    session.flush()
    return member


def remove_member(session: Session, *, store_id: int, member_id: int,
                  by: PanelMember | None = None) -> None:
    """Remove a member; their sessions end with them (the rows go by cascade). The last owner
    stays, and `by` (the member removing, on the panel) cannot remove themselves."""
    member = get_member(session, store_id, member_id)
    if by is not None and by.id == member.id:
        raise Conflict("you cannot remove yourself: another owner can", code="cannot_remove_self")
    if member.role == OWNER:
        # The store's row lock: two owners removing each other cannot both win.
        session.execute(select(Store.id).where(Store.id == store_id).with_for_update())
        owners = session.scalar(select(func.count()).select_from(PanelMember).where(
            PanelMember.store_id == store_id, PanelMember.role == OWNER)) or 0
        if owners <= 1:
            raise LastOwner("a store keeps at least one owner: add another owner first")
    sessions.end_member_sessions(session, member.id)
    session.execute(delete(PanelMember).where(PanelMember.id == member.id))
    session.expire_all()


def memberships(session: Session, phone: str) -> list[tuple[PanelMember, Store]]:
    """The members a phone is, with their stores (enabled ones only), by store name."""
    return list(session.execute(
        select(PanelMember, Store).join(Store, Store.id == PanelMember.store_id)
        .where(PanelMember.phone == phone, Store.enabled.is_(True))
        .order_by(Store.name, Store.id)))
