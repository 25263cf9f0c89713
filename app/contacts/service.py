"""Contacts: one row per (store, E.164 phone), created from orders and carts."""

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.contacts.models import Contact
from app.contacts.phones import InvalidPhone, Phone, normalize_phone
from app.db import rowcount

_LENGTHS = {name: Contact.__table__.c[name].type.length
            for name in ("first_name", "last_name", "email")}


@dataclass(frozen=True)
class PhoneOutcome:
    contact: Contact | None
    error: str | None  # why no contact was made, for the merchant to see


def _find(session: Session, store_id: int, e164: str, *, lock: bool = False) -> Contact | None:
    query = select(Contact).where(Contact.store_id == store_id, Contact.phone == e164)
    return session.scalar(query.with_for_update() if lock else query)


def _add(session: Session, store_id: int, phone: Phone) -> Contact:
    # Concurrent inserts of the same phone are resolved by the unique constraint: the caller's
    # savepoint rolls back and the work is retried.
    contact = Contact(store_id=store_id, phone=phone.e164, unverified_prefix=phone.unverified_prefix)
    session.add(contact)
    return contact


def contact_for_phone(session: Session, *, store_id: int, raw_phone: str | None,
                      first_name: str = "", last_name: str = "", email: str = "") -> PhoneOutcome:
    """Find or create the contact for a phone as a customer typed it.

    Newer non-empty names and email replace older ones: the latest checkout is the best guess.
    """
    if raw_phone is None or not raw_phone.strip():
        return PhoneOutcome(None, "no phone")
    try:
        phone = normalize_phone(raw_phone)
    except InvalidPhone as exc:
        return PhoneOutcome(None, f"invalid phone: {exc.reason}")
    contact = _find(session, store_id, phone.e164) or _add(session, store_id, phone)
    for field, value in (("first_name", first_name), ("last_name", last_name), ("email", email)):
        value = (value or "").strip()[:_LENGTHS[field]]
        if value and getattr(contact, field) != value:
            setattr(contact, field, value)
    session.flush()
    return PhoneOutcome(contact, None)


def set_consent(session: Session, *, store_id: int, raw_phone: str, opted_in: bool, source: str,
                now) -> Contact | None:
    """Opt a phone out (or back in). An unknown phone opting out gets a contact, so that no
    later cart or order of theirs is ever texted. Returns None for an invalid phone."""
    try:
        phone = normalize_phone(raw_phone)
    except InvalidPhone:
        return None
    contact = _find(session, store_id, phone.e164, lock=True)
    if contact is None:
        if opted_in:
            return None
        contact = _add(session, store_id, phone)
    if opted_in:
        contact.opted_out_at, contact.opt_out_source = None, None
    elif contact.opted_out_at is None:
        contact.opted_out_at, contact.opt_out_source = now, source
    session.flush()
    return contact


def opt_out_phones(session: Session, *, store_id: int, phones: list[Phone], source: str,
                   now) -> int:
    """Opt many phones out at once (a merchant's blacklist); unknown ones get a contact, as in
    set_consent. Returns how many were not opted out before. Idempotent."""
    by_e164 = {phone.e164: phone for phone in phones}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    changed = 0
    numbers = sorted(by_e164)
    for start in range(0, len(numbers), 500):
        chunk = numbers[start:start + 500]
        # New contacts, born opted out. Inserted first: a phone another transaction is adding
        # meanwhile conflicts, waits for it, and the UPDATE below (a fresh snapshot) opts it out.
        changed += len(session.execute(
            insert(Contact).values([dict(
                store_id=store_id, phone=e164, unverified_prefix=by_e164[e164].unverified_prefix,
                first_name="", last_name="", email="", opted_out_at=now, opt_out_source=source,
                created_at=now, updated_at=now) for e164 in chunk])
            .on_conflict_do_nothing(index_elements=["store_id", "phone"])
            .returning(Contact.id)).all())
        changed += rowcount(session.execute(
            update(Contact).where(Contact.store_id == store_id, Contact.phone.in_(chunk),
                                  Contact.opted_out_at.is_(None))
            .values(opted_out_at=now, opt_out_source=source, updated_at=now)
            .execution_options(synchronize_session=False)))
    session.flush()
    return changed
