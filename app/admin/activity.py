"""What happened in the store, newest first: carts, orders and messages, filtered and paged by
cursor. Date ranges are half-open, [since, until), on each list's own moment: a cart's last
activity, an order's creation in WooCommerce, a message's due time."""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.campaigns.models import Attribution, Enrollment, Message
from app.campaigns.service import campaign_of_store
from app.commerce.models import Cart, Order
from app.contacts.models import Contact
from app.contacts.search import name_condition, phone_condition
from app.errors import DomainError, NotFound
from app.links.models import Link
from app.pagination import page
from app.stores.models import Store


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    campaign_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    # Messages only: their contact's phone (any digits, a part of it) or name (a part of it).
    phone: str | None = None
    name: str | None = None
    # Messages only, without `status`: one of these (the panel's log leaves out what is to come).
    statuses: tuple[str, ...] | None = None

    def contact_conditions(self) -> list[ColumnElement]:
        """The contact filters as conditions on Contact (InvalidSearch when one cannot be)."""
        return ([phone_condition(self.phone)] if self.phone else []) + \
            ([name_condition(self.name)] if self.name else [])


def _aware(at: datetime | None, store: Store) -> datetime | None:
    """A date-time without a zone is the store's local time (what the merchant means)."""
    if at is None or at.tzinfo is not None:
        return at
    return at.replace(tzinfo=ZoneInfo(store.timezone))


def _range(query, column, filters: Filters, store: Store):
    since, until = _aware(filters.since, store), _aware(filters.until, store)
    if since is not None and until is not None and since >= until:
        raise DomainError("from must be before to", code="invalid_range", status_code=422)
    if since is not None:
        query = query.where(column >= since)
    if until is not None:
        query = query.where(column < until)
    return query


def _campaign(session: Session, store: Store, campaign_id: int | None) -> None:
    """A campaign filter must name a campaign of this store (deleted ones keep their history)."""
    if campaign_id is not None:
        campaign_of_store(session, store_id=store.id, campaign_id=campaign_id,
                          include_deleted=True)


def _contact(session: Session, store: Store, contact_id: int | None) -> None:
    if contact_id is not None and session.scalar(select(Contact.id).where(
            Contact.id == contact_id, Contact.store_id == store.id)) is None:
        raise NotFound(f"no contact with id {contact_id}", code="contact_not_found")


def carts(session: Session, *, store: Store, filters: Filters, limit: int, cursor: str | None):
    """Carts; status "converted" = bought (by this cart or by its shopper), "open" otherwise;
    campaign_id = carts that campaign enrolled."""
    _campaign(session, store, filters.campaign_id)
    query = select(Cart).where(Cart.store_id == store.id)
    if filters.status == "converted":
        query = query.where(Cart.converted_at.is_not(None))
    elif filters.status == "open":
        query = query.where(Cart.converted_at.is_(None))
    if filters.campaign_id is not None:
        query = query.where(exists().where(Enrollment.campaign_id == filters.campaign_id,
                                           Enrollment.subject_type == "cart",
                                           Enrollment.subject_id == Cart.id))
    query = _range(query, Cart.modified_gmt, filters, store)
    return page(session, query, Cart.id, limit=limit, cursor=cursor)


def orders(session: Session, *, store: Store, filters: Filters, limit: int, cursor: str | None):
    """Orders with the message credited for them; status = WooCommerce's; campaign_id = orders
    credited to that campaign."""
    _campaign(session, store, filters.campaign_id)
    query = (select(Order, Attribution)
             .outerjoin(Attribution, (Attribution.order_id == Order.id)
                        & Attribution.removed_at.is_(None))
             .where(Order.store_id == store.id))
    if filters.status is not None:
        query = query.where(Order.status == filters.status)
    if filters.campaign_id is not None:
        query = query.where(Attribution.campaign_id == filters.campaign_id)
    query = _range(query, Order.created_gmt, filters, store)
    return page(session, query, Order.id, limit=limit, cursor=cursor)


def messages(session: Session, *, store: Store, filters: Filters, contact_id: int | None,
             limit: int, cursor: str | None):
    """Messages with their human clicks; `filters.phone` and `.name` find them by contact."""
    _campaign(session, store, filters.campaign_id)
    _contact(session, store, contact_id)
    query = (select(Message, Link.human_clicks)
             .outerjoin(Link, Link.message_id == Message.id)
             .where(Message.store_id == store.id))
    if filters.status is not None:
        query = query.where(Message.status == filters.status)
    elif filters.statuses is not None:
        query = query.where(Message.status.in_(filters.statuses))
    if filters.campaign_id is not None:
        query = query.where(Message.campaign_id == filters.campaign_id)
    if contact_id is not None:
        query = query.where(Message.contact_id == contact_id)
    if conditions := filters.contact_conditions():
        # The store's matching contacts first (few), then their messages by contact.
        query = query.where(Message.contact_id.in_(
            select(Contact.id).where(Contact.store_id == store.id, *conditions)))
    query = _range(query, Message.due_at, filters, store)
    return page(session, query, Message.id, limit=limit, cursor=cursor)
