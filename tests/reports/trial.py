"""Enrollments and purchases written in bulk, for the lift: many contacts of one campaign, some
held out as control, and the orders some of them place."""

from datetime import datetime, timedelta

from sqlalchemy import insert, select

from app.campaigns.models import Campaign, Enrollment
from app.commerce.models import Order
from app.contacts.models import Contact


def enroll_many(session, store_id: int, campaign_id: int, sides: list[bool], *,
                anchor: datetime, serial: int = 0) -> list[tuple[int, int, bool]]:
    """A contact and an enrollment per side (True: control); returns (enrollment, contact,
    control), in order."""
    session.execute(insert(Contact), [
        dict(store_id=store_id, phone=f"+98935{serial + i:07d}", first_name="", last_name="")
        for i in range(len(sides))])
    contacts = session.scalars(select(Contact.id).where(
        Contact.store_id == store_id, Contact.phone >= f"+98935{serial:07d}",
        Contact.phone < f"+98935{serial + len(sides):07d}").order_by(Contact.phone)).all()
    session.execute(insert(Enrollment), [
        dict(store_id=store_id, campaign_id=campaign_id, subject_type="cart",
             subject_id=serial + i, contact_id=c, anchor_at=anchor + timedelta(minutes=i),
             status="active", control=side)
        for i, (c, side) in enumerate(zip(contacts, sides, strict=True))])
    rows = session.execute(select(Enrollment.id, Enrollment.contact_id, Enrollment.control)
                           .where(Enrollment.campaign_id == campaign_id,
                                  Enrollment.contact_id.in_(contacts))
                           .order_by(Enrollment.contact_id)).all()
    return [tuple(r) for r in rows]


def buy(session, store_id: int, contact_id: int, at, total: int, *, wc_id: int,
        purchased=True, refunded=0, deleted=False) -> None:
    session.add(Order(store_id=store_id, wc_id=wc_id, number=str(wc_id), status="processing",
                      purchased=purchased, currency="IRT", total=total, refunded=refunded,
                      contact_id=contact_id, created_gmt=at, items=[],
                      deleted_at=at if deleted else None))


def campaign_id_of(session, store_id: int, kind: str = "abandoned_cart") -> int:
    return session.scalar(select(Campaign.id).where(Campaign.store_id == store_id,
                                                    Campaign.kind == kind))
