"""Set up the rows a test needs beyond what the app creates: a store's settings, a step's text.

Each takes `db`, a sessionmaker (the change is committed in a transaction of its own) or a
Session a test already has open (the change joins it, flushed), and finds rows only within the
given store.
"""

from contextlib import nullcontext

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, CampaignStep
from app.commerce.models import Product
from app.contacts.models import Contact
from app.db import unit_of_work
from app.messaging.fake_kavenegar import DEFAULT_LINE
from app.stores.models import Store
from app.stores.schemas import SmsGatewaySettings
from app.stores.service import set_sms_gateway


def _within(db):
    return nullcontext(db) if isinstance(db, Session) else unit_of_work(db)


def _set(session: Session, row, values: dict) -> None:
    for name, value in values.items():
        if not hasattr(type(row), name):
            raise AttributeError(f"{type(row).__name__} has no column {name!r}")
        setattr(row, name, value)
    session.flush()


def store_settings(db, store_id: int, **values) -> None:
    """Set the store's columns, e.g. store_settings(factory, id, send_from_minute=0)."""
    with _within(db) as session:
        _set(session, session.get(Store, store_id), values)


def use_kavenegar(db, store_id: int, api_key: str, sender: str = DEFAULT_LINE) -> None:
    """The store sends through its own Kavenegar account, as the operator sets it."""
    with _within(db) as session:
        set_sms_gateway(session, store_id, SmsGatewaySettings(
            provider="kavenegar", api_key=api_key, sender=sender))


def set_campaign(db, store_id: int, kind: str, **values) -> None:
    """Set the columns of the store's campaign of `kind`."""
    with _within(db) as session:
        _set(session, session.scalars(select(Campaign).where(
            Campaign.store_id == store_id, Campaign.kind == kind)).one(), values)


def set_step(db, store_id: int, kind: str, position: int, **values) -> None:
    """Set the columns of step `position` of the store's campaign of `kind`."""
    with _within(db) as session:
        _set(session, session.scalars(select(CampaignStep).join(Campaign).where(
            Campaign.store_id == store_id, Campaign.kind == kind,
            CampaignStep.position == position)).one(), values)


def set_product(db, store_id: int, wc_id: int, **values) -> None:
    """Set the columns of the store's mirrored product `wc_id`."""
    with _within(db) as session:
        _set(session, session.scalars(select(Product).where(
            Product.store_id == store_id, Product.wc_id == wc_id)).one(), values)


def set_contact(db, store_id: int, phone: str, **values) -> None:
    """Set the columns of the store's contact with `phone` (E.164)."""
    with _within(db) as session:
        _set(session, session.scalars(select(Contact).where(
            Contact.store_id == store_id, Contact.phone == phone)).one(), values)
