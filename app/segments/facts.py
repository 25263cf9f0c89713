"""What a segment is computed from: read-only queries over other domains' tables (commerce's
orders and products, contacts, campaigns' messages, links' clicks, messaging's replies,
surveys' answers).

Why here and not through each domain's service: a segment needs one figure per contact for
every contact of the store at once (paid orders, spend, last order, latest rating, ...). Those
are GROUP BY queries; asking each domain contact by contact would be thousands of round trips.
Nothing here writes."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.campaigns.models import Message
from app.commerce.models import Order, Product
from app.contacts.models import Contact
from app.links.models import Click
from app.messaging.models import InboundSms
from app.surveys.models import SurveyAnswer


@dataclass(frozen=True)
class Person:
    """A contact the store may send a promotion to."""

    id: int
    phone: str
    first_name: str
    last_name: str


@dataclass(frozen=True)
class Purchases:
    """A buyer's paid orders: how many, what they came to net of refunds (rial), the last one."""

    orders: int
    spent: int
    last_at: datetime


def _paid(store_id: int):
    return (Order.store_id == store_id, Order.purchased.is_(True), Order.deleted_at.is_(None),
            Order.contact_id.is_not(None))


def reachable(session: Session, store_id: int) -> list[Person]:
    """The store's contacts that are neither opted out nor promo-blocked."""
    rows = session.execute(select(Contact.id, Contact.phone, Contact.first_name,
                                  Contact.last_name)
                           .where(Contact.store_id == store_id, Contact.opted_out_at.is_(None),
                                  Contact.promo_blocked_at.is_(None)))
    return [Person(*row) for row in rows]


def purchases(session: Session, store_id: int) -> dict[int, Purchases]:
    """Every buyer of the store (consent aside), by contact id: one GROUP BY over the orders."""
    placed = func.coalesce(Order.paid_gmt, Order.created_gmt)
    rows = session.execute(
        select(Order.contact_id, func.count(), func.sum(func.coalesce(Order.total, 0)
                                                        - Order.refunded), func.max(placed))
        .where(*_paid(store_id)).group_by(Order.contact_id))
    return {contact_id: Purchases(orders, int(spent or 0), last_at)
            for contact_id, orders, spent, last_at in rows
            if contact_id is not None and last_at is not None}


def items_bought(session: Session, store_id: int) -> Iterable[tuple[int, list]]:
    """(contact id, the order's items) of every paid order: product ids are inside JSON, which
    the two databases read differently, so they are matched in Python."""
    return session.execute(select(Order.contact_id, Order.items).where(*_paid(store_id)))


def products_in_categories(session: Session, store_id: int, categories: set[int]) -> set[int]:
    """The WooCommerce ids of the store's products filed under any of `categories`."""
    rows = session.execute(select(Product.wc_id, Product.categories)
                           .where(Product.store_id == store_id))
    return {wc_id for wc_id, filed in rows
            if any(isinstance(c, dict) and c.get("id") in categories for c in filed or [])}


def clicked_since(session: Session, store_id: int, since: datetime) -> set[int]:
    """Contacts who tapped a link of one of the store's SMS since then (people, not bots)."""
    return set(session.scalars(
        select(Message.contact_id).distinct().join(Click, Click.message_id == Message.id)
        .where(Click.store_id == store_id, Click.bot.is_(False), Click.clicked_at >= since,
               Message.contact_id.is_not(None))))


def repliers_since(session: Session, store_id: int, since: datetime) -> set[str]:
    """The senders (as the gateway wrote them) of the SMS the store's line received since."""
    return set(session.scalars(select(InboundSms.sender).distinct()
                               .where(InboundSms.store_id == store_id,
                                      InboundSms.received_at >= since)))


def latest_ratings(session: Session, store_id: int) -> dict[int, int]:
    """Each contact's latest survey answer (their rating of the order it asked about)."""
    rows = session.execute(
        select(Order.contact_id, SurveyAnswer.rating)
        .join(Order, Order.id == SurveyAnswer.order_id)
        .where(SurveyAnswer.store_id == store_id, Order.contact_id.is_not(None))
        .order_by(SurveyAnswer.answered_at, SurveyAnswer.id))
    # The later overwrites the earlier.
    return {contact_id: rating for contact_id, rating in rows if contact_id is not None}
