"""A new store: the tenant with its credentials, and the campaigns it starts with."""

from sqlalchemy.orm import Session

from app.campaigns.defaults import create_default_campaigns
from app.stores.models import Store
from app.stores.schemas import StoreCreate
from app.stores.service import create_store


def open_store(session: Session, data: StoreCreate) -> tuple[Store, str]:
    store, api_key = create_store(session, data)
    create_default_campaigns(session, store.id)
    return store, api_key
