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

from sqlalchemy import JSON, BigInteger, column, func, select, table
from sqlalchemy.orm import Session

from app.commerce.models import Order, Product
from app.contacts.models import Contact
from app.links.models import Click
from app.messaging.models import InboundSms
from app.surveys.models import SurveyAnswer

# The campaign engine's messages and campaigns, as far as segments read them. Named here, not
# imported: the engine enrols by segment (app/campaigns/conditions.py), so it sits above segments
# and segments may not import it back (tests/gates/test_import_cycles.py).
messages = table("messages", column("id", BigInteger), column("contact_id", BigInteger))
campaigns = table("campaigns", column("id", BigInteger), column("store_id", BigInteger),
                  column("name"), column("conditions", JSON), column("deleted_at"))


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
        select(messages.c.contact_id).distinct()
        .join(Click, Click.message_id == messages.c.id)
        .where(Click.store_id == store_id, Click.bot.is_(False), Click.clicked_at >= since,
               messages.c.contact_id.is_not(None))))


def campaigns_using(session: Session, segment_id: int, store_id: int) -> list[tuple[int, str]]:
    """(id, name) of the store's campaigns (not deleted) whose conditions name the segment."""
    rows = session.execute(select(campaigns.c.id, campaigns.c.name, campaigns.c.conditions)
                           .where(campaigns.c.store_id == store_id,
                                  campaigns.c.deleted_at.is_(None)))
    return [(cid, name) for cid, name, given in rows
            if (given or {}).get("segment_id") == segment_id]


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
