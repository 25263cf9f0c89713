"""A broadcast's SMS as real members of its segment would read it: for one contact the merchant
names (the API), or for the first few members now (the panel's form, beside the estimate).
Rendered by app/admin/preview.py, the code the send uses; nothing is written."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.admin import preview
from app.broadcasts.models import Broadcast
from app.broadcasts.service import members_now, step_of
from app.campaigns.models import Campaign
from app.contacts.models import Contact
from app.contacts.phones import mask_phone
from app.errors import DomainError, NotFound
from app.stores.models import Store

# Members the panel's form shows the text for.
SHOWN = 3


class NotAMember(DomainError, status=422, code="contact_not_in_segment"):
    pass


def _render(session: Session, store: Store, broadcast: Broadcast, contact_id: int | None,
            now: datetime) -> preview.Rendered:
    return preview.preview(session, store=store,
                           campaign=session.get_one(Campaign, broadcast.campaign_id),
                           step=step_of(session, broadcast), contact_id=contact_id, now=now)


def for_contact(session: Session, *, store: Store, broadcast: Broadcast,
                contact_id: int | None, now: datetime) -> preview.Rendered:
    """The SMS for the sample customer (no contact), or for a contact of the store who is in
    the broadcast's segment now (else contact_not_found, or contact_not_in_segment)."""
    if contact_id is None:
        return _render(session, store, broadcast, None, now)
    known = session.scalar(select(Contact.id).where(Contact.id == contact_id,
                                                    Contact.store_id == store.id))
    if known is None:  # another store's contact is as unknown as a missing one
        raise NotFound(f"no contact with id {contact_id}", code="contact_not_found")
    if contact_id not in set(members_now(session, store, broadcast, now)):
        raise NotAMember(f"contact {contact_id} is not in the broadcast's segment now (opted "
                         "out, or the segment's rules leave them out): it would not get this SMS")
    return _render(session, store, broadcast, contact_id, now)


@dataclass(frozen=True)
class MemberText:
    phone: str  # masked
    name: str
    rendered: preview.Rendered


def first_members(session: Session, *, store: Store, broadcast: Broadcast, now: datetime,
                  count: int = SHOWN) -> list[MemberText]:
    """The SMS for the segment's first `count` members now (newest contacts first, the order
    of the segment's pages). Empty when the segment is gone or has nobody."""
    if broadcast.segment_id is None:
        return []
    shown = members_now(session, store, broadcast, now)[:count]
    people = {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(shown)))}
    return [MemberText(mask_phone(people[i].phone),
                       f"{people[i].first_name} {people[i].last_name}".strip(),
                       _render(session, store, broadcast, i, now)) for i in shown]
